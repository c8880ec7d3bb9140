//! What more than one Seedline crate's tests need, written once: every wait here is
//! bounded by a limit the caller gives, and every process started here is killed when
//! the test ends, however it ends. A dev-dependency only; it knows nothing of the
//! tracker or the seeder, so any crate's tests can use it.

pub mod aria2;
pub mod child;
pub mod corpus;
pub mod file;
pub mod metric;
pub mod net;
pub mod poll;
pub mod redis;
pub mod run;
pub mod task;
pub mod tools;

pub use aria2::{aria2c, aria2c_udp};
pub use child::KillOnDrop;
pub use file::TempFile;
pub use metric::metric;
pub use net::{connect_within, free_port, socket_from};
pub use poll::eventually;
pub use redis::{RedisCluster, RedisServer};
pub use run::Run;
pub use task::Served;
pub use tools::{python, tool};
