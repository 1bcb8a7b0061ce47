//! The RAPL reader on fake powercap trees: two packages, DRAM, nested core, a wrap between
//! reads, an unreadable counter, a counter going backwards, garbage and a missing tree; AMD
//! die zones mirroring one package counter, the stated resolution per vendor, and an
//! unreadable `max_energy_range_uj`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use joulebench_profiler::clock::ManualClock;
use joulebench_profiler::meter::rapl::{
    RaplMeter, RealFs, SysfsRead, AMD_ENERGY_UNIT_J, CPUINFO, INTEL_ENERGY_UNIT_J,
};
use joulebench_profiler::{discover, DomainKind, EnergyMeter, MeterError};

fn zone(root: &Path, dir: &str, name: &str, energy: u64, range: u64) -> PathBuf {
    let d = root.join(dir);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
    std::fs::write(d.join("energy_uj"), format!("{energy}\n")).unwrap();
    std::fs::write(d.join("max_energy_range_uj"), format!("{range}\n")).unwrap();
    d
}

fn set(dir: &Path, energy: u64) {
    std::fs::write(dir.join("energy_uj"), format!("{energy}\n")).unwrap();
}

const RANGE: u64 = 262_143_328_850;

/// Two sockets with DRAM; package-0 has a core subzone; an MMIO duplicate and the control-type
/// folder that must both be ignored.
fn two_socket_tree(root: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(root.join("intel-rapl")).unwrap(); // control type, not a zone
    let p0 = zone(root, "intel-rapl:0", "package-0", 1_000_000, RANGE);
    let core0 = zone(root, "intel-rapl:0:0", "core", 500_000, RANGE);
    let dram0 = zone(root, "intel-rapl:0:1", "dram", 200, RANGE);
    let p1 = zone(root, "intel-rapl:1", "package-1", RANGE - 1_000_000, RANGE);
    let dram1 = zone(root, "intel-rapl:1:0", "dram", 7_000, RANGE);
    zone(root, "intel-rapl-mmio:0", "package-0", 5, RANGE);
    vec![p0, core0, dram0, p1, dram1]
}

#[test]
fn two_packages_dram_and_a_wrap() {
    let tmp = tempfile::tempdir().unwrap();
    let z = two_socket_tree(tmp.path());
    let clock = Arc::new(ManualClock::default());
    let mut m = RaplMeter::open_at(tmp.path(), Arc::new(RealFs))
        .unwrap()
        .with_clock(clock.clone());
    let d = m.domains();
    let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "package-0",
            "package-0/core",
            "package-0/dram",
            "package-1",
            "package-1/dram"
        ]
    );
    assert_eq!(d[0].kind, DomainKind::Package);
    assert_eq!(d[1].kind, DomainKind::Core);
    assert!(!d[1].in_total, "core is inside the package: never added");
    assert_eq!(d[2].kind, DomainKind::Dram);
    assert!(d[0].in_total && d[2].in_total && d[3].in_total && d[4].in_total);

    let start = m.begin_window().unwrap();
    set(&z[0], 4_000_000); // +3 J
    set(&z[1], 2_500_000); // +2 J (inside package-0)
    set(&z[2], 500_200); // +0.5 J
    set(&z[3], 1_500_000); // wrapped: (RANGE − (RANGE − 1e6)) + 1.5e6 = 2.5 J
    set(&z[4], 1_007_000); // +1 J
    clock.advance(Duration::from_secs(2));
    let r = m.end_window(start).unwrap();
    let expect = [3.0, 2.0, 0.5, 2.5, 1.0];
    for (got, want) in r.joules.iter().zip(expect) {
        assert!((got - want).abs() < 1e-9, "{:?}", r.joules);
    }
    assert!((r.seconds - 2.0).abs() < 1e-12);
    assert!(
        (r.total_j(&d) - 7.0).abs() < 1e-9,
        "package-0 + dram0 + package-1 + dram1, core excluded"
    );
}

