//! `joulebench bench table DIR`: merges our engines (`DIR/backends.json`) and the peers
//! (`DIR/peers.json`, from `scripts/peers`) into one table of absolute times and ratios,
//! written to `DIR/table.md` and `DIR/table.json`; `--doc FILE` also writes a self-contained
//! Markdown page (date, machine, load, exact commands, the tables; the MACs table when
//! `DIR/macs.md` exists).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use joulebench_inference::BackendKind;
use joulebench_models::write_atomic;
use serde::{Deserialize, Serialize};

use joulebench_profiler::fmt_load;

use crate::backends::{markdown as backends_markdown, BackendsReport};

#[derive(Debug, Clone)]
pub struct TableConfig {
    /// Folder written by `bench backends` (backends.json) and `scripts/peers` (peers.json).
    pub dir: PathBuf,
    /// The peers' results (default: DIR/peers.json; the table has no peer columns without it).
    pub peers: Option<PathBuf>,
    /// Also write the whole benchmark page (Markdown) here, e.g. docs/benchmarks.md.
    pub doc: Option<PathBuf>,
}

/// Just what the table needs from a peers.json row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerRow {
    pub case: String,
    pub batch: usize,
    pub backend: String,
    pub status: String,
    pub timing: Option<PeerTiming>,
    pub max_abs_diff_vs_reference: Option<f64>,
    pub argmax_agreement: Option<f64>,
    #[serde(default)]
    pub agrees: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerTiming {
    pub median_us: f64,
    pub p10_us: f64,
    pub p90_us: f64,
    pub repeats: usize,
}

/// peers.json (the fields the merge reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeersReport {
    pub date_start: String,
    pub machine: String,
    #[serde(default)]
    pub versions: BTreeMap<String, Option<String>>,
    pub load_start: Option<Vec<f64>>,
    pub load_end: Option<Vec<f64>>,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub tolerance: Option<f64>,
    pub rows: Vec<PeerRow>,
}

/// Columns of the merged table: ours, then the peers.
pub const OURS: [&str; 4] = [EVENT, NATIVE, TRACT, ORT];
const EVENT: &str = BackendKind::Event.name();
const NATIVE: &str = BackendKind::Native.name();
const TRACT: &str = BackendKind::Tract.name();
const ORT: &str = BackendKind::Ort.name();
pub const PEERS: [&str; 3] = ["onnxruntime-py", "pytorch-eager", "snntorch"];

/// One line of the merged table: median µs per sample per engine, and the ratios.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergedRow {
    pub case: String,
    pub batch: usize,
    /// engine → median µs per sample (engines that ran).
    pub median_us: BTreeMap<String, f64>,
    pub best_ours: Option<(String, f64)>,
    pub best_peer: Option<(String, f64)>,
    /// best peer time / best own time (> 1: ours is faster).
    pub best_peer_over_best_ours: Option<f64>,
    /// snnTorch / event-driven.
    pub snntorch_over_event: Option<f64>,
    /// PyTorch eager / native dense.
    pub torch_over_native: Option<f64>,
    /// native dense / the faster of tract and ort (issue target: ≤ 1.5).
    pub native_over_best_onnx: Option<f64>,
    /// native dense / event-driven (spiking models).
    pub native_over_event: Option<f64>,
    /// Python onnxruntime / our ort binding (same library: ≈ 1 expected).
    pub ortpy_over_ort: Option<f64>,
    /// Peers whose logits did not agree with ours within the tolerance.
    pub disagreeing_peers: Vec<String>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn best<'a>(
    m: &BTreeMap<String, f64>,
    names: impl Iterator<Item = &'a str>,
) -> Option<(String, f64)> {
    names
        .filter_map(|n| m.get(n).map(|&v| (n.to_string(), v)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Merges our rows and the peers' rows by (case, batch), in the order of our cases.
pub fn merge(ours: &BackendsReport, peers: Option<&PeersReport>) -> Vec<MergedRow> {
    let mut keys: Vec<(String, usize)> = Vec::new();
    for r in &ours.rows {
        let k = (r.case.clone(), r.batch);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(case, batch)| {
            let mut m = BTreeMap::new();
            for r in ours
                .rows
                .iter()
                .filter(|r| r.case == case && r.batch == batch)
            {
                if let Some(t) = &r.timing {
                    m.insert(r.backend.clone(), t.median_us);
                }
            }
            let mut disagreeing = Vec::new();
            if let Some(p) = peers {
                for r in p.rows.iter().filter(|r| r.case == case && r.batch == batch) {
                    if let Some(t) = &r.timing {
                        m.insert(r.backend.clone(), t.median_us);
                    }
                    if r.agrees == Some(false) {
                        disagreeing.push(r.backend.clone());
                    }
                }
            }
            let g = |k: &str| m.get(k).copied();
            let best_ours = best(&m, OURS.iter().copied());
            let best_peer = best(&m, PEERS.iter().copied());
            let best_onnx = best(&m, [TRACT, ORT].into_iter()).map(|b| b.1);
            MergedRow {
                best_peer_over_best_ours: ratio(
                    best_peer.as_ref().map(|b| b.1),
                    best_ours.as_ref().map(|b| b.1),
                ),
                snntorch_over_event: ratio(g("snntorch"), g(EVENT)),
                torch_over_native: ratio(g("pytorch-eager"), g(NATIVE)),
                native_over_best_onnx: ratio(g(NATIVE), best_onnx),
                native_over_event: ratio(g(NATIVE), g(EVENT)),
                ortpy_over_ort: ratio(g("onnxruntime-py"), g(ORT)),
                case,
                batch,
                median_us: m,
                best_ours,
                best_peer,
                disagreeing_peers: disagreeing,
            }
        })
        .collect()
}

fn cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
        None => "–".into(),
    }
}

fn xcell(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}×")).unwrap_or_else(|| "–".into())
}

