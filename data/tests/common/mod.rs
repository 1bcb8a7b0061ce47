//! Shared helpers of the data crate's integration tests.

use std::path::PathBuf;

/// `$JOULEBENCH_DATA/<sub>` when the variable is set and the folder exists; otherwise prints a
/// note (the check is skipped) and returns `None`.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    match std::env::var_os("JOULEBENCH_DATA").map(PathBuf::from) {
        Some(root) if root.join(sub).is_dir() => Some(root.join(sub)),
        Some(root) => {
            eprintln!(
                "note: {} missing; real-data check skipped",
                root.join(sub).display()
            );
            None
        }
        None => {
            eprintln!("note: JOULEBENCH_DATA not set; real-data check on {sub} skipped");
            None
        }
    }
}
