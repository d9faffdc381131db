//! The no-code engine: forms and approval flows are data an admin edits; this crate checks them, validates
//! records against them, computes formulas and replays approval decisions. No IO, no clock: time is passed in.

pub mod builtin;
pub mod defs;
pub mod flow;
pub mod form;
pub mod formula;
pub mod ids;
pub mod record;

pub use flow::{Flow, People, State, Status};
pub use form::{Ctx, Form, Values};
