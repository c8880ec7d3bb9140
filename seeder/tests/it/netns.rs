//! Real clients (Transmission, rTorrent, qBittorrent) download a single-file and a
//! multi-file torrent from our seeder, found through the embedded tracker over HTTP or UDP
//! (BEP 15) as each test chooses, byte-exact. Transmission refuses peers on 127.0.0.0/8, so
//! the seeder and the clients run in a private network namespace (`unshare -rn`, see
//! `clients_netns.sh`) on addresses of their own outside 127.0.0.0/8. DHT, PEX and local
//! discovery are off: the tracker is the only way a client finds the seeder.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::{assert_same_tree, make_torrent, tool, write_tree};

const TIMEOUT: Duration = Duration::from_secs(120);

/// The tracker URL scheme each torrent names.
pub enum Over {
    Http,
    Udp,
}

impl Over {
    fn announce(&self) -> &'static str {
        match self {
            Over::Http => "http://10.200.0.1:6969/announce",
            Over::Udp => "udp://10.200.0.1:6969/announce",
        }
    }
}

/// How the client is set up.
#[derive(PartialEq)]
enum Setup {
    /// Its encryption default, TCP only.
    Tcp,
    /// Encryption (MSE/PE, RC4) required, TCP only.
    Encrypted,
    /// Its defaults, uTP (BEP 29) included.
    Defaults,
    /// Its defaults, with nobody seeding over BitTorrent: the torrents' `url-list` names
    /// the seeder's webseed listener, the only source.
    Webseed,
    /// TCP only, with hybrid torrents (BEP 52 + 47); rTorrent, which refuses a multi-file
    /// torrent whose pad files repeat a path, gets only the single file as a hybrid.
    /// `v2` says whether the client joins the v2 swarm, or comes through the v1 swarm.
    Hybrid { v2: bool },
}

/// `client` (as `clients_netns.sh` names it) downloads both torrents, the single file
/// announced `single` and the multi-file one `multi`, over TCP.
pub fn single_and_multi_file(client: &str, single: Over, multi: Over) {
    run_clients(client, single, multi, Setup::Tcp);
}

/// [`single_and_multi_file`] with the client set to require encryption (MSE/PE, RC4):
/// the seeder must have served both over RC4, and nothing in plain text.
pub fn single_and_multi_file_encrypted(client: &str, single: Over, multi: Over) {
    run_clients(client, single, multi, Setup::Encrypted);
}

/// [`single_and_multi_file`] with the client on its defaults (uTP on): the seeder must
/// have served both over uTP, and nothing over TCP.
pub fn single_and_multi_file_defaults(client: &str, single: Over, multi: Over) {
    run_clients(client, single, multi, Setup::Defaults);
}

/// [`single_and_multi_file`] with the client on its defaults and no BitTorrent seed at
/// all: the tracker runs, and the seeder serves both torrents only over HTTP, as the
/// webseed their `url-list` names (BEP 19).
pub fn single_and_multi_file_from_webseed(client: &str, single: Over, multi: Over) {
    run_clients(client, single, multi, Setup::Webseed);
}

/// [`single_and_multi_file`] with both torrents made hybrid (the multi-file one stays v1
/// for rTorrent, see [`Setup::Hybrid`]): the client must have come through the v2 swarm
/// if `v2`, or only through the v1 swarm otherwise.
pub fn single_and_multi_file_hybrid(client: &str, single: Over, multi: Over, v2: bool) {
    run_clients(client, single, multi, Setup::Hybrid { v2 });
}

/// The webseed listener `clients_netns.sh` starts with `WEBSEED=1`.
const WEBSEED_URL: &str = "http://10.200.0.1:8080/";

