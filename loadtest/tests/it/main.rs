//! Integration tests: the load generator against the real tracker, in-process on loopback.

mod exit_code;
mod seeder;
mod tracker;
mod util;
