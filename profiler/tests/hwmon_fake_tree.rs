//! The hwmon reader on fake `/sys/class/hwmon` trees: an amdgpu energy counter, Jetson ina3221
//! power-only rails (mV × mA and µW files) integrated over a manual-clock window, amd_energy
//! sockets and cores, xe card/pkg, unknown drivers, unreadable files (the device is skipped with
//! the fix), a counter going backwards, and what `--meter hwmon` / `auto` pick.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use joulebench_profiler::clock::ManualClock;
use joulebench_profiler::meter::hwmon::{HwmonMeter, DEFAULT_POLL_PERIOD};
use joulebench_profiler::meter::rapl::{RealFs, SysfsRead};
use joulebench_profiler::{
    hwmon_for_auto, select_at, DomainKind, EnergyMeter, MeterChoice, MeterError, ReadingSource,
};

/// `root/hwmonN` with `name` and the given files.
fn device(root: &Path, n: u32, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let d = root.join(format!("hwmon{n}"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
    for (f, v) in files {
        std::fs::write(d.join(f), format!("{v}\n")).unwrap();
    }
    d
}

fn set(dir: &Path, file: &str, v: u64) {
    std::fs::write(dir.join(file), format!("{v}\n")).unwrap();
}

/// An amdgpu with an energy counter (and a power file that must then be ignored), its `device`
/// link pointing at a PCI address.
fn amdgpu(root: &Path, n: u32, energy_uj: u64) -> PathBuf {
    let d = device(
        root,
        n,
        "amdgpu",
        &[
            ("energy1_input", &energy_uj.to_string()),
            ("power1_average", "35000000"),
            ("temp1_input", "45000"),
        ],
    );
    let pci = root.join("devices").join("0000:03:00.0");
    std::fs::create_dir_all(&pci).unwrap();
    std::os::unix::fs::symlink(&pci, d.join("device")).unwrap();
    d
}

/// A Jetson ina3221 as mainline kernels expose it: `inK_input` mV, `currK_input` mA, labels;
/// the shunt-voltage inputs in4..in6 have no current and are not rails.
/// VDD_IN 5 V × 1 A = 5 W, VDD_CPU_GPU_CV 5 V × 0.4 A = 2 W, VDD_SOC 5 V × 0.3 A = 1.5 W.
fn ina3221(root: &Path, n: u32) -> PathBuf {
    device(
        root,
        n,
        "ina3221",
        &[
            ("in1_label", "VDD_IN"),
            ("in1_input", "5000"),
            ("curr1_input", "1000"),
            ("in1_enable", "1"),
            ("in2_label", "VDD_CPU_GPU_CV"),
            ("in2_input", "5000"),
            ("curr2_input", "400"),
            ("in3_label", "VDD_SOC"),
            ("in3_input", "5000"),
            ("curr3_input", "300"),
            ("in4_input", "40"),
            ("in5_input", "16"),
            ("in6_input", "12"),
            ("update_interval", "1"),
        ],
    )
}

fn open(root: &Path) -> HwmonMeter {
    HwmonMeter::open_at(root, Arc::new(RealFs)).unwrap()
}

#[test]
fn amdgpu_energy_counter_over_a_window() {
    let tmp = tempfile::tempdir().unwrap();
    let d = amdgpu(tmp.path(), 0, 1_000_000);
    let clock = Arc::new(ManualClock::default());
    let mut m = open(tmp.path()).with_clock(clock.clone());
    assert_eq!(m.name(), "hwmon");
    let dom = m.domains();
    assert_eq!(
        dom.len(),
        1,
        "the power file of a device with energy is not read: {dom:?}"
    );
    assert_eq!(dom[0].name, "hwmon0/amdgpu/energy1");
    assert_eq!(dom[0].kind, DomainKind::Gpu);
    assert!(dom[0].in_total);
    assert_eq!(dom[0].resolution_j, 1e-6);
    assert!(
        dom[0].note.contains("energy1_input") && dom[0].note.contains("device 0000:03:00.0"),
        "{}",
        dom[0].note
    );
    let s = m.begin_window().unwrap();
    set(&d, "energy1_input", 3_500_000);
    clock.advance(Duration::from_secs(1));
    let r = m.end_window(s).unwrap();
    assert_eq!(r.joules, [2.5]);
    assert_eq!(r.seconds, 1.0);
    assert_eq!(r.total_j(&dom), 2.5);
    assert_eq!(
        r.source,
        ReadingSource::Measured {
            counter: format!("hwmon:{}", tmp.path().display())
        }
    );
}

#[test]
fn counter_going_backwards_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = amdgpu(tmp.path(), 0, 3_000_000);
    let clock = Arc::new(ManualClock::default());
    let mut m = open(tmp.path()).with_clock(clock.clone());
    let s = m.begin_window().unwrap();
    set(&d, "energy1_input", 2_000_000);
    clock.advance(Duration::from_secs(1));
    match m.end_window(s) {
        Err(MeterError::CounterBackwards {
            domain, start, end, ..
        }) => {
            assert_eq!(domain, "hwmon0/amdgpu/energy1");
            assert_eq!((start, end), (3_000_000, 2_000_000));
        }
        other => panic!("expected CounterBackwards, got {other:?}"),
    }
}

#[test]
fn jetson_rails_only_the_module_input_is_counted_and_constant_power_integrates() {
    let tmp = tempfile::tempdir().unwrap();
    ina3221(tmp.path(), 1);
    let clock = Arc::new(ManualClock::default());
    let mut m = open(tmp.path()).with_clock(clock.clone());
    let dom = m.domains();
    let summary: Vec<(&str, DomainKind, bool)> = dom
        .iter()
        .map(|d| (d.name.as_str(), d.kind, d.in_total))
        .collect();
    assert_eq!(
        summary,
        [
            ("hwmon1/ina3221/VDD_IN", DomainKind::Module, true),
            ("hwmon1/ina3221/VDD_CPU_GPU_CV", DomainKind::Rail, false),
            ("hwmon1/ina3221/VDD_SOC", DomainKind::Rail, false),
        ]
    );
    assert!(
        dom[1].note.contains("inside the module input VDD_IN"),
        "{}",
        dom[1].note
    );
    for d in &dom {
        assert_eq!(d.update_period_s, DEFAULT_POLL_PERIOD.as_secs_f64());
        assert!(
            d.note.contains("polled every 20 ms, trapezoid rule"),
            "{}",
            d.note
        );
    }
    let s = m.begin_window().unwrap();
    // let the polling thread take samples at t = 0 and, after the advance, at t = 2 s: with a
    // constant power the integral is exact however many it took
    std::thread::sleep(Duration::from_millis(60));
    clock.advance(Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(60));
    let r = m.end_window(s).unwrap();
    assert_eq!(r.seconds, 2.0);
    let want = [10.0, 4.0, 3.0];
    for (j, w) in r.joules.iter().zip(want) {
        assert!((j - w).abs() < 1e-9, "{:?} vs {want:?}", r.joules);
    }
    assert!(
        (r.total_j(&dom) - 10.0).abs() < 1e-9,
        "only VDD_IN is in the total"
    );
    assert_eq!(
        r.source,
        ReadingSource::MeasuredPowerIntegration {
            counter: format!("hwmon:{}", tmp.path().display()),
            period_s: 0.02
        }
    );
    // a second window on the same meter starts afresh
    let s = m.begin_window().unwrap();
    clock.advance(Duration::from_millis(500));
    let r = m.end_window(s).unwrap();
    assert!((r.joules[0] - 2.5).abs() < 1e-9, "{:?}", r.joules);
}

/// Newer kernels: `powerK_input` in µW. With a poll period far longer than the window, only the
/// samples `begin_window` and `end_window` take exist, so a change of power integrates exactly
/// by the trapezoid rule — and ending the window does not wait for the next poll.
#[test]
fn power_files_integrate_by_the_trapezoid_rule_and_stop_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = device(
        tmp.path(),
        0,
        "ina3221",
        &[
            ("power1_label", "POM_5V_IN"),
            ("power1_input", "5000000"),
            ("power2_label", "POM_5V_GPU"),
            ("power2_input", "1000000"),
        ],
    );
    let clock = Arc::new(ManualClock::default());
    let mut m = open(tmp.path())
        .with_clock(clock.clone())
        .with_poll_period(Duration::from_secs(3600));
    let dom = m.domains();
    assert_eq!(dom[0].name, "hwmon0/ina3221/POM_5V_IN");
    assert!(dom[0].in_total && !dom[1].in_total);
    let s = m.begin_window().unwrap();
    set(&d, "power1_input", 7_000_000);
    clock.advance(Duration::from_secs(2));
    let t0 = Instant::now();
    let r = m.end_window(s).unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "end_window waited for the poll"
    );
    assert!(
        (r.joules[0] - 12.0).abs() < 1e-9,
        "(5 + 7) / 2 W × 2 s: {:?}",
        r.joules
    );
    assert!((r.joules[1] - 2.0).abs() < 1e-9, "{:?}", r.joules);
    // dropping a meter with a window open stops and joins its thread, promptly
    let _open = m.begin_window().unwrap();
    let t0 = Instant::now();
    drop(m);
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn amd_energy_sockets_are_counted_cores_are_inside_them() {
    let tmp = tempfile::tempdir().unwrap();
    device(
        tmp.path(),
        0,
        "amd_energy",
        &[
            ("energy1_label", "Ecore000"),
            ("energy1_input", "100"),
            ("energy2_label", "Ecore001"),
            ("energy2_input", "200"),
            ("energy3_label", "Esocket0"),
            ("energy3_input", "1000"),
            ("energy4_label", "Esocket1"),
            ("energy4_input", "2000"),
        ],
    );
    let m = open(tmp.path());
    let dom = m.domains();
    let summary: Vec<(&str, DomainKind, bool)> = dom
        .iter()
        .map(|d| (d.name.as_str(), d.kind, d.in_total))
        .collect();
    assert_eq!(
        summary,
        [
            ("hwmon0/amd_energy/Ecore000", DomainKind::Core, false),
            ("hwmon0/amd_energy/Ecore001", DomainKind::Core, false),
            ("hwmon0/amd_energy/Esocket0", DomainKind::Package, true),
            ("hwmon0/amd_energy/Esocket1", DomainKind::Package, true),
        ]
    );
    assert_eq!(dom[2].resolution_j, 1.0 / 65536.0);
    assert!(dom[0].note.contains("inside its socket"), "{}", dom[0].note);
}

