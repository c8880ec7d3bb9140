//! The admin API on the admin listener: register, unregister, deny and inspect torrents.
//!
//! Every route needs `Authorization: Bearer <admin token>`; without a configured token
//! the API does not exist (404). JSON in and out; errors are `{"error": "..."}`.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Body as HttpBody;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use seedline_common::{InfoHash, ScrapeStats};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::{Entry, Mode};
use crate::api_shared;
use crate::http::Body;
use crate::tracker::Tracker;

/// Largest request body: a name and some JSON punctuation.
const MAX_BODY: usize = 16 * 1024;
/// Longest torrent name kept.
const MAX_NAME: usize = 256;
const PAGE_DEFAULT: usize = 100;
const PAGE_MAX: usize = 1000;

pub(crate) type Reply = (StatusCode, serde_json::Value);

pub(crate) fn error(status: StatusCode, msg: impl Into<String>) -> Reply {
    (status, json!({ "error": msg.into() }))
}

/// Serves one `/api/...` request.
pub async fn handle<B>(t: &Tracker, req: Request<B>) -> Response<Body>
where
    B: HttpBody,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (status, value) = match t.admin_token() {
        None => error(
            StatusCode::NOT_FOUND,
            "the admin API is off; set admin_token to enable it",
        ),
        Some(token) if !authorized(&req, token) => {
            error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")
        }
        Some(_) => route(t, req).await,
    };
    t.metrics
        .ops
        .api_requests
        .with_label_values(&[status.as_str()])
        .inc();
    let mut body = serde_json::to_vec(&value).expect("JSON values serialize");
    body.push(b'\n');
    let mut r = Response::new(Body::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"seedline-tracker\""),
        );
    }
    r
}

fn authorized<B>(req: &Request<B>, token: &str) -> bool {
    let Some(got) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    constant_time_eq(got, token.as_bytes())
}

/// Compares without stopping at the first difference, so response time does not reveal
/// how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn route<B>(t: &Tracker, req: Request<B>) -> Reply
where
    B: HttpBody,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = req.uri().path().to_string();
    let segs: Vec<&str> = path
        .trim_start_matches("/api")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let method = req.method().clone();
    match (segs.as_slice(), &method) {
        (["stats"], &Method::GET) => (StatusCode::OK, stats(t)),
        (["torrents"], &Method::GET) if t.shared.is_some() => error(
            StatusCode::NOT_IMPLEMENTED,
            "a shared store keeps no list of torrents; ask for one: GET /api/torrents/{hash}",
        ),
        (["torrents"], &Method::GET) => list(t, req.uri().query().unwrap_or("")),
        ([kind @ ("torrents" | "denied"), hex], _) => {
            let Ok(ih) = hex.parse::<InfoHash>() else {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("{hex:?} is not a 40-hex-digit info hash"),
                );
            };
            let denied = *kind == "denied";
            // With a shared store the lists and counts live there (`api_shared.rs`).
            let shared = t.shared.as_ref();
            match method {
                Method::GET if denied => get_denied(t, ih),
                Method::GET => match shared {
                    Some(r) => api_shared::get_torrent(t, r, ih).await,
                    None => get_torrent(t, ih),
                },
                Method::PUT => match (read_put(req, ih, denied).await, shared) {
                    (Ok(b), Some(r)) => api_shared::put(t, r, denied, ih, b.name, b.linked).await,
                    (Ok(b), None) if denied => put_denied(t, ih, b.name),
                    (Ok(b), None) => put_torrent(t, ih, b.name, b.linked),
                    (Err(e), _) => e,
                },
                Method::DELETE => match shared {
                    Some(r) => api_shared::delete(t, r, denied, ih).await,
                    None if denied => delete_denied(t, ih),
                    None => delete_torrent(t, ih),
                },
                _ => error(StatusCode::METHOD_NOT_ALLOWED, "use GET, PUT or DELETE"),
            }
        }
        (["stats"] | ["torrents"], _) => error(StatusCode::METHOD_NOT_ALLOWED, "use GET"),
        _ => error(StatusCode::NOT_FOUND, format!("no API route {path}")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    name: Option<String>,
    /// Another swarm of the same release (a hybrid's other info hash), hex.
    linked: Option<String>,
}

