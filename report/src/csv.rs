//! `results.csv`: one row per model × backend × batch, the flat view of [`ReportData`].
//!
//! Energy: `energy_*` columns are the row's best figure (measured over modelled over
//! estimate; `energy_kind` says which, `energy_source` is its label); `measured_j`,
//! `modelled_*` and `estimate_*` give every kind the row has, side by side.

use crate::data::ReportData;
use crate::energy::EnergyKind;

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
    "energy_kind",
    "energy_low_j",
    "energy_high_j",
    "measured_j",
    "modelled_j",
    "modelled_low_j",
    "modelled_high_j",
    "estimate_low_j",
    "estimate_high_j",
    "cpu_us_per_inference",
    "busy_cpus",
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
        let e = r.best_energy();
        let meas = r.energy_of(EnergyKind::Measured);
        let model = r.energy_of(EnergyKind::Modelled);
        let est = r.energy_of(EnergyKind::Estimate);
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
            opt(e.map(|e| e.joules_per_inference)),
            opt(e.and_then(|e| e.std_joules)),
            opt(e
                .filter(|e| e.kind == EnergyKind::Measured && e.idle_power_w.is_some())
                .map(|e| e.joules_per_inference)),
            opt(e.map(|e| e.label())),
            opt(e.map(|e| e.kind)),
            opt(e.map(|e| e.low)),
            opt(e.map(|e| e.high)),
            opt(meas.map(|e| e.joules_per_inference)),
            opt(model.map(|e| e.joules_per_inference)),
            opt(model.map(|e| e.low)),
            opt(model.map(|e| e.high)),
            opt(est.map(|e| e.low)),
            opt(est.map(|e| e.high)),
            opt(lat.and_then(|l| l.cpu_us_per_inference).or(model
                .and_then(|e| e.cpu_seconds_per_inference)
                .map(|c| c * 1e6))),
            opt(lat
                .and_then(|l| l.busy_cpus)
                .or(model.and_then(|e| e.busy_cpus))),
            opt(act.map(|a| a.total_effective_ops())),
            opt(act.map(|a| a.total_dense_macs())),
        ];
        out.push_str(&cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_rows_have_the_same_columns() {
        let mut d = ReportData::new("t");
        d.inference.push(crate::data::InferenceResult {
            model: "m".into(),
            backend: "b".into(),
            batch: 1,
            ..Default::default()
        });
        let csv = results_csv(&d);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].split(',').count(), CSV_COLUMNS.len());
        assert_eq!(lines[0].split(',').count(), CSV_COLUMNS.len());
    }
}
