//! Sweep studies as the report shows them, read from a sweep folder's `summary.json`
//! (written by `joulebench sweep`; its rows are [`joulebench_models::SweepRow`]s).

use std::path::Path;

use serde::{Deserialize, Serialize};

use joulebench_models::SweepRow;

use crate::error::ReportError;

/// One sweep folder's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Folder name of the sweep (e.g. `depth`, `optimizer-lr`).
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Path of the `summary.json` it was read from, as given.
    #[serde(default)]
    pub source: String,
    pub rows: Vec<SweepRow>,
}

/// What a sweep varies, judged from its rows; decides how it is plotted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepAxis {
    Depth,
    Width,
    Input,
    /// Optimizer and/or learning rate and/or batch size and/or schedule: shown as a table.
    Recipe,
    /// Several presets: shown as accuracy vs MACs.
    Model,
}

impl SweepSummary {
    /// Reads `DIR/summary.json`; the sweep is named after the folder.
    pub fn load_dir(dir: &Path) -> Result<Self, ReportError> {
        let path = dir.join("summary.json");
        let text = std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            description: Option<String>,
            rows: Vec<SweepRow>,
        }
        let f: File = serde_json::from_str(&text).map_err(|e| ReportError::Parse {
            path: path.clone(),
            what: format!("not a sweep summary: {e}"),
        })?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(SweepSummary {
            name,
            description: f.description,
            source: path.display().to_string(),
            rows: f.rows,
        })
    }

    /// Rows that finished with an accuracy.
    pub fn done_rows(&self) -> impl Iterator<Item = &SweepRow> {
        self.rows
            .iter()
            .filter(|r| r.test_acc.is_some() && (r.status.is_empty() || r.status == "done"))
    }

    /// What the accuracies were measured on: the finished rows' `eval_split` when they name
    /// one (`validation (last N training samples)`), else `test`.
    pub fn eval_split(&self) -> String {
        self.done_rows()
            .find_map(|r| r.eval_split.clone())
            .unwrap_or_else(|| "test".into())
    }

    /// `test` or `validation`: the split's short name, for labels.
    pub fn eval_split_short(&self) -> &'static str {
        if self.eval_split().starts_with("validation") {
            "validation"
        } else {
            "test"
        }
    }

    /// The axes whose value differs between finished rows, in a fixed order.
    pub fn varying(&self) -> Vec<SweepAxis> {
        let rows: Vec<&SweepRow> = self.done_rows().collect();
        let differs = |f: &dyn Fn(&SweepRow) -> String| {
            rows.iter()
                .map(|r| f(r))
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > 1
        };
        let mut out = Vec::new();
        if differs(&|r| r.model.clone()) {
            out.push(SweepAxis::Model);
        }
        if differs(&|r| format!("{:?}", r.depth)) {
            out.push(SweepAxis::Depth);
        }
        if differs(&|r| format!("{:?}", r.width)) {
            out.push(SweepAxis::Width);
        }
        if differs(&|r| r.input.clone()) {
            out.push(SweepAxis::Input);
        }
        if differs(&|r| format!("{} {} {} {}", r.optimizer, r.lr, r.batch, r.schedule)) {
            out.push(SweepAxis::Recipe);
        }
        out
    }
}

/// Every sweep under `dir`: `dir` itself when it holds a `summary.json`, and each direct
/// sub-folder that does (sorted by name).
pub fn find_sweeps(dir: &Path) -> Result<Vec<SweepSummary>, ReportError> {
    let mut out = Vec::new();
    if dir.join("summary.json").is_file() {
        out.push(SweepSummary::load_dir(dir)?);
    }
    let mut subs: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ReportError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.join("summary.json").is_file())
        .collect();
    subs.sort();
    for s in subs {
        out.push(SweepSummary::load_dir(&s)?);
    }
    Ok(out)
}
