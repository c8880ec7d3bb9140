//! Waiting for something a server does in the background (a count it updates after a
//! socket closes, a swarm it expires), without sleeping a fixed time and without
//! waiting forever.

use std::future::Future;
use std::time::Duration;

/// How long to sleep between two polls: short next to any limit a test uses.
const POLL: Duration = Duration::from_millis(50);

/// Polls `f` until it returns true (then true) or `limit` passes (then false), so the
/// test states what it waited for in its own assertion.
pub async fn eventually<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    false
}
