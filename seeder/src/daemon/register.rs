//! Registering torrents with a Seedline tracker's admin API, so an `allow`-mode tracker
//! tracks what this origin publishes before the first announce reaches it.

use std::time::Duration;

use hyper::body::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::Method;
use seedline_common::InfoHash;
use tokio_util::sync::CancellationToken;

use super::http;
use super::shared::Shared;
use super::torrent::Torrent;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const BACKOFF_MIN: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(10 * 60);
/// The tracker keeps names up to 256 bytes.
const MAX_NAME: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{0}")]
    Http(#[from] http::HttpError),
    #[error("tracker API did not answer within {0:?}")]
    Timeout(Duration),
    #[error("tracker API refused the token (HTTP 401); check tracker_api_token")]
    Unauthorized,
    #[error("tracker API answered HTTP {0}: {1}")]
    Status(u16, String),
}

/// `PUT {api}/api/torrents/{hash}` for swarm `swarm` of `t`, with the torrent's name
/// and, for a hybrid, the other swarm's hash as `linked` (one release, two swarms).
pub async fn register(
    api: &str,
    token: &str,
    t: &Torrent,
    swarm: InfoHash,
) -> Result<(), RegisterError> {
    let url = format!(
        "{}/api/torrents/{}",
        api.trim_end_matches('/'),
        swarm.to_hex()
    );
    let mut name = t.info.name.clone();
    if name.len() > MAX_NAME {
        let mut end = MAX_NAME;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let mut body = serde_json::json!({ "name": name });
    if let Some(other) = t.swarms().into_iter().find(|h| *h != swarm) {
        body["linked"] = other.to_hex().into();
    }
    let body = serde_json::to_vec(&body).expect("JSON");
    let auth = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| RegisterError::Unauthorized)?;
    let headers = [
        (AUTHORIZATION, auth),
        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
    ];
    let reply = tokio::time::timeout(
        REQUEST_TIMEOUT,
        http::request(Method::PUT, &url, &headers, Bytes::from(body), 64 * 1024),
    )
    .await
    .map_err(|_| RegisterError::Timeout(REQUEST_TIMEOUT))??;
    match reply.status.as_u16() {
        200 | 201 => Ok(()),
        401 => Err(RegisterError::Unauthorized),
        s => Err(RegisterError::Status(
            s,
            String::from_utf8_lossy(&reply.body[..reply.body.len().min(200)])
                .trim()
                .to_string(),
        )),
    }
}

/// Registers swarm `swarm` of `t` if a tracker API is configured, retrying with
/// back-off; false if `stop` fired first.
pub async fn until_registered(
    shared: &Shared,
    t: &Torrent,
    swarm: InfoHash,
    stop: &CancellationToken,
) -> bool {
    let Some(api) = &shared.cfg.tracker_api else {
        return true;
    };
    let token = match shared.cfg.tracker_api_token() {
        Ok(t) => t,
        Err(e) => {
            // Validated at start; the token file may have gone since.
            tracing::error!(error = %e, "cannot register torrents");
            shared
                .metrics
                .registrations
                .with_label_values(&["error"])
                .inc();
            return !stop.is_cancelled();
        }
    };
    let mut backoff = BACKOFF_MIN;
    loop {
        let outcome = register(api, &token, t, swarm).await;
        let label = match &outcome {
            Ok(()) => "ok",
            Err(RegisterError::Unauthorized | RegisterError::Status(..)) => "refused",
            Err(_) => "error",
        };
        shared
            .metrics
            .registrations
            .with_label_values(&[label])
            .inc();
        match outcome {
            Ok(()) => {
                tracing::info!(torrent = %t.source.display(), info_hash = %swarm, "registered with the tracker");
                return true;
            }
            Err(e) => {
                tracing::warn!(torrent = %t.source.display(), error = %e, retry_in = ?backoff, "tracker registration failed")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stop.cancelled() => return false,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
