//! The NVML meter on fake GPUs (no GPU needed): the energy-counter difference over a window, a
//! counter going backwards, a window that reads 0 J (valid, then rejected by the energy
//! method), the update period measured at open, power polling integrated over exactly the
//! window, MIG warnings; and the mapping of CUDA device N onto an NVML device
//! (`CUDA_VISIBLE_DEVICES` indices, UUIDs, MIG devices, invalid entries; `CUDA_DEVICE_ORDER`).

use std::sync::Arc;
use std::time::Duration;

use joulebench_profiler::clock::ManualClock;
use joulebench_profiler::energy::window_seconds;
use joulebench_profiler::meter::nvml::{
    nvml_index_for_cuda, probe_update_period, CudaEnv, MappedDevice, NvmlMeter, PROBE_MAX,
    PROBE_STEP,
};
use joulebench_profiler::meter::nvml_device::{DeviceIdentity, FakeNvmlDevice, NvmlDevice};
use joulebench_profiler::meter::rapl::SharedClock;
use joulebench_profiler::{
    measure_energy, Clock, DomainKind, EnergyConfig, EnergyMeter, MeterError, ProfileError,
    ReadingSource,
};

fn manual() -> Arc<ManualClock> {
    Arc::new(ManualClock::default())
}

/// One fake GPU, opened as CUDA device 0 with no CUDA environment.
fn open_one(dev: FakeNvmlDevice, clock: Arc<dyn SharedClock>) -> Result<NvmlMeter, MeterError> {
    NvmlMeter::open_with(
        vec![Box::new(dev) as Box<dyn NvmlDevice>],
        0,
        &CudaEnv::default(),
        clock,
    )
}

/// `watts` drawn, counter updated every `period` s: mJ at time `t`.
fn stepped_mj(watts: f64, period: f64, t: f64) -> u64 {
    if t <= 0.0 {
        return 0;
    }
    (watts * period * (t / period + 1e-9).floor() * 1e3).round() as u64
}

// ---------------------------------------------------------------------------------------------
// Energy counter

#[test]
fn energy_over_a_window_is_the_counter_difference() {
    let clock = manual();
    let dev = FakeNvmlDevice::new(clock.clone()).with_stepped_energy(100.0, 0.1);
    let mut m = open_one(dev, clock.clone()).unwrap();
    assert!(m.uses_energy_counter());
    let d = m.domains();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].name, "gpu0");
    assert_eq!(d[0].kind, DomainKind::Gpu);
    assert!(d[0].in_total);
    assert!(d[0].note.contains("whole device"), "{}", d[0].note);

    let s = m.begin_window().unwrap();
    clock.advance(Duration::from_secs(2));
    let r = m.end_window(s).unwrap();
    assert_eq!(r.seconds, 2.0);
    // 100 W × 2 s: 20 counter updates of 10 J
    assert!((r.joules[0] - 200.0).abs() < 1e-9, "{:?}", r.joules);
    assert_eq!(
        r.source,
        ReadingSource::Measured {
            counter: "nvml:total_energy_consumption".into()
        }
    );
}

