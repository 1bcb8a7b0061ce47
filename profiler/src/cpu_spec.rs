//! Which CPU this is, from `/proc/cpuinfo`, and its spec-sheet facts (TDP, cores, threads) from
//! the small table shipped in `profiler/data/cpu-specs.csv` (each row names its source).

use serde::{Deserialize, Serialize};

use crate::power_model::CpuSpec;

/// The shipped table (model, TDP per socket, cores and threads per socket, class, source).
pub const CPU_SPECS_CSV: &str = include_str!("../data/cpu-specs.csv");

/// What `/proc/cpuinfo` says about this machine (as the OS sees it: in a VM, the virtual CPUs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuInfo {
    /// `model name` of the first processor.
    pub model: String,
    /// Distinct `physical id`s (1 when absent).
    pub sockets: u32,
    /// Logical CPUs listed (`processor` entries).
    pub logical_cpus: u32,
    /// `cpu cores` × sockets, when listed.
    pub cores: Option<u32>,
    /// `hypervisor` among the flags: a virtual machine, whose CPUs are a share of a bigger host.
    pub virtual_machine: bool,
}

/// Parses the text of `/proc/cpuinfo`.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut model = None;
    let mut ids = std::collections::BTreeSet::new();
    let mut logical = 0u32;
    let mut cores_per_socket = None;
    let mut hypervisor = false;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "processor" => logical += 1,
            "model name" if model.is_none() => model = Some(v.to_string()),
            "physical id" => {
                ids.insert(v.to_string());
            }
            "cpu cores" if cores_per_socket.is_none() => cores_per_socket = v.parse::<u32>().ok(),
            "flags" if v.split_whitespace().any(|f| f == "hypervisor") => hypervisor = true,
            _ => {}
        }
    }
    let sockets = (ids.len() as u32).max(1);
    CpuInfo {
        model: model.unwrap_or_else(|| "unknown".into()),
        sockets,
        logical_cpus: logical.max(1),
        cores: cores_per_socket.map(|c| c * sockets),
        virtual_machine: hypervisor,
    }
}

/// This machine's `/proc/cpuinfo` (an "unknown" one-CPU description where it is unreadable).
pub fn this_cpu() -> CpuInfo {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mut info = parse_cpuinfo(&text);
    if text.is_empty() {
        info.logical_cpus = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
    }
    info
}

/// One row of the shipped table (one socket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecRow {
    pub model: String,
    pub tdp_w: f64,
    pub cores: u32,
    pub threads: u32,
    pub class: String,
    pub source: String,
}

/// The shipped table's rows.
pub fn spec_rows() -> Vec<SpecRow> {
    CPU_SPECS_CSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(6, ',').map(str::trim).collect();
            Some(SpecRow {
                model: f.first()?.to_string(),
                tdp_w: f.get(1)?.parse().ok()?,
                cores: f.get(2)?.parse().ok()?,
                threads: f.get(3)?.parse().ok()?,
                class: f.get(4)?.to_string(),
                source: f.get(5)?.to_string(),
            })
        })
        .collect()
}