/// The two Markdown tables: absolute medians, then ratios.
pub fn tables(rows: &[MergedRow]) -> String {
    let mut s = String::from(
        "µs per sample, median (one thread each; lower is better)\n\n| case | batch |",
    );
    for e in OURS.iter().chain(PEERS.iter()) {
        s.push_str(&format!(" {e} |"));
    }
    s.push_str("\n|---|---:|");
    for _ in OURS.iter().chain(PEERS.iter()) {
        s.push_str("---:|");
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("| {} | {} |", r.case, r.batch));
        for e in OURS.iter().chain(PEERS.iter()) {
            s.push_str(&format!(" {} |", cell(r.median_us.get(*e).copied())));
        }
        s.push('\n');
    }
    s.push_str(
        "\nRatios (time of the first / time of the second; > 1 means the second is faster)\n\n\
         | case | batch | best ours | best peer | best peer / best ours | snnTorch / event | PyTorch / native | \
         native / best of tract,ort | native dense / event | ort-py / ort |\n\
         |---|---:|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let name = |b: &Option<(String, f64)>| {
            b.as_ref()
                .map(|(n, v)| format!("{n} ({})", cell(Some(*v))))
                .unwrap_or_else(|| "–".into())
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.case,
            r.batch,
            name(&r.best_ours),
            name(&r.best_peer),
            xcell(r.best_peer_over_best_ours),
            xcell(r.snntorch_over_event),
            xcell(r.torch_over_native),
            xcell(r.native_over_best_onnx),
            xcell(r.native_over_event),
            xcell(r.ortpy_over_ort),
        ));
    }
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.disagreeing_peers.is_empty())
        .map(|r| {
            format!(
                "{} b{}: {}",
                r.case,
                r.batch,
                r.disagreeing_peers.join(", ")
            )
        })
        .collect();
    if !bad.is_empty() {
        s.push_str(&format!(
            "\n**Logits differ from ours beyond the tolerance** (not the same computation; see peers.json): {}\n",
            bad.join("; ")
        ));
    }
    s
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid results file", path.display()))
}

fn load_str(l: &Option<Vec<f64>>) -> String {
    match l.as_deref() {
        Some([a, b, c, ..]) => fmt_load(Some([*a, *b, *c])),
        _ => "n/a".into(),
    }
}

