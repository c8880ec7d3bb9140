//! Seedline's origin seeder (the daemon is still to come, see the seeder issue) and
//! `make-torrent`, the command that publishes a release as a `.torrent`.

pub mod make_torrent;
