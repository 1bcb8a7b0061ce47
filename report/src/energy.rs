//! Energy per inference in the report. The figures themselves are the shared
//! [`EnergyFigure`] of `joulebench-models` (measured, modelled or estimate, with its band and
//! method); this module adds what the report needs around them: the words for each kind, the
//! rule that picks one kind for a comparison across rows (so a modelled number is never set
//! against a measured one without saying so), and the reading of results written before
//! modelled energy existed.

use serde::{Deserialize, Deserializer};

pub use joulebench_models::energy::best;
pub use joulebench_models::{EnergyFigure, EnergyKind};

/// The kinds, best first (the order of the figure's bars and the table's columns).
pub const KINDS: [EnergyKind; 3] = [
    EnergyKind::Measured,
    EnergyKind::Modelled,
    EnergyKind::Estimate,
];

/// What a kind of figure is, in words (captions, legends, the provenance key).
pub fn kind_meaning(kind: EnergyKind) -> &'static str {
    match kind {
        EnergyKind::Measured => "read from a hardware energy counter (RAPL, NVML) over timed windows",
        EnergyKind::Modelled => {
            "measured CPU time × a CPU power model, never a measurement"
        }
        EnergyKind::Estimate => {
            "operation counts × the Horowitz 45 nm table: what an ideal 45 nm accelerator would spend, not this machine"
        }
    }
}

/// The first figure of `kind` among `figures`.
pub fn of_kind(figures: &[EnergyFigure], kind: EnergyKind) -> Option<&EnergyFigure> {
    figures.iter().find(|f| f.kind == kind)
}

/// The kind a comparison across rows uses, given the kinds each row has (a row with no figure
/// takes no part). Like for like:
/// * the best kind that **every** row has (when every row's best figure is of one kind, that
///   kind);
/// * when no kind is common to all rows, the kind the most rows have (ties: the better kind);
///   the rows without it are left out of the comparison, and the caller says so.
///
/// `None` when no row has any figure.
pub fn comparison_kind<'a, I>(rows: I) -> Option<EnergyKind>
where
    I: IntoIterator<Item = &'a [EnergyKind]>,
{
    let rows: Vec<&[EnergyKind]> = rows.into_iter().filter(|r| !r.is_empty()).collect();
    if rows.is_empty() {
        return None;
    }
    let count = |k: EnergyKind| rows.iter().filter(|r| r.contains(&k)).count();
    KINDS
        .iter()
        .copied()
        .find(|&k| count(k) == rows.len())
        .or_else(|| {
            // max_by_key keeps the last maximum: iterate worst first so ties go to the better kind.
            KINDS.iter().rev().copied().max_by_key(|&k| count(k))
        })
}

/// Reads a result row's `energy`: an [`EnergyFigure`], or the layout `results.json` had before
/// modelled energy existed (`{"source": {"kind": "measured", "meter": …}, "joules": …}`),
/// converted so old results still load and still say which kind each number is.
pub(crate) fn deserialize_energy<'de, D>(d: D) -> Result<Option<EnergyFigure>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum AnyEnergy {
        Figure(EnergyFigure),
        Legacy(LegacyEnergy),
    }
    Ok(Option::<AnyEnergy>::deserialize(d)?.map(|e| match e {
        AnyEnergy::Figure(f) => f,
        AnyEnergy::Legacy(l) => l.into_figure(),
    }))
}