#[test]
fn xe_counts_the_card_not_the_package_inside_it_and_unknown_drivers_are_not_counted() {
    let tmp = tempfile::tempdir().unwrap();
    device(
        tmp.path(),
        0,
        "xe",
        &[
            ("energy1_label", "pkg"),
            ("energy1_input", "10"),
            ("energy2_label", "card"),
            ("energy2_input", "20"),
        ],
    );
    device(tmp.path(), 1, "nct7802", &[("power1_input", "12000000")]);
    device(tmp.path(), 2, "coretemp", &[("temp1_input", "40000")]);
    let m = open(tmp.path());
    let dom = m.domains();
    let summary: Vec<(&str, DomainKind, bool)> = dom
        .iter()
        .map(|d| (d.name.as_str(), d.kind, d.in_total))
        .collect();
    assert_eq!(
        summary,
        [
            ("hwmon0/xe/pkg", DomainKind::Gpu, false),
            ("hwmon0/xe/card", DomainKind::Gpu, true),
            ("hwmon1/nct7802/power1", DomainKind::Unknown, false),
        ]
    );
    assert!(
        dom[0].note.contains("counted as hwmon0/xe/card"),
        "{}",
        dom[0].note
    );
    assert!(dom[2].note.contains("unknown coverage"), "{}", dom[2].note);
    assert!(
        m.notes().iter().any(|n| n.contains("hwmon2 (coretemp)")),
        "{:?}",
        m.notes()
    );
}

