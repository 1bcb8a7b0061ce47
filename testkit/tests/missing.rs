//! The rule itself, seen from outside: a test whose resource is missing fails under `CI=true`
//! and, locally, passes after recording one line in the skip list. Each case re-runs this test
//! binary's `probe` (ignored unless asked for) as a child with a chosen environment.

use std::process::{Command, Output};

/// Asks for a shared-data folder that does not exist; never run directly (see the tests below).
#[test]
#[ignore = "run as a child process by the tests below"]
fn probe() {
    let Some(dir) = joulebench_testkit::shared_data("no-such-dataset") else {
        return;
    };
    panic!("{} should not exist", dir.display());
}

fn run_probe(ci: Option<&str>, skips: &std::path::Path) -> Output {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--ignored", "--exact", "probe", "--test-threads", "1"])
        .env("JOULEBENCH_DATA", skips.parent().unwrap())
        .env(joulebench_testkit::SKIPS_ENV, skips)
        .env_remove("CI");
    if let Some(v) = ci {
        c.env("CI", v);
    }
    c.output().unwrap()
}

#[test]
fn missing_resource_fails_in_ci() {
    let tmp = tempfile::tempdir().unwrap();
    let skips = tmp.path().join("skips.txt");
    for ci in ["true", "TRUE", "1"] {
        let o = run_probe(Some(ci), &skips);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!o.status.success(), "CI={ci}: the probe passed:\n{out}");
        assert!(
            out.contains("no-such-dataset") && out.contains("CI=true"),
            "CI={ci}: the failure must name the resource:\n{out}"
        );
    }
    assert!(!skips.exists(), "a CI failure is not a recorded skip");
}

#[test]
fn missing_resource_is_recorded_locally() {
    let tmp = tempfile::tempdir().unwrap();
    let skips = tmp.path().join("skips.txt");
    for ci in [None, Some("false"), Some("")] {
        let o = run_probe(ci, &skips);
        assert!(
            o.status.success(),
            "CI={ci:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    let text = std::fs::read_to_string(&skips).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "one line per skip:\n{text}");
    for l in lines {
        assert!(
            l.starts_with("missing::probe: needs $JOULEBENCH_DATA/no-such-dataset")
                && l.contains("is not a folder")
                && l.contains("joulebench data fetch no-such-dataset"),
            "{l}"
        );
    }
}
