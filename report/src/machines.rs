//! Many machines, one page: `joulebench report DIR… --out OUT` merges the `results.json` of
//! several results folders (a laptop, a server, a Jetson board). Each folder is one machine,
//! labelled by the folder's name; its rows keep their numbers and energy sources, and their
//! backend becomes `backend @ label` so that every table and figure shows the machines side by
//! side. The machine section lists each machine (CPU, GPU, energy meters) under its label.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{MachineInfo, ReportData};
use crate::error::ReportError;
use crate::html::esc;

/// One machine of a merged report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineEntry {
    /// Short name shown after `@` in backend labels (the results folder's name).
    pub label: String,
    /// The results folder it was read from, as given.
    #[serde(default)]
    pub source: String,
    pub machine: MachineInfo,
}

/// The label of a backend on a machine.
pub fn on_machine(backend: &str, label: &str) -> String {
    format!("{backend} @ {label}")
}

/// Distinct labels for `dirs`: each folder's name, `-2`, `-3` … appended to repeats.
pub fn labels(dirs: &[PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in dirs {
        let base = std::fs::canonicalize(d)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| d.display().to_string());
        let mut label = base.clone();
        let mut k = 2;
        while out.contains(&label) {
            label = format!("{base}-{k}");
            k += 1;
        }
        out.push(label);
    }
    out
}

/// Merges the results of several machines (`(label, source folder, results)`) into one report.
/// Models of the same name and architecture (parameters, MACs) are listed once; a model of the
/// same name but another architecture becomes `name @ label`.
pub fn merge_machines(inputs: Vec<(String, String, ReportData)>) -> ReportData {
    let labels: Vec<&str> = inputs.iter().map(|(l, _, _)| l.as_str()).collect();
    let mut out = ReportData::new(format!(
        "joulebench: {} machines ({})",
        inputs.len(),
        labels.join(", ")
    ));
    let mut datasets: Vec<String> = Vec::new();
    let mut commands: Vec<String> = Vec::new();
    for (label, source, d) in inputs {
        if !d.dataset.is_empty() && !datasets.contains(&d.dataset) {
            datasets.push(d.dataset.clone());
        }
        if !d.command.is_empty() {
            commands.push(format!("{label}: {}", d.command));
        }
        out.quick |= d.quick;
        if out.created.is_empty() || d.created > out.created {
            out.created = d.created.clone();
        }
        out.notes
            .extend(d.notes.iter().map(|n| format!("{label}: {n}")));
        // a merged report merged again keeps its machines
        if d.machines.is_empty() {
            out.machines.push(MachineEntry {
                label: label.clone(),
                source: source.clone(),
                machine: d.machine.clone(),
            });
        } else {
            out.machines.extend(d.machines.iter().cloned());
        }
        let mut renamed: Vec<(String, String)> = Vec::new();
        for m in &d.models {
            match out.model(&m.name) {
                Some(x) if x.params == m.params && x.macs == m.macs => {}
                Some(_) => {
                    let mut m = m.clone();
                    let new = on_machine(&m.name, &label);
                    renamed.push((m.name.clone(), new.clone()));
                    m.name = new;
                    out.models.push(m);
                }
                None => out.models.push(m.clone()),
            }
        }
        for r in &d.inference {
            let mut r = r.clone();
            if let Some((_, new)) = renamed.iter().find(|(old, _)| *old == r.model) {
                r.model = new.clone();
            }
            if d.machines.is_empty() {
                r.backend = on_machine(&r.backend, &label);
            }
            out.inference.push(r);
        }
        for mut s in d.sweeps.clone() {
            if out.sweeps.iter().any(|x| x.name == s.name) {
                s.name = on_machine(&s.name, &label);
            }
            out.sweeps.push(s);
        }
    }
    out.dataset = datasets.join(", ");
    out.command = commands.join("; ");
    out.machine = out
        .machines
        .first()
        .map(|m| m.machine.clone())
        .unwrap_or_default();
    out
}

/// Reads `results.json` of every folder of `dirs` and merges them ([`merge_machines`]).
pub fn load_machines(dirs: &[PathBuf]) -> Result<ReportData, ReportError> {
    let labels = labels(dirs);
    let mut inputs = Vec::new();
    for (d, label) in dirs.iter().zip(labels) {
        let data = crate::write::load_results(d)?.ok_or_else(|| ReportError::Parse {
            path: d.join("results.json"),
            what: "missing: every folder given to a multi-machine report needs the results.json of `joulebench run`".into(),
        })?;
        inputs.push((label, d.display().to_string(), data));
    }
    Ok(merge_machines(inputs))
}

