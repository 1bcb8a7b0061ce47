//! Writing a results folder: `results.json`, `results.csv`, `plots/*.svg|png` and
//! `report.html`, every file atomically (temp file + rename).

use std::path::{Path, PathBuf};

use joulebench_models::write_atomic;

use crate::csv::results_csv;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::html::render_page;
use crate::sweep::{find_sweeps, SweepSummary};

/// What [`write_report`] wrote.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    pub html: PathBuf,
    pub json: PathBuf,
    pub csv: PathBuf,
    /// Every plot file (SVG and PNG).
    pub plots: Vec<PathBuf>,
}

/// Writes `results.json`, `results.csv`, the plots and `report.html` into `dir`.
pub fn write_report(data: &ReportData, dir: &Path) -> Result<ReportFiles, ReportError> {
    let json = dir.join("results.json");
    let csv = dir.join("results.csv");
    write_atomic(&json, data.to_json().as_bytes())?;
    write_atomic(&csv, results_csv(data).as_bytes())?;
    let (html_text, figs) = render_page(data)?;
    let plots_dir = dir.join("plots");
    let mut plots = Vec::with_capacity(figs.len() * 2);
    for f in &figs {
        let svg = plots_dir.join(format!("{}.svg", f.name));
        let png = plots_dir.join(format!("{}.png", f.name));
        write_atomic(&svg, f.svg.as_bytes())?;
        write_atomic(&png, &f.png)?;
        plots.push(svg);
        plots.push(png);
    }
    let html = dir.join("report.html");
    write_atomic(&html, html_text.as_bytes())?;
    Ok(ReportFiles {
        html,
        json,
        csv,
        plots,
    })
}

/// Reads `dir/results.json` (when present).
pub fn load_results(dir: &Path) -> Result<Option<ReportData>, ReportError> {
    let path = dir.join("results.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
    ReportData::from_json(&text)
        .map(Some)
        .map_err(|e| ReportError::Parse {
            path,
            what: format!("not a joulebench results file: {e}"),
        })
}

/// Replaces sweeps of the same name and appends new ones, keeping order.
pub fn merge_sweeps(data: &mut ReportData, found: Vec<SweepSummary>) {
    for s in found {
        match data.sweeps.iter_mut().find(|x| x.name == s.name) {
            Some(x) => *x = s,
            None => data.sweeps.push(s),
        }
    }
}

/// Rebuilds the report in `dir` from `dir/results.json` and every sweep folder found in `dir`,
/// `dir/sweeps/*` (a folder with a `summary.json`). Errors when neither exists.
pub fn rebuild_report(dir: &Path) -> Result<(ReportData, ReportFiles), ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::Parse {
            path: dir.to_path_buf(),
            what: "not a folder".into(),
        });
    }
    let loaded = load_results(dir)?;
    let spike_rate = crate::spike_rate::load_spike_rate(dir)?;
    let had_results = loaded.is_some() || spike_rate.is_some();
    let mut data = loaded.unwrap_or_else(|| ReportData::new("joulebench sweeps"));
    if spike_rate.is_some() {
        data.spike_rate = spike_rate;
    }
    let mut found = find_sweeps(dir)?;
    let sub = dir.join("sweeps");
    if sub.is_dir() {
        found.extend(find_sweeps(&sub)?);
    }
    if !had_results && found.is_empty() {
        return Err(ReportError::Parse {
            path: dir.to_path_buf(),
            what: "no results.json, no spike_rate.json and no sweep folder (a folder with summary.json) here; run `joulebench run --out DIR` or `joulebench sweep FILE --out DIR` first".into(),
        });
    }
    if data.dataset.is_empty() {
        let mut ds: Vec<String> = found
            .iter()
            .flat_map(|s| s.rows.iter().map(|r| r.dataset.clone()))
            .collect();
        ds.sort();
        ds.dedup();
        data.dataset = ds.join(", ");
    }
    merge_sweeps(&mut data, found);
    let files = write_report(&data, dir)?;
    Ok((data, files))
}
