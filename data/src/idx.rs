//! The IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed, detected by content).
//!
//! Big-endian header, then unsigned bytes:
//! * images: `u32` magic 2051 (`0x00000803`: type u8, 3 dimensions), `u32` count, `u32` rows,
//!   `u32` cols, then `count × rows × cols` pixels, row-major;
//! * labels: `u32` magic 2049 (`0x00000801`: type u8, 1 dimension), `u32` count, then `count` labels.
//!
//! Offsets in errors are byte offsets into the decompressed content.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::read::read_maybe_gzip;

/// Magic number of an IDX image file (unsigned bytes, 3 dimensions).
pub const IDX_IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX label file (unsigned bytes, 1 dimension).
pub const IDX_LABELS_MAGIC: u32 = 2049;

/// Images read from an IDX file.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count × rows × cols` pixels, row-major.
    pub pixels: Vec<u8>,
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn check_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    header_len: usize,
    what: &str,
) -> Result<()> {
    if bytes.len() < 4 {
        return Err(DataError::format(
            path,
            0,
            format!(
                "file is {} bytes, too short for an IDX magic number",
                bytes.len()
            ),
        ));
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        let hint = match found {
            IDX_IMAGES_MAGIC => " (this is an image file)",
            IDX_LABELS_MAGIC => " (this is a label file)",
            _ => "",
        };
        return Err(DataError::format(
            path,
            0,
            format!("wrong magic number {found} (0x{found:08x}), expected {magic} (0x{magic:08x}) for an IDX {what} file{hint}"),
        ));
    }
    if bytes.len() < header_len {
        return Err(DataError::format(
            path,
            bytes.len() as u64,
            format!(
                "truncated header: {} bytes, an IDX {what} header is {header_len} bytes",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

fn check_payload(
    path: &Path,
    bytes: &[u8],
    header_len: usize,
    expected: u64,
    what: &str,
) -> Result<()> {
    let have = (bytes.len() - header_len) as u64;
    if have < expected {
        return Err(DataError::format(
            path,
            bytes.len() as u64,
            format!("truncated: the header announces {expected} bytes of {what}, the file ends after {have}"),
        ));
    }
    if have > expected {
        return Err(DataError::format(
            path,
            header_len as u64 + expected,
            format!(
                "{} trailing bytes after the {expected} bytes of {what} the header announces",
                have - expected
            ),
        ));
    }
    Ok(())
}

/// Parses IDX image content (already decompressed). `path` is only used in errors.
pub fn parse_idx_images(path: &Path, bytes: &[u8]) -> Result<IdxImages> {
    check_header(path, bytes, IDX_IMAGES_MAGIC, 16, "image")?;
    let count = be_u32(bytes, 4) as usize;
    let rows = be_u32(bytes, 8) as usize;
    let cols = be_u32(bytes, 12) as usize;
    if rows == 0 || cols == 0 {
        return Err(DataError::format(
            path,
            8,
            format!("image size {rows}×{cols} has a zero dimension"),
        ));
    }
    // u32 × u32 × u32 can exceed u64: such a header cannot describe a real file
    let expected = (count as u64)
        .checked_mul(rows as u64)
        .and_then(|n| n.checked_mul(cols as u64))
        .ok_or_else(|| {
            DataError::format(
                path,
                4,
                format!("header announces {count} images of {rows}×{cols}: more bytes than any file holds"),
            )
        })?;
    check_payload(
        path,
        bytes,
        16,
        expected,
        &format!("pixels ({count} images of {rows}×{cols})"),
    )?;
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: bytes[16..].to_vec(),
    })
}

/// Parses IDX label content (already decompressed); every label must be `< num_classes`.
pub fn parse_idx_labels(path: &Path, bytes: &[u8], num_classes: usize) -> Result<Vec<u8>> {
    if num_classes == 0 || num_classes > 256 {
        return Err(DataError::Invalid(format!(
            "{}: cannot read labels for {num_classes} classes (expected 1..=256)",
            path.display()
        )));
    }
    check_header(path, bytes, IDX_LABELS_MAGIC, 8, "label")?;
    let count = be_u32(bytes, 4) as usize;
    check_payload(
        path,
        bytes,
        8,
        count as u64,
        &format!("labels ({count} labels)"),
    )?;
    let labels = &bytes[8..];
    if let Some(i) = labels.iter().position(|&l| l as usize >= num_classes) {
        return Err(DataError::format(
            path,
            8 + i as u64,
            format!(
                "label {} of sample {i} is out of range (expected 0..={})",
                labels[i],
                num_classes - 1
            ),
        ));
    }
    Ok(labels.to_vec())
}

/// Reads an IDX image file, plain or gzip-compressed.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    parse_idx_images(path, &read_maybe_gzip(path)?)
}

/// Reads an IDX label file, plain or gzip-compressed; labels must be `< num_classes`.
pub fn read_idx_labels(path: &Path, num_classes: usize) -> Result<Vec<u8>> {
    parse_idx_labels(path, &read_maybe_gzip(path)?, num_classes)
}

/// Reads a matching pair of IDX files and checks that they hold the same number of samples
/// and that the images are `rows × cols`.
pub fn read_idx_pair(
    images: &Path,
    labels: &Path,
    num_classes: usize,
    rows: usize,
    cols: usize,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let img = read_idx_images(images)?;
    if img.rows != rows || img.cols != cols {
        return Err(DataError::format(
            images,
            8,
            format!(
                "images are {}×{}, expected {rows}×{cols}",
                img.rows, img.cols
            ),
        ));
    }
    let lab = read_idx_labels(labels, num_classes)?;
    if lab.len() != img.count {
        return Err(DataError::Mismatch {
            first: images.to_path_buf(),
            second: labels.to_path_buf(),
            problem: format!("{} images but {} labels", img.count, lab.len()),
        });
    }
    Ok((img.pixels, lab))
}

/// Serializes images as IDX (for tests and fixtures).
pub fn encode_idx_images(count: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IDX_IMAGES_MAGIC, count as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Serializes labels as IDX (for tests and fixtures).
pub fn encode_idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&IDX_LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("fixture-idx")
    }

    #[test]
    fn round_trip() {
        let pixels: Vec<u8> = (0..3 * 4 * 5).map(|i| i as u8).collect();
        let img = parse_idx_images(p(), &encode_idx_images(3, 4, 5, &pixels)).unwrap();
        assert_eq!((img.count, img.rows, img.cols), (3, 4, 5));
        assert_eq!(img.pixels, pixels);
        assert_eq!(
            parse_idx_labels(p(), &encode_idx_labels(&[0, 9, 3]), 10).unwrap(),
            vec![0, 9, 3]
        );
    }

    #[test]
    fn wrong_magic_names_offset_and_values() {
        let mut bytes = encode_idx_images(1, 2, 2, &[0; 4]);
        bytes[3] = 0x04;
        let err = parse_idx_images(p(), &bytes).unwrap_err();
        assert!(matches!(err, DataError::Format { offset: 0, .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("fixture-idx")
                && msg.contains("wrong magic number 2052")
                && msg.contains("2051"),
            "{msg}"
        );
        // a label file given as images says so
        let err = parse_idx_images(p(), &encode_idx_labels(&[1, 2])).unwrap_err();
        assert!(err.to_string().contains("this is a label file"), "{err}");
    }

    #[test]
    fn label_out_of_range_names_sample_and_offset() {
        let err = parse_idx_labels(p(), &encode_idx_labels(&[1, 2, 11, 3]), 10).unwrap_err();
        assert!(matches!(err, DataError::Format { offset: 10, .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("label 11 of sample 2") && msg.contains("0..=9"),
            "{msg}"
        );
    }

    #[test]
    fn truncation_and_trailing_bytes() {
        let full = encode_idx_images(2, 3, 3, &[7; 18]);
        let err = parse_idx_images(p(), &full[..full.len() - 1]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        assert!(matches!(err, DataError::Format { offset: 33, .. }));
        let err = parse_idx_images(p(), &full[..10]).unwrap_err();
        assert!(err.to_string().contains("truncated header"), "{err}");
        let mut long = full.clone();
        long.extend_from_slice(&[1, 2, 3]);
        let err = parse_idx_images(p(), &long).unwrap_err();
        assert!(matches!(err, DataError::Format { offset: 34, .. }), "{err}");
        assert!(err.to_string().contains("3 trailing bytes"));
        assert!(parse_idx_labels(p(), &[0, 0], 10)
            .unwrap_err()
            .to_string()
            .contains("too short"));
    }

    #[test]
    fn pair_checks_count_agreement_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let ip = dir.path().join("img");
        let lp = dir.path().join("lab");
        std::fs::write(&ip, encode_idx_images(3, 2, 2, &[0; 12])).unwrap();
        std::fs::write(&lp, encode_idx_labels(&[1, 2])).unwrap();
        let err = read_idx_pair(&ip, &lp, 10, 2, 2).unwrap_err();
        assert!(matches!(err, DataError::Mismatch { .. }));
        assert!(err.to_string().contains("3 images but 2 labels"), "{err}");
        std::fs::write(&lp, encode_idx_labels(&[1, 2, 3])).unwrap();
        let (px, lab) = read_idx_pair(&ip, &lp, 10, 2, 2).unwrap();
        assert_eq!((px.len(), lab.len()), (12, 3));
        let err = read_idx_pair(&ip, &lp, 10, 28, 28).unwrap_err();
        assert!(err.to_string().contains("expected 28×28"), "{err}");
    }
}
