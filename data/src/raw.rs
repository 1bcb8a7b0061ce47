//! MNIST-1D's canonical arrays as headerless raw files (see `shared/data/mnist1d/README.md`):
//! `x_train.f32` `[n, 40]` and `x_test.f32` (float32 little-endian, row-major), `y_train.u8` and
//! `y_test.u8` (labels 0..9); `t.f32` `[40]` is optional and, when present, fixes the sequence
//! length.

use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, DatasetKind, Pixels, Split};
use crate::error::{DataError, Result};

fn read(path: &Path) -> Result<Vec<u8>> {
    if !path.is_file() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
            hint:
                "the canonical MNIST-1D arrays are x_train.f32, y_train.u8, x_test.f32, y_test.u8 \
                   (without --data-dir, MNIST-1D is generated)"
                    .into(),
        });
    }
    let b = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if b.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            decompressed: false,
        });
    }
    Ok(b)
}

/// Reads a raw little-endian f32 array whose length must be a multiple of `row` values; every
/// value must be finite.
pub fn read_f32_rows(path: &Path, row: usize) -> Result<Vec<f32>> {
    let b = read(path)?;
    let row_bytes = 4 * row;
    if b.len() % row_bytes != 0 {
        let whole = b.len() / row_bytes * row_bytes;
        return Err(DataError::format(
            path,
            whole as u64,
            format!("{} bytes is not a whole number of rows of {row} float32 values ({row_bytes} bytes)", b.len()),
        ));
    }
    let v: Vec<f32> = b
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(DataError::format(
            path,
            4 * i as u64,
            format!(
                "value {} (row {}, column {}) is not finite",
                v[i],
                i / row,
                i % row
            ),
        ));
    }
    Ok(v)
}

/// Reads raw u8 labels, each `< num_classes`.
pub fn read_u8_labels(path: &Path, num_classes: usize) -> Result<Vec<u8>> {
    let b = read(path)?;
    if let Some(i) = b.iter().position(|&l| l as usize >= num_classes) {
        return Err(DataError::format(
            path,
            i as u64,
            format!(
                "label {} of sample {i} is out of range (expected 0..={})",
                b[i],
                num_classes - 1
            ),
        ));
    }
    Ok(b)
}

/// Loads the canonical MNIST-1D arrays from `dir`.
pub fn load_mnist1d_arrays(dir: &Path) -> Result<Dataset> {
    let p = |n: &str| -> PathBuf { dir.join(n) };
    let len = if p("t.f32").is_file() {
        read_f32_rows(&p("t.f32"), 1)?.len()
    } else {
        40
    };
    let split = |x: &str, y: &str| -> Result<Split> {
        let xs = read_f32_rows(&p(x), len)?;
        let ys = read_u8_labels(&p(y), 10)?;
        if xs.len() / len != ys.len() {
            return Err(DataError::Mismatch {
                first: p(x),
                second: p(y),
                problem: format!("{} samples but {} labels", xs.len() / len, ys.len()),
            });
        }
        Split::new(vec![1, len], Pixels::F32(xs), ys)
    };
    Ok(Dataset {
        kind: DatasetKind::Mnist1d,
        train: split("x_train.f32", "y_train.u8")?,
        test: split("x_test.f32", "y_test.u8")?,
        source: dir.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn loads_and_validates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("t.f32"), f32s(&[0.0, 1.0, 2.0])).unwrap();
        std::fs::write(d.join("x_train.f32"), f32s(&[0.5; 6])).unwrap();
        std::fs::write(d.join("y_train.u8"), [1u8, 2]).unwrap();
        std::fs::write(d.join("x_test.f32"), f32s(&[0.25; 3])).unwrap();
        std::fs::write(d.join("y_test.u8"), [9u8]).unwrap();
        let ds = load_mnist1d_arrays(d).unwrap();
        assert_eq!(ds.sample_shape(), &[1, 3]);
        assert_eq!(ds.train.batch(&[1]).data, vec![0.5; 3]);
        std::fs::write(d.join("y_test.u8"), [9u8, 3]).unwrap();
        assert!(matches!(
            load_mnist1d_arrays(d),
            Err(DataError::Mismatch { .. })
        ));
        std::fs::write(d.join("y_test.u8"), [10u8]).unwrap();
        assert!(load_mnist1d_arrays(d)
            .unwrap_err()
            .to_string()
            .contains("label 10 of sample 0"));
        std::fs::write(d.join("y_test.u8"), [1u8]).unwrap();
        std::fs::write(d.join("x_test.f32"), f32s(&[0.25, f32::NAN, 0.0])).unwrap();
        let err = load_mnist1d_arrays(d).unwrap_err();
        assert!(matches!(err, DataError::Format { offset: 4, .. }), "{err}");
        std::fs::write(d.join("x_test.f32"), f32s(&[0.25, 0.0])).unwrap();
        assert!(load_mnist1d_arrays(d)
            .unwrap_err()
            .to_string()
            .contains("not a whole number of rows"));
        std::fs::remove_file(d.join("x_test.f32")).unwrap();
        assert!(matches!(
            load_mnist1d_arrays(d),
            Err(DataError::NotFound { .. })
        ));
    }
}
