//! A device's side of Liveline: the local replica in one SQLite file, and the sync client that keeps it in step
//! with the server over one authenticated WebSocket.
//!
//! The Tauri shell, the tests and the benchmarks all drive a device through this crate; it knows nothing of Tauri.

pub mod admin;
pub mod client;
pub mod custom;
pub mod dashboards;
pub mod forms;
pub mod replica;
pub mod session;
#[cfg(feature = "sheets")]
pub mod sheets;
pub mod vault;
pub mod work;

pub use admin::Admin;
pub use client::{sign_in, SyncClient, SyncHandle};
pub use replica::{Replica, ReplicaError};
pub use session::{ClientSession, Next};

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