pub fn run(args: TableConfig) -> anyhow::Result<()> {
    let bpath = args.dir.join("backends.json");
    if !bpath.is_file() {
        bail!(
            "{} not found: run `joulebench bench backends --out {}` first",
            bpath.display(),
            args.dir.display()
        );
    }
    let ours: BackendsReport = read_json(&bpath)?;
    let ppath = args
        .peers
        .clone()
        .unwrap_or_else(|| args.dir.join("peers.json"));
    let peers: Option<PeersReport> = if ppath.is_file() {
        Some(read_json(&ppath)?)
    } else if args.peers.is_some() {
        bail!(
            "{} not found: run `scripts/peers {}` first",
            ppath.display(),
            args.dir.display()
        );
    } else {
        eprintln!(
            "note: {} not found; the table has our engines only",
            ppath.display()
        );
        None
    };
    let rows = merge(&ours, peers.as_ref());
    let body = tables(&rows);
    let head = header(&ours, peers.as_ref());
    let md = format!("{head}\n{body}");
    print!("{md}");
    write_atomic(&args.dir.join("table.md"), md.as_bytes())?;
    write_atomic(
        &args.dir.join("table.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    println!(
        "wrote {} and table.json",
        args.dir.join("table.md").display()
    );
    if let Some(doc) = &args.doc {
        let page = doc_page(&args.dir, &ours, peers.as_ref(), &rows, &head, &body)?;
        if let Some(parent) = doc.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        write_atomic(doc, page.as_bytes())?;
        println!("wrote {}", doc.display());
    }
    Ok(())
}

/// `case: weights` for every distinct case, `; `-separated.
fn weights_summary(ours: &BackendsReport) -> String {
    let mut seen: Vec<String> = Vec::new();
    for c in &ours.cases {
        let item = format!("{}: {}", c.case, c.weights);
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join("; ")
}

fn header(ours: &BackendsReport, peers: Option<&PeersReport>) -> String {
    let mut s = format!(
        "- our engines: {} → {}, load average (1/5/15 min) {} → {}\n- machine: {}\n- inputs: {}\n- weights: {}\n",
        ours.date_start,
        ours.date_end,
        fmt_load(ours.load_start),
        fmt_load(ours.load_end),
        ours.machine.line,
        ours.inputs,
        weights_summary(ours),
    );
    if let Some(p) = peers {
        let v: Vec<String> = p
            .versions
            .iter()
            .map(|(k, v)| format!("{k} {}", v.as_deref().unwrap_or("missing")))
            .collect();
        s.push_str(&format!(
            "- peers: {}, load average {} → {}; {}\n",
            p.date_start,
            load_str(&p.load_start),
            load_str(&p.load_end),
            v.join(", ")
        ));
    }
    s
}

fn doc_page(
    dir: &Path,
    ours: &BackendsReport,
    peers: Option<&PeersReport>,
    rows: &[MergedRow],
    head: &str,
    body: &str,
) -> anyhow::Result<String> {
    let mut s = String::from(
        "# Benchmarks: our engines against the peers\n\n\
         Generated by `joulebench bench table --doc`. Every number is a wall-clock measurement on the machine \
         named below (not an estimate): median time per sample over the timed calls, one thread per engine. \
         The machine may have been shared with other work; the load averages say how busy it was.\n\n",
    );
    s.push_str(head);
    let macs_cmd = std::fs::read_to_string(dir.join("macs.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["command"].as_str().map(str::to_string));
    s.push_str(&format!(
        "\nThis run's commands (from the repository root):\n\n```sh\n{}\n{}scripts/peers {}\n\
         scripts/jb-env target/release/joulebench bench table {} --doc docs/benchmarks.md\n```\n\n",
        jb_env(&ours.command),
        macs_cmd
            .map(|c| format!("{}\n", jb_env(&c)))
            .unwrap_or_default(),
        dir.display(),
        dir.display()
    ));
    s.push_str(
        "To re-take the figures in a quiet window with the default repeats (≥ 200 calls and ≥ 1 s per row; \
         `--runs` takes trained MNIST run folders named by preset, random weights otherwise):\n\n```sh\n\
         export JOULEBENCH_DATA=../shared/data\n\
         scripts/jb-env cargo run --release --bin joulebench -- bench backends --runs RUNS_DIR --out out/bench\n\
         scripts/jb-env target/release/joulebench bench macs --out out/bench\n\
         scripts/peers out/bench\n\
         scripts/jb-env target/release/joulebench bench table out/bench --doc docs/benchmarks.md\n```\n\n",
    );
    s.push_str(&format!("How: {}\n\n", ours.how));
    if let Some(p) = peers {
        s.push_str(&format!(
            "Peers: PyTorch eager (torch.nn layers, the LIF recurrence as a plain torch loop with snnTorch's \
             semantics), snnTorch (`snn.Leaky`, reset by subtraction, θ = 1, β from the spec) and Python \
             onnxruntime on our `model.onnx`, all loading our weights and timed on the exact input tensors our \
             engines were timed on; their logits are checked against ours first (tolerance {}). Peers' command: \
             `{}`.\n\n",
            p.tolerance.map(|t| format!("{t:e}")).unwrap_or_else(|| "n/a".into()),
            p.command
        ));
    } else {
        s.push_str("No peers.json: run `scripts/peers` for the peer columns.\n\n");
    }
    s.push_str("## Side by side\n\n");
    s.push_str(body);
    s.push_str("\n## Against the project's targets (issues 4 and 5)\n\n");
    s.push_str(&targets(rows));
    s.push_str("\n## Every row of our engines (spread, repeats, agreement, load)\n\n");
    let md = std::fs::read_to_string(dir.join("backends.md"))
        .unwrap_or_else(|_| backends_markdown(ours));
    s.push_str(&md);
    let macs = dir.join("macs.md");
    if let Ok(m) = std::fs::read_to_string(&macs) {
        s.push_str("\n## Latency against MACs (mlp-sweep)\n\n");
        s.push_str(&format!(
            "Plot: `{}` (log-log).\n\n",
            dir.join("plots/latency-vs-macs.svg").display()
        ));
        s.push_str(&m);
    }
    Ok(s)
}

/// The targets of issues 4 and 5 that this table can check, with the measured value and
/// whether it is met (on this run's machine and load; `–` where a needed engine is missing).
pub fn targets(rows: &[MergedRow]) -> String {
    let get = |case: &str, batch: usize, engine: &str| {
        rows.iter()
            .find(|r| r.case == case && r.batch == batch)
            .and_then(|r| r.median_us.get(engine).copied())
    };
    let row = |case: &str, batch: usize| rows.iter().find(|r| r.case == case && r.batch == batch);
    let mut s = String::from("| target | measured | met |\n|---|---:|---|\n");
    let mut line = |what: String, v: Option<f64>, unit: &str, ok: Option<bool>| {
        s.push_str(&format!(
            "| {what} | {} | {} |\n",
            v.map(|v| format!("{} {unit}", cell(Some(v))))
                .unwrap_or_else(|| "–".into()),
            match ok {
                Some(true) => "yes",
                Some(false) => "no",
                None => "–",
            }
        ));
    };
    let best_ann = row("ann", 1).and_then(|r| r.best_ours.clone());
    line(
        format!(
            "ann, batch 1, one thread: best backend ≤ 8 µs ({})",
            best_ann.as_ref().map(|b| b.0.as_str()).unwrap_or("–")
        ),
        best_ann.as_ref().map(|b| b.1),
        "µs",
        best_ann.as_ref().map(|b| b.1 <= 8.0),
    );
    for b in [1, 64] {
        let r = row("ann", b).and_then(|r| r.native_over_best_onnx);
        line(
            format!("ann, batch {b}: native dense within 1.5× of the faster of tract and ort"),
            r,
            "×",
            r.map(|r| r <= 1.5),
        );
    }
    let ev = get("snn-temporal-T100", 1, EVENT);
    line(
        "snn-temporal T = 100, batch 1, one thread: event-driven ≤ 80 µs".into(),
        ev,
        "µs",
        ev.map(|v| v <= 80.0),
    );
    let dense = [NATIVE, TRACT]
        .iter()
        .filter_map(|e| get("snn-temporal-T100", 1, e))
        .min_by(|a, b| a.total_cmp(b));
    let sp = match (dense, ev) {
        (Some(d), Some(e)) if e > 0.0 => Some(d / e),
        _ => None,
    };
    line(
        "snn-temporal T = 100, batch 1: event-driven ≥ 3× faster than dense (faster of native, tract)".into(),
        sp,
        "×",
        sp.map(|v| v >= 3.0),
    );
    let st = row("snn-temporal-T100", 1).and_then(|r| r.snntorch_over_event);
    line(
        "snn-temporal T = 100, batch 1: snnTorch / event-driven (for scale: 41 ms vs ≤ 80 µs)"
            .into(),
        st,
        "×",
        None,
    );
    let pt = get("ann", 1, "pytorch-eager");
    line(
        "ann, batch 1: PyTorch eager (for scale: 53 µs on a 2-core machine like ours)".into(),
        pt,
        "µs",
        None,
    );
    s
}

/// A recorded command line as run through `scripts/jb-env`, with a leading `VAR=value`
/// environment assignment (as `command_line` records `JOULEBENCH_DATA`) kept in front.
fn jb_env(cmd: &str) -> String {
    match cmd.split_once(' ') {
        Some((first, rest)) if first.contains('=') && !first.starts_with('-') => {
            format!("{first} scripts/jb-env {rest}")
        }
        _ => format!("scripts/jb-env {cmd}"),
    }
}
