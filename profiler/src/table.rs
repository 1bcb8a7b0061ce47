//! The one-screen text summary of a [`ProfileResult`].

use std::fmt::Write;

use crate::profile::ProfileResult;

/// Formats seconds with a unit that keeps 3–4 significant digits.
pub fn fmt_seconds(s: f64) -> String {
    let a = s.abs();
    if a >= 1.0 {
        format!("{s:.3} s")
    } else if a >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else if a >= 1e-6 {
        format!("{:.3} µs", s * 1e6)
    } else {
        format!("{:.1} ns", s * 1e9)
    }
}

/// The SI prefix [`fmt_joules`] uses for `j`: the factor to multiply by and the unit.
pub fn joule_unit(j: f64) -> (f64, &'static str) {
    let a = j.abs();
    if a >= 1.0 {
        (1.0, "J")
    } else if a >= 1e-3 {
        (1e3, "mJ")
    } else if a >= 1e-6 {
        (1e6, "µJ")
    } else {
        (1e9, "nJ")
    }
}

/// Formats joules with an SI prefix.
pub fn fmt_joules(j: f64) -> String {
    let (scale, unit) = joule_unit(j);
    format!("{:.3} {unit}", j * scale)
}

/// Formats a count with a k/M/G suffix.
pub fn fmt_count(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.3} G", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.3} M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.2} k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// Renders the summary table.
pub fn render(r: &ProfileResult) -> String {
    let mut s = String::new();
    let m = &r.model;
    let _ = writeln!(
        s,
        "{} on {} ({} thread{}) — {}{}",
        m.name,
        r.backend.name,
        r.backend.threads,
        if r.backend.threads == 1 { "" } else { "s" },
        m.source,
        if m.spiking {
            format!(", spiking, T = {}", m.steps)
        } else {
            String::new()
        }
    );
    let _ = writeln!(s, "inputs: {}", r.inputs.description);
    let _ = writeln!(s, "machine: {}", r.system.one_line());
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "latency (monotonic clock around the backend call; SingleStream: ≥ {} queries and ≥ {} s)",
        r.config.latency.min_queries, r.config.latency.min_seconds
    );
    let _ = writeln!(
        s,
        "{:>6} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>12} {:>11} {:>6}",
        "batch",
        "queries",
        "mean",
        "std",
        "p50",
        "p90",
        "p99",
        "per sample",
        "samples/s",
        "CPU/sample",
        "busy"
    );
    for l in &r.latency {
        let q = &l.per_query_s;
        let _ = writeln!(
            s,
            "{:>6} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>12.1} {:>11} {:>6.2}{}",
            l.batch,
            l.queries,
            fmt_seconds(q.mean),
            fmt_seconds(q.std),
            fmt_seconds(q.p50),
            fmt_seconds(q.p90),
            fmt_seconds(q.p99),
            fmt_seconds(l.per_sample_s.mean),
            l.throughput_samples_per_s,
            fmt_seconds(l.cpu_seconds_per_inference),
            l.busy_cpus,
            if l.stopped_by == crate::latency::StopReason::TimeCap {
                "  (time cap)"
            } else {
                ""
            }
        );
    }
    if let Some(l) = r.latency.first() {
        let _ = writeln!(
            s,
            "CPU/sample: process CPU time (all threads, user + system) over the timed phase ÷ samples; busy: CPU time ÷ wall time"
        );
        let _ = writeln!(
            s,
            "harness overhead (empty closure, same timing): mean {}, p99 {}",
            fmt_seconds(l.harness_overhead_s.mean),
            fmt_seconds(l.harness_overhead_s.p99)
        );
    }
    if let Some(o) = &r.offline {
        let _ = writeln!(
            s,
            "offline: batch {} → {:.1} samples/s ({} queries, {:.2} s)",
            o.batch, o.samples_per_s, o.queries, o.wall_seconds
        );
    }
    let _ = writeln!(s);
    if let Some(c) = r
        .counts
        .as_ref()
        .or(r.onnx_counts.as_ref().map(|o| &o.counts))
    {
        let _ = writeln!(
            s,
            "operations per inference ({}): params {}, MACs {}, FLOPs {}, other ops {} (ReLU/tanh/pool/LIF)",
            c.source,
            fmt_count(c.params as f64),
            fmt_count(c.macs as f64),
            fmt_count(c.flops as f64),
            fmt_count(c.other_ops as f64)
        );
        if let (Some(a), Some(o)) = (&r.counts, &r.onnx_counts) {
            let same = a.macs == o.counts.macs && a.params == o.counts.params;
            let _ = writeln!(
                s,
                "ONNX graph: MACs {}, params {} ({})",
                fmt_count(o.counts.macs as f64),
                fmt_count(o.counts.params as f64),
                if same { "= spec" } else { "differs from spec" }
            );
        }
        let _ = writeln!(
            s,
            "  convention: FLOPs = 2 × MACs (Linear/Conv/RNN); other ops listed separately"
        );
    }
    if let Some(a) = &r.activity {
        let _ = writeln!(
            s,
            "spiking activity (per sample, {} samples): effective ACs {}, effective MACs {}, dense MACs {}; operations performed {}",
            a.samples,
            fmt_count(a.effective_acs_per_sample),
            fmt_count(a.effective_macs_per_sample),
            fmt_count(a.dense_macs_per_sample),
            fmt_count(a.performed_ops_per_sample)
        );
        for l in &a.layers {
            let _ = writeln!(
                s,
                "  {:<10} input sparsity {:>5.1} %  non-zero outputs (LIF: spikes)/sample {:>9.1}",
                l.name,
                100.0 * l.input_sparsity,
                l.spikes_per_sample
            );
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "energy: {}", r.energy.meter_note);
    if let Some(e) = &r.energy.measured {
        let j = &e.joules_per_inference;
        let _ = writeln!(
            s,
            "  measured ({}, batch {}, {} windows of ≥ {:.1} s): {} ± {} per inference, {:.2} W active",
            e.meter,
            e.batch,
            e.windows.len(),
            e.window_seconds,
            fmt_joules(j.mean),
            fmt_joules(j.std),
            e.active_power_w.mean
        );
        match (&e.idle, &e.joules_per_inference_above_idle) {
            (Some(i), Some(a)) => {
                let after = match &e.idle_after {
                    Some(x) => format!(
                        " before, {:.2} W after (mean {:.2} W used)",
                        x.power_w,
                        e.idle_power_w().unwrap_or(i.power_w)
                    ),
                    None => String::new(),
                };
                let _ = writeln!(
                    s,
                    "  idle {:.2} W over {:.1} s{after}; above idle {} ± {} per inference",
                    i.power_w,
                    i.seconds,
                    fmt_joules(a.mean),
                    fmt_joules(a.std)
                );
            }
            _ => {
                let _ = writeln!(s, "  idle not measured");
            }
        }
        let _ = writeln!(
            s,
            "  counter resolution {} ({} per inference)",
            fmt_joules(e.counter_resolution_j),
            fmt_joules(e.resolution_j_per_inference)
        );
        for d in &e.domains {
            let _ = writeln!(s, "  domain {}: {}", d.name, d.note);
        }
        for n in &e.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    if let Some(f) = &r.energy.modelled {
        let _ = writeln!(
            s,
            "  modelled ({}, NOT measured): {} per inference (band {} – {}), {} CPU/inference at {:.2} busy CPUs × {:.2} W",
            f.source,
            fmt_joules(f.joules_per_inference),
            fmt_joules(f.low),
            fmt_joules(f.high),
            fmt_seconds(f.cpu_seconds_per_inference.unwrap_or(0.0)),
            f.busy_cpus.unwrap_or(0.0),
            f.watts.unwrap_or(0.0)
        );
        let _ = writeln!(s, "    {}", f.method);
    }
    if let Some(q) = r.energy.modelled_over_measured {
        let _ = writeln!(
            s,
            "  modelled ÷ measured (above idle, same windows): {q:.2}"
        );
    }
    if let Some(e) = &r.energy.estimate {
        let _ = writeln!(
            s,
            "  estimate ({}, NOT measured, ideal 45 nm accelerator, not this machine): {} – {} per inference (compute {}, weights {}–{}, activations {}–{})",
            e.table.name,
            fmt_joules(e.joules_per_inference_estimate_low),
            fmt_joules(e.joules_per_inference_estimate_high),
            fmt_joules(e.compute_j_estimate),
            fmt_joules(e.weights_j_estimate_low),
            fmt_joules(e.weights_j_estimate_high),
            fmt_joules(e.activations_j_estimate_low),
            fmt_joules(e.activations_j_estimate_high)
        );
        let _ = writeln!(s, "    weights: {}", e.memory_level_weights);
        let _ = writeln!(s, "    activations: {}", e.memory_level_activations);
    }
    s
}

/// The per-layer (per-node for ONNX graphs) table of `--layers`: op type, output shape of one
/// sample, parameters, MACs and their share of the total. From the ONNX graph's counts when
/// there are some, else the spec's.
pub fn render_layers(r: &ProfileResult) -> String {
    let mut s = String::new();
    let Some(c) = r
        .onnx_counts
        .as_ref()
        .map(|o| &o.counts)
        .or(r.counts.as_ref())
    else {
        return "no operation counts for this model\n".into();
    };
    let _ = writeln!(
        s,
        "layers ({}; {} with parameters, MACs or element-wise ops):",
        c.source,
        c.layers.len()
    );
    let w = c
        .layers
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 40);
    let _ = writeln!(
        s,
        "  {:<w$} {:<18} {:>18} {:>11} {:>11} {:>7}",
        "name", "op", "output (1 sample)", "params", "MACs", "share"
    );
    for l in &c.layers {
        let shape = format!(
            "[{}]",
            l.output_shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let name: String = l.name.chars().take(40).collect();
        let _ = writeln!(
            s,
            "  {:<w$} {:<18} {:>18} {:>11} {:>11} {:>6.1}%",
            name,
            l.op,
            shape,
            fmt_count(l.params as f64),
            fmt_count(l.macs as f64),
            100.0 * l.share_of_macs
        );
    }
    let _ = writeln!(
        s,
        "  {:<w$} {:<18} {:>18} {:>11} {:>11} {:>6.1}%",
        "total",
        "",
        "",
        fmt_count(c.params as f64),
        fmt_count(c.macs as f64),
        if c.macs > 0 { 100.0 } else { 0.0 }
    );
    s
}
