//! `calibrate` end to end on a fake powercap tree: a package zone whose `energy_uj` a thread
//! advances in real time as idle 4 W + f(busy) (f(1) = 10 W, f(2) = 16 W), busy being set by a
//! load that also starts real spinning threads; then save, load, and the damaged-file errors.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use joulebench_profiler::calibration::cpu_slug;
use joulebench_profiler::cpu_time::process_cpu_time;
use joulebench_profiler::meter::rapl::{RaplMeter, RealFs};
use joulebench_profiler::{
    calibrate, calibration_path, load_calibration, BusyLoad, CalibrationConfig, MonotonicClock,
    ProfileError, SpinLoad,
};

/// Tests that spin threads or time CPU use run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const IDLE_W: f64 = 4.0;

/// Dynamic watts of the fake package at `k` busy CPUs (concave).
fn dynamic_w(k: usize) -> f64 {
    [0.0, 10.0, 16.0][k.min(2)]
}

/// Writes `energy_uj` through a temp file and a rename, so a reader never sees half a number.
fn write_counter(dir: &Path, uj: u64) {
    let tmp = dir.join(".energy_uj.tmp");
    std::fs::write(&tmp, format!("{uj}\n")).unwrap();
    std::fs::rename(&tmp, dir.join("energy_uj")).unwrap();
}

/// The fake package's counter: integrates IDLE_W + dynamic_w(busy) over real elapsed time,
/// every ~1 ms.
struct FakePackage {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl FakePackage {
    fn start(root: &Path, busy: Arc<AtomicUsize>) -> Self {
        let dir = root.join("intel-rapl:0");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("name"), "package-0\n").unwrap();
        std::fs::write(dir.join("max_energy_range_uj"), "262143328850\n").unwrap();
        let start_uj = 5_000_000u64;
        write_counter(&dir, start_uj);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut uj = start_uj as f64;
            let mut last = Instant::now();
            while !flag.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
                let now = Instant::now();
                let dt = now.duration_since(last).as_secs_f64();
                last = now;
                uj += (IDLE_W + dynamic_w(busy.load(Ordering::SeqCst))) * dt * 1e6;
                write_counter(&dir, uj as u64);
            }
        });
        FakePackage {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for FakePackage {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

/// Tells the fake package how many CPUs are busy, then really spins them.
struct Wrapped<'a> {
    busy: Arc<AtomicUsize>,
    spin: &'a mut SpinLoad,
}

impl BusyLoad for Wrapped<'_> {
    fn set_busy(&mut self, k: usize) {
        self.busy.store(k, Ordering::SeqCst);
        self.spin.set_busy(k);
    }
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs()
}

/// CPU time the process spends over `wall` of sleeping, seconds.
fn cpu_over(wall: Duration) -> f64 {
    let c0 = process_cpu_time();
    std::thread::sleep(wall);
    (process_cpu_time() - c0).as_secs_f64()
}