#[test]
fn backwards_counter_is_an_error_not_a_negative_energy() {
    let tmp = tempfile::tempdir().unwrap();
    let p0 = zone(tmp.path(), "intel-rapl:0", "package-0", 50_000_000, RANGE);
    let clock = Arc::new(ManualClock::default());
    let mut m = RaplMeter::open_at(tmp.path(), Arc::new(RealFs))
        .unwrap()
        .with_clock(clock.clone());
    let s = m.begin_window().unwrap();
    set(&p0, 40_000_000); // 10 J backwards in 1 s: a wrap would mean ~262 kJ in 1 s
    clock.advance(Duration::from_secs(1));
    match m.end_window(s) {
        Err(MeterError::CounterBackwards { start, end, .. }) => {
            assert_eq!((start, end), (50_000_000, 40_000_000))
        }
        other => panic!("expected CounterBackwards, got {other:?}"),
    }
    // without max_energy_range_uj no decrease is acceptable, however small
    std::fs::remove_file(p0.join("max_energy_range_uj")).unwrap();
    let mut m = RaplMeter::open_at(tmp.path(), Arc::new(RealFs))
        .unwrap()
        .with_clock(clock.clone());
    let s = m.begin_window().unwrap();
    set(&p0, 39_999_999);
    clock.advance(Duration::from_secs(100));
    assert!(matches!(
        m.end_window(s),
        Err(MeterError::CounterBackwards { .. })
    ));
}

/// Fails reads of `energy_uj` files below `deny` with EACCES, as the kernel does for non-root users.
struct DenyEnergy {
    deny: PathBuf,
}

impl SysfsRead for DenyEnergy {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path.starts_with(&self.deny) && path.ends_with("energy_uj") {
            return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        }
        std::fs::read_to_string(path)
    }
}

#[test]
fn unreadable_counter_reports_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    two_socket_tree(tmp.path());
    let deny = tmp.path().join("intel-rapl:1");
    let e = RaplMeter::open_at(tmp.path(), Arc::new(DenyEnergy { deny: deny.clone() }))
        .err()
        .expect("EACCES must fail");
    match &e {
        MeterError::PermissionDenied { path } => assert_eq!(path, &deny.join("energy_uj")),
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("intel-rapl:1/energy_uj")
            && msg.contains("sudo chmod o+r")
            && msg.contains("udev"),
        "{msg}"
    );
    // the advice also opens max_energy_range_uj, without which a wrap cannot be counted
    assert!(
        msg.contains("intel-rapl:*/max_energy_range_uj")
            && msg.contains("/sys%p/max_energy_range_uj"),
        "{msg}"
    );
}

/// A counter file with mode 000 on the real file system is a `PermissionDenied` error. Root
/// (CAP_DAC_OVERRIDE) reads such a file anyway, so as root the reader runs on a thread whose
/// file-system uid is `nobody`: Linux drops the file capabilities of that thread only.
#[test]
fn chmod_000_counter_on_the_real_file_system() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    // reachable by an unprivileged file-system uid
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p0 = zone(tmp.path(), "intel-rapl:0", "package-0", 1, RANGE);
    let counter = p0.join("energy_uj");
    std::fs::set_permissions(&counter, std::fs::Permissions::from_mode(0o000)).unwrap();
    let root = tmp.path().to_path_buf();
    let e = std::thread::spawn(move || {
        // SAFETY: geteuid has no preconditions; SYS_setfsuid changes this thread's file-system
        // uid only (the raw system call, not a libc wrapper that might apply it process-wide)
        if unsafe { libc::geteuid() } == 0 {
            unsafe { libc::syscall(libc::SYS_setfsuid, 65534) };
            assert!(
                std::fs::read_to_string(&counter).is_err(),
                "setfsuid(nobody) did not take away root's access to a mode-000 file"
            );
        }
        RaplMeter::open_at(&root, Arc::new(RealFs)).err()
    })
    .join()
    .unwrap()
    .expect("mode 000 must fail");
    assert!(matches!(e, MeterError::PermissionDenied { .. }), "{e}");
}

#[test]
fn missing_tree_garbage_and_empty_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let e = RaplMeter::open_at(&tmp.path().join("nope"), Arc::new(RealFs))
        .err()
        .unwrap();
    assert!(
        matches!(e, MeterError::Unavailable { .. }) && e.to_string().contains("no powercap"),
        "{e}"
    );
    let e = RaplMeter::open_at(tmp.path(), Arc::new(RealFs))
        .err()
        .unwrap();
    assert!(e.to_string().contains("no intel-rapl"), "{e}");
    let p0 = zone(tmp.path(), "intel-rapl:0", "package-0", 1, RANGE);
    std::fs::write(p0.join("energy_uj"), "12abc\n").unwrap();
    let e = RaplMeter::open_at(tmp.path(), Arc::new(RealFs))
        .err()
        .unwrap();
    assert!(
        matches!(e, MeterError::Parse { .. }) && e.to_string().contains("12abc"),
        "{e}"
    );
}