fn gib(b: u64) -> String {
    if b == 0 {
        "unknown".into()
    } else {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    }
}

/// The machine section of a merged report: one column per machine.
pub fn render_machines(d: &ReportData) -> String {
    let ms = &d.machines;
    let mut s = String::from("<p>Each backend label ends in <code>@ machine</code>; the machines:</p>\n<table class=\"machines\"><tr><th class=\"l\">machine</th>");
    for m in ms {
        s += &format!("<th class=\"l\">{}</th>", esc(&m.label));
    }
    s += "</tr>";
    let mut row = |k: &str, f: &dyn Fn(&MachineInfo) -> String| {
        s += &format!("<tr><th class=\"l\">{}</th>", esc(k));
        for m in ms {
            s += &format!("<td class=\"l\">{}</td>", esc(&f(&m.machine)));
        }
        s += "</tr>";
    };
    row("CPU", &|m| {
        if m.cpu_model.is_empty() {
            "unknown".into()
        } else {
            m.cpu_model.clone()
        }
    });
    row("cores", &|m| format!("{} logical", m.logical_cores));
    row("memory", &|m| gib(m.memory_bytes));
    row("OS", &|m| m.os.clone());
    row("GPU", &|m| {
        if m.gpus.is_empty() {
            "none found".into()
        } else {
            m.gpus
                .iter()
                .map(|g| g.name.clone())
                .collect::<Vec<_>>()
                .join("; ")
        }
    });
    row("energy meters", &|m| {
        if m.meters.is_empty() {
            "none reported".into()
        } else {
            m.meters.join("; ")
        }
    });
    s += "</table>\n<p class=\"src\">Sources: ";
    s += &ms
        .iter()
        .map(|m| format!("{} = <code>{}</code>", esc(&m.label), esc(&m.source)))
        .collect::<Vec<_>>()
        .join(", ");
    s += "</p>\n";
    s
}

/// Builds the merged report of `dirs` in `out` (results.json, results.csv, plots, report.html).
pub fn report_machines(
    dirs: &[PathBuf],
    out: &Path,
) -> Result<(ReportData, crate::write::ReportFiles), ReportError> {
    let data = load_machines(dirs)?;
    std::fs::create_dir_all(out).map_err(|e| ReportError::io(out, e))?;
    let files = crate::write::write_report(&data, out)?;
    Ok((data, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{InferenceResult, ModelResult};

    fn machine(cpu: &str, backend: &str, params: u64) -> ReportData {
        let mut d = ReportData::new("x");
        d.dataset = "mnist1d".into();
        d.machine.cpu_model = cpu.into();
        d.machine.meters = vec![format!("meter of {cpu}")];
        d.models.push(ModelResult {
            name: "mlp1d".into(),
            preset: "mlp1d".into(),
            params,
            macs: params,
            ..Default::default()
        });
        d.inference.push(InferenceResult {
            model: "mlp1d".into(),
            backend: backend.into(),
            batch: 1,
            ..Default::default()
        });
        d
    }

    #[test]
    fn rows_keep_their_machine_and_models_merge_by_architecture() {
        let d = merge_machines(vec![
            (
                "laptop".into(),
                "a/laptop".into(),
                machine("i7", "tract", 10),
            ),
            (
                "server".into(),
                "b/server".into(),
                machine("Xeon", "tract", 10),
            ),
            (
                "jetson".into(),
                "c/jetson".into(),
                machine("Orin", "ort", 99),
            ),
        ]);
        let backends: Vec<&str> = d.inference.iter().map(|r| r.backend.as_str()).collect();
        assert_eq!(
            backends,
            ["tract @ laptop", "tract @ server", "ort @ jetson"]
        );
        let models: Vec<&str> = d.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(models, ["mlp1d", "mlp1d @ jetson"]);
        assert_eq!(d.inference[2].model, "mlp1d @ jetson");
        assert_eq!(d.machines.len(), 3);
        assert_eq!(d.machines[1].machine.cpu_model, "Xeon");
        let html = render_machines(&d);
        for want in ["laptop", "Xeon", "meter of Orin", "c/jetson"] {
            assert!(html.contains(want), "{want}");
        }
        // merging the merged report again keeps the machines and labels
        let again = merge_machines(vec![("m".into(), "m".into(), d.clone())]);
        assert_eq!(again.machines.len(), 3);
        assert_eq!(again.inference[0].backend, "tract @ laptop");
    }

    #[test]
    fn repeated_folder_names_get_distinct_labels() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a/run"), tmp.path().join("b/run"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        assert_eq!(labels(&[a, b]), ["run", "run-2"]);
    }
}
