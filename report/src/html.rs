//! The self-contained HTML page: inline SVG plots and CSS, no script, no network, no external
//! file. One section per question; every number says where it came from and how.

use std::fmt::Write as _;

use crate::data::ReportData;
use crate::energy::EnergyKind;
use crate::error::ReportError;
use crate::figures::{self, fmt_energy, fmt_us};
use crate::plot::axis::fmt_num;
use crate::plot::Figure;
use crate::sweep::SweepAxis;

/// Section ids of the page, in order, with their headings (each is a question).
pub const SECTIONS: &[(&str, &str)] = &[
    ("accuracy", "How accurate is each model?"),
    ("training", "How did training go?"),
    (
        "training-cost",
        "What did training cost in time and energy?",
    ),
    (
        "latency",
        "How long does one prediction take on each backend?",
    ),
    (
        "flops",
        "Do more operations buy accuracy, and do they cost time?",
    ),
    ("energy", "How much energy does one prediction take?"),
    (
        "pareto",
        "Which models give the best accuracy for their energy?",
    ),
    ("spiking", "Does spiking sparsity really save work?"),
    (
        "spike-rate",
        "At which input spike rate does event-driven execution stop paying off?",
    ),
    ("weights", "What did the first layer learn?"),
    (
        "sweeps",
        "Sweeps: depth, width, input size, optimizer and learning rate",
    ),
    ("machine", "Which machine did this run on?"),
    ("method", "How were the numbers obtained?"),
];

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = r#"
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;margin:0;background:#f6f6f4;color:#1a1a1a;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:28px;margin:8px 0 4px}
h2{font-size:22px;margin:36px 0 8px;padding-top:12px;border-top:2px solid #e4e4e4}
nav{background:#f0f4f8;padding:10px 14px;border-radius:6px;font-size:14px}
nav a{margin-right:14px;color:#0060a0;text-decoration:none;white-space:nowrap}
.meta{color:#444;font-size:14px}
.src{font-size:13px;color:#3a3a3a;background:#f7f7f2;border-left:4px solid #e69f00;padding:6px 10px;margin:8px 0}
.missing{font-size:14px;color:#7a4a00;background:#fff6e0;padding:8px 12px;border-radius:4px}
figure{margin:14px 0 22px}
figure svg{max-width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#333;margin-top:4px}
table{border-collapse:collapse;font-size:13px;margin:10px 0;width:100%}
th,td{border-bottom:1px solid #e2e2e2;padding:4px 8px;text-align:right}
th{background:#f0f0ec;text-align:right}
td:first-child,th:first-child,td.l,th.l{text-align:left}
.est{background:repeating-linear-gradient(45deg,#fff,#fff 4px,#eee 4px,#eee 8px);font-style:italic}
.mod{background:#edf4fa;font-style:italic}
th.mod,th.est,th.meas{text-align:center}
th.meas{background:#dfe9e2}
td.none{color:#999}
.k{font-size:11px;font-variant:small-caps;color:#555}
caption{caption-side:bottom;text-align:left;font-size:13px;color:#333;padding-top:4px}
.notes li{font-size:14px}
"#;

/// Builds the page and returns it with every figure it shows (to be saved as SVG/PNG).
pub fn render_page(data: &ReportData) -> Result<(String, Vec<Figure>), ReportError> {
    let mut figs: Vec<Figure> = Vec::new();
    let mut h = String::with_capacity(1 << 20);
    let title = if data.title.is_empty() {
        "joulebench report".to_string()
    } else {
        data.title.clone()
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body><main>\n",
        esc(&title)
    );
    let _ = write!(h, "<h1>{}</h1>\n<p class=\"meta\">", esc(&title));
    let _ = write!(h, "Dataset <b>{}</b>", esc(&data.dataset));
    if data.quick {
        h.push_str(" · <b>quick run</b> (short profiling windows, and on MNIST/Fashion-MNIST fewer epochs and steps: numbers are indicative; details below)");
    }
    if !data.created.is_empty() {
        let _ = write!(h, " · produced {}", esc(&data.created));
    }
    let _ = write!(
        h,
        " · {} models, {} model×backend×batch results",
        data.models.len(),
        data.inference.len()
    );
    if !data.machines.is_empty() {
        let labels: Vec<&str> = data.machines.iter().map(|m| m.label.as_str()).collect();
        let _ = write!(
            h,
            " · on {} machines: {}",
            labels.len(),
            esc(&labels.join(", "))
        );
    } else if !data.machine.cpu_model.is_empty() {
        let _ = write!(h, " · on {}", esc(&data.machine.cpu_model));
    }
    h.push_str("</p>\n");
    if !data.command.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"meta\">Command: <code>{}</code></p>",
            esc(&data.command)
        );
    }
    h.push_str("<p class=\"src\">Provenance key: <b>measured</b> = read from a clock or a hardware energy counter (NVML, RAPL); <b>counted</b> = computed exactly from the model description or by the engine while running; <b>modelled</b> = measured CPU time × a CPU power model (a calibration, given watts, a spec-sheet model or a generic range), never a measurement (outlined bars with a low–high whisker, blue-tinted cells, hollow markers); <b>estimate</b> = operation counts × a published energy-per-operation table (Horowitz, 45 nm): what an ideal 45 nm accelerator would spend on these operations, not this machine, never a measurement (hatched bars, hatched cells, hollow markers).</p>\n");
    if !data.notes.is_empty() {
        h.push_str("<ul class=\"notes\">");
        for n in &data.notes {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>\n");
    }
    h.push_str(&crate::verdict::render_verdict(data));
    h.push_str("<nav>");
    for (id, q) in SECTIONS {
        let _ = write!(h, "<a href=\"#{id}\">{}</a>", esc(q));
    }
    h.push_str("</nav>\n");

    for (id, q) in SECTIONS {
        let _ = write!(h, "<section id=\"{id}\">\n<h2>{}</h2>\n", esc(q));
        let body = match *id {
            "accuracy" => sec_accuracy(data, &mut figs)?,
            "training" => sec_training(data, &mut figs)?,
            "training-cost" => sec_training_cost(data, &mut figs)?,
            "latency" => sec_latency(data, &mut figs)?,
            "flops" => sec_flops(data, &mut figs)?,
            "energy" => sec_energy(data, &mut figs)?,
            "pareto" => sec_pareto(data, &mut figs)?,
            "spiking" => sec_spiking(data, &mut figs)?,
            "spike-rate" => sec_spike_rate(data, &mut figs)?,
            "weights" => sec_weights(data, &mut figs)?,
            "sweeps" => sec_sweeps(data, &mut figs)?,
            "machine" => sec_machine(data),
            _ => sec_method(data),
        };
        h.push_str(&body);
        h.push_str("</section>\n");
    }
    h.push_str("<p class=\"meta\">Generated by joulebench. Every plot is also saved as SVG and PNG under <code>plots/</code>; the numbers are in <code>results.json</code> and <code>results.csv</code>.</p>\n</main></body></html>\n");
    Ok((h, figs))
}

fn fig(figs: &mut Vec<Figure>, f: Figure, caption: &str) -> String {
    let svg = f
        .svg
        .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .trim();
    let s = format!(
        "<figure id=\"fig-{}\">\n{svg}\n<figcaption>{} <span class=\"meta\">(plots/{}.svg, .png)</span></figcaption>\n</figure>\n",
        f.name,
        esc(caption),
        f.name
    );
    figs.push(f);
    s
}

fn missing(what: &str) -> String {
    format!("<p class=\"missing\">{}</p>\n", esc(what))
}

fn sec_accuracy(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let mut s = String::new();
    match figures::accuracy(d)? {
        Some(f) => s += &fig(figs, f, "Test accuracy of each trained model (measured on the test split; the bar starts at 0 %)."),
        None => return Ok(missing("No accuracy in these results.")),
    }
    let mut sources: Vec<&String> = d
        .models
        .iter()
        .map(|m| &m.counts_source)
        .filter(|s| !s.is_empty())
        .collect();
    sources.sort();
    sources.dedup();
    s += "<table><tr><th>model</th><th class=\"l\">preset</th><th>spiking</th><th>T</th><th>params</th><th>MACs / inference</th><th>FLOPs / inference</th><th>test accuracy</th><th>test samples</th><th class=\"l\">counts from</th></tr>\n";
    for m in &d.models {
        let acc = d
            .model_accuracy(&m.name)
            .map(|a| format!("{:.2} %", 100.0 * a))
            .unwrap_or("–".into());
        let ts = m
            .training
            .as_ref()
            .map(|t| t.test_samples.to_string())
            .unwrap_or("–".into());
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{acc}</td><td>{ts}</td><td class=\"l\">{}</td></tr>",
            esc(&m.name),
            esc(&m.preset),
            if m.spiking { "yes" } else { "no" },
            m.steps,
            fmt_num(m.params as f64),
            fmt_num(m.macs as f64),
            fmt_num(m.flops as f64),
            if m.counts_source.is_empty() { "counted".to_string() } else { format!("counted [{}]", sources.iter().position(|x| *x == &m.counts_source).map_or(0, |i| i + 1)) }
        );
    }
    s += "</table>\n";
    for (i, src) in sources.iter().enumerate() {
        let _ = writeln!(s, "<p class=\"src\">[{}] {}</p>", i + 1, esc(src));
    }
    Ok(s)
}

fn sec_training(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let f = figures::training_curves(d)?;
    if f.is_empty() {
        return Ok(missing(
            "No per-epoch training metrics in these results (models loaded, not trained here).",
        ));
    }
    let mut s = String::new();
    let mut it = f.into_iter();
    if let Some(f) = it.next() {
        s += &fig(figs, f, "Mean cross-entropy per sample on the training batches (solid) and the test split (dashed), per epoch; each panel has its own y range.");
    }
    if let Some(f) = it.next() {
        s += &fig(
            figs,
            f,
            "Accuracy on the training batches (solid) and the test split (dashed), per epoch.",
        );
    }
    s += "<table><tr><th>model</th><th class=\"l\">optimizer</th><th>lr</th><th>batch</th><th>epochs</th><th>seed</th><th class=\"l\">device</th><th>train samples</th><th>final train acc</th><th>final test acc</th></tr>\n";
    for m in &d.models {
        let Some(t) = &m.training else { continue };
        let last = t.epochs.last();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.name),
            esc(&t.optimizer),
            t.lr,
            t.batch_size,
            t.epochs.len(),
            t.seed,
            esc(&t.device),
            t.train_samples,
            last.map(|e| format!("{:.2} %", 100.0 * e.train_accuracy)).unwrap_or("–".into()),
            last.map(|e| format!("{:.2} %", 100.0 * e.test_accuracy)).unwrap_or("–".into()),
        );
    }
    s += "</table>\n";
    Ok(s)
}

fn sec_training_cost(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let f = figures::training_cost(d)?;
    if f.is_empty() {
        return Ok(missing("No training times in these results."));
    }
    let mut s = String::new();
    let has_energy = f.iter().any(|f| f.name == "training-energy");
    for f in f {
        let cap = if f.name == "training-energy" {
            "Energy per epoch, measured by the meter named in the bar's text (whole-package or whole-device energy, idle included)."
        } else {
            "Mean wall-clock seconds per epoch (monotonic clock around the training pass and the test evaluation), ± standard deviation over epochs."
        };
        s += &fig(figs, f, cap);
    }
    if !has_energy {
        s += &missing("Training energy was not measured: no energy meter (NVML or readable RAPL) was available during training. No estimate is shown for training.");
    }
    Ok(s)
}

fn sec_latency(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let f = figures::latency(d)?;
    if f.is_empty() {
        return Ok(missing("No latency measurements in these results."));
    }
    let mut s = String::new();
    for f in f {
        let cap = if f.name == "latency-batch" {
            "Mean latency per inference at the smallest batch size (measured: monotonic clock around the backend call only, after warm-up; p99 in the text)."
        } else {
            "Mean latency per sample (query latency ÷ batch size) against batch size, a line per backend."
        };
        s += &fig(figs, f, cap);
    }
    s += "<table><tr><th>model</th><th class=\"l\">backend</th><th>batch</th><th>threads</th><th>accuracy</th><th>agreement</th><th>max |Δlogit|</th><th>mean / query</th><th>± std</th><th>p50</th><th>p99</th><th>per sample</th><th>samples/s</th><th>queries (warm-up)</th><th>timed s</th></tr>\n";
    for r in &d.inference {
        let l = r.latency.as_ref();
        let o = |f: &dyn Fn(&crate::data::LatencyStats) -> String| l.map(f).unwrap_or("–".into());
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.model),
            esc(&r.backend),
            r.batch,
            r.threads,
            r.accuracy.map(|a| format!("{:.2} % of {}", 100.0 * a, r.eval_samples)).unwrap_or("–".into()),
            r.agreement.map(|a| format!("{:.2} %", 100.0 * a)).unwrap_or("–".into()),
            r.max_abs_logit_diff.map(|x| format!("{x:.1e}")).unwrap_or("–".into()),
            o(&|l| fmt_us(l.mean_us)),
            o(&|l| fmt_us(l.std_us)),
            o(&|l| fmt_us(l.p50_us)),
            o(&|l| fmt_us(l.p99_us)),
            o(&|l| fmt_us(l.per_sample_us(r.batch))),
            r.throughput_per_s.map(fmt_num).unwrap_or("–".into()),
            o(&|l| format!("{} ({})", l.queries, l.warmup)),
            o(&|l| fmt_num(l.duration_s)),
        );
    }
    s += "</table>\n";
    Ok(s)
}

fn sec_flops(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let f = figures::flops_plots(d)?;
    if f.is_empty() {
        return Ok(missing("No operation counts in these results."));
    }
    let mut s = String::from("<p class=\"src\">FLOPs are counted from each model's description (FLOPs = 2 × MACs for Linear, Conv and RNN layers; all T steps of temporal models). Latency is measured (mean per inference, fastest backend at the smallest batch). Accuracy is measured on the test split.</p>\n");
    for f in f {
        let cap = match f.name.as_str() {
            "accuracy-vs-flops" => "Accuracy against counted FLOPs; the dashed step line is the Pareto front (fewer FLOPs, higher accuracy).",
            "latency-vs-flops" => "Measured latency against counted FLOPs: how well operation counts predict time.",
            _ => "Accuracy against measured latency; dashed: Pareto front.",
        };
        s += &fig(figs, f, cap);
    }
    Ok(s)
}

fn sec_energy(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let Some(f) = figures::energy(d)? else {
        return Ok(missing(
            "No energy numbers in these results (no meter, no power model and no estimate).",
        ));
    };
    let mut s = fig(figs, f, "Energy per inference, one bar per kind of figure side by side for each model and backend; each bar's label and text name its kind. Solid bars: measured by a hardware counter (mean ± std over windows, whisker ± std). Outlined bars: modelled = measured CPU time × a CPU power model, never a measurement (whisker: the model's low–high band). Hatched, lighter bars: estimate = operation counts × the Horowitz 45 nm table, what an ideal 45 nm accelerator would spend, not this machine (whisker: the table's range).");
    let rows = figures::energy_rows(d);
    let ratio = rows
        .iter()
        .any(|r| r.of(EnergyKind::Measured).is_some() && r.of(EnergyKind::Modelled).is_some());
    s += "<table class=\"energy\">\n<caption>Measured columns come from a hardware counter; <span class=\"mod\">blue-tinted, italic cells are modelled</span> (CPU time × power model, not a measurement); <span class=\"est\">hatched, italic cells are estimates</span> (ideal 45 nm accelerator, not this machine). – = no figure of that kind.";
    if ratio {
        s += " Modelled ÷ measured compares the model's central value with the counter's mean above idle.";
    }
    s += "</caption>\n";
    let _ = writeln!(
        s,
        "<tr><th colspan=\"3\"></th><th colspan=\"5\" class=\"meas\">measured <span class=\"k\">hardware counter</span></th><th colspan=\"5\" class=\"mod\">modelled <span class=\"k\">CPU time × power model</span></th><th colspan=\"2\" class=\"est\">estimate <span class=\"k\">ideal 45 nm accelerator</span></th>{}<th></th></tr>",
        if ratio { "<th></th>" } else { "" }
    );
    let _ = writeln!(
        s,
        "<tr><th>model</th><th class=\"l\">backend</th><th>batch</th><th>measured / inference</th><th>± std</th><th>idle incl.</th><th>windows × s</th><th>idle W</th><th class=\"mod\">modelled / inference</th><th class=\"mod\">low–high</th><th class=\"mod\">CPU µs / inference</th><th class=\"mod\">busy CPUs</th><th class=\"mod\">W</th><th class=\"est\">estimate / inference</th><th class=\"est\">low–high</th>{}<th class=\"l\">source / method</th></tr>",
        if ratio { "<th>modelled ÷ measured</th>" } else { "" }
    );
    let dash =
        |n: usize, cls: &str| -> String { format!("<td class=\"{cls} none\">–</td>").repeat(n) };
    for r in &rows {
        let lat = r.result.latency.as_ref();
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td>",
            esc(&r.model.name),
            esc(r.backend),
            r.batch
        );
        let meas = r.of(EnergyKind::Measured);
        match meas {
            Some(e) => {
                let _ = write!(
                    s,
                    "<td class=\"meas\">{} measured{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                    fmt_energy(e.joules_per_inference),
                    if e.idle_power_w.is_some() { " (above idle)" } else { " (idle incl.)" },
                    e.std_joules.map(fmt_energy).unwrap_or("–".into()),
                    e.total_joules.map(fmt_energy).unwrap_or("–".into()),
                    match (e.windows, e.window_s) {
                        (Some(n), w) => format!("{n} × {}", w.map(fmt_num).unwrap_or("?".into())),
                        (None, _) => "–".into(),
                    },
                    e.idle_power_w.map(fmt_num).unwrap_or("–".into()),
                );
            }
            None => s += &dash(5, "meas"),
        }
        let model = r.of(EnergyKind::Modelled);
        match model {
            Some(e) => {
                let cpu_us = e
                    .cpu_seconds_per_inference
                    .map(|c| c * 1e6)
                    .or(lat.and_then(|l| l.cpu_us_per_inference));
                let busy = e.busy_cpus.or(lat.and_then(|l| l.busy_cpus));
                let _ = write!(
                    s,
                    "<td class=\"mod\">{} modelled</td><td class=\"mod\">{}</td><td class=\"mod\">{}</td><td class=\"mod\">{}</td><td class=\"mod\">{}</td>",
                    fmt_energy(e.joules_per_inference),
                    figures::fmt_energy_range(e.low, e.high),
                    cpu_us.map(fmt_us).unwrap_or("–".into()),
                    busy.map(|b| format!("{b:.2}")).unwrap_or("–".into()),
                    e.watts.map(fmt_num).unwrap_or("–".into()),
                );
            }
            None => s += &dash(5, "mod"),
        }
        match r.of(EnergyKind::Estimate) {
            Some(e) => {
                let _ = write!(
                    s,
                    "<td class=\"est\">{} estimate</td><td class=\"est\">{}</td>",
                    fmt_energy(e.joules_per_inference),
                    figures::fmt_energy_range(e.low, e.high),
                );
            }
            None => s += &dash(2, "est"),
        }
        if ratio {
            match (meas, model) {
                (Some(a), Some(m)) if a.joules_per_inference > 0.0 => {
                    let _ = write!(
                        s,
                        "<td class=\"mod\">× {} ({}–{})</td>",
                        fmt_num(m.joules_per_inference / a.joules_per_inference),
                        fmt_num(m.low / a.joules_per_inference),
                        fmt_num(m.high / a.joules_per_inference),
                    );
                }
                _ => s += "<td class=\"none\">–</td>",
            }
        }
        let how: Vec<String> = r
            .figures()
            .iter()
            .map(|e| format!("<b>{}</b>: {} — {}", e.kind, esc(&e.source), esc(&e.method)))
            .collect();
        let _ = writeln!(s, "<td class=\"l\">{}</td></tr>", how.join("<br>"));
    }
    s += "</table>\n";
    Ok(s)
}

fn sec_pareto(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let (Some(f), Some(choice)) = (figures::pareto(d)?, figures::pareto_choice(d)) else {
        return Ok(missing(
            "No energy numbers in these results, so no accuracy–energy front.",
        ));
    };
    let kind = choice.kind;
    let mut cap = format!(
        "Accuracy against energy per inference, every point {} ({}; {}): the lowest {kind} energy among each model's backends. Ringed points joined by the dashed step line are Pareto-optimal: no other model is both more accurate and cheaper.",
        choice.label(),
        crate::energy::kind_meaning(kind),
        if kind == EnergyKind::Measured { "filled markers" } else { "hollow markers" },
    );
    if !choice.downgraded.is_empty() {
        let names: Vec<String> = choice
            .downgraded
            .iter()
            .map(|(m, k)| format!("{m} ({k})"))
            .collect();
        let _ = write!(
            cap,
            " Not every model has a better kind of figure, so for a like-for-like comparison the {kind} figures are used also for {}.",
            names.join(", ")
        );
    }
    if !choice.left_out.is_empty() {
        let names: Vec<String> = choice
            .left_out
            .iter()
            .map(|(m, ks)| {
                let ks: Vec<&str> = ks.iter().map(|k| k.as_str()).collect();
                format!("{m} (only {})", ks.join(", "))
            })
            .collect();
        let _ = write!(
            cap,
            " Left out, having no {kind} figure: {}.",
            names.join(", ")
        );
    }
    Ok(fig(figs, f, &cap))
}

fn sec_spiking(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let f = figures::spiking(d, 3)?;
    if f.is_empty() {
        return Ok(missing("No spiking activity in these results (no spiking model ran on the event-driven engine)."));
    }
    let mut s = String::from("<p class=\"src\">Counted by the event-driven engine while it ran (NeuroBench definitions): input sparsity = fraction of zero inputs of each layer over all steps and samples; effective operations = accumulates actually done for spike inputs plus MACs of layers with analog input; dense MACs = what the same network costs run densely over all T steps.</p>\n");
    for f in f {
        let cap = if f.name.starts_with("raster-") {
            "Which neuron spiked at which time step, for the first test sample; one panel per spiking layer."
        } else if f.name == "sparsity" {
            "Input sparsity per layer, averaged over the profiled samples."
        } else {
            "Effective operations per inference against dense MACs (log scale when they span decades)."
        };
        s += &fig(figs, f, cap);
    }
    let _ = writeln!(s, "<table><tr><th>model</th><th class=\"l\">layer</th><th>neurons</th><th>event-driven</th><th>input sparsity</th><th>spikes / inference</th><th>effective ops</th><th>dense MACs</th><th>samples</th></tr>");
    for r in d.inference.iter().filter(|r| r.activity.is_some()) {
        let a = r.activity.as_ref().expect("filtered");
        if d.inference
            .iter()
            .find(|x| x.model == r.model && x.activity.is_some())
            .map(|x| x.backend.as_str())
            != Some(r.backend.as_str())
            || d.inference
                .iter()
                .filter(|x| x.model == r.model && x.backend == r.backend && x.activity.is_some())
                .map(|x| x.batch)
                .min()
                != Some(r.batch)
        {
            continue;
        }
        for l in &a.layers {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:.1} %</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.model),
                esc(&l.name),
                l.neurons,
                if l.event_driven { "yes" } else { "no (analog input)" },
                100.0 * l.input_sparsity,
                fmt_num(l.spikes),
                fmt_num(l.effective_ops),
                fmt_num(l.dense_macs),
                a.samples
            );
        }
    }
    s += "</table>\n";
    Ok(s)
}

fn sec_spike_rate(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let Some(s) = &d.spike_rate else {
        return Ok(missing(
            "No spike_rate.json in this folder (run `joulebench bench spike-rate --out DIR`).",
        ));
    };
    let f = crate::spike_rate::spike_rate_figure(s)?;
    let cap = "Median time per inference against the input spike rate; the dashed vertical line marks where event-driven execution stops being faster than dense.";
    Ok(fig(figs, f, cap) + &crate::spike_rate::spike_rate_html(s))
}

fn sec_weights(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    let f = figures::weights(d, 6)?;
    if f.is_empty() {
        return Ok(missing("No first-layer weights in these results."));
    }
    let mut s = String::new();
    for f in f {
        s += &fig(figs, f, "First learnable layer's trained weights (from the saved safetensors), on a symmetric colour scale: blue negative, white zero, vermillion positive.");
    }
    Ok(s)
}

fn sec_sweeps(d: &ReportData, figs: &mut Vec<Figure>) -> Result<String, ReportError> {
    if d.sweeps.is_empty() {
        return Ok(missing("No sweep folders were found next to these results (run `joulebench sweep experiments/<study>.toml --out DIR/sweeps/<study>` and then `joulebench report DIR`)."));
    }
    let mut s = String::new();
    for sw in &d.sweeps {
        let _ = writeln!(
            s,
            "<h3>{}</h3>\n<p class=\"src\">From <code>{}</code>: {} runs ({} finished). Accuracy measured on the {} split after training; MACs counted from each model's description; training time measured (monotonic clock, training loop only).</p>",
            esc(sw.description.as_deref().unwrap_or(&sw.name)),
            esc(&sw.source),
            sw.rows.len(),
            sw.done_rows().count(),
            esc(&sw.eval_split())
        );
        for f in figures::sweep(sw)? {
            s += &fig(figs, f, "Sweep result (one point per finished run).");
        }
        let varying = sw.varying();
        let recipe = varying.contains(&SweepAxis::Recipe);
        let _ = writeln!(
            s,
            "<table><tr><th>run</th><th class=\"l\">model</th><th class=\"l\">optimizer</th><th>lr</th><th>batch</th><th class=\"l\">schedule</th><th>seed</th><th>epochs</th><th>depth</th><th>width</th><th class=\"l\">input</th><th>params</th><th>MACs</th><th>{} accuracy</th><th>train s</th><th class=\"l\">status</th></tr>",
            sw.eval_split_short()
        );
        let mut rows: Vec<_> = sw.rows.iter().collect();
        if recipe {
            rows.sort_by(|a, b| {
                a.optimizer
                    .cmp(&b.optimizer)
                    .then(a.lr.total_cmp(&b.lr))
                    .then(a.batch.cmp(&b.batch))
                    .then(a.schedule.cmp(&b.schedule))
                    .then(a.seed.cmp(&b.seed))
            });
        }
        for r in rows {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                esc(&r.name),
                esc(&r.model),
                esc(&r.optimizer),
                r.lr,
                r.batch,
                if r.schedule.is_empty() { "–".to_string() } else { esc(&r.schedule) },
                r.seed,
                r.epochs,
                r.depth.map(|v| v.to_string()).unwrap_or("–".into()),
                r.width.map(|v| v.to_string()).unwrap_or("–".into()),
                esc(&r.input),
                fmt_num(r.params as f64),
                fmt_num(r.macs as f64),
                r.test_acc.map(|a| format!("{:.2} %", 100.0 * a)).unwrap_or("–".into()),
                r.train_seconds.map(fmt_num).unwrap_or("–".into()),
                esc(&if let Some(e) = &r.error { format!("{} ({e})", r.status) } else { r.status.clone() }),
            );
        }
        s += "</table>\n";
    }
    Ok(s)
}

fn sec_machine(d: &ReportData) -> String {
    if !d.machines.is_empty() {
        return crate::machines::render_machines(d);
    }
    let m = &d.machine;
    let mut s = String::from("<table>");
    let mut row = |k: &str, v: String| {
        let _ = write!(
            s,
            "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>",
            esc(k),
            esc(&v)
        );
    };
    row(
        "CPU",
        if m.cpu_model.is_empty() {
            "unknown".into()
        } else {
            m.cpu_model.clone()
        },
    );
    row(
        "cores",
        format!(
            "{} logical{}",
            m.logical_cores,
            m.physical_cores
                .map(|p| format!(", {p} physical"))
                .unwrap_or_default()
        ),
    );
    row(
        "memory",
        if m.memory_bytes > 0 {
            format!("{:.1} GiB", m.memory_bytes as f64 / (1u64 << 30) as f64)
        } else {
            "unknown".into()
        },
    );
    row("OS", m.os.clone());
    row("kernel", m.kernel.clone());
    if m.gpus.is_empty() {
        row("GPU", "none found".into());
    }
    for g in &m.gpus {
        row(
            "GPU",
            format!(
                "{} (driver {}{}{})",
                g.name,
                g.driver,
                g.memory_bytes
                    .map(|b| format!(", {:.1} GiB", b as f64 / (1u64 << 30) as f64))
                    .unwrap_or_default(),
                g.power_limit_w
                    .map(|w| format!(", power limit {w} W"))
                    .unwrap_or_default()
            ),
        );
    }
    row(
        "energy meters",
        if m.meters.is_empty() {
            "none reported".into()
        } else {
            m.meters.join("; ")
        },
    );
    for (k, v) in &m.extra {
        row(k, v.clone());
    }
    s += "</table>\n";
    s
}

fn sec_method(d: &ReportData) -> String {
    let mut s = String::from("<ul class=\"notes\">");
    s += "<li><b>Accuracy</b> — measured: argmax of the logits against the labels on the test split (the number of samples is in the tables; a quick run uses a slice).</li>";
    s += "<li><b>Latency</b> — measured with the monotonic clock around the backend call only, after warm-up queries, until both a query count and a duration were reached; mean, std, p50, p90, p99 per query; per-sample = per-query ÷ batch. Thread counts are explicit per backend.</li>";
    s += "<li><b>Parameters, MACs, FLOPs</b> — counted from the model description; FLOPs = 2 × MACs for Linear/Conv/RNN; temporal models count all T steps.</li>";
    s += "<li><b>Spiking activity</b> — counted by the event-driven engine while running (spikes, input sparsity, accumulates).</li>";
    s += "<li><b>Energy</b>, three kinds, each labelled wherever it is shown: <b>measured</b> by NVML (GPU) or RAPL (CPU package/DRAM) over repeated windows after an idle baseline, reported as mean ± std per inference above idle; <b>modelled</b> = the measured CPU time of the process (all threads) × a CPU power model (a saved calibration, given watts, a spec-sheet model or a generic range), with the model's low–high band, never a measurement; <b>estimate</b> = operation counts × the energy-per-operation table named in each row (Horowitz, 45 nm): what an ideal 45 nm accelerator would spend on these operations, not this machine. A single energy number (the Pareto front) is the best kind available, and comparisons use one kind for all models.</li>";
    let mut windows: Vec<String> = d
        .inference
        .iter()
        .filter_map(|r| {
            r.latency
                .as_ref()
                .map(|l| format!("{} queries in {} s", l.queries, fmt_num(l.duration_s)))
        })
        .collect();
    windows.sort();
    windows.dedup();
    if let (Some(a), Some(b)) = (windows.first(), windows.last()) {
        let _ = write!(
            s,
            "<li>Latency windows in these results range from {} to {}.</li>",
            esc(a),
            esc(b)
        );
    }
    let mut sources: Vec<(String, usize)> = Vec::new();
    let mut figs: Vec<&crate::energy::EnergyFigure> = d
        .inference
        .iter()
        .flat_map(|r| r.energy_figures())
        .collect();
    figs.sort_by_key(|e| e.kind);
    for e in figs {
        let l = e.label();
        match sources.iter_mut().find(|(x, _)| *x == l) {
            Some((_, n)) => *n += 1,
            None => sources.push((l, 1)),
        }
    }
    for (l, n) in sources {
        let _ = write!(
            s,
            "<li>Energy source — {} ({n} result{}; the method of each is in the energy table)</li>",
            esc(&l),
            if n == 1 { "" } else { "s" }
        );
    }
    s += "</ul>\n";
    s
}
