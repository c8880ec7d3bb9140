//! The admin API's torrent routes when swarms live in a shared store: registrations and
//! denials are written to Redis (and published, so every instance applies them), counts
//! come from Redis. A change returns once this instance's follower applied it (the only
//! writer of its copy), so the reply, and its next announce, already see it.

use hyper::StatusCode;
use seedline_common::InfoHash;

use crate::access::Entry;
use crate::api::{denied_view, error, to_json, view_with, Reply};
use crate::redis_store::{Put, RedisStore};
use crate::store::StoreError;
use crate::swarm_store::SwarmStore;
use crate::tracker::Tracker;

fn unavailable(e: StoreError) -> Reply {
    error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

/// The torrent's view with its counts from the store.
async fn view(t: &Tracker, r: &RedisStore, ih: InfoHash) -> Result<(bool, Reply), Reply> {
    let stats = r.scrape(&[ih]).await.map_err(unavailable)?;
    let counted = stats.first().copied().flatten();
    let known = counted.is_some() || t.access.registration(&ih).is_some();
    let v = view_with(t, ih, counted.unwrap_or_default());
    Ok((known, (StatusCode::OK, to_json(&v))))
}

pub(crate) async fn get_torrent(t: &Tracker, r: &RedisStore, ih: InfoHash) -> Reply {
    match view(t, r, ih).await {
        Ok((true, reply)) => reply,
        Ok((false, _)) => error(
            StatusCode::NOT_FOUND,
            "torrent is neither registered nor tracked",
        ),
        Err(e) => e,
    }
}

pub(crate) async fn put(
    t: &Tracker,
    r: &RedisStore,
    denied: bool,
    ih: InfoHash,
    name: Option<String>,
    linked: Option<InfoHash>,
) -> Reply {
    let entry = Entry::now(name).linked_to(linked);
    let cap = t.config().max_torrents;
    let put = match r.lists.put(denied, &ih, &entry, cap).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let status = match put {
        Put::AtCap => {
            let list = if denied { "deny-list" } else { "registration" };
            return error(
                StatusCode::INSUFFICIENT_STORAGE,
                format!("{list} limit reached (max_torrents = {cap})"),
            );
        }
        Put::Added => StatusCode::CREATED,
        Put::Present => StatusCode::OK,
    };
    if denied {
        let e = t.access.denial(&ih).unwrap_or(entry);
        return (status, denied_view(ih, &e));
    }
    match view(t, r, ih).await {
        Ok((_, (_, v))) => (status, v),
        Err(e) => e,
    }
}

pub(crate) async fn delete(t: &Tracker, r: &RedisStore, denied: bool, ih: InfoHash) -> Reply {
    let before = if denied {
        t.access.denial(&ih)
    } else {
        t.access.registration(&ih)
    };
    match r.lists.remove(denied, &ih).await {
        Err(e) => unavailable(e),
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            if denied {
                "torrent is not denied"
            } else {
                "torrent is not registered"
            },
        ),
        Ok(true) => {
            if denied {
                let e = before.unwrap_or_else(|| Entry::now(None));
                return (StatusCode::OK, denied_view(ih, &e));
            }
            match view(t, r, ih).await {
                Ok((_, reply)) => reply,
                Err(e) => e,
            }
        }
    }
}
