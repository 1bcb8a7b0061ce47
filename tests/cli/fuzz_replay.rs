//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, fuzzer findings included, and the crash
//! reproducers in `fuzz/regressions/<target>/`) through the fuzz targets' bodies — the same
//! code libFuzzer runs (`fuzz/src/lib.rs`, included here) — without sanitizers or nightly.
//! Each target asserts that the reader returns (no panic) and that errors name the file.
//! `scripts/fuzz smoke` runs this test (CI, after `make test`, reusing its build).

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_targets;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = vec![];
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            out.extend(rd.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
        }
    }
    out.sort();
    out
}

fn replay(target: &str) {
    let (_, run) = fuzz_targets::TARGETS
        .iter()
        .find(|(n, _)| *n == target)
        .expect("known target");
    let files = inputs(target);
    assert!(!files.is_empty(), "no corpus for {target}");
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("fuzz target {target} panics on {}", f.display());
        }
    }
    println!("{target}: {} inputs replayed", files.len());
}

#[test]
fn idx_corpus() {
    replay("idx");
}

#[test]
fn csv_corpus() {
    replay("csv");
}

#[test]
fn onnx_corpus() {
    replay("onnx");
}

#[test]
fn sweep_corpus() {
    replay("sweep");
}

#[test]
fn nir_corpus() {
    replay("nir");
}
