//! `joulebench meters calibrate` refusals as a user meets them (real child processes): no RAPL,
//! a bad window, a counter that never moves. Nothing may be saved and nothing may panic.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::refused;

/// `joulebench args…` with its config folder in `config`.
fn jb_config(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joulebench"))
        .args(args)
        .env("JOULEBENCH_CONFIG_DIR", config)
        .output()
        .expect("runs the joulebench binary")
}

/// A package zone whose counter never moves.
fn frozen_powercap(root: &Path) {
    let d = root.join("intel-rapl:0");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("name"), "package-0\n").unwrap();
    std::fs::write(d.join("energy_uj"), "1000\n").unwrap();
    std::fs::write(d.join("max_energy_range_uj"), "262143328850\n").unwrap();
}

fn nothing_saved(config: &Path) {
    let saved = config.join("calibration");
    let n = std::fs::read_dir(&saved).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        n,
        0,
        "a refused calibration saved something in {}",
        saved.display()
    );
}

#[test]
fn meters_calibrate_without_rapl_is_a_one_line_error_naming_the_root() {
    let config = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let root = empty.path().to_str().unwrap();
    let args = ["meters", "calibrate", "--powercap-root", root];
    let err = refused(&jb_config(config.path(), &args), &args, &[root, "RAPL"]);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    // a root that does not exist at all
    let missing = empty.path().join("none");
    let missing = missing.to_str().unwrap();
    let args = ["meters", "calibrate", "--powercap-root", missing];
    let err = refused(&jb_config(config.path(), &args), &args, &[missing]);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    nothing_saved(config.path());
    // listing the meters without a subcommand still works on the same root
    let o = jb_config(config.path(), &["meters", "--powercap-root", root]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("rapl: unavailable"));
}

#[test]
fn meters_calibrate_refuses_bad_windows_and_a_frozen_counter() {
    let config = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    frozen_powercap(tree.path());
    let root = tree.path().to_str().unwrap();
    for window in ["0", "NaN", "-1"] {
        let window = format!("--window={window}");
        let args = [
            "meters",
            "calibrate",
            "--powercap-root",
            root,
            &window,
            "--max-busy",
            "1",
        ];
        refused(&jb_config(config.path(), &args), &args, &["window"]);
    }
    // the counter never moves: no level draws more than idle, so no curve and nothing saved
    let args = [
        "meters",
        "calibrate",
        "--powercap-root",
        root,
        "--window",
        "0.05",
        "--settle",
        "0",
        "--max-busy",
        "1",
    ];
    let o = jb_config(config.path(), &args);
    refused(&o, &args, &["calibration failed", "idle"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("busy   0:") && out.contains("busy   1:"),
        "{out}"
    );
    nothing_saved(config.path());
}