/// `energy` as schema 1 wrote it before the three kinds (measured or estimate only).
#[derive(Deserialize)]
struct LegacyEnergy {
    source: LegacySource,
    /// Total joules per inference (idle included for measurements).
    joules: f64,
    #[serde(default)]
    std_joules: f64,
    #[serde(default)]
    above_idle_joules: Option<f64>,
    #[serde(default)]
    windows: usize,
    #[serde(default)]
    window_s: Option<f64>,
    #[serde(default)]
    idle_power_w: Option<f64>,
    #[serde(default)]
    resolution_j: Option<f64>,
    #[serde(default)]
    method: String,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum LegacySource {
    Measured {
        meter: String,
        #[serde(default)]
        domains: Vec<String>,
    },
    Estimate {
        table: String,
    },
}

impl LegacyEnergy {
    fn into_figure(self) -> EnergyFigure {
        match self.source {
            LegacySource::Measured { meter, domains } => {
                let source = if domains.is_empty() {
                    meter
                } else {
                    format!("{meter} ({})", domains.join(", "))
                };
                // As the profiler reports it now: above idle when idle was measured.
                let j = self.above_idle_joules.unwrap_or(self.joules);
                let mut f = EnergyFigure::new(
                    EnergyKind::Measured,
                    source,
                    j,
                    j - self.std_joules,
                    j + self.std_joules,
                    self.method,
                );
                f.std_joules = Some(self.std_joules);
                f.total_joules = Some(self.joules);
                f.windows = (self.windows > 0).then_some(self.windows);
                f.window_s = self.window_s;
                f.idle_power_w = self.idle_power_w;
                f.resolution_j = self.resolution_j;
                f
            }
            LegacySource::Estimate { table } => EnergyFigure::new(
                EnergyKind::Estimate,
                table,
                self.joules,
                self.joules,
                self.joules,
                self.method,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnergyKind::*;

    #[test]
    fn comparison_kind_is_like_for_like() {
        let k = |rows: &[&[EnergyKind]]| comparison_kind(rows.iter().copied());
        // every row's best is of one kind: that kind
        assert_eq!(k(&[&[Measured, Estimate], &[Measured]]), Some(Measured));
        // best figures differ: the best kind all rows have
        assert_eq!(
            k(&[&[Measured, Modelled, Estimate], &[Modelled, Estimate]]),
            Some(Modelled)
        );
        assert_eq!(
            k(&[&[Measured, Estimate], &[Modelled, Estimate]]),
            Some(Estimate)
        );
        // nothing in common: the kind most rows have, ties to the better kind
        assert_eq!(k(&[&[Modelled], &[Estimate]]), Some(Modelled));
        assert_eq!(k(&[&[Modelled], &[Estimate], &[Estimate]]), Some(Estimate));
        // rows without figures take no part
        assert_eq!(k(&[&[], &[Estimate]]), Some(Estimate));
        assert_eq!(k(&[&[], &[]]), None);
    }

    #[test]
    fn legacy_energy_reads_as_figures() {
        #[derive(Deserialize)]
        struct Row {
            #[serde(default, deserialize_with = "deserialize_energy")]
            energy: Option<EnergyFigure>,
        }
        let m: Row = serde_json::from_str(
            r#"{"energy": {"source": {"kind": "measured", "meter": "rapl", "domains": ["package-0"]},
                "joules": 9e-6, "std_joules": 1e-6, "above_idle_joules": 4e-6, "windows": 5,
                "window_s": 1.0, "idle_power_w": 3.1, "method": "m"}}"#,
        )
        .unwrap();
        let m = m.energy.unwrap();
        assert_eq!(m.kind, Measured);
        assert_eq!(m.label(), "measured: rapl (package-0)");
        assert_eq!(m.joules_per_inference, 4e-6);
        assert_eq!(m.total_joules, Some(9e-6));
        assert_eq!((m.std_joules, m.windows), (Some(1e-6), Some(5)));
        let e: Row = serde_json::from_str(
            r#"{"energy": {"source": {"kind": "estimate", "table": "horowitz-45nm"}, "joules": 2e-9}}"#,
        )
        .unwrap();
        let e = e.energy.unwrap();
        assert_eq!((e.kind, e.joules_per_inference), (Estimate, 2e-9));
        assert_eq!(e.label(), "estimate: horowitz-45nm");
        let none: Row = serde_json::from_str(r#"{"energy": null}"#).unwrap();
        assert!(none.energy.is_none());
        let new = EnergyFigure::new(Modelled, "spec-sheet power model", 3.0, 2.0, 4.0, "x");
        let back: Row = serde_json::from_str(&format!(
            "{{\"energy\": {}}}",
            serde_json::to_string(&new).unwrap()
        ))
        .unwrap();
        assert_eq!(back.energy, Some(new));
    }
}