/// Lower-case words of a model name without trademarks, "CPU", "Processor", "N-Core" and the
/// clock ("@ 2.40GHz"): `Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz` → `intel xeon e5-2620 v3`.
pub fn normalise_model(name: &str) -> String {
    let cut = name.split('@').next().unwrap_or(name);
    let cleaned = cut
        .replace("(R)", " ")
        .replace("(r)", " ")
        .replace("(TM)", " ")
        .replace("(tm)", " ");
    cleaned
        .split_whitespace()
        .map(str::to_lowercase)
        .filter(|w| {
            let n_core = w
                .strip_suffix("-core")
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
            !n_core && !matches!(w.as_str(), "cpu" | "processor")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The table row for `model` (a `/proc/cpuinfo` model name): the row whose normalised name equals
/// the normalised model, word for word.
pub fn lookup(model: &str) -> Option<SpecRow> {
    let want = normalise_model(model);
    spec_rows()
        .into_iter()
        .find(|r| normalise_model(&r.model) == want)
}

/// Spec facts given on the command line; each overrides the table and `/proc/cpuinfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpecOverrides {
    pub tdp_w_per_socket: Option<f64>,
    pub sockets: Option<u32>,
    pub cores: Option<u32>,
    pub logical_cpus: Option<u32>,
}

/// The spec of `cpu`: the table row for its model (cores and threads of the whole package, even
/// in a VM that shows only a few of them), overridden by `o`; `None` when no TDP is known
/// (unknown model and no `--tdp`).
pub fn resolve_spec(cpu: &CpuInfo, o: &SpecOverrides) -> Option<CpuSpec> {
    let row = lookup(&cpu.model);
    let tdp = o.tdp_w_per_socket.or(row.as_ref().map(|r| r.tdp_w))?;
    let sockets = o.sockets.unwrap_or(cpu.sockets).max(1);
    let cores = o
        .cores
        .or(row.as_ref().map(|r| r.cores * sockets))
        .or(cpu.cores)
        .unwrap_or(cpu.logical_cpus)
        .max(1);
    let logical = o
        .logical_cpus
        .or(row.as_ref().map(|r| r.threads * sockets))
        .unwrap_or(cpu.logical_cpus)
        .max(1);
    let source = match (&row, o.tdp_w_per_socket) {
        (_, Some(_)) => format!(
            "--tdp given{}",
            if row.is_some() {
                ", table row overridden"
            } else {
                ""
            }
        ),
        (Some(r), None) => format!("table row `{}`: {}", r.model, r.source),
        (None, None) => unreachable!("tdp resolved above"),
    };
    Some(CpuSpec {
        model: cpu.model.clone(),
        tdp_w_per_socket: tdp,
        sockets,
        cores,
        logical_cpus: logical,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_names_a_source_for_every_row() {
        let rows = spec_rows();
        assert!(rows.len() >= 20, "{}", rows.len());
        for r in &rows {
            assert!(
                r.tdp_w > 0.0 && r.cores >= 1 && r.threads >= r.cores,
                "{r:?}"
            );
            assert!(!r.source.is_empty() && !r.class.is_empty(), "{r:?}");
        }
    }

    #[test]
    fn cpuinfo_model_names_find_their_rows() {
        let r = lookup("Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz").unwrap();
        assert_eq!((r.tdp_w, r.cores, r.threads), (85.0, 6, 12));
        let r = lookup("AMD EPYC 8024P 8-Core Processor").unwrap();
        assert_eq!((r.tdp_w, r.cores), (90.0, 8));
        // an anonymised VM model name does not match a real part
        assert!(lookup("AMD EPYC").is_none());
        assert!(lookup("AMD EPYC 80").is_none());
    }

    #[test]
    fn two_socket_machines_get_both_sockets() {
        let mut text = String::new();
        for i in 0..24 {
            text += &format!(
                "processor\t: {i}\nmodel name\t: Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz\nphysical id\t: {}\ncpu cores\t: 6\nflags\t\t: fpu sse2\n\n",
                i % 2
            );
        }
        let cpu = parse_cpuinfo(&text);
        assert_eq!(
            (cpu.sockets, cpu.logical_cpus, cpu.cores),
            (2, 24, Some(12))
        );
        assert!(!cpu.virtual_machine);
        let s = resolve_spec(&cpu, &SpecOverrides::default()).unwrap();
        assert_eq!((s.tdp_total_w(), s.cores, s.logical_cpus), (170.0, 12, 24));
        assert!(s.source.contains("ark.intel.com"), "{}", s.source);
    }

    #[test]
    fn a_vm_of_an_unknown_part_needs_tdp() {
        let cpu = parse_cpuinfo(
            "processor : 0\nmodel name : AMD EPYC\ncpu cores : 2\nflags : fpu hypervisor\n\nprocessor : 1\n",
        );
        assert!(cpu.virtual_machine);
        assert_eq!(cpu.logical_cpus, 2);
        assert!(resolve_spec(&cpu, &SpecOverrides::default()).is_none());
        let s = resolve_spec(
            &cpu,
            &SpecOverrides {
                tdp_w_per_socket: Some(200.0),
                cores: Some(64),
                logical_cpus: Some(128),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (s.tdp_w_per_socket, s.cores, s.logical_cpus),
            (200.0, 64, 128)
        );
    }
}
