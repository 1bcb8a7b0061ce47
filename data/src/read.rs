//! Reading a whole file that may be gzip-compressed. Compression is detected by the gzip magic
//! bytes `1f 8b`, never by the file name.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::error::{DataError, Result};

/// The two bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The file's content, gunzipped when it starts with the gzip magic. Errors on an empty file
/// (before or after decompression) and on a truncated or corrupt gzip stream (CRC and length
/// in the gzip trailer are checked by the decoder).
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    gunzip_maybe(path, raw)
}

/// What [`read_maybe_gzip`] does after reading: `raw` (the content of `path`, which is only used
/// in errors) gunzipped when it starts with the gzip magic, returned as is otherwise.
pub fn gunzip_maybe(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if raw.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            decompressed: false,
        });
    }
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4));
    let mut dec = GzDecoder::new(raw.as_slice());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(DataError::Gzip {
                    path: path.to_path_buf(),
                    compressed: raw.len() as u64,
                    decompressed: out.len() as u64,
                    reason: e.to_string(),
                })
            }
        }
    }
    if out.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            decompressed: true,
        });
    }
    Ok(out)
}

/// Gzip-compresses `bytes` (default level), for fixtures and tests.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("writing to a Vec cannot fail");
    e.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        gzip(bytes)
    }

    #[test]
    fn plain_and_gzip_give_the_same_bytes_whatever_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let plain = dir.path().join("a.gz"); // misleading name: not compressed
        let packed = dir.path().join("b.bin"); // misleading name: compressed
        std::fs::write(&plain, &payload).unwrap();
        std::fs::write(&packed, gz(&payload)).unwrap();
        assert_eq!(read_maybe_gzip(&plain).unwrap(), payload);
        assert_eq!(read_maybe_gzip(&packed).unwrap(), payload);
    }

    #[test]
    fn truncated_gzip_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 253) as u8).collect();
        let full = gz(&payload);
        let p = dir.path().join("cut.gz");
        std::fs::write(&p, &full[..full.len() / 2]).unwrap();
        let err = read_maybe_gzip(&p).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("cut.gz") && msg.contains("truncated"), "{msg}");
        // only the 8-byte trailer missing: the CRC/length check must still catch it
        std::fs::write(&p, &full[..full.len() - 4]).unwrap();
        assert!(matches!(read_maybe_gzip(&p), Err(DataError::Gzip { .. })));
    }

    #[test]
    fn empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty");
        std::fs::write(&p, b"").unwrap();
        let err = read_maybe_gzip(&p).unwrap_err();
        assert!(matches!(
            err,
            DataError::Empty {
                decompressed: false,
                ..
            }
        ));
        assert!(err.to_string().contains("empty file"));
        std::fs::write(&p, gz(b"")).unwrap();
        assert!(matches!(
            read_maybe_gzip(&p),
            Err(DataError::Empty {
                decompressed: true,
                ..
            })
        ));
    }
}