#[test]
fn calibrates_a_fake_package_saves_and_loads() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tree = tempfile::tempdir().unwrap();
    let busy = Arc::new(AtomicUsize::new(0));
    let package = FakePackage::start(tree.path(), busy.clone());
    let mut meter = RaplMeter::open_at(tree.path(), Arc::new(RealFs)).unwrap();
    let mut spin = SpinLoad::new();
    let cfg = CalibrationConfig {
        window_seconds: 1.0,
        settle_seconds: 0.05,
        max_busy: Some(2),
    };
    let mut levels = vec![];
    let mut spinning_during_levels = vec![];
    let c = {
        let mut load = Wrapped {
            busy: busy.clone(),
            spin: &mut spin,
        };
        calibrate(
            &MonotonicClock::new(),
            &mut meter,
            &mut load,
            &cfg,
            "Fake CPU 9000 @ 1.00GHz",
            2,
            &mut |p| {
                levels.push(p.clone());
                spinning_during_levels.push(busy.load(Ordering::SeqCst));
            },
        )
        .unwrap()
    };
    drop(package);

    // one level per busy count, as it went, with the load at that level while measured
    assert_eq!(levels, c.points);
    assert_eq!(spinning_during_levels, [0, 1, 2]);
    let busy_levels: Vec<usize> = c.points.iter().map(|p| p.busy).collect();
    assert_eq!(busy_levels, [0, 1, 2]);
    assert!(close(c.idle_w, IDLE_W, 0.05), "idle {} W", c.idle_w);
    for p in &c.points {
        assert!(
            close(p.package_w, IDLE_W + dynamic_w(p.busy), 0.05),
            "{p:?}"
        );
        assert!(
            p.seconds >= 0.99,
            "the window lasts at least what was asked: {p:?}"
        );
    }
    assert_eq!(c.points[0].dynamic_w, 0.0);
    assert!(close(c.points[1].dynamic_w, 10.0, 0.05), "{:?}", c.points);
    assert!(close(c.points[2].dynamic_w, 16.0, 0.05), "{:?}", c.points);
    // interpolation halfway between the measured 1 and 2 busy CPUs; beyond: the last level
    let mid = 0.5 * (c.points[1].dynamic_w + c.points[2].dynamic_w);
    assert!((c.watts_at(1.5) - mid).abs() < 1e-9);
    assert!((c.watts_at(0.5) - 0.5 * c.points[1].dynamic_w).abs() < 1e-9);
    assert_eq!(c.watts_at(8.0), c.points[2].dynamic_w);
    // the fitted curve and its errors are reported; a two-point concave curve fits well
    assert_eq!(c.curve.logical_cpus, 2);
    assert!(c.curve.pmax_w > 0.0 && c.curve.scale > 0.0, "{:?}", c.curve);
    assert!(
        c.fit_median_error.is_finite() && c.fit_median_error >= 0.0 && c.fit_median_error < 0.05,
        "{}",
        c.fit_median_error
    );
    assert!(c.fit_max_error >= c.fit_median_error && c.fit_max_error < 0.1);
    assert!(close(c.curve.watts(2.0), 16.0, 0.1), "{:?}", c.curve);
    assert_eq!(c.meter, "rapl");
    assert_eq!(c.domains, ["package-0"]);
    assert_eq!(c.logical_cpus, 2);
    assert_eq!(c.window_seconds, 1.0);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    assert!(
        c.created.ends_with('Z') && c.created.len() == 20,
        "{}",
        c.created
    );
    let m = c.method();
    assert!(
        m.contains("Fake CPU 9000") && m.contains("rapl") && m.contains("package-0"),
        "{m}"
    );

    // no spinning thread is left: none alive, and the process stops using CPU
    assert_eq!((spin.busy(), spin.live_threads()), (0, 0));
    let wall = Duration::from_millis(300);
    let cpu = cpu_over(wall);
    assert!(
        cpu < 0.2 * wall.as_secs_f64(),
        "process used {cpu:.3} s of CPU in {wall:?} after calibrating"
    );

    // save → load round trip, under the CPU's slug
    let cfg_dir = tempfile::tempdir().unwrap();
    let dir = cfg_dir.path().join("calibration");
    let path = c.save(&dir).unwrap();
    assert_eq!(path, dir.join("fake-cpu-9000-1-00ghz.json"));
    assert_eq!(path, calibration_path(&dir, &c.cpu_model));
    let back = load_calibration(&dir, "Fake CPU 9000 @ 1.00GHz")
        .unwrap()
        .expect("saved calibration found");
    assert_eq!(back, c);
    // the same CPU named with other spacing or case finds the same file
    assert!(load_calibration(&dir, "fake cpu 9000 @ 1.00ghz ")
        .unwrap()
        .is_some());
    assert!(load_calibration(&dir, "Another CPU").unwrap().is_none());
    // no temp file left beside it
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["fake-cpu-9000-1-00ghz.json"]);
}

fn expect_file_error(dir: &Path, model: &str, path: &Path, wants: &[&str]) {
    match load_calibration(dir, model) {
        Err(e @ ProfileError::Calibration { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()),
                "error must name the file: {msg}"
            );
            for w in wants {
                assert!(msg.contains(w), "error lacks `{w}`: {msg}");
            }
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
        other => panic!("expected a calibration file error, got {other:?}"),
    }
}

