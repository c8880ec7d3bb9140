//! Peer connections: the handshake and admission ([`accept`]), the per-connection state
//! shared by its reader and writer ([`conn`]), serving blocks (`writer`), and who may
//! request ([`choker`]); TCP and uTP carry them alike (`transport`, `utp`).

pub mod accept;
pub mod choker;
mod cipher_io;
pub mod conn;
pub mod encryption;
pub mod handshakes;
pub mod memory;
pub(crate) mod reader;
pub(crate) mod transport;
pub(crate) mod utp;
pub(super) mod writer;

pub use accept::{handle_connection, Place};
