//! The CSV layout `label,p0,…,p783` (as in the widely shared `mnist_train.csv`): one sample per
//! line, the label first, then the pixels row-major as integers `0..=255`. The first line may be
//! a header (detected when its first field is not an integer); blank lines are skipped; the file
//! may be gzip-compressed (detected by content).

use std::path::Path;

use crate::error::{DataError, Result};
use crate::read::read_maybe_gzip;

/// Samples read from a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSamples {
    /// `labels.len() × pixels_per_row` pixels.
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

fn parse_int_field(field: &str, what: &str, max: u64) -> std::result::Result<u8, String> {
    let f = field.trim();
    if f.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if let Ok(v) = f.parse::<u64>() {
        if v > max {
            return Err(format!("{what} {v} is out of range 0..={max}"));
        }
        return Ok(v as u8);
    }
    match f.parse::<f64>() {
        Ok(v) if v.is_nan() => Err(format!("{what} is NaN")),
        Ok(v) if v.is_infinite() => Err(format!("{what} is infinite ({f})")),
        Ok(v) if v < 0.0 => Err(format!("{what} {f} is negative (expected 0..={max})")),
        Ok(_) => Err(format!("{what} `{f}` is not an integer")),
        Err(_) => Err(format!("{what} `{f}` is not a number")),
    }
}

/// Parses CSV text. `path` is only used in errors; `line` numbers in errors are 1-based.
pub fn parse_csv(
    path: &Path,
    text: &str,
    pixels_per_row: usize,
    num_classes: usize,
) -> Result<CsvSamples> {
    if num_classes == 0 || num_classes > 256 {
        return Err(DataError::Invalid(format!(
            "{}: cannot read labels for {num_classes} classes (expected 1..=256)",
            path.display()
        )));
    }
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let first = line.split(',').next().unwrap_or("").trim();
        if i == 0 && first.parse::<f64>().is_err() {
            continue; // header
        }
        let fields = line.split(',').count();
        if fields != pixels_per_row + 1 {
            return Err(DataError::csv(
                path,
                line_no,
                format!(
                    "{fields} columns, expected {} (a label and {pixels_per_row} pixels); this row has {} pixels",
                    pixels_per_row + 1,
                    fields.saturating_sub(1)
                ),
            ));
        }
        let mut it = line.split(',');
        let label = parse_int_field(it.next().unwrap_or(""), "label", (num_classes - 1) as u64)
            .map_err(|p| DataError::csv(path, line_no, p))?;
        labels.push(label);
        for (j, f) in it.enumerate() {
            let v = parse_int_field(f, &format!("pixel p{j}"), 255)
                .map_err(|p| DataError::csv(path, line_no, p))?;
            pixels.push(v);
        }
    }
    if labels.is_empty() {
        return Err(DataError::csv(
            path,
            1,
            "no samples (the file holds no data rows)",
        ));
    }
    Ok(CsvSamples { pixels, labels })
}

/// Reads a CSV file (plain or gzip-compressed).
pub fn read_csv(path: &Path, pixels_per_row: usize, num_classes: usize) -> Result<CsvSamples> {
    parse_csv_bytes(path, &read_maybe_gzip(path)?, pixels_per_row, num_classes)
}

/// Parses CSV content (already gunzipped) that must be UTF-8; `path` is only used in errors.
pub fn parse_csv_bytes(
    path: &Path,
    bytes: &[u8],
    pixels_per_row: usize,
    num_classes: usize,
) -> Result<CsvSamples> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        DataError::csv(
            path,
            line,
            format!("not UTF-8 text (byte {})", e.valid_up_to()),
        )
    })?;
    parse_csv(path, text, pixels_per_row, num_classes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("fixture.csv")
    }

    fn row(label: &str, n: usize, v: &str) -> String {
        let mut s = label.to_string();
        for _ in 0..n {
            s.push(',');
            s.push_str(v);
        }
        s
    }

    #[test]
    fn header_optional_and_values_read() {
        let header = format!(
            "label,{}",
            (0..4)
                .map(|i| format!("p{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let text = format!("{header}\n3,0,1,254,255\r\n\n9,5,5,5,5\n");
        let s = parse_csv(p(), &text, 4, 10).unwrap();
        assert_eq!(s.labels, vec![3, 9]);
        assert_eq!(s.pixels, vec![0, 1, 254, 255, 5, 5, 5, 5]);
        let s = parse_csv(p(), "1,2,3,4,5", 4, 10).unwrap();
        assert_eq!(s.labels, vec![1]);
    }

    #[test]
    fn row_with_783_pixels_names_the_line() {
        let text = format!("{}\n{}\n", row("1", 784, "0"), row("2", 783, "0"));
        let err = parse_csv(p(), &text, 784, 10).unwrap_err();
        assert!(matches!(err, DataError::Csv { line: 2, .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("fixture.csv")
                && msg.contains("784 columns, expected 785")
                && msg.contains("783 pixels"),
            "{msg}"
        );
    }

    #[test]
    fn bad_values() {
        let cases = [
            ("1,0,256", "pixel p1 256 is out of range"),
            ("1,0,1.5", "pixel p1 `1.5` is not an integer"),
            ("1,nan,0", "pixel p0 is NaN"),
            ("1,inf,0", "pixel p0 is infinite"),
            ("1,-3,0", "negative"),
            ("1,,0", "pixel p0 is empty"),
            ("1,x,0", "not a number"),
            ("11,0,0", "label 11 is out of range 0..=9"),
            ("0,0,0\n-1,0,0", "label -1 is negative"),
        ];
        for (text, want) in cases {
            let err = parse_csv(p(), text, 2, 10).unwrap_err();
            assert!(err.to_string().contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn empty_is_an_error() {
        assert!(parse_csv(p(), "", 2, 10)
            .unwrap_err()
            .to_string()
            .contains("no samples"));
        assert!(parse_csv(p(), "label,p0,p1\n", 2, 10)
            .unwrap_err()
            .to_string()
            .contains("no samples"));
    }
}
