//! NumPy `.npy` arrays: a strict reader of float arrays and an atomic float32 writer.
//!
//! Reads format versions 1.0, 2.0 and 3.0, little-endian float32 (`<f4`) or float64 (`<f8`,
//! converted to f32), C order only; every value must be finite. Writes `<f4`, version 1.0 (2.0
//! when the header does not fit 1.0's 16-bit length). Every malformed file (bad magic, unknown
//! version, a header that is not the dict NumPy writes, an unsupported dtype, Fortran order, a
//! data size that disagrees with the shape) is a [`DataError::Format`] naming the file and the
//! byte offset; the declared size is checked against the file's length before anything is
//! allocated for the values.

use std::path::Path;

use joulebench_models::Tensor;

use crate::error::{DataError, Result};

/// The 6-byte magic every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Element type of an array on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F4,
    F8,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F4 => 4,
            Dtype::F8 => 8,
        }
    }
}

/// Reads `path` as a `.npy` float array (see the module documentation).
pub fn read_npy(path: &Path) -> Result<Tensor> {
    if !path.is_file() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
            hint: "expected a NumPy .npy file".into(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_npy(path, &bytes)
}

/// Parses the bytes of a `.npy` file; `path` only names the file in errors.
pub fn parse_npy(path: &Path, bytes: &[u8]) -> Result<Tensor> {
    let fmt = |offset: usize, problem: String| DataError::format(path, offset as u64, problem);
    if bytes.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            decompressed: false,
        });
    }
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err(fmt(
            0,
            "not a NumPy .npy file (bad magic: expected \\x93NUMPY)".into(),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => {
            return Err(fmt(
                6,
                format!(
                    "unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)"
                ),
            ))
        }
    };
    let start = 8 + len_bytes;
    if bytes.len() < start {
        return Err(fmt(8, "truncated: the header length is missing".into()));
    }
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    let data_start = start.saturating_add(header_len);
    if bytes.len() < data_start {
        return Err(fmt(
            start,
            format!(
                "truncated: the header declares {header_len} bytes but the file has {} after it",
                bytes.len() - start
            ),
        ));
    }
    let raw = &bytes[start..data_start];
    let text = if utf8 {
        std::str::from_utf8(raw)
            .map_err(|e| fmt(start, format!("header is not UTF-8: {e}")))?
            .to_string()
    } else {
        // latin-1: every byte is one character
        raw.iter().map(|&b| b as char).collect()
    };
    let header =
        parse_header(&text).map_err(|p| fmt(start, format!("header {}: {p}", text.trim_end())))?;
    let dtype = match header.descr.as_str() {
        "<f4" => Dtype::F4,
        "<f8" => Dtype::F8,
        ">f4" | ">f8" => {
            return Err(fmt(
                start,
                format!(
                    "dtype `{}` is big-endian; only little-endian float32 (<f4) or float64 (<f8) is read \
                     (in NumPy: a.astype('<f4'))",
                    header.descr
                ),
            ))
        }
        other => {
            return Err(fmt(
                start,
                format!(
                    "dtype `{other}` is not supported: expected float32 (<f4) or float64 (<f8) \
                     (in NumPy: a.astype(np.float32))"
                ),
            ))
        }
    };
    if header.fortran_order {
        return Err(fmt(
            start,
            "fortran_order is True: only C-order arrays are read (in NumPy: np.ascontiguousarray(a))"
                .into(),
        ));
    }
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_mul(dtype.size()).map(|b| (n, b)));
    let have = bytes.len() - data_start;
    let (count, need) = match count {
        Some(c) => c,
        None => return Err(fmt(start, format!("shape {:?} is too large", header.shape))),
    };
    if have != need {
        return Err(fmt(
            data_start,
            format!(
                "{} for shape {:?} of {}: the header needs {need} data bytes, the file has {have}",
                if have < need {
                    "truncated"
                } else {
                    "trailing bytes"
                },
                header.shape,
                header.descr
            ),
        ));
    }
    let body = &bytes[data_start..];
    let data: Vec<f32> = match dtype {
        Dtype::F4 => body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F8 => body
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
    };
    debug_assert_eq!(data.len(), count);
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        return Err(fmt(
            data_start + i * dtype.size(),
            format!(
                "value {} at flat index {i} (index {:?}) is not finite",
                data[i],
                unravel(i, &header.shape)
            ),
        ));
    }
    Ok(Tensor {
        shape: header.shape,
        data,
    })
}

