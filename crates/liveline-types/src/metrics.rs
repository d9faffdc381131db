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
    pub fn from_code(c: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == c)
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
    pub fn from_code(c: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == c)
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
    /// Only leads whose group under each filter's dimension is its key (a custom widget's filters).
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// Keeps the leads whose group under `dim` is `key` (the session `s-1`, the channel `tiktok_live`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub dim: Dim,
    pub key: String,
}

/// Which leads a number was made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillQuery {
    pub dim: Dim,
    pub key: String,
    pub stage: Stage,
    pub period: PeriodSpec,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// The leads behind a number: how many there are, and the newest of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillPage {
    pub total: u64,
    pub leads: Vec<crate::LeadView>,
}

/// What a custom widget shows of each group's funnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Leads that reached the widget's stage.
    Count,
    /// The share of captured leads that reached the widget's stage.
    Conversion,
    /// Time from capture to first contact, median.
    ContactP50,
    /// Time from capture to first contact, 90th percentile.
    ContactP90,
}

impl Measure {
    pub const ALL: [Measure; 4] = [
        Measure::Count,
        Measure::Conversion,
        Measure::ContactP50,
        Measure::ContactP90,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Measure::Count => "count",
            Measure::Conversion => "conversion",
            Measure::ContactP50 => "contact_p50",
            Measure::ContactP90 => "contact_p90",
        }
    }
    pub fn from_code(c: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == c)
    }
    /// Whether the measure is read at a funnel stage (a duration is not).
    pub fn uses_stage(self) -> bool {
        matches!(self, Measure::Count | Measure::Conversion)
    }
    /// The measure's value for one group: a count, a share (0..1), or milliseconds.
    pub fn value(self, row: &FunnelRow, stage: Stage) -> Option<f64> {
        match self {
            Measure::Count => Some(row.count(stage) as f64),
            Measure::Conversion => row.conversion(stage),
            Measure::ContactP50 => row.contact_p50_ms.map(|v| v as f64),
            Measure::ContactP90 => row.contact_p90_ms.map(|v| v as f64),
        }
    }
}

/// How a widget is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Bar,
    Line,
    Funnel,
    Table,
}

impl ChartKind {
    pub const ALL: [ChartKind; 4] = [
        ChartKind::Bar,
        ChartKind::Line,
        ChartKind::Funnel,
        ChartKind::Table,
    ];
    pub fn code(self) -> &'static str {
        match self {
            ChartKind::Bar => "bar",
            ChartKind::Line => "line",
            ChartKind::Funnel => "funnel",
            ChartKind::Table => "table",
        }
    }
    pub fn from_code(c: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == c)
    }
}

/// One widget of a custom dashboard: a measure of the lead funnel per group of a dimension, filtered, drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WidgetSpec {
    /// Chosen by the device that adds the widget.
    pub id: String,
    pub title: String,
    pub measure: Measure,
    /// The funnel step counted (for a count or a conversion).
    pub stage: Stage,
    pub dim: Dim,
    pub chart: ChartKind,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// A custom dashboard as the team shares it; widgets in their arranged order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    pub id: String,
    pub title: String,
    pub created_by: String,
    pub created_by_name: String,
    pub updated_at: i64,
    pub widgets: Vec<WidgetSpec>,
}

/// One edit of a custom dashboard. Each touches only what it names, so edits made offline on two devices merge
/// (two people who move the same widget: the later move stands).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DashboardEdit {
    Create {
        title: String,
    },
    Rename {
        title: String,
    },
    Delete,
    /// Adds the widget, or replaces the one with its id (keeping its place).
    PutWidget {
        widget: WidgetSpec,
    },
    RemoveWidget {
        id: String,
    },
    /// Places the widget just before `before`, or last when `before` is None.
    MoveWidget {
        id: String,
        before: Option<String>,
    },
}

/// At most this many widgets on one dashboard.
pub const MAX_WIDGETS: usize = 24;
/// Titles are at most this many characters.
pub const MAX_TITLE_CHARS: usize = 80;