/// An AMD part exposing one zone per die (`package-0-die-0`, `package-0-die-1`) that both read
/// the one socket counter: the package is counted once, the mirror is listed and noted.
fn amd_die_tree(root: &Path) -> Vec<PathBuf> {
    vec![
        zone(root, "intel-rapl:0", "package-0-die-0", 5_000_000, RANGE),
        zone(root, "intel-rapl:1", "package-0-die-1", 5_000_000, RANGE),
    ]
}

#[test]
fn amd_die_zones_mirroring_one_package_are_counted_once() {
    let tmp = tempfile::tempdir().unwrap();
    let z = amd_die_tree(tmp.path());
    let clock = Arc::new(ManualClock::default());
    let mut m = RaplMeter::open_at(tmp.path(), Arc::new(RealFs))
        .unwrap()
        .with_clock(clock.clone());
    let d = m.domains();
    let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["package-0-die-0", "package-0-die-1"]);
    assert!(d.iter().all(|d| d.kind == DomainKind::Package));
    assert!(d[0].in_total, "{:?}", d[0]);
    assert!(!d[1].in_total, "the mirror is not added: {:?}", d[1]);
    assert!(
        d[1].note.contains("mirrors package-0-die-0"),
        "{}",
        d[1].note
    );
    assert!(
        d[0].note.contains("package-0-die-1 mirrors this counter"),
        "{}",
        d[0].note
    );

    // a window: the socket used 3 J, both die files show it; the total is 3 J, not 6 J
    let s = m.begin_window().unwrap();
    set(&z[0], 8_000_000);
    set(&z[1], 8_000_000);
    clock.advance(Duration::from_secs(1));
    let r = m.end_window(s).unwrap();
    assert!((r.joules[0] - 3.0).abs() < 1e-9 && (r.joules[1] - 3.0).abs() < 1e-9);
    assert!((r.total_j(&d) - 3.0).abs() < 1e-9, "{}", r.total_j(&d));

    // what `joulebench meters --powercap-root TREE` lists: the package once
    let listed = discover(tmp.path(), 0);
    let rapl = listed.iter().find(|s| s.name == "rapl").unwrap();
    let counted: Vec<&str> = rapl
        .domains
        .iter()
        .filter(|d| d.in_total)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(counted, ["package-0-die-0"]);
}

#[test]
fn amd_die_mirrors_with_dram_subzones_and_a_second_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    zone(root, "amd-rapl:0", "package-0-die-0", 9_000_000, RANGE);
    zone(root, "amd-rapl:0:0", "dram", 300, RANGE);
    zone(root, "amd-rapl:1", "package-0-die-1", 9_000_000, RANGE);
    zone(root, "amd-rapl:1:0", "dram", 300, RANGE);
    // socket 1 has its own counter, and so do its dies: nothing mirrors there
    zone(root, "amd-rapl:2", "package-1-die-0", 1_000, RANGE);
    zone(root, "amd-rapl:3", "package-1-die-1", 2_000, RANGE);
    let m = RaplMeter::open_at(root, Arc::new(RealFs)).unwrap();
    let counted: Vec<(String, bool)> = m
        .domains()
        .into_iter()
        .map(|d| (d.name, d.in_total))
        .collect();
    let want = [
        ("package-0-die-0", true),
        ("package-0-die-0/dram", true),
        ("package-0-die-1", false),
        ("package-0-die-1/dram", false),
        ("package-1-die-0", true),
        ("package-1-die-1", true),
    ];
    assert_eq!(
        counted,
        want.map(|(n, t)| (n.to_string(), t)).to_vec(),
        "{:#?}",
        m.domains()
    );
    // the two dies of one ordinary package with different counters are both counted
    let tmp = tempfile::tempdir().unwrap();
    zone(tmp.path(), "intel-rapl:0", "package-0-die-0", 1_000, RANGE);
    zone(tmp.path(), "intel-rapl:1", "package-0-die-1", 2_000, RANGE);
    let m = RaplMeter::open_at(tmp.path(), Arc::new(RealFs)).unwrap();
    assert!(m.domains().iter().all(|d| d.in_total));
}

/// Serves a fake `/proc/cpuinfo`; everything else from the file system.
struct FakeCpu {
    vendor: &'static str,
}

