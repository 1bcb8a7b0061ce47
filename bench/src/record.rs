//! The record around each study's numbers: the report header (machine, dates, load averages,
//! harness settings), the stamp each row ends with, and the JSON/CSV/Markdown files written
//! atomically.

use std::path::Path;

use joulebench_models::write_atomic;
use joulebench_profiler::{fmt_load, load_average, LatencyConfig, Machine, UtcTime};
use serde::{Deserialize, Serialize};

/// The opening fields every benchmark report (`backends.json`, `macs.json`) starts with,
/// flattened into the report's JSON object (same keys, same order as fields of the report).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportHeader {
    /// The command: `backends` or `macs`.
    pub what: String,
    pub date_start: String,
    pub date_end: String,
    pub machine: Machine,
    pub load_start: Option<[f64; 3]>,
    pub load_end: Option<[f64; 3]>,
    pub how: String,
    pub latency: LatencyConfig,
}

impl ReportHeader {
    /// A report started now: machine snapshot, load average and UTC date taken in that order;
    /// `date_end` and `load_end` stay empty until [`ReportHeader::finish`].
    pub fn begin(what: &str, how: String, latency: LatencyConfig) -> Self {
        let machine = Machine::collect();
        let load_start = load_average();
        ReportHeader {
            what: what.into(),
            date_start: UtcTime::now().iso(),
            date_end: String::new(),
            machine,
            load_start,
            load_end: None,
            how,
            latency,
        }
    }

    /// Stamps the end date and load average (call once every row is measured).
    pub fn finish(mut self) -> Self {
        self.date_end = UtcTime::now().iso();
        self.load_end = load_average();
        self
    }

    /// The Markdown heading and the machine/load lines that open the report's table
    /// (`### joulebench bench <what> — <date>`, then `machine:` and `load average` lines).
    pub fn markdown_intro(&self) -> String {
        format!(
            "### joulebench bench {} — {}\n\nmachine: {}  \nload average (1/5/15 min) at start {}, at end {}  \n",
            self.what,
            self.date_start,
            self.machine.line,
            fmt_load(self.load_start),
            fmt_load(self.load_end),
        )
    }
}

/// When and where one row was measured: flattened at the end of each report row
/// (`date`, `load_start`, `load_end`, `machine`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowStamp {
    /// UTC date at the start of the row.
    pub date: String,
    /// Load averages just before and just after the row's measurement.
    pub load_start: Option<[f64; 3]>,
    pub load_end: Option<[f64; 3]>,
    /// The machine's one-line description.
    pub machine: String,
}

impl RowStamp {
    /// The stamp's CSV fields: `date,load_start_1m,load_end_1m,machine` (empty where unknown).
    pub fn csv_fields(&self) -> String {
        let one = |l: Option<[f64; 3]>| l.map(|l| l[0].to_string()).unwrap_or_default();
        format!(
            "{},{},{},{}",
            self.date,
            one(self.load_start),
            one(self.load_end),
            csv_field(&self.machine)
        )
    }
}

/// One measured row: its status (`ok`, or the error `measure` gave), the value measured and
/// the stamp around the measurement.
pub struct Measured<T> {
    pub status: String,
    pub value: Option<T>,
    pub stamp: RowStamp,
}

/// Measures one row: date and load average, then `measure` (whose `Err` is the row's status
/// text, e.g. `unavailable: …`), then the load average again.
pub fn measure_row<T>(
    machine: &Machine,
    measure: impl FnOnce() -> Result<T, String>,
) -> Measured<T> {
    let load_start = load_average();
    let date = UtcTime::now().iso();
    let (status, value) = match measure() {
        Ok(v) => ("ok".to_string(), Some(v)),
        Err(status) => (status, None),
    };
    Measured {
        status,
        value,
        stamp: RowStamp {
            date,
            load_start,
            load_end: load_average(),
            machine: machine.line.clone(),
        },
    }
}

/// Writes `DIR/<stem>.json` (pretty), `<stem>.csv` and `<stem>.md`, each atomically.
pub fn write_report_files(
    dir: &Path,
    stem: &str,
    report: &impl Serialize,
    csv: &str,
    md: &str,
) -> anyhow::Result<()> {
    write_atomic(
        &dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(report)?.as_bytes(),
    )?;
    write_atomic(&dir.join(format!("{stem}.csv")), csv.as_bytes())?;
    write_atomic(&dir.join(format!("{stem}.md")), md.as_bytes())?;
    Ok(())
}

/// Markdown-safe cell text (pipes escaped).
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A CSV field, quoted when it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("x\"y"), "\"x\"\"y\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
