//! Runs one phase on `threads` OS threads, each with its own single-threaded runtime.
//!
//! A current-thread runtime per core has no work stealing and no cross-thread wakeups, so
//! the generator's cost per request stays low and predictable; workers are dealt to
//! threads round robin and each thread's workers share one [`Stats`] without locks.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::LocalSet;
use tokio::time::Instant;

use super::stats::Stats;
use super::worker::{Plan, Worker};

/// Extra time past the deadline for in-flight requests before workers are dropped.
const GRACE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Preload,
    Measure,
}

pub struct PhaseOutcome {
    /// The workers, in id order, with their peers' updated states.
    pub workers: Vec<Worker>,
    pub stats: Stats,
    /// From `plan.start` until the last worker finished.
    pub elapsed: Duration,
}

/// Runs `phase` with every worker; returns when all have finished (deadline, budget,
/// cancellation, or, for the preload, every peer announced).
pub fn run(
    workers: Vec<Worker>,
    threads: usize,
    plan: Arc<Plan>,
    phase: Phase,
) -> io::Result<PhaseOutcome> {
    let threads = threads.clamp(1, workers.len().max(1));
    let mut groups: Vec<Vec<Worker>> = (0..threads).map(|_| Vec::new()).collect();
    for w in workers {
        let t = w.id % threads;
        groups[t].push(w);
    }
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .into_iter()
            .enumerate()
            .map(|(i, group)| {
                let plan = plan.clone();
                std::thread::Builder::new()
                    .name(format!("loadgen-{i}"))
                    .spawn_scoped(scope, move || run_thread(group, &plan, phase))
            })
            .collect::<io::Result<Vec<_>>>()?;
        handles
            .into_iter()
            .map(|h| h.join().expect("a load thread panicked"))
            .collect::<io::Result<Vec<_>>>()
    })?;
    let mut workers = Vec::new();
    let mut stats = Stats::default();
    let mut end = plan.start;
    for (ws, s, finished) in results {
        workers.extend(ws);
        stats.merge(&s);
        end = end.max(finished);
    }
    workers.sort_by_key(|w| w.id);
    Ok(PhaseOutcome {
        workers,
        stats,
        elapsed: end.saturating_duration_since(plan.start),
    })
}

fn run_thread(
    group: Vec<Worker>,
    plan: &Arc<Plan>,
    phase: Phase,
) -> io::Result<(Vec<Worker>, Stats, Instant)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    let stats = Rc::new(RefCell::new(Stats::default()));
    let hard_stop = plan.deadline + plan.timeout + GRACE;
    let workers = local.block_on(&rt, async {
        tokio::time::sleep_until(plan.start).await;
        let tasks: Vec<_> = group
            .into_iter()
            .map(|mut w| {
                let plan = plan.clone();
                let stats = stats.clone();
                tokio::task::spawn_local(async move {
                    tokio::select! {
                        () = drive(&mut w, &plan, &stats, phase) => {}
                        () = tokio::time::sleep_until(hard_stop) => {}
                        () = plan.cancel.cancelled() => {}
                    }
                    w.close(&mut stats.borrow_mut());
                    w
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.expect("a worker task panicked"));
        }
        out
    });
    let finished = Instant::now();
    let stats = Rc::try_unwrap(stats)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| rc.borrow().clone());
    Ok((workers, stats, finished))
}

async fn drive(w: &mut Worker, plan: &Plan, stats: &RefCell<Stats>, phase: Phase) {
    match phase {
        Phase::Preload => w.preload(plan, stats).await,
        Phase::Measure => w.measure(plan, stats).await,
    }
}
