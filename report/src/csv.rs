//! `results.csv`: one row per model × backend × batch, the flat view of [`ReportData`].

use crate::data::ReportData;

/// Column names of `results.csv`, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "model",
    "preset",
    "dataset",
    "spiking",
    "steps",
    "backend",
    "batch",
    "threads",
    "params",
    "macs",
    "flops",
    "accuracy",
    "eval_samples",
    "agreement",
    "max_abs_logit_diff",
    "latency_mean_us",
    "latency_std_us",
    "latency_p50_us",
    "latency_p90_us",
    "latency_p99_us",
    "latency_queries",
    "per_sample_us",
    "throughput_per_s",
    "energy_j",
    "energy_std_j",
    "energy_above_idle_j",
    "energy_source",
    "effective_ops",
    "dense_macs",
];

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The CSV text (header + one line per inference result, in `data.inference` order).
pub fn results_csv(data: &ReportData) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for r in &data.inference {
        let m = data.model(&r.model);
        let lat = r.latency.as_ref();
        let e = r.energy.as_ref();
        let act = r.activity.as_ref();
        let cols = [
            r.model.clone(),
            m.map(|m| m.preset.clone()).unwrap_or_default(),
            m.map(|m| m.dataset.clone()).unwrap_or_default(),
            m.map(|m| m.spiking.to_string()).unwrap_or_default(),
            m.map(|m| m.steps.to_string()).unwrap_or_default(),
            r.backend.clone(),
            r.batch.to_string(),
            r.threads.to_string(),
            m.map(|m| m.params.to_string()).unwrap_or_default(),
            m.map(|m| m.macs.to_string()).unwrap_or_default(),
            m.map(|m| m.flops.to_string()).unwrap_or_default(),
            opt(r.accuracy),
            r.eval_samples.to_string(),
            opt(r.agreement),
            opt(r.max_abs_logit_diff),
            opt(lat.map(|l| l.mean_us)),
            opt(lat.map(|l| l.std_us)),
            opt(lat.map(|l| l.p50_us)),
            opt(lat.map(|l| l.p90_us)),
            opt(lat.map(|l| l.p99_us)),
            opt(lat.map(|l| l.queries)),
            opt(lat.map(|l| l.per_sample_us(r.batch))),
            opt(r.throughput_per_s),
            opt(e.map(|e| e.joules)),
            opt(e.map(|e| e.std_joules)),
            opt(e.and_then(|e| e.above_idle_joules)),
            opt(e.map(|e| e.source.to_string())),
            opt(act.map(|a| a.total_effective_ops())),
            opt(act.map(|a| a.total_dense_macs())),
        ];
        out.push_str(&cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}