/// The bytes of `t` as a `.npy` file: `<f4`, C order, version 1.0 (2.0 for a very long header).
pub fn npy_bytes(t: &Tensor) -> Vec<u8> {
    let shape = match t.shape.len() {
        1 => format!("({},)", t.shape[0]),
        _ => format!(
            "({})",
            t.shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // header (dict + spaces + '\n') padded so that the data start is a multiple of 64
    let (major, prefix) = if 10 + dict.len() < 65536 - 64 {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let total = (prefix + dict.len() + 1).div_ceil(64) * 64;
    let header_len = total - prefix;
    let mut out = Vec::with_capacity(total + 4 * t.data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    for v in &t.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes `t` to `path` as a `.npy` float32 array, atomically (temp file + rename).
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    joulebench_models::write_atomic(path, &npy_bytes(t)).map_err(|e| match e {
        joulebench_models::ModelError::Io { source, .. } => DataError::io(path, source),
        other => DataError::Invalid(format!("{}: {other}", path.display())),
    })
}

fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = i % d;
            i /= d;
        }
    }
    idx
}

/// The three keys of a `.npy` header.
#[derive(Debug)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the header dict NumPy writes: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
/// (keys in any order, single or double quotes, optional trailing comma, trailing spaces/newline).
fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut p = Cursor {
        s: text.as_bytes(),
        i: 0,
    };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        match key.as_str() {
            "descr" => {
                if p.peek() == Some(b'[') {
                    return Err("structured dtypes are not supported".into());
                }
                descr = Some(p.string()?)
            }
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unknown key `{other}`")),
        }
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    if p.s[p.i..].iter().any(|b| !b.is_ascii_whitespace()) {
        return Err("unexpected text after the dict".into());
    }
    Ok(Header {
        descr: descr.ok_or("no `descr` key")?,
        fortran_order: fortran.ok_or("no `fortran_order` key")?,
        shape: shape.ok_or("no `shape` key")?,
    })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        self.ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` at character {}", c as char, self.i))
        }
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at character {}", self.i)),
        };
        self.i += 1;
        let start = self.i;
        while let Some(b) = self.peek() {
            if b == q {
                let s = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                return Ok(s);
            }
            self.i += 1;
        }
        Err("unterminated string".into())
    }
    fn boolean(&mut self) -> std::result::Result<bool, String> {
        for (word, v) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(v);
            }
        }
        Err(format!("expected True or False at character {}", self.i))
    }
    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.ws();
            if self.eat(b')') {
                return Ok(dims);
            }
            let start = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.i += 1;
            }
            if start == self.i {
                return Err(format!(
                    "expected a non-negative integer dimension at character {}",
                    self.i
                ));
            }
            let d = std::str::from_utf8(&self.s[start..self.i])
                .ok()
                .and_then(|t| t.parse::<usize>().ok())
                .ok_or("dimension too large")?;
            dims.push(d);
            self.ws();
            if !self.eat(b',') {
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("x.npy")
    }

    fn file(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let mut h = dict.as_bytes().to_vec();
        h.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        if major == 1 {
            out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(h.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out
    }

    fn f4(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn err(bytes: &[u8]) -> String {
        parse_npy(p(), bytes).unwrap_err().to_string()
    }

    #[test]
    fn round_trip_keeps_shape_and_values() {
        for shape in [vec![], vec![3], vec![2, 3], vec![4, 2, 1, 5], vec![0, 7]] {
            let n: usize = shape.iter().product();
            let t = Tensor {
                shape: shape.clone(),
                data: (0..n).map(|i| i as f32 * 0.25 - 1.0).collect(),
            };
            let b = npy_bytes(&t);
            assert_eq!((b.len() - 4 * n) % 64, 0, "data aligned to 64 bytes");
            assert_eq!(b[6], 1);
            assert_eq!(parse_npy(p(), &b).unwrap(), t);
        }
    }

    #[test]
    fn write_then_read_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("a.npy");
        let t = Tensor {
            shape: vec![2, 2],
            data: vec![1.0, -2.5, 3.0, 1e-7],
        };
        write_npy(&path, &t).unwrap();
        assert_eq!(read_npy(&path).unwrap(), t);
    }

    #[test]
    fn reads_v2_and_v3_headers_and_f8() {
        let d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        for major in [2, 3] {
            let t = parse_npy(p(), &file(major, d, &f4(&[1.5, 2.5]))).unwrap();
            assert_eq!((t.shape, t.data), (vec![2], vec![1.5, 2.5]));
        }
        let d = "{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<f8\"}";
        let data: Vec<u8> = [0.1f64, -3.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let t = parse_npy(p(), &file(1, d, &data)).unwrap();
        assert_eq!((t.shape, t.data), (vec![1, 2], vec![0.1f32, -3.0]));
    }

    #[test]
    fn long_headers_use_version_2() {
        let shape: Vec<usize> = vec![1; 25_000]; // "1, " × 25 000 > 65 535 header bytes
        let t = Tensor {
            shape,
            data: vec![4.0],
        };
        let b = npy_bytes(&t);
        assert_eq!(b[6], 2);
        assert_eq!(parse_npy(p(), &b).unwrap(), t);
    }

    #[test]
    fn refuses_malformed_files() {
        let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
        let data = f4(&[1.0, 2.0, 3.0, 4.0]);
        assert!(err(b"").contains("empty"));
        assert!(err(b"PK\x03\x04 not npy").contains("bad magic"));
        assert!(err(&file(4, good, &data)).contains("version 4.0"));
        let e = err(&file(1, &good.replace("<f4", "<i4"), &data));
        assert!(e.contains("`<i4`") && e.contains("x.npy"), "{e}");
        assert!(err(&file(1, &good.replace("<f4", "|u1"), &data)).contains("`|u1`"));
        assert!(err(&file(1, &good.replace("<f4", ">f4"), &data)).contains("big-endian"));
        assert!(err(&file(1, &good.replace("False", "True"), &data)).contains("fortran_order"));
        let e = err(&file(1, good, &data[..10]));
        assert!(e.contains("truncated") && e.contains("needs 16"), "{e}");
        assert!(err(&file(1, good, &[data.clone(), vec![0]].concat())).contains("trailing"));
        // header length beyond the file
        let mut b = file(1, good, &data);
        b[8] = 0xff;
        b[9] = 0xff;
        assert!(err(&b).contains("truncated"));
        assert!(err(&b[..9]).contains("header length"));
        // a shape whose size overflows is refused before anything is allocated
        let huge = good.replace("(2, 2)", "(18446744073709551615, 4)");
        assert!(err(&file(1, &huge, &data)).contains("too large"));
        let big = good.replace("(2, 2)", "(1000000000, 1000)");
        assert!(err(&file(1, &big, &data)).contains("truncated"));
        assert!(err(&file(1, "{'descr': '<f4'}", &data)).contains("fortran_order"));
        assert!(err(&file(1, "not a dict", &data)).contains("expected `{`"));
        let e = err(&file(1, good, &f4(&[1.0, f32::NAN, 3.0, 4.0])));
        assert!(e.contains("not finite") && e.contains("[0, 1]"), "{e}");
        assert!(err(&file(1, good, &f4(&[1.0, 2.0, f32::INFINITY, 4.0]))).contains("not finite"));
        assert!(read_npy(Path::new("/nonexistent/x.npy"))
            .unwrap_err()
            .to_string()
            .contains("not found"));
    }
}
