//! A server run in-process on the test's runtime, stopped the way its daemon is: its
//! token is cancelled, and the test waits a bounded time for it to drain.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A spawned server task and the token that stops it. The fields are public for tests
/// of the shutdown itself.
pub struct Served<T> {
    pub token: CancellationToken,
    pub handle: JoinHandle<T>,
}

impl<T: Send + 'static> Served<T> {
    /// Spawns `serve(token)`.
    pub fn spawn<F>(serve: impl FnOnce(CancellationToken) -> F) -> Self
    where
        F: Future<Output = T> + Send + 'static,
    {
        let token = CancellationToken::new();
        let handle = tokio::spawn(serve(token.clone()));
        Self { token, handle }
    }

    /// Cancels the token and returns what the task returned, failing the test if it
    /// panicked or took longer than `limit`.
    pub async fn stop(self, limit: Duration) -> T {
        self.token.cancel();
        tokio::time::timeout(limit, self.handle)
            .await
            .expect("the server stops in time")
            .expect("the server task did not panic")
    }
}
