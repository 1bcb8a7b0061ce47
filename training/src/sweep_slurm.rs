//! A sweep as a Slurm job array: `OUT/slurm/array.sbatch` runs shard `SLURM_ARRAY_TASK_ID/N`
//! of the grid per array task, `OUT/slurm/merge.sbatch` merges the shards once the array ended
//! (submitted with an `afterany` dependency, so a failed task still leaves a merged summary that
//! lists what is missing). The sweep file is copied to `OUT/slurm/sweep.toml` so that editing
//! the original while the jobs wait in the queue cannot change the grid under them.
//!
//! Jobs inherit the submitting shell's environment (sbatch's default `--export=ALL`):
//! `JOULEBENCH_DATA`, the libtorch library path. Every path in the scripts is absolute.

use std::path::{Path, PathBuf};
use std::process::Command;

use joulebench_models::write_atomic;

use crate::error::{Result, TrainError};
use crate::sweep::SweepFile;

/// What the job scripts ask Slurm for.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// Array tasks (shards); `None`: one per run of the grid.
    pub shards: Option<usize>,
    pub partition: Option<String>,
    /// Wall-time limit per task, Slurm syntax (`2:00:00`, `1-00:00:00`).
    pub time: Option<String>,
    pub cpus_per_task: Option<usize>,
    pub gpus_per_task: Option<usize>,
}

/// The scripts written by [`write_slurm_scripts`].
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmScripts {
    pub array: PathBuf,
    pub merge: PathBuf,
    /// Array tasks (= shards).
    pub shards: usize,
    /// Runs in the grid.
    pub runs: usize,
}

/// Single-quoted for bash.
fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| TrainError::io(p, e))
}

fn one_line(flag: &str, v: &Option<String>) -> Result<()> {
    match v {
        Some(s) if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '#') => {
            Err(TrainError::Config(format!(
                "--{flag} `{s}`: must be one word (no spaces, no `#`)"
            )))
        }
        _ => Ok(()),
    }
}

