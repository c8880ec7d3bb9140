//! Seedline's origin seeder daemon ([`daemon`]) and `make-torrent`, the command that
//! publishes a release as a `.torrent` ([`make_torrent`]).

pub mod daemon;
#[doc(hidden)]
pub mod fuzz;
pub mod make_torrent;
