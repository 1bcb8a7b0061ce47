//! `joulebench sweep merge`: the summaries of several shard folders (or of shards sharing one
//! folder) combined into one [`SweepSummaryFile`].
//!
//! Every summary must carry the same grid hash (same sweep file); a run key listed twice is
//! fine when both rows agree on every deterministic field (recipe, counts, accuracies and
//! losses — not wall time or device name) and refused otherwise. A finished row wins over a
//! pending or failed one. Runs of the grid no summary lists come out as `missing` rows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::ModelError;
use crate::sweep_row::SweepRow;
use crate::sweep_summary::{summary_files, SweepSummaryFile};

/// What a merge produced.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedSweep {
    pub summary: SweepSummaryFile,
    /// Run keys of the grid that no input finished (missing or not done), in grid order.
    pub unfinished: Vec<String>,
}

/// The first deterministic field in which two rows of the same run key differ, as
/// `(field, a, b)`.
pub fn row_conflict(a: &SweepRow, b: &SweepRow) -> Option<(&'static str, String, String)> {
    macro_rules! cmp {
        ($($f:ident),*) => {
            $(
                if a.$f != b.$f {
                    return Some((stringify!($f), format!("{:?}", a.$f), format!("{:?}", b.$f)));
                }
            )*
        };
    }
    cmp!(
        status, model, dataset, optimizer, lr, batch, epochs, depth, width, input, steps, seed,
        schedule, params, macs, test_acc, test_loss, eval_split, train_acc
    );
    None
}

fn rank(status: &str) -> u8 {
    match status {
        "done" => 3,
        "failed" => 2,
        "pending" => 1,
        _ => 0,
    }
}

/// Merges loaded summaries (`(path, summary)`, path for messages); see the module docs.
pub fn merge_summaries(inputs: &[(PathBuf, SweepSummaryFile)]) -> Result<MergedSweep, ModelError> {
    let bad = |m: String| Err(ModelError::Invalid(m));
    if inputs.is_empty() {
        return bad("nothing to merge: no sweep summary given".into());
    }
    let mut hash: Option<(&Path, &str)> = None;
    for (p, s) in inputs {
        let Some(h) = s.grid_hash.as_deref() else {
            return bad(format!(
                "{}: no grid hash (written before `--shard` existed); re-run `joulebench sweep` \
                 on that folder to rewrite its summary",
                p.display()
            ));
        };
        match hash {
            None => hash = Some((p, h)),
            Some((p0, h0)) if h0 != h => {
                return bad(format!(
                    "{} (grid {h0}) and {} (grid {h}) come from different sweep files; only \
                     shards of one grid can be merged",
                    p0.display(),
                    p.display()
                ))
            }
            Some(_) => {}
        }
    }
    let grid: Vec<String> = inputs
        .iter()
        .map(|(_, s)| &s.grid)
        .find(|g| !g.is_empty())
        .cloned()
        .unwrap_or_default();
    // run key → (row, file it came from)
    let mut rows: BTreeMap<String, (SweepRow, &Path)> = BTreeMap::new();
    let mut first_seen: Vec<String> = Vec::new();
    for (p, s) in inputs {
        for r in &s.rows {
            match rows.get_mut(&r.name) {
                None => {
                    first_seen.push(r.name.clone());
                    rows.insert(r.name.clone(), (r.clone(), p));
                }
                Some((old, old_p)) => {
                    let (ro, rn) = (rank(&old.status), rank(&r.status));
                    if ro == 3 && rn == 3 {
                        if let Some((field, a, b)) = row_conflict(old, r) {
                            return bad(format!(
                                "run `{}` has conflicting results: {field} is {a} in {} but {b} \
                                 in {}; the same run key was trained twice with different \
                                 outcomes (different machines or library versions?); remove \
                                 one of the two folders' runs",
                                r.name,
                                old_p.display(),
                                p.display()
                            ));
                        }
                    } else if rn > ro {
                        *old = r.clone();
                        *old_p = p;
                    }
                }
            }
        }
    }
    let mut order: Vec<String> = grid.clone();
    let in_grid: std::collections::HashSet<&String> = grid.iter().collect();
    order.extend(first_seen.iter().filter(|n| !in_grid.contains(n)).cloned());
    let mut out_rows = Vec::with_capacity(order.len());
    let mut unfinished = Vec::new();
    for name in &order {
        let row = match rows.get(name) {
            Some((r, _)) => r.clone(),
            None => SweepRow {
                name: name.clone(),
                status: "missing".into(),
                ..SweepRow::default()
            },
        };
        if row.status != "done" {
            unfinished.push(name.clone());
        }
        out_rows.push(row);
    }
    let description = inputs.iter().find_map(|(_, s)| s.description.clone());
    let done = out_rows.iter().filter(|r| r.status == "done").count();
    let failed = out_rows.iter().filter(|r| r.status == "failed").count();
    Ok(MergedSweep {
        summary: SweepSummaryFile {
            description,
            trained: done,
            skipped: 0,
            failed,
            grid_hash: hash.map(|(_, h)| h.to_string()),
            shard: None,
            grid,
            merged_from: inputs
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect(),
            rows: out_rows,
        },
        unfinished,
    })
}

