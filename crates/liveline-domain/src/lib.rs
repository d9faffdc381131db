//! Pure domain logic of Liveline: records as automerge documents, their validation, access buckets and write policy.
//!
//! Nothing here does IO: no sockets, no files, no clocks (time is passed in). The wasm UI, the Tauri shell and the
//! sync server can all compile it.

pub mod assign;
pub mod cells;
pub mod dashboard;
pub mod doc;
pub mod lead;
pub mod live_session;
pub mod policy;
pub mod task;

pub use assign::AssignmentRules;
pub use doc::{DocError, DocId, DocKind, RecordMeta};
pub use lead::{validate_lead, Lead, ValidationContext};
pub use live_session::LiveSession;
pub use policy::{buckets_for, check_write, Bucket, Principal, Refusal, Role};
pub use task::Task;
