//! Turns SIGINT/SIGTERM into a cancellation (a second signal exits at once), and the
//! ticks of periodic work that such a cancellation stops.

use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Ticks for periodic work (a sweep, a save): the first a whole `period` from now, and
/// a late tick delays the next rather than bursting to catch up.
pub fn every(period: Duration) -> Interval {
    let mut tick = tokio::time::interval_at(Instant::now() + period, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

/// Exit status after a second signal, as shells report SIGINT.
const EXIT_INTERRUPTED: i32 = 130;

/// Where the process is in its shutdown, for the caller's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The first signal: the token is cancelled, the work winds down.
    Stopping,
    /// The second: the process exits now.
    Exiting,
}

/// Cancels `token` on the first SIGINT or SIGTERM; exits the process on the second.
/// SIGHUP, which operators send to reload, must not kill the process (its default); the
/// access-list reloader listens for it too. `service` names the process in the log
/// lines (`tracker`, `seeder`): they come from this module whoever calls it.
pub fn cancel_on_signals(token: CancellationToken, service: &'static str) {
    tokio::spawn(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup()).expect("install SIGHUP handler");
        while hup.recv().await.is_some() {
            tracing::debug!("SIGHUP received");
        }
    });
    tokio::spawn(two_signals(token, move |stage, signal| match stage {
        Stage::Stopping => tracing::info!(
            signal,
            service,
            "shutting down; send the signal again to exit at once"
        ),
        Stage::Exiting => tracing::warn!(signal, service, "second signal, exiting now"),
    }));
}

/// [`cancel_on_signals`] for a program that is not one runtime (the load generator
/// runs one per thread): the signals are watched on a thread of their own, and `report`
/// says what happens (on stderr, say; such a program may have no logging).
pub fn cancel_on_signals_in_thread(
    token: CancellationToken,
    report: impl Fn(Stage, &'static str) + Send + 'static,
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || rt.block_on(two_signals(token, report)))?;
    Ok(())
}

async fn two_signals(token: CancellationToken, report: impl Fn(Stage, &'static str)) {
    let name = wait_for_signal().await;
    report(Stage::Stopping, name);
    token.cancel();
    let name = wait_for_signal().await;
    report(Stage::Exiting, name);
    std::process::exit(EXIT_INTERRUPTED);
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
