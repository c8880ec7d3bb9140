//! `loadtest tracker` against the real tracker: zero errors, and the tracker holds exactly
//! the population the generator's model says it should.

use std::time::Duration;

use seedline_loadtest::tracker::target::Target;
use seedline_loadtest::tracker::{Arrivals, Mode, Report};

use crate::util::{load, TestTracker};

fn assert_clean(r: &Report) {
    let p = r.preload.as_ref();
    assert_eq!(
        r.measured.errors_total + p.map_or(0, |p| p.errors_total),
        0,
        "errors: {:?} {:?}",
        r.measured.error_details,
        p.map(|p| &p.error_details)
    );
}

/// Preload, then a measured mix; the tracker's store must match the model exactly.
async fn run_mode(listen: &str, mode: Mode) {
    run_over(listen, mode, false).await;
}

/// [`run_mode`], over UDP (BEP 15) when `udp`.
async fn run_over(listen: &str, mode: Mode, udp: bool) {
    let t = TestTracker::start(listen).await;
    let mut cfg = t.config();
    if udp {
        cfg.target = Target::parse(&format!("udp://{}", t.udp), false).unwrap();
    }
    cfg.mode = mode;
    cfg.preload = true;
    cfg.scrape_ratio = 0.1;
    cfg.threads = 2;
    let r = load(cfg.clone()).await;
    assert_clean(&r);
    let preload = r.preload.as_ref().unwrap();
    assert_eq!(preload.announces, cfg.peers as u64);
    assert!(r.measured.announces > 100, "{:?}", r.measured);
    assert!(r.measured.scrapes > 0);
    assert!(r.measured.latency_us.p50 > 0.0);
    // Seedline never hands an announcer its own address.
    assert_eq!(r.measured.announcer_in_peers, 0);
    assert_eq!(preload.announcer_in_peers, 0);
    if mode == Mode::NewConnection {
        assert_eq!(r.measured.connects, r.measured.requests);
    } else {
        assert_eq!(r.measured.connects, r.connections as u64);
    }
    // Most peers are still active after a short run, so every torrent is held.
    assert_eq!(r.model.active_torrents, cfg.torrents);
    assert_eq!(t.tracker.store.torrent_count(), r.model.active_torrents);
    assert_eq!(
        t.peers(),
        (r.model.seeders as i64, r.model.leechers as i64),
        "tracker peers vs model"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_matches_the_model() {
    run_mode("127.0.0.1:0", Mode::KeepAlive).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connection_matches_the_model() {
    run_mode("127.0.0.1:0", Mode::NewConnection).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_target() {
    run_mode("[::1]:0", Mode::KeepAlive).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_matches_the_model() {
    run_over("127.0.0.1:0", Mode::KeepAlive, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_over_ipv6_matches_the_model() {
    run_over("[::1]:0", Mode::KeepAlive, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_budget_and_open_loop_rate() {
    let t = TestTracker::start("127.0.0.1:0").await;
    let mut cfg = t.config();
    cfg.requests = Some(500);
    cfg.duration = Duration::from_secs(20);
    let r = load(cfg.clone()).await;
    assert_clean(&r);
    assert_eq!(r.measured.requests, 500);
    assert!(r.measured.generator_cpu_us_per_request.is_some());

    cfg.requests = None;
    cfg.rate = Some(2_000.0);
    cfg.duration = Duration::from_secs(1);
    let r = load(cfg.clone()).await;
    assert_clean(&r);
    // Paced, not flat out: about one second's worth of the rate.
    let n = r.measured.requests as f64;
    assert!(
        (1_700.0..=2_100.0).contains(&n),
        "{n} requests at 2000/s for 1 s"
    );
    assert_eq!(r.arrivals, Some(Arrivals::Even));
    // The pacer spins while it waits: no generator CPU figure for a paced run.
    assert_eq!(r.measured.generator_cpu_us_per_request, None);

    // Poisson arrivals keep the same mean rate; the count varies by about 45 (its
    // standard deviation), so the bounds are wide.
    cfg.arrivals = Arrivals::Poisson;
    let r = load(cfg).await;
    assert_clean(&r);
    let n = r.measured.requests as f64;
    assert!(
        (1_600.0..=2_300.0).contains(&n),
        "{n} Poisson requests at 2000/s for 1 s"
    );
    assert!(r.human().contains("2000/s open loop, Poisson"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_counted_not_hidden() {
    let t = TestTracker::start("127.0.0.1:0").await;
    // The admin listener answers /announce with 404.
    let mut cfg = t.config();
    cfg.target = seedline_loadtest::tracker::target::Target::parse(
        &format!("http://{}/announce", t.admin),
        false,
    )
    .unwrap();
    cfg.requests = Some(50);
    let r = load(cfg.clone()).await;
    assert_eq!(r.measured.errors["http_status"], 50);
    assert_eq!(r.measured.error_details["http_status: 404"], 50);
    assert_eq!(r.measured.requests, 0);

    // Nothing listens on the port the tracker had once it has stopped.
    let mut cfg = t.config();
    cfg.requests = Some(20);
    cfg.connections = 2;
    t.stop().await;
    let r = load(cfg).await;
    assert_eq!(r.measured.errors["connect"], 20);
}