/// What a PUT may carry.
#[derive(Debug, Default)]
struct Put {
    name: Option<String>,
    linked: Option<InfoHash>,
}

/// Reads the optional `{"name": ..., "linked": ...}` body of a PUT for `ih`.
async fn read_put<B>(req: Request<B>, ih: InfoHash, denied: bool) -> Result<Put, Reply>
where
    B: HttpBody,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body unreadable or over {MAX_BODY} bytes: {e}"),
            )
        })?
        .to_bytes();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Put::default());
    }
    let body: PutBody = serde_json::from_slice(&bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("body must be JSON like {{\"name\": \"release.iso\"}}: {e}"),
        )
    })?;
    let name = match body.name {
        Some(n) if n.len() > MAX_NAME || n.chars().any(char::is_control) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("name must be at most {MAX_NAME} bytes without control characters"),
            ))
        }
        n => n,
    };
    let linked = match body.linked {
        None => None,
        Some(_) if denied => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "linked applies to registrations, not denials",
            ))
        }
        Some(hex) => match hex.parse::<InfoHash>() {
            Ok(l) if l != ih => Some(l),
            Ok(_) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "a torrent cannot be linked to itself",
                ))
            }
            Err(_) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "linked must be a 40-hex-digit info hash",
                ))
            }
        },
    };
    Ok(Put { name, linked })
}

#[derive(Serialize)]
pub(crate) struct TorrentView {
    info_hash: String,
    registered: bool,
    /// Whether announces for it are served now (mode and lists).
    tracked: bool,
    name: Option<String>,
    added: Option<u64>,
    /// The other swarm of the same release (a hybrid torrent's other info hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    linked: Option<String>,
    seeders: u32,
    leechers: u32,
    downloaded: u32,
}

fn view(t: &Tracker, ih: InfoHash) -> TorrentView {
    view_with(t, ih, t.store.stats(&ih).unwrap_or_default())
}

/// A torrent's entry and tracking state with the counts `s`.
pub(crate) fn view_with(t: &Tracker, ih: InfoHash, s: ScrapeStats) -> TorrentView {
    let reg = t.access.registration(&ih);
    TorrentView {
        info_hash: ih.to_hex(),
        registered: reg.is_some(),
        tracked: t.access.check(&ih).is_ok(),
        name: reg.as_ref().and_then(|e| e.name.clone()),
        linked: reg.as_ref().and_then(|e| e.linked).map(|l| l.to_hex()),
        added: reg.map(|e| e.added),
        seeders: s.complete,
        leechers: s.incomplete,
        downloaded: s.downloaded,
    }
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("views serialize")
}

fn get_torrent(t: &Tracker, ih: InfoHash) -> Reply {
    if t.access.registration(&ih).is_none() && t.store.stats(&ih).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            "torrent is neither registered nor tracked",
        );
    }
    (StatusCode::OK, to_json(&view(t, ih)))
}

