//! Work that walks everything (an expiry sweep, a state save), on a thread of its own
//! under the scheduler's idle policy.
//!
//! A tracker's sweep takes 20 ms of CPU at 1 M peers and about 200 ms at 10 M. On one
//! of tokio's blocking threads it runs at the request workers' priority, and where it
//! shares a core with one of them the scheduler hands it slices of a millisecond or more
//! while requests wait. Measured on a tracker pinned to one core at 20 000 announces/s,
//! 1 M peers, a sweep every 2 s, p99 over nine runs each (BENCHMARKS.md, issue 21):
//! - a blocking thread: median 1.70 ms (1.17 to 5.57), against 0.49-0.60 ms with no
//!   sweep;
//! - nice 19: median 1.09 ms. The scheduler still lets a running task finish its slice
//!   before a woken one runs, whatever its weight;
//! - `SCHED_IDLE`: median 0.62 ms, the same as no sweep. A woken normal thread always
//!   preempts an idle-policy one at once.
//!
//! An idle-policy thread still gets a small share (a weight of 3 against 1 024) of a
//! saturated core, so a walk finishes late instead of never. Where the policy is refused
//! (a seccomp filter; the shipped systemd unit allows it) the thread falls back to nice 19.
//!
//! A thread per job: the jobs come once a minute or so, and a new thread costs tens of
//! microseconds, against a pool thread whose policy could never be set back (that needs
//! privileges) for the short jobs that share the pool.

use std::io;

/// The nice value of a background thread when the idle policy is refused.
pub const NICE: i32 = 19;

/// Runs `job` on a new thread named `name` under the idle policy and returns its result.
/// Dropping the future leaves the job running to its end. An error means the thread
/// could not start or the job panicked.
pub async fn run<T, F>(name: &str, job: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_this_thread();
            let _ = done.send(job());
        })?;
    result
        .await
        .map_err(|_| io::Error::other("the background job panicked"))
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
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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
        let (policy, name) = run("seedline-test-bg", || {
            (my_policy(), std::thread::current().name().map(String::from))
        })
        .await
        .unwrap();
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
