//! The public HTTP listeners' worker threads.
//!
//! Each worker is a thread with its own single-threaded tokio runtime and its own
//! listening socket per public address (SO_REUSEPORT: the kernel spreads new connections
//! over the workers). A single-threaded runtime runs its ready connections in turn, so a
//! saturated worker stays fair. tokio's work-stealing scheduler, which the tracker used to
//! serve on, keeps 256 tasks in a worker's local queue and sends the overflow to a global
//! queue it checks far less often: with 1 024 busy keep-alive connections on one core,
//! half the requests waited 4 ms and a tenth waited 86-176 ms (BENCHMARKS, "Fairness").
//! The admin API, UDP, the sweeper and the store's own tasks stay on the main runtime.

use std::net::TcpListener as StdListener;
use std::thread::JoinHandle;

use seedline_process::idle_io::keep_timers_ahead;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::server::{accept_loop, AcceptCtx};

/// The running workers. Dropped without [`Workers::finish`] (the serving future
/// dropped, as a runtime shutting down does), they stop accepting and end at once, as
/// tasks on that runtime would have.
pub(crate) struct Workers {
    threads: Vec<JoinHandle<()>>,
    /// One per worker: its accept loops have stopped.
    accepting: Vec<oneshot::Receiver<()>>,
    /// Stops the accept loops: the caller's shutdown, or these workers dropped.
    stop: CancellationToken,
    /// Lets the workers end (their connections drained, or the grace period over).
    done: CancellationToken,
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.cancel();
        self.done.cancel();
    }
}

/// How many workers `configured` means: 0 is one per CPU the process may run on.
pub(crate) fn count(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Starts one worker per listener in each group (`groups[address][worker]`), accepting
/// until `shutdown`.
pub(crate) fn start(
    groups: Vec<Vec<StdListener>>,
    ctx: &AcceptCtx,
    shutdown: &CancellationToken,
) -> Workers {
    let workers = groups.iter().map(Vec::len).max().unwrap_or(0);
    let mut per_worker: Vec<Vec<StdListener>> = (0..workers).map(|_| Vec::new()).collect();
    for group in groups {
        for (w, l) in group.into_iter().enumerate() {
            per_worker[w].push(l);
        }
    }
    let stop = shutdown.child_token();
    let done = CancellationToken::new();
    let mut threads = Vec::new();
    let mut accepting = Vec::new();
    for (i, listeners) in per_worker.into_iter().enumerate() {
        let (stopped, stopped_rx) = oneshot::channel();
        accepting.push(stopped_rx);
        let (ctx, stop, done) = (ctx.clone(), stop.clone(), done.clone());
        // Failing to start a thread or a runtime at start-up leaves nothing to serve
        // with: the same as the main runtime failing (`process::daemon`).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime for an HTTP worker");
        let thread = std::thread::Builder::new()
            .name(format!("tracker-http-{i}"))
            .spawn(move || {
                rt.block_on(serve(listeners, ctx, stop, done, stopped));
            })
            .expect("HTTP worker thread");
        threads.push(thread);
    }
    Workers {
        threads,
        accepting,
        stop,
        done,
    }
}

/// One worker: accept loops until `shutdown`, then its connections until `done`.
async fn serve(
    listeners: Vec<StdListener>,
    ctx: AcceptCtx,
    shutdown: CancellationToken,
    done: CancellationToken,
    stopped: oneshot::Sender<()>,
) {
    // Each runtime has its own timer driver to keep ahead of new connections' deadlines.
    let heartbeat = tokio::spawn(keep_timers_ahead(done.clone()));
    let mut loops = Vec::new();
    for l in listeners {
        match TcpListener::from_std(l) {
            Ok(l) => loops.push(tokio::spawn(accept_loop(l, ctx.clone(), shutdown.clone()))),
            Err(e) => tracing::error!(error = %e, "cannot serve a public listener"),
        }
    }
    for l in loops {
        let _ = l.await;
    }
    let _ = stopped.send(());
    done.cancelled().await;
    let _ = heartbeat.await;
}

impl Workers {
    /// Waits until every worker has stopped accepting (after `shutdown`).
    pub(crate) async fn stopped_accepting(&mut self) {
        for rx in self.accepting.drain(..) {
            let _ = rx.await;
        }
    }

    /// Ends the workers, dropping connections still open, and waits for their threads.
    pub(crate) async fn finish(mut self) {
        self.done.cancel();
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}
