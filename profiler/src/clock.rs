//! The time source of every measurement: monotonic, injectable for tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock. `now` is the time since an arbitrary fixed origin; `sleep` waits;
/// `cpu_time` is the CPU time this process has used (all threads, user + system). The profiler
/// only ever takes differences of `now` and of `cpu_time`.
pub trait Clock {
    fn now(&self) -> Duration;
    fn sleep(&self, d: Duration);
    fn cpu_time(&self) -> Duration;
}

/// `std::time::Instant` (CLOCK_MONOTONIC on Linux) and `std::thread::sleep`.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
    fn cpu_time(&self) -> Duration {
        crate::cpu_time::process_cpu_time()
    }
}

/// A clock that is safe to share between threads and moves only when `advance` (or `sleep`) is
/// called: for tests of meters and harnesses that must not depend on real time. Its CPU time
/// moves only with `advance_cpu` (`sleep` spends none).
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
    cpu_nanos: AtomicU64,
}

impl ManualClock {
    pub fn advance(&self, d: Duration) {
        self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
    /// Charges `d` of CPU time (e.g. two busy threads for 1 s: 2 s).
    pub fn advance_cpu(&self, d: Duration) {
        self.cpu_nanos
            .fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
    fn sleep(&self, d: Duration) {
        self.advance(d)
    }
    fn cpu_time(&self) -> Duration {
        Duration::from_nanos(self.cpu_nanos.load(Ordering::SeqCst))
    }
}