#[test]
fn damaged_calibration_files_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = "Test CPU 1";
    let path = calibration_path(dir, model);
    assert_eq!(path, dir.join(format!("{}.json", cpu_slug(model))));
    // nothing saved: no calibration, no error
    assert!(load_calibration(dir, model).unwrap().is_none());
    assert!(load_calibration(&dir.join("missing"), model)
        .unwrap()
        .is_none());

    let good = serde_json::json!({
        "schema_version": 1,
        "cpu_model": model,
        "logical_cpus": 2,
        "created": "2026-01-01T00:00:00Z",
        "meter": "rapl",
        "domains": ["package-0"],
        "window_seconds": 3.0,
        "idle_w": 4.0,
        "points": [
            {"busy": 0, "package_w": 4.0, "dynamic_w": 0.0, "seconds": 3.0},
            {"busy": 1, "package_w": 14.0, "dynamic_w": 10.0, "seconds": 3.0},
            {"busy": 2, "package_w": 20.0, "dynamic_w": 16.0, "seconds": 3.0}
        ],
        "curve": {"pmax_w": 16.0, "scale": 0.5, "logical_cpus": 2},
        "fit_median_error": 0.01,
        "fit_max_error": 0.02,
        "notes": []
    });
    let text = serde_json::to_string_pretty(&good).unwrap();
    std::fs::write(&path, &text).unwrap();
    let c = load_calibration(dir, model).unwrap().unwrap();
    assert!((c.watts_at(1.5) - 13.0).abs() < 1e-12);

    // truncated
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    expect_file_error(dir, model, &path, &["not a valid calibration file", "EOF"]);
    // empty
    std::fs::write(&path, "").unwrap();
    expect_file_error(dir, model, &path, &["not a valid calibration file"]);
    // garbage
    std::fs::write(&path, "\u{0}\u{1}binary junk").unwrap();
    expect_file_error(dir, model, &path, &["not a valid calibration file"]);
    // NaN is not JSON; neither is a null where a number belongs
    let mut v = good.clone();
    v["idle_w"] = serde_json::Value::Null;
    std::fs::write(&path, v.to_string()).unwrap();
    expect_file_error(dir, model, &path, &["not a valid calibration file"]);
    assert!(text.contains("\"idle_w\": 4.0"));
    std::fs::write(&path, text.replace("\"idle_w\": 4.0", "\"idle_w\": NaN")).unwrap();
    expect_file_error(dir, model, &path, &["not a valid calibration file"]);
    // numbers that parse but make no sense
    let mut v = good.clone();
    v["points"][1]["dynamic_w"] = serde_json::json!(-3.0);
    std::fs::write(&path, v.to_string()).unwrap();
    expect_file_error(dir, model, &path, &["points[1].dynamic_w", "-3"]);
    let mut v = good.clone();
    v["curve"]["scale"] = serde_json::json!(-0.5);
    std::fs::write(&path, v.to_string()).unwrap();
    expect_file_error(dir, model, &path, &["curve.scale"]);
    // a number too large for f64
    std::fs::write(&path, text.replace("\"idle_w\": 4.0", "\"idle_w\": 1e999")).unwrap();
    expect_file_error(dir, model, &path, &["not a valid calibration file"]);
    // another version, another CPU
    let mut v = good.clone();
    v["schema_version"] = serde_json::json!(99);
    std::fs::write(&path, v.to_string()).unwrap();
    expect_file_error(dir, model, &path, &["schema version 99"]);
    let mut v = good.clone();
    v["cpu_model"] = serde_json::json!("Other CPU");
    std::fs::write(&path, v.to_string()).unwrap();
    expect_file_error(dir, model, &path, &["Other CPU", model]);
    // a folder where the file should be: unreadable
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    expect_file_error(dir, model, &path, &["cannot read"]);
}

#[test]
fn spin_load_threads_really_spin_and_stop() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let wall = Duration::from_millis(300);
    {
        let mut spin = SpinLoad::new();
        spin.set_busy(1);
        assert_eq!(spin.live_threads(), 1);
        // one spinning thread: the process burns CPU (at least a good part of the wall time
        // even on a loaded machine)
        let cpu = cpu_over(wall);
        assert!(
            cpu > 0.3 * wall.as_secs_f64(),
            "spinning used only {cpu:.3} s"
        );
        spin.set_busy(2);
        assert_eq!(spin.live_threads(), 2);
    } // dropped while spinning
    let cpu = cpu_over(wall);
    assert!(
        cpu < 0.2 * wall.as_secs_f64(),
        "process used {cpu:.3} s of CPU after the load was dropped"
    );
}