/// Checks the sweep file, copies it to `OUT/slurm/sweep.toml` and writes the array and merge
/// scripts there; `exe` is the joulebench binary the jobs run.
pub fn write_slurm_scripts(
    exe: &Path,
    sweep_file: &Path,
    out: &Path,
    o: &SlurmOptions,
) -> Result<SlurmScripts> {
    let sweep = SweepFile::load(sweep_file)?;
    let runs = sweep
        .plan()
        .map_err(|what| TrainError::Sweep {
            path: sweep_file.to_path_buf(),
            what,
        })?
        .len();
    one_line("partition", &o.partition)?;
    one_line("time", &o.time)?;
    if o.shards == Some(0) || o.cpus_per_task == Some(0) {
        return Err(TrainError::Config(
            "--shards and --cpus-per-task must be at least 1".into(),
        ));
    }
    let shards = o.shards.unwrap_or(runs).min(runs).max(1);
    let out = absolute(out)?;
    if out.to_string_lossy().contains(['\n', '\r']) {
        return Err(TrainError::Config(format!(
            "--out {:?}: a line break in the path cannot go into a job script",
            out
        )));
    }
    let exe = absolute(exe)?;
    let dir = out.join("slurm");
    let frozen = dir.join("sweep.toml");
    let text = std::fs::read(sweep_file).map_err(|e| TrainError::io(sweep_file, e))?;
    write_atomic(&frozen, &text)?;

    let mut head = String::new();
    if let Some(p) = &o.partition {
        head.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &o.time {
        head.push_str(&format!("#SBATCH --time={t}\n"));
    }
    let mut array = format!(
        "#!/bin/bash\n\
         # joulebench sweep {src} as a Slurm job array: task I runs shard I/{shards} of the {runs}-run grid.\n\
         #SBATCH --job-name=jb-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --output={log}\n",
        src = sweep_file.display().to_string().replace(['\n', '\r'], " "),
        last = shards - 1,
        log = dir.join("shard-%a.log").display(),
    );
    array.push_str(&head);
    if let Some(c) = o.cpus_per_task {
        array.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
    }
    if let Some(g) = o.gpus_per_task {
        array.push_str(&format!("#SBATCH --gpus-per-task={g}\n"));
    }
    array.push_str(&format!(
        "set -euo pipefail\n\
         exec {exe} sweep {file} --out {out} --shard \"${{SLURM_ARRAY_TASK_ID}}/{shards}\" --quiet\n",
        exe = quote(&exe),
        file = quote(&frozen),
        out = quote(&out),
    ));
    let mut merge = format!(
        "#!/bin/bash\n\
         # Merges the {shards} shards of the sweep array into {out}/summary.json|csv and report.html.\n\
         #SBATCH --job-name=jb-sweep-merge\n\
         #SBATCH --output={log}\n",
        out = out.display(),
        log = dir.join("merge.log").display(),
    );
    merge.push_str(&head);
    merge.push_str(&format!(
        "set -euo pipefail\nexec {exe} sweep merge {out} --out {out}\n",
        exe = quote(&exe),
        out = quote(&out),
    ));
    let array_path = dir.join("array.sbatch");
    let merge_path = dir.join("merge.sbatch");
    write_atomic(&array_path, array.as_bytes())?;
    write_atomic(&merge_path, merge.as_bytes())?;
    Ok(SlurmScripts {
        array: array_path,
        merge: merge_path,
        shards,
        runs,
    })
}

/// Runs `sbatch --parsable ARGS…` and returns the job id it printed.
fn sbatch(args: &[&str]) -> Result<String> {
    let res = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .map_err(|e| TrainError::Config(format!("cannot run sbatch ({e}); is Slurm installed?")))?;
    if !res.status.success() {
        return Err(TrainError::Config(format!(
            "sbatch {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&res.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&res.stdout);
    // `--parsable` prints `ID` or `ID;cluster`
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(TrainError::Config(format!(
            "sbatch printed no job id: `{}`",
            text.trim()
        )));
    }
    Ok(id)
}

/// Submits the array, then the merge job depending on it (`afterany`); returns both job ids.
pub fn submit(s: &SlurmScripts) -> Result<(String, String)> {
    let array = sbatch(&[&s.array.display().to_string()])?;
    let dep = format!("--dependency=afterany:{array}");
    let merge = sbatch(&[&dep, &s.merge.display().to_string()])?;
    Ok((array, merge))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_map_array_task_to_shard() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("it's.toml");
        std::fs::write(
            &file,
            "dataset = \"mnist1d\"\nmodel = \"mlp1d\"\nlr = [0.1, 0.2, 0.3, 0.4]\n",
        )
        .unwrap();
        let out = tmp.path().join("out");
        let o = SlurmOptions {
            shards: Some(3),
            partition: Some("debug".into()),
            time: Some("0:10:00".into()),
            cpus_per_task: Some(2),
            gpus_per_task: None,
        };
        let s = write_slurm_scripts(Path::new("/opt/jb/joulebench"), &file, &out, &o).unwrap();
        assert_eq!((s.shards, s.runs), (3, 4));
        let a = std::fs::read_to_string(&s.array).unwrap();
        for want in [
            "#SBATCH --array=0-2\n",
            "#SBATCH --partition=debug\n",
            "#SBATCH --time=0:10:00\n",
            "#SBATCH --cpus-per-task=2\n",
            "--shard \"${SLURM_ARRAY_TASK_ID}/3\"",
            "'/opt/jb/joulebench' sweep",
        ] {
            assert!(a.contains(want), "{want}: {a}");
        }
        assert!(!a.contains("gpus-per-task"));
        let m = std::fs::read_to_string(&s.merge).unwrap();
        assert!(
            m.contains("sweep merge") && m.contains("--partition=debug"),
            "{m}"
        );
        assert_eq!(
            std::fs::read(out.join("slurm/sweep.toml")).unwrap(),
            std::fs::read(&file).unwrap()
        );
        // more shards than runs: one run per task
        let o = SlurmOptions {
            shards: Some(10),
            ..SlurmOptions::default()
        };
        let s = write_slurm_scripts(Path::new("jb"), &file, &out, &o).unwrap();
        assert_eq!(s.shards, 4);
        let bad = SlurmOptions {
            time: Some("1:00 #x".into()),
            ..SlurmOptions::default()
        };
        let e = write_slurm_scripts(Path::new("jb"), &file, &out, &bad).unwrap_err();
        assert!(e.to_string().contains("--time"), "{e}");
    }
}
