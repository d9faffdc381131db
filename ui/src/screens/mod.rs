//! The screens: sign-in, capture, leads list, lead detail, the task center, assignment rules, refused edits,
//! settings, team administration, forms and flows, and the managers' dashboards.

pub mod capture;
pub mod custom_dash;
pub mod dashboards;
pub mod detail;
pub mod forms;
pub mod import;
pub mod leads;
pub mod records;
pub mod refused;
pub mod rules;
pub mod settings;
pub mod sign_in;
pub mod tasks;
pub mod team;