/// Fails reads of files named `file` below `dir` with `err`, as the kernel does (EACCES for
/// non-root users, ENODATA for an ina3221 input that is not connected).
struct Deny {
    dir: PathBuf,
    file: &'static str,
    err: fn() -> std::io::Error,
}

impl SysfsRead for Deny {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path.starts_with(&self.dir) && path.ends_with(self.file) {
            return Err((self.err)());
        }
        std::fs::read_to_string(path)
    }
}

fn eacces() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::PermissionDenied)
}

/// Decided behaviour: a device with an unreadable file is skipped whole (never a partial total),
/// the note names the file and the fix, and the other devices are still used; with nothing left,
/// the meter is unavailable with that reason.
#[test]
fn unreadable_file_skips_its_device_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    amdgpu(tmp.path(), 0, 1000);
    let jetson = ina3221(tmp.path(), 1);
    let deny = || {
        Arc::new(Deny {
            dir: jetson.clone(),
            file: "curr2_input",
            err: eacces,
        })
    };
    let m = HwmonMeter::open_at(tmp.path(), deny()).unwrap();
    let names: Vec<String> = m.domains().into_iter().map(|d| d.name).collect();
    assert_eq!(
        names,
        ["hwmon0/amdgpu/energy1"],
        "the whole ina3221 is skipped"
    );
    let note = m
        .notes()
        .iter()
        .find(|n| n.contains("hwmon1 (ina3221) skipped"))
        .unwrap_or_else(|| panic!("{:?}", m.notes()));
    let file = jetson.join("curr2_input");
    assert!(
        note.contains(&format!("{}: permission denied", file.display()))
            && note.contains(&format!("sudo chmod o+r {}", file.display()))
            && note.contains("udev"),
        "{note}"
    );
    // only the denied device: unavailable, the reason carries the file and the fix
    std::fs::remove_dir_all(tmp.path().join("hwmon0")).unwrap();
    let e = HwmonMeter::open_at(tmp.path(), deny())
        .err()
        .expect("nothing usable");
    let msg = e.to_string();
    assert!(matches!(e, MeterError::Unavailable { .. }), "{e}");
    assert!(
        msg.starts_with("hwmon unavailable:")
            && msg.contains("curr2_input: permission denied")
            && msg.contains("sudo chmod o+r"),
        "{msg}"
    );
    // amd_energy's counters are root-only on purpose: the advice says why
    let tmp = tempfile::tempdir().unwrap();
    let amd = device(
        tmp.path(),
        0,
        "amd_energy",
        &[("energy1_label", "Esocket0"), ("energy1_input", "1")],
    );
    let e = HwmonMeter::open_at(
        tmp.path(),
        Arc::new(Deny {
            dir: amd,
            file: "energy1_input",
            err: eacces,
        }),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("CVE-2020-12912"), "{e}");
}