/// Reads every summary of every folder of `dirs` (`summary.json`, `summary.shard-I-of-N.json`)
/// and merges them. A folder without any summary is an error.
pub fn merge_dirs(dirs: &[PathBuf]) -> Result<MergedSweep, ModelError> {
    let mut inputs = Vec::new();
    for d in dirs {
        if !d.is_dir() {
            return Err(ModelError::Invalid(format!(
                "{}: not a folder",
                d.display()
            )));
        }
        let files = summary_files(d)?;
        if files.is_empty() {
            return Err(ModelError::Invalid(format!(
                "{}: no sweep summary here (summary.json or summary.shard-I-of-N.json from \
                 `joulebench sweep`)",
                d.display()
            )));
        }
        for f in files {
            let s = SweepSummaryFile::load(&f)?;
            inputs.push((f, s));
        }
    }
    merge_summaries(&inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep_shard::Shard;

    fn row(name: &str, status: &str, acc: Option<f64>) -> SweepRow {
        SweepRow {
            name: name.into(),
            status: status.into(),
            model: "mlp1d".into(),
            test_acc: acc,
            train_seconds: Some(1.0),
            ..SweepRow::default()
        }
    }

    fn file(
        hash: &str,
        shard: Option<Shard>,
        grid: &[&str],
        rows: Vec<SweepRow>,
    ) -> SweepSummaryFile {
        SweepSummaryFile {
            grid_hash: Some(hash.into()),
            shard,
            grid: grid.iter().map(|s| s.to_string()).collect(),
            rows,
            ..SweepSummaryFile::default()
        }
    }

    const GRID: &[&str] = &["c", "a", "b"];

    #[test]
    fn shards_combine_in_grid_order_and_identical_duplicates_pass() {
        let s0 = Shard { index: 0, count: 2 };
        let s1 = Shard { index: 1, count: 2 };
        let mut dup = row("a", "done", Some(0.5));
        dup.train_seconds = Some(9.0); // wall time is not compared
        dup.device = Some("cpu".into());
        let m = merge_summaries(&[
            (
                "x".into(),
                file(
                    "h",
                    Some(s0),
                    GRID,
                    vec![row("a", "done", Some(0.5)), row("b", "pending", None)],
                ),
            ),
            (
                "y".into(),
                file("h", Some(s1), GRID, vec![row("c", "done", Some(0.7)), dup]),
            ),
            (
                "z".into(),
                file("h", None, &[], vec![row("b", "done", Some(0.6))]),
            ),
        ])
        .unwrap();
        let names: Vec<&str> = m.summary.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
        assert!(m.summary.rows.iter().all(|r| r.status == "done"));
        assert_eq!(m.summary.rows[1].test_acc, Some(0.5));
        assert!(m.unfinished.is_empty());
        assert_eq!(m.summary.trained, 3);
        assert_eq!(m.summary.merged_from, ["x", "y", "z"]);
    }

    #[test]
    fn missing_runs_are_listed() {
        let m = merge_summaries(&[(
            "x".into(),
            file(
                "h",
                Some(Shard { index: 0, count: 3 }),
                GRID,
                vec![row("a", "done", Some(0.5))],
            ),
        )])
        .unwrap();
        assert_eq!(m.unfinished, ["c", "b"]);
        assert_eq!(m.summary.rows[0].status, "missing");
    }

    #[test]
    fn conflicting_duplicates_are_refused() {
        let e = merge_summaries(&[
            (
                "dir1/summary.json".into(),
                file("h", None, GRID, vec![row("a", "done", Some(0.5))]),
            ),
            (
                "dir2/summary.json".into(),
                file("h", None, GRID, vec![row("a", "done", Some(0.51))]),
            ),
        ])
        .unwrap_err()
        .to_string();
        for want in [
            "run `a`",
            "test_acc",
            "dir1/summary.json",
            "dir2/summary.json",
            "0.51",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn different_grids_and_unhashed_summaries_are_refused() {
        let e = merge_summaries(&[
            ("p".into(), file("aaaa", None, GRID, vec![])),
            ("q".into(), file("bbbb", None, GRID, vec![])),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("different sweep files") && e.contains("aaaa") && e.contains("bbbb"),
            "{e}"
        );
        let mut old = file("h", None, GRID, vec![]);
        old.grid_hash = None;
        let e = merge_summaries(&[("old/summary.json".into(), old)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("old/summary.json") && e.contains("no grid hash"),
            "{e}"
        );
    }

    #[test]
    fn merges_folders_on_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let (d0, d1, empty) = (
            tmp.path().join("s0"),
            tmp.path().join("s1"),
            tmp.path().join("e"),
        );
        std::fs::create_dir_all(&empty).unwrap();
        let s0 = Shard { index: 0, count: 2 };
        file("h", Some(s0), GRID, vec![row("a", "done", Some(0.5))])
            .write(&d0, "summary.shard-0-of-2")
            .unwrap();
        file(
            "h",
            Some(Shard { index: 1, count: 2 }),
            GRID,
            vec![row("b", "done", Some(0.1)), row("c", "done", Some(0.2))],
        )
        .write(&d1, "summary.shard-1-of-2")
        .unwrap();
        let m = merge_dirs(&[d0.clone(), d1]).unwrap();
        assert!(m.unfinished.is_empty(), "{:?}", m.unfinished);
        assert_eq!(m.summary.rows.len(), 3);
        let e = merge_dirs(&[d0, empty]).unwrap_err().to_string();
        assert!(e.contains("no sweep summary"), "{e}");
    }
}
