//! The verdict at the top of the page (`id="verdict"`): one table with one row per model
//! (accuracy, fastest engine at the smallest batch, energy per inference on that engine) and,
//! for each spiking model, one sentence comparing it with its dense twin on this machine.
//!
//! Data first ([`verdict`] builds plain structs from [`ReportData`]), HTML second
//! ([`render_verdict`]); the numbers are formatted with the report's shared helpers.

use std::fmt::Write as _;

use crate::data::{InferenceResult, ModelResult, ReportData};
use crate::energy::{EnergyFigure, EnergyKind, KINDS};
use crate::figures::{best_latency_us, fmt_energy, fmt_us};
use crate::html::esc;
use crate::plot::axis::fmt_num;

/// Spiking preset → its dense twins (by preset name, first one present in the data wins).
///
/// The only place the pairs are written down. The 1-D presets (`mlp1d`, `cnn1d`) are dense and
/// have no spiking counterpart among the presets, so they appear in no pair.
pub const TWINS: &[(&str, &[&str])] = &[
    ("snn-temporal", &["ann"]),
    ("snn-1step", &["ann"]),
    ("snn", &["mlp"]),
    ("csnn-1step", &["cnn-fashion", "cnn"]),
    ("csnn-temporal", &["cnn-fashion", "cnn"]),
];

/// The backend name of the event-driven engine.
pub const EVENT_BACKEND: &str = "event";

/// The dense twin presets of a spiking preset (empty when it has none).
pub fn twin_presets(spiking_preset: &str) -> &'static [&'static str] {
    TWINS
        .iter()
        .find(|(s, _)| *s == spiking_preset)
        .map(|(_, d)| *d)
        .unwrap_or(&[])
}

/// A model's fastest engine at the verdict's batch size.
#[derive(Debug, Clone)]
pub struct Fastest<'a> {
    pub backend: String,
    /// Mean microseconds per inference (per query ÷ batch).
    pub mean_us: f64,
    pub result: &'a InferenceResult,
}

impl Fastest<'_> {
    /// The best energy figure of the fastest engine's row.
    pub fn energy(&self) -> Option<&EnergyFigure> {
        self.result.best_energy()
    }
}

/// One row of the verdict table.
#[derive(Debug, Clone)]
pub struct VerdictRow<'a> {
    pub model: &'a ModelResult,
    /// Test accuracy (fraction): training-time test accuracy, else the best backend's.
    pub accuracy: Option<f64>,
    pub fastest: Option<Fastest<'a>>,
    /// Mean µs per inference of the event-driven engine when it ran for this model.
    pub event_us: Option<f64>,
}

/// Energy of both sides of a twin comparison, one kind of figure.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyComparison {
    pub kind: EnergyKind,
    pub spiking_j: f64,
    pub dense_j: f64,
    /// The kinds of both sides' best figures, when they differ (`(spiking, dense)`).
    pub best_kinds_differ: Option<(EnergyKind, EnergyKind)>,
}

/// What one pair line says.
#[derive(Debug, Clone)]
pub enum PairVerdict<'a> {
    /// A spiking model and its dense twin, both with a fastest engine.
    Pair {
        spiking: &'a VerdictRow<'a>,
        dense: &'a VerdictRow<'a>,
        /// `None` when the two sides have no energy figure of a common kind.
        energy: Option<EnergyComparison>,
    },
    /// A spiking model and its dense twin, one of them without a latency figure.
    NoLatency {
        spiking: &'a VerdictRow<'a>,
        dense: &'a VerdictRow<'a>,
    },
    /// A spiking model whose dense twin is not in the data.
    NoTwin {
        spiking: &'a VerdictRow<'a>,
        /// The twin presets looked for.
        looked_for: &'static [&'static str],
    },
}

/// The whole verdict: the batch size of the table and its rows.
#[derive(Debug, Clone)]
pub struct Verdict<'a> {
    /// The smallest batch in the results (1 in every normal run).
    pub batch: Option<usize>,
    pub rows: Vec<VerdictRow<'a>>,
}

/// Builds the verdict's rows from the results.
pub fn verdict(data: &ReportData) -> Verdict<'_> {
    let batch = data.batches().first().copied();
    let rows = data
        .models
        .iter()
        .map(|m| {
            let fastest = batch.and_then(|b| {
                let (us, backend) = best_latency_us(data, &m.name)?;
                let result = data.result(&m.name, &backend, b)?;
                Some(Fastest {
                    backend,
                    mean_us: us,
                    result,
                })
            });
            let event_us = batch.and_then(|b| {
                data.result(&m.name, EVENT_BACKEND, b)?
                    .latency
                    .as_ref()
                    .map(|l| l.per_sample_us(b))
            });
            VerdictRow {
                model: m,
                accuracy: data.model_accuracy(&m.name),
                fastest,
                event_us,
            }
        })
        .collect();
    Verdict { batch, rows }
}

