//! Integration tests for `make-torrent` and the seeder: the real binaries and the
//! in-process daemon, against real tools and clients.

mod attack;
mod binary;
mod cli;
mod daemon_util;
mod download;
mod encryption;
mod fuzz_corpus;
mod golden;
mod hostile;
mod hybrid_seed;
mod netns;
mod peer_client;
mod qbittorrent;
mod real_clients;
mod reference;
mod rejects;
mod rtorrent;
mod seed;
mod shared_tracker;
mod super_seed;
mod transmission;
mod udp;
mod util;
mod utp;
mod v2_golden;
mod v2_seed;
mod verify;
mod webseed;
mod webseed_clients;
mod webseed_limits;
