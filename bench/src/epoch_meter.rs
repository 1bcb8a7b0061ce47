//! Training energy per epoch: an [`EpochHook`] that opens one energy-meter window per epoch
//! (`joulebench train --meter`, `joulebench run`). Only hardware counters are used; when none is
//! readable the epochs' energy stays empty — training energy is never estimated.

use std::path::Path;

use anyhow::{anyhow, bail};
use joulebench_profiler::meter::rapl::POWERCAP_ROOT;
use joulebench_profiler::{select, DomainInfo, EnergyMeter, MeterChoice, WindowStart};
use joulebench_training::{EpochEnergy, EpochHook};

/// `--meter` of the training commands: `auto` (NVML when training on a GPU, RAPL on the CPU;
/// nothing when that meter is unreadable), `rapl`, `nvml` (an error when unreadable) or `none`.
pub fn parse_training_meter(s: &str) -> anyhow::Result<Option<MeterChoice>> {
    match s {
        "none" => Ok(None),
        "estimate" => bail!(
            "training energy is measured or left empty, never estimated: use --meter auto, rapl, nvml or none"
        ),
        other => Ok(Some(MeterChoice::parse(other).map_err(|e| anyhow!(e))?)),
    }
}

/// Opens the training meter. `Ok((Some(hook), note))` when a counter is readable,
/// `Ok((None, why))` when not (`auto`, `none`); an explicitly requested meter that cannot be read
/// is an error. `gpu`: training runs on a CUDA device (then `auto` means NVML GPU 0).
pub fn open_training_meter(
    choice: Option<MeterChoice>,
    gpu: bool,
) -> anyhow::Result<(Option<MeterHook>, String)> {
    let Some(choice) = choice else {
        return Ok((None, "no meter requested (--meter none)".into()));
    };
    let sel = select(choice, gpu, Path::new(POWERCAP_ROOT), 0)?;
    Ok(match sel.meter {
        Some(m) => {
            let hook = MeterHook::new(m);
            let note = format!("measured by {} ({})", hook.source(), sel.note);
            (Some(hook), note)
        }
        None => (
            None,
            format!(
                "no readable energy counter, epoch energy left empty ({})",
                sel.note
                    .trim_end_matches("; falling back to the estimate")
                    .trim_start_matches("auto: ")
            ),
        ),
    })
}

/// One meter window per epoch: `epoch_begin` starts it, `epoch_end` ends it and reports the joules
/// of the domains counted in the meter's total. A failed reading gives no energy for that epoch
/// (logged), never a made-up value.
pub struct MeterHook {
    meter: Box<dyn EnergyMeter>,
    domains: Vec<DomainInfo>,
    source: String,
    start: Option<WindowStart>,
}

impl MeterHook {
    pub fn new(meter: Box<dyn EnergyMeter>) -> Self {
        let domains = meter.domains();
        let summed: Vec<&str> = domains
            .iter()
            .filter(|d| d.in_total)
            .map(|d| d.name.as_str())
            .collect();
        let source = format!("{}:{}", meter.name(), summed.join(","));
        MeterHook {
            meter,
            domains,
            source,
            start: None,
        }
    }

    /// `meter:domain[,domain…]` — the meter and the domains summed, as stored in
    /// `EpochEnergy::source`.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl EpochHook for MeterHook {
    fn epoch_begin(&mut self) {
        self.start = match self.meter.begin_window() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("{}: could not start the epoch window: {e}", self.source);
                None
            }
        };
    }

    fn epoch_end(&mut self) -> Option<EpochEnergy> {
        let start = self.start.take()?;
        match self.meter.end_window(start) {
            Ok(r) => Some(EpochEnergy {
                joules: r.total_j(&self.domains),
                source: self.source.clone(),
            }),
            Err(e) => {
                tracing::warn!("{}: epoch energy not measured: {e}", self.source);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use joulebench_profiler::{DomainKind, EnergyReading, MeterError, ReadingSource};

    use super::*;

    /// A counter in µJ that the test advances by hand; two domains, the nested one not in total.
    struct FakeMeter {
        uj: Arc<AtomicU64>,
        fail_end: bool,
    }

    fn domain(name: &str, in_total: bool) -> DomainInfo {
        DomainInfo {
            name: name.into(),
            kind: DomainKind::Package,
            resolution_j: 1e-6,
            update_period_s: 0.001,
            in_total,
            note: "test".into(),
        }
    }

    impl EnergyMeter for FakeMeter {
        fn name(&self) -> &str {
            "fake"
        }
        fn domains(&self) -> Vec<DomainInfo> {
            vec![domain("package-0", true), domain("package-0/core", false)]
        }
        fn begin_window(&mut self) -> Result<WindowStart, MeterError> {
            Ok(WindowStart::new(0.0, vec![self.uj.load(Ordering::SeqCst)]))
        }
        fn end_window(&mut self, start: WindowStart) -> Result<EnergyReading, MeterError> {
            if self.fail_end {
                return Err(MeterError::Unavailable {
                    meter: "fake".into(),
                    reason: "test".into(),
                });
            }
            let j = (self.uj.load(Ordering::SeqCst) - start.raw()[0]) as f64 * 1e-6;
            Ok(EnergyReading {
                // the nested domain reports half; it must not be added to the total
                joules: vec![j, j / 2.0],
                seconds: 1.0,
                source: ReadingSource::Measured {
                    counter: "fake".into(),
                },
            })
        }
    }

    #[test]
    fn each_epoch_gets_its_own_window() {
        let uj = Arc::new(AtomicU64::new(1_000));
        let mut hook = MeterHook::new(Box::new(FakeMeter {
            uj: uj.clone(),
            fail_end: false,
        }));
        assert_eq!(hook.source(), "fake:package-0");
        for (epoch, spent_uj) in [(1, 2_500_000u64), (2, 750_000)] {
            hook.epoch_begin();
            uj.fetch_add(spent_uj, Ordering::SeqCst);
            let e = hook.epoch_end().expect("measured");
            assert!(
                (e.joules - spent_uj as f64 * 1e-6).abs() < 1e-9,
                "epoch {epoch}: {} J",
                e.joules
            );
            assert_eq!(e.source, "fake:package-0");
        }
        // energy spent between epochs belongs to no epoch; an unmatched end has no energy
        uj.fetch_add(9_000_000, Ordering::SeqCst);
        assert_eq!(hook.epoch_end(), None);
    }

    #[test]
    fn a_failed_reading_is_no_energy() {
        let mut hook = MeterHook::new(Box::new(FakeMeter {
            uj: Arc::new(AtomicU64::new(0)),
            fail_end: true,
        }));
        hook.epoch_begin();
        assert_eq!(hook.epoch_end(), None);
    }

    #[test]
    fn training_meter_choices() {
        assert_eq!(parse_training_meter("none").unwrap(), None);
        assert_eq!(
            parse_training_meter("auto").unwrap(),
            Some(MeterChoice::Auto)
        );
        assert!(parse_training_meter("estimate").is_err());
        assert!(parse_training_meter("bogus").is_err());
        let (hook, note) = open_training_meter(None, false).unwrap();
        assert!(hook.is_none() && note.contains("none"));
    }
}