#[test]
fn a_counter_going_backwards_is_an_error_not_negative_joules() {
    let clock = manual();
    // the driver was reloaded at t = 5 s: the counter restarts near 0
    let dev = FakeNvmlDevice::new(clock.clone()).with_energy_fn(|t| {
        if t < 5.0 {
            1_000_000 + stepped_mj(100.0, 0.1, t)
        } else {
            stepped_mj(100.0, 0.1, t - 5.0)
        }
    });
    let mut m = open_one(dev, clock.clone()).unwrap();
    let s = m.begin_window().unwrap();
    clock.advance(Duration::from_secs(6));
    let e = m.end_window(s).unwrap_err();
    assert!(matches!(e, MeterError::CounterBackwards { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("gpu0: energy counter went backwards"),
        "{msg}"
    );
    assert!(msg.contains("refusing to report a negative"), "{msg}");
}

#[test]
fn a_counter_going_backwards_while_probing_refuses_the_meter() {
    let clock = manual();
    let dev =
        FakeNvmlDevice::new(clock.clone()).with_energy_fn(|t| if t < 0.2 { 5000 } else { 10 });
    let e = open_one(dev, clock).err().expect("a backwards counter");
    assert!(e.to_string().contains("went backwards"), "{e}");
}

#[test]
fn a_window_over_which_the_counter_did_not_move_reads_a_valid_zero() {
    let clock = manual();
    // the counter stops updating after 1 s (the board idles below one step, or the driver
    // stalls): a window after that is a real 0 J reading, not an error
    let dev =
        FakeNvmlDevice::new(clock.clone()).with_energy_fn(|t| stepped_mj(100.0, 0.1, t.min(1.0)));
    let mut m = open_one(dev, clock.clone()).unwrap();
    clock.advance(Duration::from_secs(2));
    let s = m.begin_window().unwrap();
    clock.advance(Duration::from_secs(1));
    let r = m.end_window(s).unwrap();
    assert_eq!(r.joules, vec![0.0]);
    assert_eq!(r.seconds, 1.0);
}

#[test]
fn zero_joule_windows_are_rejected_by_the_energy_method() {
    let clock = manual();
    // 100 W, updated every 100 ms, except that the counter is frozen over [10 s, 24 s)
    let frozen = |t: f64| {
        if t < 10.0 {
            stepped_mj(100.0, 0.1, t)
        } else if t < 24.0 {
            stepped_mj(100.0, 0.1, 10.0)
        } else {
            stepped_mj(100.0, 0.1, 10.0) + stepped_mj(100.0, 0.1, t - 24.0)
        }
    };
    let dev = FakeNvmlDevice::new(clock.clone()).with_energy_fn(frozen);
    let mut m = open_one(dev, clock.clone()).unwrap();
    let cfg = EnergyConfig {
        idle_seconds: 0.0,
        settle_seconds: 0.0,
        ..EnergyConfig::default()
    };
    let c = clock.clone();
    let work = move || -> Result<(), ProfileError> {
        c.advance(Duration::from_secs(1));
        Ok(())
    };
    let r = measure_energy(&*clock, &mut m, &cfg, 1, work).unwrap();
    // windows are ≥ 100 × the measured 0.1 s update period
    assert!(r.window_seconds >= 10.0 - 1e-9, "{}", r.window_seconds);
    // the first window after the warm-up lies inside the frozen span
    assert_eq!(r.rejected_windows.len(), 1, "{:?}", r.rejected_windows);
    assert_eq!(r.rejected_windows[0].total_j, 0.0);
    assert_eq!(r.windows.len(), 5);
    assert!(r.windows.iter().all(|w| w.total_j > 0.0));
    assert!(
        r.notes.iter().any(|n| n.contains("read 0 J")),
        "{:?}",
        r.notes
    );
}

// ---------------------------------------------------------------------------------------------
// Update period measured at open

#[test]
fn the_update_period_is_measured_not_assumed() {
    for (period, watts) in [(0.1, 100.0), (0.02, 300.0), (0.05, 40.0)] {
        let clock = manual();
        let dev = FakeNvmlDevice::new(clock.clone()).with_stepped_energy(watts, period);
        let m = open_one(dev, clock.clone()).unwrap();
        let p = m.update_probe().expect("the counter was probed").clone();
        assert!(p.measured && !p.every_read, "{p:?}");
        assert!(
            (p.update_period_s - period).abs() < 1.5 * PROBE_STEP.as_secs_f64(),
            "period {period}: {p:?}"
        );
        // the probe is bounded
        assert!(p.seconds <= PROBE_MAX.as_secs_f64() + 1e-9, "{p:?}");
        // one update's step: watts × period
        assert!((p.step_j.unwrap() - watts * period).abs() < 1e-6, "{p:?}");
        let d = &m.domains()[0];
        assert!((d.update_period_s - p.update_period_s).abs() < 1e-12);
        assert!((d.resolution_j - watts * period).abs() < 1e-6);
        assert!(
            d.note.contains("update period measured at open"),
            "{}",
            d.note
        );
        // the energy windows are sized from it: ≥ 100 × the update period
        let w = window_seconds(&EnergyConfig::default(), &m.domains());
        assert!(w >= (100.0 * period).max(1.0) - 1e-9, "{w}");
        let info = m.info();
        assert_eq!(info.counter, "total_energy_consumption");
        assert_eq!(info.update_period_s, d.update_period_s);
        assert_eq!(info.resolution_j, d.resolution_j);
    }
}

#[test]
fn a_100_ms_counter_gives_an_update_period_of_0_1_s() {
    let clock = manual();
    let dev = FakeNvmlDevice::new(clock.clone()).with_stepped_energy(250.0, 0.1);
    let p = probe_update_period(&dev, &*clock, PROBE_MAX, PROBE_STEP).unwrap();
    assert!((p.update_period_s - 0.1).abs() < 1e-9, "{p:?}");
    assert!(p.changes >= 4, "{p:?}");
    // and the window is 100 × that: 10 s
    let m = open_one(
        FakeNvmlDevice::new(clock.clone()).with_stepped_energy(250.0, 0.1),
        clock.clone(),
    )
    .unwrap();
    let w = window_seconds(&EnergyConfig::default(), &m.domains());
    assert!((w - 10.0).abs() < 1e-6, "{w}");
}

#[test]
fn a_counter_that_does_not_move_gives_a_bounded_probe_and_a_lower_bound() {
    let clock = manual();
    let dev = FakeNvmlDevice::new(clock.clone()).with_energy_fn(|_| 42);
    let reads = dev.clone();
    let m = open_one(dev, clock.clone()).unwrap();
    let p = m.update_probe().unwrap();
    assert!(!p.measured, "{p:?}");
    assert_eq!(p.changes, 0);
    assert!((p.update_period_s - PROBE_MAX.as_secs_f64()).abs() < 1e-9);
    assert_eq!(p.step_j, None);
    assert!(reads.energy_reads() <= 2 + (PROBE_MAX.as_millis() / PROBE_STEP.as_millis()) as usize);
    let d = &m.domains()[0];
    assert_eq!(d.resolution_j, 1e-3);
    assert!(d.note.contains("did not change twice"), "{}", d.note);
    assert!(
        m.selection_note().contains("lower bound"),
        "{}",
        m.selection_note()
    );
}

#[test]
fn a_counter_faster_than_the_probe_is_an_upper_bound() {
    let clock = manual();
    // 1 kW, updated continuously: changes at every 1 ms read
    let dev = FakeNvmlDevice::new(clock.clone()).with_energy_fn(|t| (t * 1e6) as u64);
    let p = probe_update_period(&dev, &*clock, PROBE_MAX, PROBE_STEP).unwrap();
    assert!(p.measured && p.every_read, "{p:?}");
    assert!((p.update_period_s - PROBE_STEP.as_secs_f64()).abs() < 1e-9);
    assert!(p.describe().contains("at least every"), "{}", p.describe());
}

// ---------------------------------------------------------------------------------------------
// Power polling (boards without the energy counter)

/// A clock that moves only when slept on (like [`ManualClock`]) but also yields a little real
/// time on each sleep, so that the polling thread cannot race through fake hours while the test
/// thread waits.
#[derive(Default)]
struct PacedClock(ManualClock);

impl Clock for PacedClock {
    fn now(&self) -> Duration {
        self.0.now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(Duration::from_micros(20));
        self.0.advance(d)
    }
    fn cpu_time(&self) -> Duration {
        self.0.cpu_time()
    }
}

/// Opens a power-only fake with `watts(t)`, runs one window that lasts at least `min_s` of fake
/// time, and returns (joules, t0, t1).
fn polled_window(watts: fn(f64) -> f64, min_s: f64) -> (f64, f64, f64, NvmlMeter) {
    let clock = Arc::new(PacedClock::default());
    let dev = FakeNvmlDevice::new(clock.clone())
        .without_energy_counter()
        .with_power_fn(move |t| (watts(t) * 1e3).round() as u32);
    let mut m = open_one(dev, clock.clone()).unwrap();
    assert!(!m.uses_energy_counter());
    assert!(m.update_probe().is_none());
    // start away from 0 so that the window's edges are not special
    clock.0.advance(Duration::from_millis(1234));
    let s = m.begin_window().unwrap();
    let t0 = clock.now().as_secs_f64();
    // the polling thread's sleeps move the clock
    while clock.now().as_secs_f64() < t0 + min_s {
        std::thread::sleep(Duration::from_micros(200));
    }
    let r = m.end_window(s).unwrap();
    assert!(r.seconds >= min_s, "{}", r.seconds);
    assert!(matches!(
        r.source,
        ReadingSource::MeasuredPowerIntegration { .. }
    ));
    (r.joules[0], t0, t0 + r.seconds, m)
}

#[test]
fn polled_power_integrates_exactly_over_the_window() {
    // linear power: the trapezoid rule is exact (up to the 1 mW rounding of NVML)
    let (j, t0, t1, m) = polled_window(|t| 100.0 + 50.0 * t, 0.5);
    let exact = 100.0 * (t1 - t0) + 25.0 * (t1 * t1 - t0 * t0);
    assert!((j - exact).abs() <= 1e-5 * exact, "{j} vs {exact}");
    let d = &m.domains()[0];
    assert_eq!(d.update_period_s, 0.02);
    assert!(d.note.contains("polled every"), "{}", d.note);
    assert_eq!(m.info().counter, "power_usage");
}

#[test]
fn polled_power_of_a_known_curve_is_within_the_trapezoid_error() {
    // 200 ± 100 W at 1 Hz, sampled every 20 ms: the trapezoid error is ≈ (ωh)²/12 ≈ 0.13 % of
    // the varying part
    use std::f64::consts::TAU;
    let (j, t0, t1, _) = polled_window(|t| 200.0 + 100.0 * (TAU * t).sin(), 1.5);
    let exact = 200.0 * (t1 - t0) - 100.0 / TAU * ((TAU * t1).cos() - (TAU * t0).cos());
    assert!((j - exact).abs() <= 2e-3 * exact, "{j} vs {exact}");
}

#[test]
fn a_board_with_neither_energy_nor_power_is_unavailable() {
    let clock = manual();
    let dev = FakeNvmlDevice::new(clock.clone())
        .without_energy_counter()
        .without_power();
    let e = open_one(dev, clock).err().expect("nothing to read");
    assert!(matches!(e, MeterError::Unavailable { .. }), "{e}");
    assert!(
        e.to_string().contains("reports neither energy nor power"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// MIG

#[test]
fn mig_mode_is_warned_about_in_the_domain_and_selection_notes() {
    let clock = manual();
    let dev = FakeNvmlDevice::new(clock.clone()).with_mig(true);
    let m = open_one(dev, clock.clone()).unwrap();
    assert_eq!(m.mig_enabled(), Some(true));
    let note = &m.domains()[0].note;
    assert!(note.contains("MIG mode is enabled"), "{note}");
    assert!(note.contains("whole GPU"), "{note}");
    assert!(m.selection_note().contains("MIG mode is enabled"));
    assert_eq!(m.info().mig_enabled, Some(true));

    let plain = open_one(FakeNvmlDevice::new(clock.clone()), clock).unwrap();
    assert!(!plain.domains()[0].note.contains("MIG"));
    assert!(!plain.selection_note().contains("MIG"));
}

#[test]
fn a_mig_instance_in_cuda_visible_devices_opens_its_parent_gpu() {
    let clock = manual();
    let devs = vec![
        Box::new(FakeNvmlDevice::new(clock.clone()).with_identity("A", GPU_B, "00000000:81:00.0"))
            as Box<dyn NvmlDevice>,
        Box::new(
            FakeNvmlDevice::new(clock.clone())
                .with_identity("B", GPU_A, "00000000:01:00.0")
                .with_mig_devices(&[MIG_1]),
        ),
    ];
    let env = CudaEnv {
        visible: Some(MIG_1.into()),
        order: None,
    };
    let m = NvmlMeter::open_with(devs, 0, &env, clock).unwrap();
    assert_eq!(m.device().nvml_index, 1);
    assert_eq!(m.device().mig_device.as_deref(), Some(MIG_1));
    assert!(m.selection_note().contains("whole GPU's"));
    assert!(m.domains()[0].note.contains("MIG mode is enabled"));
}

// ---------------------------------------------------------------------------------------------
// CUDA device N → NVML device

const GPU_A: &str = "GPU-aaaaaaaa-1111-2222-3333-444444444444";
const GPU_B: &str = "GPU-bbbbbbbb-1111-2222-3333-444444444444";
const MIG_1: &str = "MIG-11111111-2222-3333-4444-555555555555";

/// Two GPUs that NVML lists in reverse PCI order: NVML 0 is at bus 0x81, NVML 1 at bus 0x01.
fn reversed() -> Vec<DeviceIdentity> {
    vec![
        DeviceIdentity::new(0, GPU_B, "00000000:81:00.0"),
        DeviceIdentity::new(1, GPU_A, "00000000:01:00.0"),
    ]
}

fn map(
    cuda: u32,
    visible: Option<&str>,
    order: Option<&str>,
    devs: &[DeviceIdentity],
) -> MappedDevice {
    nvml_index_for_cuda(cuda, visible, order, devs)
        .unwrap_or_else(|e| panic!("cuda {cuda} {visible:?} {order:?}: {e}"))
}

fn map_err(
    cuda: u32,
    visible: Option<&str>,
    order: Option<&str>,
    devs: &[DeviceIdentity],
) -> String {
    let e = nvml_index_for_cuda(cuda, visible, order, devs)
        .err()
        .unwrap_or_else(|| panic!("cuda {cuda} {visible:?} {order:?} should fail"));
    assert!(matches!(e, MeterError::Unavailable { .. }), "{e}");
    e.to_string()
}

#[test]
fn pci_bus_id_order_maps_cuda_numbers_by_bus() {
    let d = reversed();
    let m0 = map(0, None, Some("PCI_BUS_ID"), &d);
    assert_eq!((m0.nvml_index, m0.uuid.as_str()), (1, GPU_A));
    assert_eq!(m0.pci_bus_id, "00000000:01:00.0");
    assert!(m0.exact && m0.notes.is_empty(), "{m0:?}");
    assert_eq!(map(1, None, Some("PCI_BUS_ID"), &d).nvml_index, 0);
    assert!(m0.summary().contains("CUDA device 0 = NVML device 1"));
}

#[test]
fn fastest_first_over_several_gpus_assumes_pci_order_and_says_so() {
    let d = reversed();
    for order in [None, Some("FASTEST_FIRST"), Some("")] {
        let m = map(0, None, order, &d);
        assert_eq!(m.nvml_index, 1);
        assert!(!m.exact);
        let n = m.notes.join(" ");
        assert!(
            n.contains("FASTEST_FIRST") && n.contains("CUDA_DEVICE_ORDER=PCI_BUS_ID"),
            "{n}"
        );
    }
    // one GPU in all: no ambiguity
    let one = [DeviceIdentity::new(0, GPU_A, "00000000:01:00.0")];
    let m = map(0, None, None, &one);
    assert!(m.exact && m.notes.is_empty(), "{m:?}");
    // an unknown order value is CUDA's default, with a note
    let m = map(0, None, Some("SLOWEST_FIRST"), &d);
    assert!(m.notes.iter().any(|n| n.contains("SLOWEST_FIRST")), "{m:?}");
}

#[test]
fn integer_entries_index_cuda_order_and_renumber() {
    let d = reversed();
    let pci = Some("PCI_BUS_ID");
    // "1" = the second GPU by bus = NVML 0, and it becomes CUDA device 0
    let m = map(0, Some("1"), pci, &d);
    assert_eq!(m.nvml_index, 0);
    assert!(m.exact);
    // listed order renumbers
    assert_eq!(map(0, Some("1,0"), pci, &d).nvml_index, 0);
    assert_eq!(map(1, Some("1,0"), pci, &d).nvml_index, 1);
    assert_eq!(map(1, Some(" 0 , 1 "), pci, &d).nvml_index, 0);
    // a single index under FASTEST_FIRST still depends on CUDA's order of all GPUs
    let m = map(0, Some("1"), None, &d);
    assert!(!m.exact && !m.notes.is_empty(), "{m:?}");
}

#[test]
fn uuid_entries_name_a_gpu_exactly() {
    let d = reversed();
    let m = map(0, Some(GPU_A), None, &d);
    assert_eq!(m.nvml_index, 1);
    // one GPU named by UUID: exact even under FASTEST_FIRST
    assert!(m.exact && m.notes.is_empty(), "{m:?}");
    // a prefix is enough when it matches one GPU, in any case
    assert_eq!(map(0, Some("GPU-bbbb"), None, &d).nvml_index, 0);
    assert_eq!(map(0, Some("gpu-AAAA"), None, &d).nvml_index, 1);
    // two by UUID: CUDA's numbering between them is again its own under FASTEST_FIRST
    let both = format!("{GPU_B},{GPU_A}");
    let m = map(1, Some(&both), None, &d);
    assert_eq!(m.nvml_index, 1);
    assert!(!m.exact);
    let m = map(1, Some(&both), Some("PCI_BUS_ID"), &d);
    assert!(m.exact && m.nvml_index == 1);
    // a prefix matching both GPUs is invalid, so CUDA sees nothing
    let e = map_err(0, Some("GPU-"), None, &d);
    assert!(
        e.contains("ambiguous UUID prefix") && e.contains("hides every GPU"),
        "{e}"
    );
    let e = map_err(0, Some("GPU-cccc"), None, &d);
    assert!(e.contains("no GPU's UUID starts with it"), "{e}");
}

#[test]
fn an_invalid_entry_hides_itself_and_the_rest() {
    let d = reversed();
    let pci = Some("PCI_BUS_ID");
    let m = map(0, Some("0,foo,1"), pci, &d);
    assert_eq!(m.nvml_index, 1);
    assert!(
        m.notes.iter().any(|n| n.contains("`foo` is invalid")),
        "{m:?}"
    );
    let e = map_err(1, Some("0,foo,1"), pci, &d);
    assert!(
        e.contains("CUDA device 1 does not exist") && e.contains("CUDA sees 1 GPU(s)"),
        "{e}"
    );
    assert!(e.contains("`foo` is invalid"), "{e}");
    // not ASCII: invalid, not a panic
    let e = map_err(0, Some("Äöü,0"), pci, &d);
    assert!(e.contains("neither an index"), "{e}");
    let clock = manual();
    let env = CudaEnv {
        visible: Some("ÄÄÄÄ,0".into()),
        order: None,
    };
    let devs = vec![Box::new(FakeNvmlDevice::new(clock.clone())) as Box<dyn NvmlDevice>];
    assert!(NvmlMeter::open_with(devs, 0, &env, clock).is_err());
    // a negative index (a common way to hide every GPU)
    let e = map_err(0, Some("-1"), pci, &d);
    assert!(
        e.contains("hides every GPU from CUDA") && e.contains("negative"),
        "{e}"
    );
}

#[test]
fn indices_past_the_end_are_errors() {
    let d = reversed();
    let e = map_err(0, Some("5"), Some("PCI_BUS_ID"), &d);
    assert!(e.contains("index 5 is past the end"), "{e}");
    let e = map_err(2, None, Some("PCI_BUS_ID"), &d);
    assert!(
        e.contains("CUDA device 2 does not exist") && e.contains("CUDA sees 2 GPU(s)"),
        "{e}"
    );
}

#[test]
fn an_empty_cuda_visible_devices_means_no_gpu() {
    let d = reversed();
    for v in ["", "  "] {
        let e = map_err(0, Some(v), None, &d);
        assert!(
            e.contains("CUDA_VISIBLE_DEVICES is set but empty") && e.contains("hides every GPU"),
            "{e}"
        );
    }
    let e = map_err(0, None, None, &[]);
    assert!(e.contains("reports no GPU (0 devices)"), "{e}");
    assert!(e.contains("does not hide GPUs from NVML"), "{e}");
}

#[test]
fn mig_entries_map_to_the_parent_gpu_with_a_warning() {
    let mut d = reversed();
    d[1] = d[1].clone().with_mig(&[MIG_1]);
    let m = map(0, Some(MIG_1), None, &d);
    assert_eq!(m.nvml_index, 1);
    assert_eq!(m.mig_device.as_deref(), Some(MIG_1));
    assert!(m.exact, "{m:?}");
    assert!(m.notes.iter().any(|n| n.contains("whole GPU's")), "{m:?}");
    // the legacy form names its parent's UUID
    let legacy = format!("MIG-{GPU_B}/1/0");
    let m = map(0, Some(&legacy), None, &d);
    assert_eq!(m.nvml_index, 0);
    assert!(m.mig_device.is_some());
    // a MIG device that cannot be looked up: the only MIG-enabled GPU, assumed
    let m = map(0, Some("MIG-99999999"), None, &d);
    assert_eq!(m.nvml_index, 1);
    assert!(!m.exact);
    assert!(
        m.notes.iter().any(|n| n.contains("could not be looked up")),
        "{m:?}"
    );
    // …and an error when no GPU has MIG mode enabled
    let e = map_err(0, Some("MIG-99999999"), None, &reversed());
    assert!(e.contains("no GPU has MIG mode enabled"), "{e}");
}

#[test]
fn open_uses_the_mapping() {
    let clock = manual();
    // NVML 0 at bus 0x81 (150 W), NVML 1 at bus 0x01 (50 W)
    let devs = || {
        vec![
            Box::new(
                FakeNvmlDevice::new(clock.clone())
                    .with_identity("Big GPU", GPU_B, "00000000:81:00.0")
                    .with_stepped_energy(150.0, 0.1),
            ) as Box<dyn NvmlDevice>,
            Box::new(
                FakeNvmlDevice::new(clock.clone())
                    .with_identity("Small GPU", GPU_A, "00000000:01:00.0")
                    .with_stepped_energy(50.0, 0.1),
            ),
        ]
    };
    let env = CudaEnv {
        visible: None,
        order: Some("PCI_BUS_ID".into()),
    };
    let mut m = NvmlMeter::open_with(devs(), 0, &env, clock.clone()).unwrap();
    assert_eq!(m.device().nvml_index, 1);
    assert_eq!(m.info().gpu_name, "Small GPU");
    assert!(m.domains()[0].note.contains(GPU_A));
    assert!(m.selection_note().contains("CUDA device 0 = NVML device 1"));
    let s = m.begin_window().unwrap();
    clock.advance(Duration::from_secs(1));
    assert!((m.end_window(s).unwrap().joules[0] - 50.0).abs() < 1e-9);

    // CUDA device 1 is the other board
    let m = NvmlMeter::open_with(devs(), 1, &env, clock.clone()).unwrap();
    assert_eq!(m.info().device.uuid, GPU_B);
    // by UUID
    let env = CudaEnv {
        visible: Some(GPU_B.into()),
        order: None,
    };
    let m = NvmlMeter::open_with(devs(), 0, &env, clock.clone()).unwrap();
    assert_eq!(m.device().nvml_index, 0);
    assert!(m.device().exact);
    // the default order over two GPUs: assumed, said in the selection note and the domain note
    let m = NvmlMeter::open_with(devs(), 0, &CudaEnv::default(), clock.clone()).unwrap();
    assert!(m.selection_note().contains("FASTEST_FIRST"));
    assert!(m.domains()[0].note.contains("mapping assumed"));
    // hidden from CUDA
    let env = CudaEnv {
        visible: Some(String::new()),
        order: None,
    };
    let e = NvmlMeter::open_with(devs(), 0, &env, clock).err().unwrap();
    assert!(e.to_string().contains("set but empty"), "{e}");
}

#[test]
fn meters_json_carries_the_mapped_device_and_the_measured_period() {
    let clock = manual();
    let m = open_one(
        FakeNvmlDevice::new(clock.clone())
            .with_identity("Fake", GPU_A, "00000000:01:00.0")
            .with_stepped_energy(100.0, 0.1),
        clock,
    )
    .unwrap();
    let v = serde_json::to_value(m.info()).unwrap();
    assert_eq!(v["device"]["uuid"], GPU_A);
    assert_eq!(v["device"]["pci_bus_id"], "00000000:01:00.0");
    assert_eq!(v["device"]["cuda_index"], 0);
    assert!((v["update_period_s"].as_f64().unwrap() - 0.1).abs() < 1e-9);
    assert_eq!(v["probe"]["measured"], true);
}