impl<'a> Verdict<'a> {
    /// One line per spiking model: its comparison with its dense twin, or why there is none.
    pub fn pairs(&'a self) -> Vec<PairVerdict<'a>> {
        self.rows
            .iter()
            .filter(|r| r.model.spiking || !twin_presets(&r.model.preset).is_empty())
            .map(|s| {
                let looked_for = twin_presets(&s.model.preset);
                let dense = looked_for.iter().find_map(|p| {
                    let mut twins = self
                        .rows
                        .iter()
                        .filter(|r| r.model.preset == *p && !r.model.spiking);
                    let first = twins.clone().next();
                    twins.find(|r| r.fastest.is_some()).or(first)
                });
                match (dense, &s.fastest) {
                    (Some(d), Some(sf)) if d.fastest.is_some() => PairVerdict::Pair {
                        spiking: s,
                        dense: d,
                        energy: d
                            .fastest
                            .as_ref()
                            .and_then(|df| compare_energy(sf.result, df.result)),
                    },
                    (Some(d), _) => PairVerdict::NoLatency {
                        spiking: s,
                        dense: d,
                    },
                    (None, _) => PairVerdict::NoTwin {
                        spiking: s,
                        looked_for,
                    },
                }
            })
            .collect()
    }
}

/// Like-for-like energy of two rows: their best figures when of one kind, else the best kind
/// both have (saying the best kinds differ). `None` when they share no kind.
fn compare_energy(s: &InferenceResult, d: &InferenceResult) -> Option<EnergyComparison> {
    let (sb, db) = (s.best_energy()?, d.best_energy()?);
    let kind = if sb.kind == db.kind {
        sb.kind
    } else {
        KINDS
            .iter()
            .copied()
            .find(|&k| s.energy_of(k).is_some() && d.energy_of(k).is_some())?
    };
    let pick = |r: &InferenceResult| {
        if r.best_energy().map(|e| e.kind) == Some(kind) {
            r.best_energy().map(|e| e.joules_per_inference)
        } else {
            r.energy_of(kind).map(|e| e.joules_per_inference)
        }
    };
    Some(EnergyComparison {
        kind,
        spiking_j: pick(s)?,
        dense_j: pick(d)?,
        best_kinds_differ: (sb.kind != db.kind).then_some((sb.kind, db.kind)),
    })
}

/// `a / b` as `3.2×` (the larger over the smaller is the caller's business).
fn times(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{}×", fmt_num(a / b))
    } else {
        "–".into()
    }
}

/// The CSS class of an energy cell of `kind` (as in the energy section's table).
fn kind_class(kind: EnergyKind) -> &'static str {
    match kind {
        EnergyKind::Measured => "meas",
        EnergyKind::Modelled => "mod",
        EnergyKind::Estimate => "est",
    }
}

/// The engine as the sentence names it.
fn engine(backend: &str) -> String {
    if backend == EVENT_BACKEND {
        format!("<code>{}</code> (the event-driven engine)", esc(backend))
    } else {
        format!("<code>{}</code>", esc(backend))
    }
}

