//! Peer connections: the handshake and admission ([`accept`]), the peer wire protocol as
//! a state machine without I/O ([`session`]), the session shared by the connection's
//! socket tasks and the choker ([`conn`]), the socket tasks themselves (`reader`,
//! `writer`: bytes, time and disk), and who may request ([`choker`]); TCP and uTP carry
//! them alike (`transport`, `utp`).

pub mod accept;
pub mod choker;
mod cipher_io;
pub mod conn;
pub mod encryption;
pub mod handshakes;
pub mod memory;
pub(crate) mod reader;
pub mod session;
pub(crate) mod transport;
pub(crate) mod utp;
pub(super) mod writer;

pub use accept::{handle_connection, Place};
