//! Integration tests for the protocol core.

mod fuzz_corpus;
