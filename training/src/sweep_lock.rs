//! One lock per run key, so that processes sharing a sweep folder (shards on a shared
//! filesystem, or a sweep started twice) never train the same run at once.
//!
//! The lock is the hidden file `OUT/.<run>.lock` (beside the run's folder), held with `flock(LOCK_EX)` for as long as the run
//! trains. The kernel drops the lock when its holder exits in any way (SIGKILL included), so a
//! killed shard never leaves a stale lock behind: the file itself stays (it names its last
//! holder: host, pid, Slurm job) and is harmless. On NFSv4 the server releases a dead client's
//! lock after its lease (about 90 s); a filesystem without `flock` (Lustre mounted `noflock`)
//! is refused with an error rather than run unprotected (mount it with `-o flock`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};

/// A held run lock; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    pub path: PathBuf,
}

/// The lock file of run `name` in sweep folder `out`.
pub fn lock_path(out: &Path, name: &str) -> PathBuf {
    out.join(format!(".{name}.lock"))
}

fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| TrainError::io(path, e))
}

fn flock(file: &File, path: &Path, blocking: bool) -> Result<bool> {
    let op = libc::LOCK_EX | if blocking { 0 } else { libc::LOCK_NB };
    loop {
        // SAFETY: flock on a file descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !blocking => return Ok(false),
            _ => {
                return Err(TrainError::Config(format!(
                    "{}: cannot lock the run ({e}); the sweep folder's filesystem must support \
                     flock (e.g. mount Lustre with -o flock)",
                    path.display()
                )))
            }
        }
    }
}

impl RunLock {
    /// Takes the lock of run `name` if no other process holds it (`None` when one does).
    pub fn try_acquire(out: &Path, name: &str) -> Result<Option<RunLock>> {
        let path = lock_path(out, name);
        let file = open(&path)?;
        if !flock(&file, &path, false)? {
            return Ok(None);
        }
        let mut lock = RunLock { file, path };
        lock.note_holder();
        Ok(Some(lock))
    }

    /// Waits until the lock of run `name` is free, then takes it.
    pub fn acquire(out: &Path, name: &str) -> Result<RunLock> {
        let path = lock_path(out, name);
        let file = open(&path)?;
        flock(&file, &path, true)?;
        let mut lock = RunLock { file, path };
        lock.note_holder();
        Ok(lock)
    }

    /// Writes who holds the lock into the file (for people looking at a busy folder).
    fn note_holder(&mut self) {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let job = std::env::var("SLURM_JOB_ID").unwrap_or_default();
        let text = format!(
            "host={} pid={} slurm_job={}\n",
            host.trim(),
            std::process::id(),
            job
        );
        let _ = self.file.set_len(0);
        let _ = (&self.file).write_all(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let tmp = tempfile::tempdir().unwrap();
        let a = RunLock::try_acquire(tmp.path(), "run1").unwrap();
        assert!(a.is_some());
        // flock locks belong to the open file description: a second open conflicts even in
        // the same process, as another process would
        assert!(RunLock::try_acquire(tmp.path(), "run1").unwrap().is_none());
        assert!(RunLock::try_acquire(tmp.path(), "run2").unwrap().is_some());
        let text = std::fs::read_to_string(lock_path(tmp.path(), "run1")).unwrap();
        assert!(
            text.contains(&format!("pid={}", std::process::id())),
            "{text}"
        );
        drop(a);
        assert!(RunLock::try_acquire(tmp.path(), "run1").unwrap().is_some());
    }
}
