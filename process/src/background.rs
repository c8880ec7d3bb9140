//! Work that walks everything (the tracker's expiry sweep) on a thread of its own under
//! the scheduler's idle policy.
//!
//! A tracker's sweep takes 20 ms of CPU at 1 M peers and about 200 ms at 10 M. On one
//! of tokio's blocking threads it runs at the request workers' priority, and where it
//! shares a core with one of them the scheduler hands it slices of a millisecond or more
//! while requests wait. Measured on a tracker pinned to one core at 20 000 announces/s,
//! 1 M peers, a sweep every 2 s (BENCHMARKS.md, "the p99 at a fixed rate"):
//! - a blocking thread: p99 median 1.70 ms over nine runs, against 0.49-0.60 ms with no
//!   sweep;
//! - nice 19: median 1.09 ms over nine. The scheduler still lets a running task finish
//!   its slice before a woken one runs, whatever its weight;
//! - `SCHED_IDLE`: median 0.62 ms over six, alternating with six of nice 19 (median
//!   1.0 ms). A woken normal thread preempts an idle-policy one at once.
//!
//! A request that needs the store shard a preempted walk holds waits for the rest of
//! the walk's hold (its worker blocks, the core frees, the walk resumes); the tracker's
//! sweep lets go of a shard every 64 torrents to keep that short (`shard_map.rs`).
//!
//! An idle-policy thread still gets a small share (a weight of 3 against 1 024) of a
//! saturated core, so a walk finishes late instead of never; its CPU time
//! ([`Ran::cpu`]) is what says how big the work was. Where the policy is refused (a
//! seccomp filter; the shipped systemd unit allows it) the thread falls back to nice 19.
//! The idle policy also puts the thread's disk I/O in the idle class, so work that must
//! finish on time (the state save at shutdown) does not run here.
//!
//! A thread per job: the jobs come once a minute or so, and a new thread costs tens of
//! microseconds, against a pool thread whose policy could never be set back (that needs
//! privileges) for the short jobs that share the pool.

use std::io;
use std::time::{Duration, Instant};

use rustix::time::{clock_gettime, ClockId};

/// The nice value of a background thread when the idle policy is refused.
pub const NICE: i32 = 19;

/// A finished job: its result and what it took.
#[derive(Debug)]
pub struct Ran<T> {
    pub value: T,
    /// The thread's CPU time: the work itself, however long it waited for the CPU.
    pub cpu: Duration,
    /// From the start of the job to its end, waits included.
    pub wall: Duration,
}

/// Runs `job` on a new thread named `name` under the idle policy and returns its result.
/// Dropping the future leaves the job running to its end. An error means the thread
/// could not start or the job panicked.
pub async fn run<T, F>(name: &str, job: F) -> io::Result<Ran<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_this_thread();
            let (cpu, wall) = (thread_cpu(), Instant::now());
            let value = job();
            let _ = done.send(Ran {
                value,
                cpu: thread_cpu().saturating_sub(cpu),
                wall: wall.elapsed(),
            });
        })?;
    result
        .await
        .map_err(|_| io::Error::other("the background job panicked"))
}

fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec.max(0) as u64, t.tv_nsec as u32)
}

/// On Linux the policy and the nice value belong to the thread, not the process: this
/// lowers only the caller. Neither needs a privilege when it lowers.
fn lower_this_thread() {
    let Err(idle) = set_idle_policy() else {
        return;
    };
    let me = rustix::thread::gettid();
    if let Err(nice) = rustix::process::setpriority_process(Some(me), NICE) {
        tracing::debug!(%idle, %nice, "cannot lower a background thread's priority");
    }
}

/// `sched_setscheduler(0, SCHED_IDLE)` for the calling thread. Neither std nor rustix
/// wraps it; the gain is measured above.
#[allow(unsafe_code)]
fn set_idle_policy() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid, initialised `sched_param` that outlives the call, which
    // only reads it; pid 0 is the calling thread, so no other thread's state is touched.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    (r == 0).then_some(()).ok_or_else(io::Error::last_os_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calling thread's scheduling policy (field 41 of its stat line in /proc).
    fn my_policy() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name may hold spaces; the fields after its ')' are fixed.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(41 - 3).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn runs_the_job_under_the_idle_policy_and_leaves_the_caller_alone() {
        let before = my_policy();
        let ran = run("seedline-test-bg", || {
            // Some work, so the thread's CPU time is not zero.
            let mut x = 1u64;
            for i in 0..2_000_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            (my_policy(), std::thread::current().name().map(String::from))
        })
        .await
        .unwrap();
        let (policy, name) = ran.value;
        assert!(ran.cpu > Duration::ZERO && ran.cpu <= ran.wall + Duration::from_millis(1));
        assert_eq!(policy, libc::SCHED_IDLE);
        assert_eq!(name.as_deref(), Some("seedline-test-bg"));
        assert_eq!(my_policy(), before, "the caller's policy must not change");
        assert_eq!(before, libc::SCHED_OTHER);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error() {
        let r = run("seedline-test-bg", || -> u32 { panic!("on purpose") }).await;
        assert!(r.is_err());
    }
}
