//! The bodies of the fuzz targets (`fuzz_targets/*.rs` call these), kept in a library so the
//! corpora can also be replayed without libFuzzer: `tests/cli/fuzz_replay.rs` in the root package
//! includes this file (`scripts/fuzz replay`).
//!
//! Every target feeds arbitrary bytes to a reader of the product and asserts two properties:
//! it returns (never panics, never aborts on an allocation), and an error names the file.
//! Accepted inputs are checked for internal consistency (sizes agree with headers).

use std::path::Path;

/// IDX reader with gzip detection (`joulebench_data::read::gunzip_maybe` then
/// `idx::parse_idx_images` / `parse_idx_labels`). The first byte picks images or labels.
pub fn idx(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let path = Path::new("fuzz-input.idx");
    let bytes = match joulebench_data::read::gunzip_maybe(path, rest.to_vec()) {
        Ok(b) => b,
        Err(e) => return names_file(&e.to_string(), path),
    };
    if mode & 1 == 0 {
        match joulebench_data::idx::parse_idx_images(path, &bytes) {
            Ok(img) => assert_eq!(img.pixels.len(), img.count * img.rows * img.cols),
            Err(e) => names_file(&e.to_string(), path),
        }
    } else {
        match joulebench_data::idx::parse_idx_labels(path, &bytes, 10) {
            Ok(l) => assert!(l.iter().all(|&l| l < 10)),
            Err(e) => names_file(&e.to_string(), path),
        }
    }
}

/// CSV reader (`joulebench_data::csv::parse_csv_bytes` after gzip detection). The first byte
/// picks the row width (1..=8 pixels) and the number of classes (1..=16).
pub fn csv(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let pixels_per_row = 1 + (mode & 7) as usize;
    let num_classes = 1 + (mode >> 4) as usize;
    let path = Path::new("fuzz-input.csv");
    let bytes = match joulebench_data::read::gunzip_maybe(path, rest.to_vec()) {
        Ok(b) => b,
        Err(e) => return names_file(&e.to_string(), path),
    };
    match joulebench_data::csv::parse_csv_bytes(path, &bytes, pixels_per_row, num_classes) {
        Ok(s) => {
            assert_eq!(s.pixels.len(), s.labels.len() * pixels_per_row);
            assert!(s.labels.iter().all(|&l| (l as usize) < num_classes));
        }
        Err(e) => names_file(&e.to_string(), path),
    }
}

/// ONNX loader and operation counter: `summarize_onnx` and the embedded spec (what `profile`
/// reads first), `onnx_check::{decode_model, check_model, all_ops}` (what
/// every ONNX backend runs first), then, for a model that passes, `count_onnx_bytes` (tract's
/// parse and shape inference plus our per-node counts) for the declared input shape with free
/// dimensions set to 1 (skipped above 65 536 input elements).
pub fn onnx(data: &[u8]) {
    use joulebench_inference::onnx_check;
    let path = Path::new("fuzz-input.onnx");
    // what `profile` reads first (metadata, embedded spec)
    if let Ok(summary) = joulebench_models::onnx::summarize_onnx(data) {
        if let Some(js) = summary.metadata.get(joulebench_models::onnx::SPEC_KEY) {
            if let Ok(spec) = joulebench_models::ModelSpec::from_json(js) {
                let _ = joulebench_models::OpCounts::of(&spec);
                let _ = joulebench_models::MemoryEstimate::for_spec(&spec, 1 << 20);
            }
        }
    }
    let model = match onnx_check::decode_model(path, data) {
        Ok(m) => m,
        Err(e) => return names_file(&e.to_string(), path),
    };
    let _ = onnx_check::all_ops(&model);
    let info = match onnx_check::check_model(path, &model, None) {
        Ok(i) => i,
        Err(e) => return names_file(&e.to_string(), path),
    };
    let shape: Vec<usize> = info.input_dims.iter().map(|d| d.unwrap_or(1)).collect();
    let elements = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .unwrap_or(usize::MAX);
    if shape.is_empty() || shape.len() > 6 || elements > 1 << 16 {
        return;
    }
    let _ = onnx_check::check_input_shape(&info, &shape);
    match joulebench_profiler::count_onnx_bytes(path, data, &shape, 1, 1) {
        Ok(c) => assert_eq!(c.input_shape, shape),
        Err(e) => names_file(&e.to_string(), path),
    }
}

/// Sweep-file parser and checks (`joulebench_models::SweepSpec::parse` then `check`).
pub fn sweep(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = joulebench_models::SweepSpec::parse(text) {
        let checked = spec.check();
        if checked.is_ok() {
            let n = spec.grid_len().expect("a checked grid has a size");
            assert!((1..=joulebench_models::sweep_spec::MAX_GRID_RUNS).contains(&n));
        }
    }
}

/// NIR reader (`joulebench_nir::read_bytes`: the HDF5 subset reader, the graph's parse and
/// checks); an accepted graph must also write (`to_bytes`) and read back equal.
pub fn nir(data: &[u8]) {
    let path = Path::new("fuzz-input.nir");
    match joulebench_nir::read_bytes(path, data) {
        Ok(g) => {
            let _ = g.chain();
            let bytes = joulebench_nir::to_bytes(&g).expect("a graph that reads also writes");
            let back = joulebench_nir::read_bytes(path, &bytes).expect("our own file reads");
            assert_eq!(back, g);
        }
        Err(e) => names_file(&e.to_string(), path),
    }
}

/// A fuzz target: the bytes of one input.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, for replaying corpora.
pub const TARGETS: &[(&str, Target)] = &[
    ("idx", idx),
    ("csv", csv),
    ("onnx", onnx),
    ("sweep", sweep),
    ("nir", nir),
];

fn names_file(msg: &str, path: &Path) {
    assert!(
        msg.contains(&*path.to_string_lossy()),
        "error does not name the file: {msg}"
    );
}
