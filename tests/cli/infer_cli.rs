//! `joulebench infer`: engines on a user's `.npy` array agree, and malformed arrays are refused
//! with one line naming the file.

use std::path::Path;
use std::process::Output;

use joulebench_data::npy::{npy_bytes, read_npy, write_npy};
use joulebench_models::Tensor;
use rand::{Rng, SeedableRng};

use crate::common::{joulebench as jb, make_run, refused};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `joulebench infer RUN --backend B --input X --output Y`, which must succeed; the output read back.
fn infer_ok(run: &Path, backend: &str, input: &Path, output: &Path) -> Tensor {
    let args = [
        "infer",
        run.to_str().unwrap(),
        "--backend",
        backend,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--threads",
        "2",
    ];
    let o = jb(&args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    assert!(out.starts_with(backend), "{out}");
    read_npy(output).unwrap()
}

fn assert_close(a: &Tensor, b: &Tensor, tol: f32, what: &str) {
    assert_eq!(a.shape, b.shape, "{what}");
    let d = a.max_abs_diff(b).unwrap();
    assert!(d <= tol, "{what}: max |diff| {d} > {tol}");
}

/// numpy (when the Python of `joulebench_testkit::python()` has it) reads `path` as `want`.
fn numpy_reads(path: &Path, want: &Tensor) {
    let Some(py) = joulebench_testkit::python() else {
        return;
    };
    let code = "import sys, numpy as np\n\
                a = np.load(sys.argv[1])\n\
                assert a.dtype == np.float32, a.dtype\n\
                print(list(a.shape))\n\
                print(' '.join(repr(float(v)) for v in a.ravel()))\n";
    let o = std::process::Command::new(py)
        .args(["-c", code, path.to_str().unwrap()])
        .output()
        .unwrap();
    if !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("No module named") {
        eprintln!("numpy missing: skipping the np.load check");
        return;
    }
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let mut lines = out.lines();
    let shape = lines.next().unwrap();
    assert_eq!(shape, format!("{:?}", want.shape));
    let vals: Vec<f32> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap() as f32)
        .collect();
    assert_eq!(vals, want.data);
}

/// numpy loads `input` and saves it as `dir/np64.npy` (float64) and `dir/npfortran.npy`
/// (float64, Fortran order); false when no Python with numpy is at hand.
fn numpy_saves(input: &Path, dir: &Path) -> bool {
    let Some(py) = joulebench_testkit::python() else {
        return false;
    };
    let code = "import sys, os, numpy as np\n\
                a = np.load(sys.argv[1]).astype(np.float64)\n\
                np.save(os.path.join(sys.argv[2], 'np64.npy'), a)\n\
                f = np.asfortranarray(a.reshape(a.shape[0], -1))\n\
                assert not f.flags.c_contiguous\n\
                np.save(os.path.join(sys.argv[2], 'npfortran.npy'), f)\n";
    let o = std::process::Command::new(py)
        .args(["-c", code, input.to_str().unwrap(), dir.to_str().unwrap()])
        .output()
        .unwrap();
    if !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("No module named") {
        eprintln!("numpy missing: skipping the numpy-written inputs");
        return false;
    }
    assert!(o.status.success(), "{}", text(&o));
    true
}

