//! The RAPL reader on fake powercap trees: two packages, DRAM, nested core, a wrap between
//! reads, an unreadable counter, a counter going backwards, garbage and a missing tree.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use joulebench_profiler::clock::ManualClock;
use joulebench_profiler::meter::rapl::{RaplMeter, RealFs, SysfsRead};
use joulebench_profiler::{DomainKind, EnergyMeter, MeterError};

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