#[test]
fn disconnected_or_disabled_inputs_are_skipped_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let jetson = ina3221(tmp.path(), 0);
    set(&jetson, "in2_enable", 0);
    let m = HwmonMeter::open_at(
        tmp.path(),
        Arc::new(Deny {
            dir: jetson.clone(),
            file: "curr3_input",
            err: || std::io::Error::from_raw_os_error(61), // ENODATA
        }),
    )
    .unwrap();
    let names: Vec<String> = m.domains().into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["hwmon0/ina3221/VDD_IN"]);
    let notes = m.notes().join("\n");
    assert!(
        notes.contains("channel 2 skipped: disabled") && notes.contains("VDD_SOC skipped: no data"),
        "{notes}"
    );
}

#[test]
fn missing_empty_and_garbage_trees_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let e = HwmonMeter::open_at(&tmp.path().join("none"), Arc::new(RealFs))
        .err()
        .unwrap();
    assert!(e.to_string().contains("no hwmon interface at"), "{e}");
    let e = HwmonMeter::open_at(tmp.path(), Arc::new(RealFs))
        .err()
        .unwrap();
    assert!(e.to_string().contains("no hwmonN devices"), "{e}");
    device(tmp.path(), 0, "coretemp", &[("temp1_input", "40000")]);
    let e = HwmonMeter::open_at(tmp.path(), Arc::new(RealFs))
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("no energy or power channels on hwmon0 (coretemp)"),
        "{e}"
    );
    device(tmp.path(), 1, "amdgpu", &[("energy1_input", "12abc")]);
    let e = HwmonMeter::open_at(tmp.path(), Arc::new(RealFs))
        .err()
        .unwrap();
    assert!(e.to_string().contains("holds `12abc`, not a number"), "{e}");
}

