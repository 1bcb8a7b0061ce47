//! What joulebench's tests do when a resource they need is missing — one rule, one place.
//!
//! Some checks need something a plain `cargo test` may not have: the shared datasets
//! (`$JOULEBENCH_DATA`), a Python with `onnx` and `onnxruntime` (`$JOULEBENCH_PYTHON`) or the
//! ONNX Runtime library (`$ORT_DYLIB_PATH`); `scripts/jb-env` sets the last two. A test asks for
//! the resource here ([`shared_data`], [`python`], [`ort_library`]) and gets `None` when it is
//! missing. Then:
//!
//! * in CI (`CI=true`, or `CI=1`) the test **fails** with what is missing and how to get it: a
//!   check that silently did not run cannot pass CI;
//! * locally the test returns early, and the skip is appended as one line (test, missing
//!   resource, how to get it) to the skip list, [`skips_file`]: `make test` clears that file
//!   first and prints it as one summary at the end (the test harness hides a test's own output).
//!
//! Dev-dependency of the crates whose tests need a resource; never a normal dependency.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Environment variable naming the skip list explicitly (`make test` sets it). A test may
/// record the same line more than once (once per call); the summary prints each once.
pub const SKIPS_ENV: &str = "JOULEBENCH_TEST_SKIPS";
/// File name of the skip list inside the cargo target directory when [`SKIPS_ENV`] is unset.
pub const SKIPS_FILE_NAME: &str = "test-skips.txt";

/// Something a test needs that a plain checkout may not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// `$JOULEBENCH_DATA/<name>`: one folder of the shared datasets (`mnist`, `fashion-mnist`,
    /// `mnist1d`).
    SharedData(&'a str),
    /// `$JOULEBENCH_PYTHON`: a Python interpreter with the `onnx` and `onnxruntime` packages.
    Python,
    /// `$ORT_DYLIB_PATH`: the ONNX Runtime shared library (`libonnxruntime.so`).
    OrtLibrary,
}

impl Resource<'_> {
    /// What the resource is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Resource::SharedData(name) => format!("$JOULEBENCH_DATA/{name} (the {name} dataset)"),
            Resource::Python => {
                "$JOULEBENCH_PYTHON (a Python with the onnx and onnxruntime packages)".into()
            }
            Resource::OrtLibrary => "$ORT_DYLIB_PATH (the ONNX Runtime library)".into(),
        }
    }

    /// How to get the resource.
    pub fn how_to_get(&self) -> String {
        match self {
            Resource::SharedData("mnist1d") => "point JOULEBENCH_DATA at a folder whose mnist1d/ \
                holds the canonical MNIST-1D arrays (x_train.f32, y_train.u8, x_test.f32, \
                y_test.u8, t.f32; see the shared data's README)"
                .into(),
            Resource::SharedData(name) => format!(
                "`joulebench data fetch {name} --dir DIR/{name}`, then export JOULEBENCH_DATA=DIR"
            ),
            Resource::Python | Resource::OrtLibrary => {
                "run the tests through scripts/jb-env (as `make test` does), which sets it up"
                    .into()
            }
        }
    }
}

/// `$JOULEBENCH_DATA/<name>` when that folder exists; otherwise the test is skipped
/// ([`missing`]) and this returns `None`.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let resource = Resource::SharedData(name);
    match std::env::var_os("JOULEBENCH_DATA").filter(|v| !v.is_empty()) {
        None => missing(resource, "JOULEBENCH_DATA is not set"),
        Some(root) => {
            let dir = Path::new(&root).join(name);
            if dir.is_dir() {
                Some(dir)
            } else {
                missing(resource, &format!("{} is not a folder", dir.display()))
            }
        }
    }
}

/// The Python interpreter `$JOULEBENCH_PYTHON` names when it exists; otherwise the test is
/// skipped ([`missing`]) and this returns `None`.
pub fn python() -> Option<PathBuf> {
    existing_file_in("JOULEBENCH_PYTHON", Resource::Python)
}

/// [`python`] with the Python modules `imports` (e.g. `"snntorch, nirtorch"`) importable: when
/// they are not, runs each `pip install` argument list of `installs` once (test-only packages
/// such as snnTorch, NIR's reference implementation; never needed by the product), then checks
/// again; still missing → the test is skipped ([`missing`]).
pub fn python_with(imports: &str, installs: &[&[&str]]) -> Option<PathBuf> {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let py = python()?;
    let has = |py: &std::path::Path| {
        std::process::Command::new(py)
            .args(["-c", &format!("import {imports}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !has(&py) {
        for args in installs {
            let _ = std::process::Command::new(&py)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
                .args(*args)
                .status();
        }
        if !has(&py) {
            return missing(
                Resource::Python,
                &format!("its Python cannot import {imports}, and pip install failed (offline?)"),
            );
        }
    }
    Some(py)
}

/// The pip installs that give [`python_with`] snnTorch 1.0.0 (without its plotting
/// dependencies; torch comes from the venv), NIR's `nir` package and `nirtorch` (snnTorch's NIR
/// importer needs it).
pub const SNNTORCH_INSTALLS: &[&[&str]] =
    &[&["nir", "nirtorch"], &["--no-deps", "snntorch==1.0.0"]];

/// The ONNX Runtime library `$ORT_DYLIB_PATH` names when it exists; otherwise the test (or the
/// part of it that needs ONNX Runtime) is skipped ([`missing`]) and this returns `None`.
pub fn ort_library() -> Option<PathBuf> {
    existing_file_in("ORT_DYLIB_PATH", Resource::OrtLibrary)
}

fn existing_file_in(var: &str, resource: Resource) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        None => missing(resource, &format!("{var} is not set")),
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_file() {
                Some(p)
            } else {
                missing(
                    resource,
                    &format!("{var} names {}, not a file", p.display()),
                )
            }
        }
    }
}

/// True when running in CI: `$CI` is `true` (any case) or `1`, as CI services set it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The current test, as `binary::test::path` (libtest runs each test on a thread named after
/// it; the binary is the test executable's name without cargo's hash).
pub fn current_test() -> String {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unnamed test");
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
            _ => stem,
        })
        .unwrap_or_else(|| "unknown binary".into());
    format!("{binary}::{test}")
}

/// Handles a missing `resource` (`why`: what exactly is missing) for the current test: panics in
/// CI ([`in_ci`]); otherwise records the skip in [`skips_file`], says so on stderr and returns
/// `None` (so callers can write `let Some(x) = … else { return };`).
pub fn missing<T>(resource: Resource, why: &str) -> Option<T> {
    let test = current_test();
    let line = format!(
        "{test}: needs {} — {why}; to run it: {}",
        resource.describe(),
        resource.how_to_get()
    );
    if in_ci() {
        panic!(
            "{line}\n(CI=true: a check that needs a missing resource fails instead of skipping)"
        );
    }
    let file = skips_file();
    let recorded = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        // one write of one line: appends from parallel tests do not interleave
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = recorded {
        panic!(
            "{line}\n(and the skip could not be recorded in {}: {e})",
            file.display()
        );
    }
    eprintln!("skipped: {line}");
    None
}

/// The skip list: `$JOULEBENCH_TEST_SKIPS` when set, else `test-skips.txt` in the cargo target
/// directory the test executable was built in (the nearest folder above it holding cargo's
/// `CACHEDIR.TAG`), else in the system's temporary folder.
pub fn skips_file() -> PathBuf {
    if let Some(p) = std::env::var_os(SKIPS_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .map(|d| d.join(SKIPS_FILE_NAME))
        })
        .unwrap_or_else(|| std::env::temp_dir().join(SKIPS_FILE_NAME))
}
