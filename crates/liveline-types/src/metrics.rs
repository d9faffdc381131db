//! Dashboards: what the UI asks for (a board or widget over a period in the viewer's time zone) and the tables it
//! gets back. The metric definitions live in `liveline-metrics`; this is only the data that crosses.

use serde::{Deserialize, Serialize};

/// The steps of the lead funnel, in order. A lead counts at every step it reached (a won lead was qualified and
/// quoted); `Lost` stands beside the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Captured,
    Assigned,
    /// First contact within the first-contact limit (30 minutes) of capture.
    ContactedInSla,
    Contacted,
    Qualified,
    Quoted,
    Won,
    Lost,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Captured,
        Stage::Assigned,
        Stage::ContactedInSla,
        Stage::Contacted,
        Stage::Qualified,
        Stage::Quoted,
        Stage::Won,
        Stage::Lost,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Stage::Captured => "captured",
            Stage::Assigned => "assigned",
            Stage::ContactedInSla => "contacted_in_sla",
            Stage::Contacted => "contacted",
            Stage::Qualified => "qualified",
            Stage::Quoted => "quoted",
            Stage::Won => "won",
            Stage::Lost => "lost",
        }
    }
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// What a funnel table is grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// One row for everything in the period.
    All,
    Session,
    Host,
    Platform,
    Channel,
    Rep,
    Team,
    Country,
    Product,
    Status,
    /// The ISO week of capture in the viewer's time zone (`2026-W48`).
    Week,
    /// The day of capture in the viewer's time zone (`2026-12-01`).
    Day,
}

impl Dim {
    pub const ALL: [Dim; 12] = [
        Dim::All,
        Dim::Session,
        Dim::Host,
        Dim::Platform,
        Dim::Channel,
        Dim::Rep,
        Dim::Team,
        Dim::Country,
        Dim::Product,
        Dim::Status,
        Dim::Week,
        Dim::Day,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Dim::All => "all",
            Dim::Session => "session",
            Dim::Host => "host",
            Dim::Platform => "platform",
            Dim::Channel => "channel",
            Dim::Rep => "rep",
            Dim::Team => "team",
            Dim::Country => "country",
            Dim::Product => "product",
            Dim::Status => "status",
            Dim::Week => "week",
            Dim::Day => "day",
        }
    }
}

/// A period as the viewer picks it; resolved to instants in `tz` (an IANA name such as `Asia/Shanghai`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodSpec {
    /// `today`, `week` (ISO week, from Monday), `month`, `all`, or `custom` with `from`/`to`.
    pub preset: String,
    /// First day, `YYYY-MM-DD`, for `custom`.
    #[serde(default)]
    pub from: String,
    /// Last day, included, `YYYY-MM-DD`, for `custom`.
    #[serde(default)]
    pub to: String,
    pub tz: String,
}

/// One row of a funnel table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunnelRow {
    /// The group's key (a session id, a channel code, a rep's user id, `2026-W48`…); empty for the total.
    pub key: String,
    /// What a person reads for the key (a session's title, a rep's name); the UI translates codes.
    pub label: String,
    /// Leads at each `Stage`, in `Stage::ALL` order.
    pub counts: Vec<u64>,
    /// Time from capture to first contact over the leads contacted, in milliseconds.
    pub contact_p50_ms: Option<i64>,
    pub contact_p90_ms: Option<i64>,
}

impl FunnelRow {
    pub fn count(&self, s: Stage) -> u64 {
        self.counts.get(s.index()).copied().unwrap_or(0)
    }
    /// The share of captured leads that reached `s`, or None when nothing was captured.
    pub fn conversion(&self, s: Stage) -> Option<f64> {
        let c = self.count(Stage::Captured);
        (c > 0).then(|| self.count(s) as f64 / c as f64)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunnelTable {
    pub dim: Option<Dim>,
    pub rows: Vec<FunnelRow>,
    pub total: FunnelRow,
    /// The resolved period (None: unbounded, as "all time" is; JSON numbers in the webview only hold 53 bits).
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// A lead no one has contacted yet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitingLead {
    pub id: String,
    pub buyer_name: String,
    pub owner: String,
    pub owner_name: String,
    pub captured_at: i64,
}

/// Follow-up tasks past their deadline, per assignee.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverdueRow {
    pub rep: String,
    pub rep_name: String,
    pub overdue: u64,
    pub oldest_due_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseBoard {
    /// Oldest first.
    pub uncontacted: Vec<WaitingLead>,
    pub uncontacted_total: u64,
    pub overdue: Vec<OverdueRow>,
}

/// Time spent in one step of one approval flow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    pub form: String,
    pub form_label: crate::forms::Text,
    pub node: String,
    pub node_label: crate::forms::Text,
    /// Visits to the step that ended in the period.
    pub passed: u64,
    pub avg_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    /// Records waiting at the step now.
    pub waiting: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardQuery {
    pub dim: Option<Dim>,
    pub period: PeriodSpec,
}

/// Which leads a number was made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillQuery {
    pub dim: Dim,
    pub key: String,
    pub stage: Stage,
    pub period: PeriodSpec,
}

/// The leads behind a number: how many there are, and the newest of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillPage {
    pub total: u64,
    pub leads: Vec<crate::LeadView>,
}