/// Older drivers keep `name` and the channel files in `hwmonN/device/`.
#[test]
fn attributes_under_device_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("hwmon0").join("device");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("name"), "i915\n").unwrap();
    std::fs::write(d.join("energy1_input"), "5\n").unwrap();
    let dom = open(tmp.path()).domains();
    assert_eq!(dom[0].name, "hwmon0/i915/energy1");
    assert!(dom[0].in_total && dom[0].kind == DomainKind::Gpu);
}

#[test]
fn meter_choice_hwmon_and_the_auto_fallback() {
    assert_eq!(MeterChoice::parse("hwmon"), Ok(MeterChoice::Hwmon));
    assert!(MeterChoice::parse("hwmom").unwrap_err().contains("hwmon"));
    let tmp = tempfile::tempdir().unwrap();
    let no_powercap = tmp.path().join("no-powercap");
    let tree = tmp.path().join("hwmon");
    // rails without a module input: nothing would be counted, so --meter hwmon refuses
    device(
        &tree,
        0,
        "ina3221",
        &[
            ("in1_label", "VDD_GPU_SOC"),
            ("in1_input", "5000"),
            ("curr1_input", "100"),
        ],
    );
    let e = select_at(MeterChoice::Hwmon, false, &no_powercap, &tree, 0)
        .err()
        .expect("nothing counted");
    assert!(e.to_string().contains("nothing would be counted"), "{e}");
    let sel = select_at(MeterChoice::Auto, false, &no_powercap, &tree, 0).unwrap();
    assert!(sel.meter.is_none(), "{}", sel.note);
    assert!(
        sel.note.contains("auto: no rapl meter") && sel.note.contains("no hwmon fallback"),
        "{}",
        sel.note
    );
    // an AMD CPU's sockets and an AMD GPU: auto on a CPU backend counts the sockets only
    std::fs::remove_dir_all(&tree).unwrap();
    device(
        &tree,
        0,
        "amd_energy",
        &[("energy1_label", "Esocket0"), ("energy1_input", "1")],
    );
    amdgpu(&tree, 1, 5);
    let sel = select_at(MeterChoice::Auto, false, &no_powercap, &tree, 0).unwrap();
    let m = sel.meter.expect("hwmon fallback");
    assert_eq!(m.name(), "hwmon");
    assert!(
        sel.note
            .contains("hwmon instead (hwmon0/amd_energy/Esocket0)"),
        "{}",
        sel.note
    );
    let counted: Vec<String> = m
        .domains()
        .into_iter()
        .filter(|d| d.in_total)
        .map(|d| d.name)
        .collect();
    assert_eq!(counted, ["hwmon0/amd_energy/Esocket0"]);
    // … and on a GPU backend the GPU only
    let (m, names) = hwmon_for_auto(true, &tree).unwrap();
    assert_eq!(names, "hwmon1/amdgpu/energy1");
    assert!(m.domains()[0].note.contains("auto counts only the GPU"));
    // --meter hwmon counts both (distinct devices)
    let sel = select_at(MeterChoice::Hwmon, false, &no_powercap, &tree, 0).unwrap();
    let m = sel.meter.unwrap();
    assert_eq!(m.domains().iter().filter(|d| d.in_total).count(), 2);
}