fn put_torrent(t: &Tracker, ih: InfoHash, name: Option<String>, linked: Option<InfoHash>) -> Reply {
    match t.register_torrent(ih, name, linked) {
        Ok(true) => (StatusCode::CREATED, to_json(&view(t, ih))),
        Ok(false) => (StatusCode::OK, to_json(&view(t, ih))),
        Err(e) => error(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
    }
}

fn delete_torrent(t: &Tracker, ih: InfoHash) -> Reply {
    if !t.unregister_torrent(&ih) {
        return error(StatusCode::NOT_FOUND, "torrent is not registered");
    }
    (StatusCode::OK, to_json(&view(t, ih)))
}

pub(crate) fn denied_view(ih: InfoHash, e: &Entry) -> serde_json::Value {
    json!({ "info_hash": ih.to_hex(), "name": e.name, "added": e.added })
}

fn get_denied(t: &Tracker, ih: InfoHash) -> Reply {
    match t.access.denial(&ih) {
        Some(e) => (StatusCode::OK, denied_view(ih, &e)),
        None => error(StatusCode::NOT_FOUND, "torrent is not denied"),
    }
}

fn put_denied(t: &Tracker, ih: InfoHash, name: Option<String>) -> Reply {
    let cap = t.config().max_torrents;
    if t.access.denial(&ih).is_none() && t.access.denied_len() >= cap {
        return error(
            StatusCode::INSUFFICIENT_STORAGE,
            format!("deny-list limit reached (max_torrents = {cap})"),
        );
    }
    let new = t.access.deny(ih, name);
    if t.access.check(&ih).is_err() {
        t.store.drop_swarm(&ih);
    }
    t.registrations_changed();
    let e = t.access.denial(&ih).expect("just inserted");
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, denied_view(ih, &e))
}

fn delete_denied(t: &Tracker, ih: InfoHash) -> Reply {
    match t.access.undeny(&ih) {
        Some(e) => {
            t.registrations_changed();
            (StatusCode::OK, denied_view(ih, &e))
        }
        None => error(StatusCode::NOT_FOUND, "torrent is not denied"),
    }
}

/// After a change to the lists: gauges now, the state file soon.
fn list(t: &Tracker, query: &str) -> Reply {
    let mut after = None;
    let mut limit = PAGE_DEFAULT;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "after" => match v.parse::<InfoHash>() {
                Ok(ih) => after = Some(ih),
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "after must be a 40-hex-digit info hash",
                    )
                }
            },
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=PAGE_MAX).contains(&n) => limit = n,
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("limit must be between 1 and {PAGE_MAX}"),
                    )
                }
            },
            _ => {}
        }
    }
    let page = t.store.page(after, limit);
    let next = (page.len() == limit).then(|| page.last().map(|(ih, _)| ih.to_hex()));
    let torrents: Vec<_> = page
        .into_iter()
        .map(|(ih, s)| {
            json!({
                "info_hash": ih.to_hex(),
                "registered": t.access.registration(&ih).is_some(),
                "seeders": s.complete,
                "leechers": s.incomplete,
                "downloaded": s.downloaded,
            })
        })
        .collect();
    (
        StatusCode::OK,
        json!({ "torrents": torrents, "next": next.flatten() }),
    )
}

fn stats(t: &Tracker) -> serde_json::Value {
    let g = &t.metrics.store;
    let mode = match t.access.mode() {
        Mode::Open => "open",
        Mode::Allow => "allow",
        Mode::Deny => "deny",
    };
    // A shared store keeps no index of swarms, so it has no totals to give (each
    // torrent's counts are at /api/torrents/{hash}); this process's empty store would
    // read as an empty tracker.
    let memory = t.shared.is_none();
    let total = |n: i64| memory.then_some(n);
    json!({
        "mode": mode,
        "store": if memory { "memory" } else { "redis" },
        "torrents": memory.then(|| t.store.torrent_count()),
        "seeders": total(g.seeders[0].get() + g.seeders[1].get()),
        "leechers": total(g.leechers[0].get() + g.leechers[1].get()),
        "peers_ipv4": total(g.seeders[0].get() + g.leechers[0].get()),
        "peers_ipv6": total(g.seeders[1].get() + g.leechers[1].get()),
        "registered": t.access.registered_len(),
        // A hybrid torrent's two swarms are two registrations but one release.
        "registered_releases": t.access.registered_releases(),
        "denied": t.access.denied_len(),
        "access_list_file_entries": t.access.file_len(),
        "downloads_completed_since_start": t.metrics.completed.get(),
        "uptime_seconds": t.now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnop"));
        assert!(!constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnoq"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