impl SysfsRead for FakeCpu {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path == Path::new(CPUINFO) {
            return Ok(format!(
                "processor\t: 0\nvendor_id\t: {}\ncpu family\t: 25\n",
                self.vendor
            ));
        }
        std::fs::read_to_string(path)
    }
}

#[test]
fn resolution_is_the_energy_unit_not_a_microjoule() {
    let tmp = tempfile::tempdir().unwrap();
    two_socket_tree(tmp.path());
    for (vendor, unit, says) in [
        ("GenuineIntel", INTEL_ENERGY_UNIT_J, "Intel"),
        ("AuthenticAMD", AMD_ENERGY_UNIT_J, "AMD"),
        ("HygonGenuine", AMD_ENERGY_UNIT_J, "AMD"),
        ("SomethingElse", INTEL_ENERGY_UNIT_J, "no known RAPL unit"),
    ] {
        let m = RaplMeter::open_at(tmp.path(), Arc::new(FakeCpu { vendor })).unwrap();
        for d in m.domains() {
            assert_eq!(d.resolution_j, unit, "{vendor}: {d:?}");
            assert!(
                d.note.contains("stated, not measured") && d.note.contains(says),
                "{vendor}: {}",
                d.note
            );
        }
    }
    assert!((INTEL_ENERGY_UNIT_J - 61.035e-6).abs() < 1e-9);
    assert!((AMD_ENERGY_UNIT_J - 15.259e-6).abs() < 1e-9);
    // an amd-rapl tree is AMD whatever /proc/cpuinfo says
    let tmp = tempfile::tempdir().unwrap();
    zone(tmp.path(), "amd-rapl:0", "package-0", 1, RANGE);
    let m = RaplMeter::open_at(
        tmp.path(),
        Arc::new(FakeCpu {
            vendor: "GenuineIntel",
        }),
    )
    .unwrap();
    assert_eq!(m.domains()[0].resolution_j, AMD_ENERGY_UNIT_J);
    assert!(m.domains()[0].note.contains("amd-rapl zone prefix"));
    // on this machine's real /proc/cpuinfo: one of the stated units, never 1 µJ
    let tmp = tempfile::tempdir().unwrap();
    two_socket_tree(tmp.path());
    let m = RaplMeter::open_at(tmp.path(), Arc::new(RealFs)).unwrap();
    for d in m.domains() {
        assert_ne!(d.resolution_j, 1e-6);
        assert!(d.resolution_j == INTEL_ENERGY_UNIT_J || d.resolution_j == AMD_ENERGY_UNIT_J);
    }
}

/// Fails reads of every `max_energy_range_uj` with EACCES; the counters stay readable.
struct DenyRange;

impl SysfsRead for DenyRange {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path.ends_with("max_energy_range_uj") {
            return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        }
        std::fs::read_to_string(path)
    }
}

#[test]
fn unreadable_max_energy_range_is_warned_about_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let p0 = zone(
        tmp.path(),
        "intel-rapl:0",
        "package-0",
        RANGE - 1_000_000,
        RANGE,
    );
    let clock = Arc::new(ManualClock::default());
    let mut m = RaplMeter::open_at(tmp.path(), Arc::new(DenyRange))
        .expect("an unreadable range is a warning, not an error")
        .with_clock(clock.clone());
    let note = &m.domains()[0].note;
    assert!(
        note.contains("WARNING")
            && note.contains("intel-rapl:0/max_energy_range_uj")
            && note.contains("permission denied")
            && note.contains("wrap"),
        "{note}"
    );
    // what the warning says: a wrap, plausible as it is (2 J in 1 s), fails the window
    let s = m.begin_window().unwrap();
    set(&p0, 1_000_000);
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        m.end_window(s),
        Err(MeterError::CounterBackwards { .. })
    ));
    // with the range readable the same wrap is counted, and there is no warning
    let mut m = RaplMeter::open_at(tmp.path(), Arc::new(RealFs))
        .unwrap()
        .with_clock(clock.clone());
    assert!(!m.domains()[0].note.contains("WARNING"));
    set(&p0, RANGE - 1_000_000);
    let s = m.begin_window().unwrap();
    set(&p0, 1_000_000);
    clock.advance(Duration::from_secs(1));
    assert!((m.end_window(s).unwrap().joules[0] - 2.0).abs() < 1e-9);
}
