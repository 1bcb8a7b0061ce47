//! `joulebench data …` end to end: the built binary on generated data, on bad fixtures written to
//! temp folders (each must fail with a non-zero exit and a message naming the file and the
//! problem), and on the real datasets in `$JOULEBENCH_DATA` (without them: a failure in CI, a
//! listed skip locally; `joulebench_testkit`).

use std::path::{Path, PathBuf};
use std::process::Output;

use joulebench_data::idx::{encode_idx_images, encode_idx_labels};
use joulebench_data::read::gzip;

use crate::common::{fails_isolated, joulebench_isolated as joulebench};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `joulebench args`, expects a clean refusal and returns stderr.
fn fails(args: &[&str]) -> String {
    fails_isolated(args, &[])
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tiny valid MNIST-layout folder: `n_train` / `n_test` samples, gzip-compressed IDX.
fn write_fixture(dir: &Path, n_train: usize, n_test: usize) {
    for (stem, n) in [("train", n_train), ("t10k", n_test)] {
        let px: Vec<u8> = (0..n * 784).map(|i| (i % 251) as u8).collect();
        let lab: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        std::fs::write(
            dir.join(format!("{stem}-images-idx3-ubyte.gz")),
            gzip(&encode_idx_images(n, 28, 28, &px)),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{stem}-labels-idx1-ubyte.gz")),
            gzip(&encode_idx_labels(&lab)),
        )
        .unwrap();
    }
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().to_path_buf();
    write_fixture(&d, 20, 10);
    (t, d)
}

/// A fixture whose file `name` is replaced by `bytes`.
fn fixture_with(name: &str, bytes: impl AsRef<[u8]>) -> (tempfile::TempDir, PathBuf) {
    let (t, d) = fixture();
    std::fs::write(d.join(name), bytes).unwrap();
    (t, d)
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "failed: {}", stderr(o));
    serde_json::from_str(&stdout(o)).expect("JSON output")
}

/// `joulebench data info --dataset <dataset> --data-dir <dir> --json`, parsed.
fn info_json(dataset: &str, dir: &Path) -> serde_json::Value {
    json(&joulebench(&[
        "data",
        "info",
        "--dataset",
        dataset,
        "--data-dir",
        s(dir),
        "--json",
    ]))
}

/// `joulebench data info --dataset <dataset> --data-dir <dir>`, expected to be refused: stderr.
fn info_fails(dataset: &str, dir: &Path) -> String {
    fails(&["data", "info", "--dataset", dataset, "--data-dir", s(dir)])
}

/// Asserts that the message `err` says every one of `parts`.
fn assert_says(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "expected `{p}` in: {err}");
    }
}

/// `joulebench data fetch <dataset> --from <from> --dir <dir>`.
fn fetch_args<'a>(dataset: &'a str, from: &'a Path, dir: &'a Path) -> [&'a str; 7] {
    ["data", "fetch", dataset, "--from", s(from), "--dir", s(dir)]
}

