//! Integration tests for `make-torrent`: the real binary, against real tools.

mod cli;
mod download;
mod golden;
mod reference;
mod rejects;
mod util;
mod verify;
