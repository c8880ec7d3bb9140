//! Ctrl-C: the first one stops the run cleanly (the report still prints), a second one
//! exits at once.

use tokio_util::sync::CancellationToken;

/// Exit status of a second Ctrl-C, as shells report SIGINT.
const EXIT_INTERRUPTED: i32 = 130;

/// Watches for Ctrl-C on a thread of its own and cancels `token` on the first.
pub fn cancel_on_ctrl_c(token: CancellationToken) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            rt.block_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                eprintln!("loadtest: interrupted; stopping (Ctrl-C again to exit now)");
                token.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(EXIT_INTERRUPTED);
                }
            });
        })?;
    Ok(())
}