#[test]
fn info_mnist1d_generated() {
    let v = json(&joulebench(&[
        "data",
        "info",
        "--dataset",
        "mnist1d",
        "--json",
    ]));
    assert_eq!(v["train"]["count"], 4000);
    assert_eq!(v["test"]["count"], 1000);
    assert_eq!(v["sample_shape"], serde_json::json!([1, 40]));
    let total: u64 = (0..10)
        .map(|i| {
            v["train"]["class_counts"][i].as_u64().unwrap()
                + v["test"]["class_counts"][i].as_u64().unwrap()
        })
        .sum();
    assert_eq!(total, 5000);
    // standardized over both splits together: the train mean is near 0
    assert!(v["train"]["value_mean"].as_f64().unwrap().abs() < 0.05);
    // text output too
    let o = joulebench(&["data", "info"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("mnist1d") && stdout(&o).contains("4000"));
}

#[test]
fn info_reads_a_valid_fixture() {
    let (_t, d) = fixture();
    let v = info_json("mnist", &d);
    assert_eq!(v["train"]["count"], 20);
    assert_eq!(
        v["train"]["class_counts"],
        serde_json::json!([2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    );
    assert_eq!(v["sample_shape"], serde_json::json!([1, 28, 28]));
}

#[test]
fn truncated_gz_fails() {
    let (_t, d) = fixture();
    let f = d.join("train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let err = info_fails("mnist", &d);
    assert_says(&err, &["train-images-idx3-ubyte.gz", "truncated"]);
}

#[test]
fn wrong_magic_fails() {
    let (_t, d) = fixture();
    // the label file where the image file should be
    std::fs::copy(
        d.join("t10k-labels-idx1-ubyte.gz"),
        d.join("t10k-images-idx3-ubyte.gz"),
    )
    .unwrap();
    let err = info_fails("mnist", &d);
    assert_says(
        &err,
        &[
            "t10k-images-idx3-ubyte.gz",
            "at byte 0",
            "wrong magic number 2049",
        ],
    );
}

#[test]
fn label_11_fails() {
    let mut lab: Vec<u8> = (0..10).map(|i| i as u8).collect();
    lab[4] = 11;
    let (_t, d) = fixture_with("t10k-labels-idx1-ubyte.gz", gzip(&encode_idx_labels(&lab)));
    let err = info_fails("fashion-mnist", &d);
    assert_says(
        &err,
        &[
            "t10k-labels-idx1-ubyte.gz",
            "at byte 12",
            "label 11 of sample 4",
        ],
    );
}

#[test]
fn csv_row_with_783_pixels_fails() {
    let t = tempfile::tempdir().unwrap();
    let row = |n: usize| format!("3,{}\n", vec!["0"; n].join(","));
    let header = format!(
        "label,{}\n",
        (0..784)
            .map(|i| format!("p{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    std::fs::write(
        t.path().join("mnist_train.csv"),
        format!("{header}{}{}{}", row(784), row(784), row(783)),
    )
    .unwrap();
    std::fs::write(t.path().join("mnist_test.csv"), row(784)).unwrap();
    let err = info_fails("mnist", t.path());
    assert_says(&err, &["mnist_train.csv: line 4", "783 pixels"]);
}

#[test]
fn empty_file_fails() {
    let (_t, d) = fixture_with("train-labels-idx1-ubyte.gz", b"");
    let err = info_fails("mnist", &d);
    assert_says(&err, &["train-labels-idx1-ubyte.gz", "empty file"]);
}

#[test]
fn image_label_count_disagreement_fails() {
    let (_t, d) = fixture_with(
        "train-labels-idx1-ubyte.gz",
        gzip(&encode_idx_labels(&[1; 19])),
    );
    let err = info_fails("mnist", &d);
    assert_says(&err, &["disagree", "20 images but 19 labels"]);
}

#[test]
fn missing_data_says_how_to_get_it() {
    let t = tempfile::tempdir().unwrap();
    let err = info_fails("mnist", &t.path().join("absent"));
    assert_says(&err, &["does not exist", "joulebench data fetch mnist"]);
    // no --data-dir, no JOULEBENCH_DATA, empty cache: same advice
    let err = fails(&["data", "info", "--dataset", "fashion-mnist"]);
    assert!(err.contains("joulebench data fetch fashion-mnist"), "{err}");
    let err = fails(&["data", "info", "--dataset", "cifar10"]);
    assert!(err.contains("unknown dataset"), "{err}");
}

#[test]
fn fetch_checksum_mismatch_fails_and_writes_nothing() {
    let (_t, src) = fixture(); // right names, wrong bytes
    let dst = tempfile::tempdir().unwrap();
    let out = dst.path().join("mnist");
    let err = fails(&fetch_args("mnist", &src, &out));
    assert_says(&err, &["checksum mismatch", "train-images-idx3-ubyte.gz"]);
    assert!(
        err.contains("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "expected hash named: {err}"
    );
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    let err = fails(&["data", "fetch", "mnist1d", "--dir", s(&out)]);
    assert!(err.contains("generated"), "{err}");
}

#[test]
fn info_real_mnist_reports_known_counts() {
    let Some(d) = joulebench_testkit::shared_data("mnist") else {
        return;
    };
    let v = info_json("mnist", &d);
    assert_eq!(v["train"]["count"], 60000);
    assert_eq!(v["test"]["count"], 10000);
    assert_eq!(
        v["train"]["class_counts"],
        serde_json::json!([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    );
}

#[test]
fn fetch_from_real_files_then_info() {
    let Some(src) = joulebench_testkit::shared_data("fashion-mnist") else {
        return;
    };
    let dst = tempfile::tempdir().unwrap();
    let out = dst.path().join("fm");
    let o = joulebench(&fetch_args("fashion-mnist", &src, &out));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("copied from"), "{}", stdout(&o));
    let o = joulebench(&fetch_args("fashion-mnist", &src, &out));
    assert!(stdout(&o).contains("already present"), "{}", stdout(&o));
    let v = info_json("fashion-mnist", &out);
    assert_eq!(
        v["train"]["class_counts"],
        serde_json::json!(vec![6000; 10])
    );
}
