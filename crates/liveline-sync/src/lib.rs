//! The Liveline sync protocol, sans IO: wire messages and their codec, the server's judgement of incoming changes,
//! the client's push plan and its rebuild after a refusal.
//!
//! Sockets live in `sync-server` and `liveline-replica`; they feed bytes in and carry messages out.

pub mod bounds;
pub mod ingest;
pub mod proto;
pub mod rebuild;

pub use ingest::{ingest, IngestOutcome};
pub use proto::*;
pub use rebuild::rebuild_without;