/// One sentence for a pair line (HTML).
pub fn pair_sentence(p: &PairVerdict<'_>, batch: usize) -> String {
    match p {
        PairVerdict::NoTwin {
            spiking,
            looked_for,
        } => {
            let wanted = if looked_for.is_empty() {
                "no twin is known for this preset".to_string()
            } else {
                format!(
                    "looked for {}",
                    looked_for
                        .iter()
                        .map(|p| format!("<code>{p}</code>"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            };
            format!(
                "<b>{}</b>: no dense twin in these results ({wanted}), so no spiking-vs-dense answer.",
                esc(&spiking.model.name)
            )
        }
        PairVerdict::NoLatency { spiking, dense } => {
            let without: Vec<String> = [spiking, dense]
                .iter()
                .filter(|r| r.fastest.is_none())
                .map(|r| esc(&r.model.name))
                .collect();
            format!(
                "<b>{}</b> vs its dense twin <b>{}</b>: no latency at batch {batch} for {}, so no spiking-vs-dense answer.",
                esc(&spiking.model.name),
                esc(&dense.model.name),
                without.join(" and ")
            )
        }
        PairVerdict::Pair {
            spiking,
            dense,
            energy,
        } => {
            let (sf, df) = (
                spiking.fastest.as_ref().expect("paired rows have latency"),
                dense.fastest.as_ref().expect("paired rows have latency"),
            );
            let (sn, dn) = (esc(&spiking.model.name), esc(&dense.model.name));
            let mut s = String::from("On this machine, ");
            let (faster, slower, fu, su) = if sf.mean_us <= df.mean_us {
                (&sn, &dn, sf.mean_us, df.mean_us)
            } else {
                (&dn, &sn, df.mean_us, sf.mean_us)
            };
            let speed = if fu == su {
                format!("<b>{sn}</b> and <b>{dn}</b> are as fast")
            } else {
                format!("<b>{faster}</b> is {} faster than {slower}", times(su, fu))
            };
            let _ = write!(
                s,
                "{speed} (mean per inference at batch {batch}: {sn} {} on {}, {dn} {} on {})",
                fmt_us(sf.mean_us),
                engine(&sf.backend),
                fmt_us(df.mean_us),
                engine(&df.backend),
            );
            if sf.backend != EVENT_BACKEND {
                if let Some(e) = spiking.event_us {
                    let _ = write!(s, "; the event-driven engine also ran {sn}: {}", fmt_us(e));
                }
            }
            s += ". ";
            match energy {
                Some(e) => {
                    if let Some((a, b)) = e.best_kinds_differ {
                        let _ = write!(
                            s,
                            "The best energy figures differ in kind ({sn} {a}, {dn} {b}), so the common {} figures are compared: ",
                            e.kind
                        );
                    } else {
                        let _ = write!(s, "Energy ({} figures on both): ", e.kind);
                    }
                    let (cheaper, dearer, cj, dj) = if e.spiking_j <= e.dense_j {
                        (&sn, &dn, e.spiking_j, e.dense_j)
                    } else {
                        (&dn, &sn, e.dense_j, e.spiking_j)
                    };
                    let cost = if cj == dj {
                        "both cost the same".to_string()
                    } else {
                        format!(
                            "<b>{cheaper}</b> costs {} less than {dearer}",
                            times(dj, cj)
                        )
                    };
                    let _ = write!(
                        s,
                        "{cost} ({sn} {} {k}, {dn} {} {k}). ",
                        fmt_energy(e.spiking_j),
                        fmt_energy(e.dense_j),
                        k = e.kind,
                    );
                }
                None => {
                    s += "Energy: no figure of a common kind on both fastest engines, so no energy comparison. ";
                }
            }
            match (spiking.accuracy, dense.accuracy) {
                (Some(a), Some(b)) => {
                    let d = 100.0 * (a - b);
                    let _ = write!(
                        s,
                        "Accuracy: {sn} {:.2} % vs {dn} {:.2} % ({}).",
                        100.0 * a,
                        100.0 * b,
                        if d.abs() < 0.005 {
                            "the same to 0.01 points".to_string()
                        } else {
                            format!(
                                "{sn} {:.2} points {}",
                                d.abs(),
                                if d < 0.0 { "lower" } else { "higher" }
                            )
                        }
                    );
                }
                _ => s += "Accuracy: not known for both.",
            }
            s
        }
    }
}

/// The verdict as HTML: `<div id="verdict">` with the table and the pair sentences.
pub fn render_verdict(data: &ReportData) -> String {
    let v = verdict(data);
    let mut s = String::from("<div id=\"verdict\">\n<h2>Verdict</h2>\n");
    if v.rows.is_empty() {
        s += "<p class=\"missing\">No models in these results, so no verdict.</p>\n</div>\n";
        return s;
    }
    let batch = v.batch.unwrap_or(1);
    s += "<table><tr><th>model</th><th>test accuracy</th><th class=\"l\">fastest engine</th><th>mean µs / inference</th><th>energy / inference</th><th class=\"l\">energy source</th></tr>\n";
    for r in &v.rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td>",
            esc(&r.model.name),
            r.accuracy
                .map(|a| format!("{:.2} %", 100.0 * a))
                .unwrap_or("–".into())
        );
        match &r.fastest {
            Some(f) => {
                let _ = write!(
                    s,
                    "<td class=\"l\">{}</td><td>{}</td>",
                    esc(&f.backend),
                    fmt_us(f.mean_us)
                );
                match f.energy() {
                    Some(e) => {
                        let c = kind_class(e.kind);
                        let _ = write!(
                            s,
                            "<td class=\"{c}\">{} {}</td><td class=\"l {c}\">{}</td>",
                            fmt_energy(e.joules_per_inference),
                            e.kind,
                            esc(&e.source)
                        );
                    }
                    None => s += "<td class=\"none\">–</td><td class=\"none\">–</td>",
                }
            }
            None => s += &"<td class=\"none\">–</td>".repeat(4),
        }
        s += "</tr>\n";
    }
    let _ = writeln!(
        s,
        "<caption>One row per model. Accuracy: test split, measured at the end of training (else the best engine's). Fastest engine: the lowest <b>mean</b> time per inference (per query ÷ batch) at batch {batch}, measured. Energy: the best figure available (measured over modelled over estimate) <b>on that fastest engine</b>, with its kind word; modelled (blue-tinted) and estimate (hatched) cells are not measurements. – = no figure.</caption></table>"
    );
    let pairs = v.pairs();
    if !pairs.is_empty() {
        s += "<ul class=\"notes\">\n";
        for p in &pairs {
            let _ = writeln!(s, "<li>{}</li>", pair_sentence(p, batch));
        }
        s += "</ul>\n";
    }
    s += "</div>\n";
    s
}
