//! The testkit's integration tests, one module per area, linked into one test binary: each binary links the
//! server, the replica and automerge, so one binary instead of eleven saves most of the suite's link time and disk.
//! Run one area with a filter: `cargo test -p liveline-testkit --test it -- sim::`.

mod access;
mod assign;
mod attacks;
mod bad_input;
mod dashboards;
mod disk;
mod forms;
mod import;
mod limits;
mod replica;
mod sim;
mod sync;
