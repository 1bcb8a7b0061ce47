//! CPU time: what a process (all its threads) or its waited-for children spent on CPUs, user +
//! system. Measured beside wall time around every latency and energy window, so that an engine
//! that keeps two threads busy is charged for both.

use std::time::Duration;

fn timespec(ts: &libc::timespec) -> Duration {
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

fn timeval(tv: &libc::timeval) -> Duration {
    Duration::new(
        tv.tv_sec.max(0) as u64,
        (tv.tv_usec.clamp(0, 999_999) as u32) * 1000,
    )
}

/// This process's CPU time, every thread, user + system (`CLOCK_PROCESS_CPUTIME_ID`, nanosecond
/// resolution). Zero if the clock cannot be read (never on Linux).
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc == 0 {
        timespec(&ts)
    } else {
        Duration::ZERO
    }
}

/// CPU time (user + system) of a resource-usage record, e.g. from `wait4`.
pub fn rusage_cpu_time(ru: &libc::rusage) -> Duration {
    timeval(&ru.ru_utime) + timeval(&ru.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_threads_are_all_charged() {
        // Two threads spinning on a fixed amount of work each: the process CPU time grows by at
        // least the CPU time both threads report for themselves.
        fn thread_cpu() -> Duration {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            timespec(&ts)
        }
        let spin = || {
            let t0 = thread_cpu();
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
            std::hint::black_box(x);
            thread_cpu() - t0
        };
        let before = process_cpu_time();
        let (a, b) = std::thread::scope(|s| {
            let h = s.spawn(spin);
            let b = spin();
            (h.join().unwrap(), b)
        });
        let spent = process_cpu_time() - before;
        assert!(a > Duration::ZERO && b > Duration::ZERO);
        assert!(spent >= a + b, "process {spent:?} < threads {a:?} + {b:?}");
    }
}
