//! Turns SIGINT/SIGTERM into a cancellation; a second signal exits at once.

use tokio_util::sync::CancellationToken;

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
    tokio::spawn(async move {
        let name = wait_for_signal().await;
        tracing::info!(
            signal = name,
            service,
            "shutting down; send the signal again to exit at once"
        );
        token.cancel();
        let name = wait_for_signal().await;
        tracing::warn!(signal = name, service, "second signal, exiting now");
        std::process::exit(130);
    });
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
