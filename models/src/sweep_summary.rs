//! A sweep folder's summary files: `summary.json` ([`SweepSummaryFile`]) and `summary.csv`
//! ([`summary_csv`]); a shard `I/N` writes `summary.shard-I-of-N.json|csv` instead, so that
//! shards sharing one folder never overwrite each other's summary.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::error::ModelError;
use crate::sweep_row::SweepRow;
use crate::sweep_shard::Shard;

/// The content of `summary.json` (and of a shard's `summary.shard-I-of-N.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepSummaryFile {
    #[serde(default)]
    pub description: Option<String>,
    /// Runs trained by the process that wrote the file (for a merge: runs done).
    #[serde(default)]
    pub trained: usize,
    /// Runs skipped because they had finished before.
    #[serde(default)]
    pub skipped: usize,
    #[serde(default)]
    pub failed: usize,
    /// Fingerprint of the grid ([`crate::sweep_shard::grid_hash`]); absent in summaries written
    /// before sharding existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_hash: Option<String>,
    /// The shard that wrote the file (absent for a whole-grid run or a merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Every run key of the whole grid, in grid order (shard summaries and merges: tells a
    /// merge which runs are missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grid: Vec<String>,
    /// The summary files a merge read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    pub rows: Vec<SweepRow>,
}

impl SweepSummaryFile {
    /// Reads a summary JSON file; errors name the file.
    pub fn load(path: &Path) -> Result<SweepSummaryFile, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            ModelError::Invalid(format!("{}: not a sweep summary: {e}", path.display()))
        })
    }

    /// Writes `stem.json` and `stem.csv` into `dir`, atomically.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<(), ModelError> {
        write_atomic(
            &dir.join(format!("{stem}.csv")),
            summary_csv(&self.rows).as_bytes(),
        )?;
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| ModelError::Invalid(format!("summary JSON: {e}")))?;
        write_atomic(&dir.join(format!("{stem}.json")), json.as_bytes())
    }
}

/// File stem of the summary a shard writes: `summary` for the whole grid,
/// `summary.shard-I-of-N` for a shard of several.
pub fn summary_stem(shard: Shard) -> String {
    if shard.count == 1 {
        "summary".into()
    } else {
        format!("summary.{}", shard.tag())
    }
}

/// The summary JSON files of a sweep folder: `summary.json` and every
/// `summary.shard-I-of-N.json`, sorted by name.
pub fn summary_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ModelError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            p.is_file()
                && (n == "summary.json"
                    || (n.starts_with("summary.shard-") && n.ends_with(".json")))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn opt_str<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

/// The summary as CSV (header + one line per run).
pub fn summary_csv(rows: &[SweepRow]) -> String {
    let mut s = String::from(
        "name,status,model,dataset,optimizer,lr,batch,epochs,depth,width,input,steps,seed,schedule,params,macs,test_acc,test_loss,eval_split,train_acc,train_seconds,device,error\n",
    );
    for r in rows {
        let err = r.error.as_deref().unwrap_or("").replace('"', "'");
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\",{},{},{},\"{}\"\n",
            r.name,
            r.status,
            r.model,
            r.dataset,
            r.optimizer,
            r.lr,
            r.batch,
            r.epochs,
            opt_str(&r.depth),
            opt_str(&r.width),
            r.input,
            r.steps,
            r.seed,
            r.schedule,
            r.params,
            r.macs,
            opt_str(&r.test_acc),
            opt_str(&r.test_loss),
            opt_str(&r.eval_split),
            opt_str(&r.train_acc),
            opt_str(&r.train_seconds),
            opt_str(&r.device),
            err
        ));
    }
    s
}