fn run_clients(client: &str, single: Over, multi: Over, setup: Setup) {
    tool("ip", "iproute2");
    tool("unshare", "util-linux");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tree(&d.join("one"), &[("single.bin", 700_001)]);
    write_tree(
        &d.join("many"),
        &[
            ("album/a.bin", 200_000),
            ("album/sub/b.bin", 65_537),
            ("album/c.txt", 12),
        ],
    );
    for (name, parent, over) in [("single.bin", "one", &single), ("album", "many", &multi)] {
        let content = d.join(parent).join(name);
        let output = format!("{name}.torrent");
        let mut args = vec![
            content.to_str().unwrap(),
            "-l",
            "32K",
            "-a",
            over.announce(),
            "-o",
            &output,
        ];
        if setup == Setup::Webseed {
            args.extend(["-w", WEBSEED_URL]);
        }
        if matches!(setup, Setup::Hybrid { .. }) && (client != "rtorrent" || name != "album") {
            args.push("--hybrid");
        }
        make_torrent(d, &args).ok();
    }
    let work = d.join("work");
    std::fs::create_dir(&work).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/clients_netns.sh");
    let out = Command::new("timeout")
        .arg((TIMEOUT.as_secs() + 30).to_string())
        .args(["unshare", "-rn", "bash"])
        .arg(&script)
        .arg(&work)
        .arg(env!("CARGO_BIN_EXE_seeder"))
        .arg(TIMEOUT.as_secs().to_string())
        .arg(client)
        .arg(d.join("single.bin.torrent"))
        .arg(d.join("one"))
        .arg(client)
        .arg(d.join("album.torrent"))
        .arg(d.join("many"))
        .env(
            "CLIENT_ENCRYPTION",
            if setup == Setup::Encrypted {
                "require"
            } else {
                "default"
            },
        )
        .env("WEBSEED", if setup == Setup::Webseed { "1" } else { "0" })
        .env(
            "CLIENT_UTP",
            if matches!(setup, Setup::Defaults | Setup::Webseed) {
                "default"
            } else {
                "off"
            },
        )
        .output()
        .expect("unshare runs");
    let logs = || {
        let names = ["seeder.log", "client1.log", "client2.log"];
        let more = ["rtorrent1.log", "rtorrent2.log", "tracker.log"];
        names
            .iter()
            .chain(more.iter().filter(|f| work.join(f).exists()))
            .map(|f| {
                // Lossy: rTorrent's log is not always UTF-8.
                let bytes = std::fs::read(work.join(f)).unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes);
                let start = text.len().saturating_sub(3000);
                let start = (start..text.len())
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(text.len());
                format!("---- {f} ----\n{}", &text[start..])
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        out.status.success(),
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        logs()
    );
    assert_same_tree(&d.join("one"), &work.join("out1"));
    assert_same_tree(&d.join("many"), &work.join("out2"));
    // The torrent announced over UDP could only have found the seeder that way; the
    // tracker's count says so too.
    let metrics = std::fs::read_to_string(work.join("tracker.metrics")).unwrap_or_default();
    let udp_ok = metrics
        .lines()
        .find(|l| {
            l.starts_with("seedline_tracker_requests_total{")
                && l.contains(r#"endpoint="announce""#)
                && l.contains(r#"outcome="ok""#)
                && l.contains(r#"protocol="udp""#)
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    assert!(
        udp_ok.is_some_and(|n| n >= 1.0),
        "no UDP announce was answered:\n{metrics}\n{}",
        logs()
    );
    let m = std::fs::read_to_string(work.join("seeder.metrics")).unwrap_or_default();
    let count = |key: &str| {
        m.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let method = |m: &str| {
        count(&format!(
            "seedline_seeder_connections_encryption_total{{method=\"{m}\"}}"
        ))
    };
    let transport = |t: &str| {
        count(&format!(
            "seedline_seeder_connections_transport_total{{transport=\"{t}\"}}"
        ))
    };
    match setup {
        Setup::Encrypted => {
            assert!(method("rc4") >= 2.0, "both over RC4:\n{m}\n{}", logs());
            assert_eq!(method("none"), 0.0, "nothing in plain text:\n{m}");
        }
        Setup::Defaults => {
            assert!(transport("utp") >= 2.0, "both over uTP:\n{m}\n{}", logs());
            assert_eq!(transport("tcp"), 0.0, "nothing over TCP:\n{m}");
        }
        Setup::Tcp => assert!(transport("tcp") >= 2.0, "both over TCP:\n{m}"),
        Setup::Hybrid { v2 } => {
            let swarm = |s: &str| {
                count(&format!(
                    "seedline_seeder_connections_swarm_total{{swarm=\"{s}\"}}"
                ))
            };
            if v2 {
                assert!(swarm("v2") >= 2.0, "both in the v2 swarm:\n{m}\n{}", logs());
            } else {
                assert!(swarm("v1") >= 2.0, "both in the v1 swarm:\n{m}\n{}", logs());
                assert_eq!(swarm("v2"), 0.0, "nothing in the v2 swarm:\n{m}");
            }
        }
        Setup::Webseed => {
            let peers = count("seedline_seeder_connections_total");
            assert_eq!(peers, 0.0, "nothing over BitTorrent:\n{m}\n{}", logs());
            let total = (700_001 + 200_000 + 65_537 + 12) as f64;
            let http = count("seedline_seeder_http_bytes_total");
            assert!(
                http >= total,
                "both over HTTP ({http} bytes):\n{m}\n{}",
                logs()
            );
        }
    }
}