#[test]
fn infer_native_and_tract_agree_on_mlp1d() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp1d");
    let spec = make_run(&run, "mlp1d", None);
    let batch = 5;
    let shape = spec.batch_input_shape(batch);
    let n: usize = shape.iter().product();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let x = Tensor::new(shape, (0..n).map(|_| rng.random::<f32>()).collect()).unwrap();
    let input = tmp.path().join("x.npy");
    write_npy(&input, &x).unwrap();

    let native = infer_ok(&run, "native", &input, &tmp.path().join("native.npy"));
    let tract = infer_ok(&run, "tract", &input, &tmp.path().join("tract.npy"));
    assert_eq!(native.shape, vec![batch, spec.num_classes]);
    assert_eq!(spec.num_classes, 10);
    assert_close(&native, &tract, 1e-4, "native vs tract");
    numpy_reads(&tmp.path().join("native.npy"), &native);
    // numpy's own files: float64 (its default) is read, Fortran order is refused
    if numpy_saves(&input, tmp.path()) {
        let from_numpy = infer_ok(
            &run,
            "native",
            &tmp.path().join("np64.npy"),
            &tmp.path().join("n.npy"),
        );
        assert_close(&native, &from_numpy, 0.0, "numpy float64 input");
        let (f, out) = (tmp.path().join("npfortran.npy"), tmp.path().join("f.npy"));
        let args = [
            "infer",
            run.to_str().unwrap(),
            "--backend",
            "native",
            "--input",
            f.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ];
        refused(&jb(&args), &args, &["npfortran.npy", "fortran_order"]);
    }

    // float64 input is converted and gives the same output
    let x64: Vec<u8> = {
        let b = npy_bytes(&x);
        let header_end = b.len() - 4 * x.numel();
        let header = String::from_utf8_lossy(&b[10..header_end]).replace("<f4", "<f8");
        let mut h = header.trim_end().to_string();
        h.push_str(&" ".repeat((64 - (11 + h.len()) % 64) % 64));
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        for v in &x.data {
            out.extend_from_slice(&(*v as f64).to_le_bytes());
        }
        out
    };
    let input64 = tmp.path().join("x64.npy");
    std::fs::write(&input64, x64).unwrap();
    let native64 = infer_ok(&run, "native", &input64, &tmp.path().join("native64.npy"));
    assert_close(&native, &native64, 0.0, "f32 vs f64 input");
}

#[test]
fn infer_event_and_native_agree_on_spikes() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("snn");
    let spec = make_run(&run, "snn-temporal", Some(8));
    let batch = 3;
    let shape = spec.batch_input_shape(batch);
    assert_eq!(shape[..2], [8, batch]);
    let n: usize = shape.iter().product();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let data = (0..n)
        .map(|_| if rng.random::<f32>() < 0.3 { 1.0 } else { 0.0 })
        .collect();
    let input = tmp.path().join("spikes.npy");
    write_npy(&input, &Tensor::new(shape, data).unwrap()).unwrap();

    let event = infer_ok(&run, "event", &input, &tmp.path().join("event.npy"));
    let native = infer_ok(&run, "native", &input, &tmp.path().join("native.npy"));
    assert_eq!(event.shape, vec![batch, spec.num_classes]);
    assert_close(&event, &native, 1e-4, "event vs native");
}

#[test]
fn infer_refuses_bad_arrays_with_one_line_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp1d");
    let spec = make_run(&run, "mlp1d", None);
    let good = Tensor::zeros(spec.batch_input_shape(2));
    let good_bytes = npy_bytes(&good);
    let header_end = good_bytes.len() - 4 * good.numel();
    // latin-1: one char per byte, so replacements of equal length keep the header's size
    let header: String = good_bytes[..header_end]
        .iter()
        .map(|&b| b as char)
        .collect();
    let bytes_of = |h: String| h.chars().map(|c| c as u8).collect::<Vec<u8>>();

    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "wrong_shape.npy",
            npy_bytes(&Tensor::zeros(vec![2, 1, 41])),
            vec!["[2, 1, 41]", "expected [batch, 1, 40]"],
        ),
        (
            "wrong_rank.npy",
            npy_bytes(&Tensor::zeros(vec![2, 40])),
            vec!["[2, 40]", "expected [batch, 1, 40]"],
        ),
        (
            "int32.npy",
            [
                bytes_of(header.replace("<f4", "<i4")),
                good_bytes[header_end..].to_vec(),
            ]
            .concat(),
            vec!["`<i4`"],
        ),
        (
            "truncated.npy",
            good_bytes[..good_bytes.len() - 5].to_vec(),
            vec!["truncated"],
        ),
        (
            "fortran.npy",
            [
                bytes_of(header.replace("False", "True ")),
                good_bytes[header_end..].to_vec(),
            ]
            .concat(),
            vec!["fortran_order"],
        ),
        (
            "magic.npy",
            b"PK\x03\x04not an array".to_vec(),
            vec!["bad magic"],
        ),
        (
            "nan.npy",
            npy_bytes(&Tensor {
                shape: good.shape.clone(),
                data: vec![f32::NAN; good.numel()],
            }),
            vec!["not finite"],
        ),
    ];
    for (name, bytes, wants) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = tmp.path().join(format!("out-{name}"));
        let args = [
            "infer",
            run.to_str().unwrap(),
            "--backend",
            "native",
            "--input",
            path.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ];
        let mut wants = wants;
        wants.push(name);
        let err = refused(&jb(&args), &args, &wants);
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line: {err}");
        assert!(!out.exists(), "{name}: no output written");
    }
}
