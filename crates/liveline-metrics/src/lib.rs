//! The metric definitions behind the managers' dashboards, as pure functions over facts the device holds.
//!
//! A fact is one lead, task or approval-step visit as the replica materialized it. Every function here takes
//! the facts and the period and returns numbers: no IO, no clock (`now` is passed in), so the dashboards count
//! exactly what the device holds, offline too, and the tests can work the answers out by hand.
//!
//! Definitions:
//! - A lead belongs to the period in which it was **captured** (its `captured_at`), in the viewer's time zone.
//! - A lead counts at every funnel step it **reached**: assigned when it has an owner; contacted when a first
//!   contact was logged or its status is past `new`; contacted within the limit when the first contact came at
//!   most `sla_ms` after capture; qualified, quoted, won by its status, each including the later ones (a won lead
//!   was quoted); lost by its status.
//! - A lead counts for its **current** owner (a lead reassigned from one rep to another counts once, for the
//!   second), its capture session (and that session's host and platform), channel, team, country and product.
//! - Conversion at a step is the share of the captured leads that reached it.
//! - Percentiles are nearest-rank over the leads that have the duration.

mod period;

pub use period::{resolve, DayIndex, Period, PeriodError};

use jiff::tz::TimeZone;
use liveline_types::forms::Text;
use liveline_types::metrics::{
    Dim, FunnelRow, OverdueRow, ResponseBoard, Stage, StepRow, WaitingLead,
};
use std::collections::HashMap;

/// The first-contact limit the assignment task sets: 30 minutes.
pub const FIRST_CONTACT_SLA_MS: i64 = 30 * 60 * 1000;

/// One lead as the device holds it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadFact {
    pub id: String,
    pub team: String,
    pub captured_at: i64,
    pub session: String,
    pub host: String,
    pub platform: String,
    pub channel: String,
    /// The current owner (empty while unassigned).
    pub owner: String,
    pub country: String,
    pub product: String,
    pub status: String,
    /// When the first contact was logged, 0 if never.
    pub first_contact_at: i64,
}

/// One task as the device holds it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskFact {
    pub id: String,
    pub assignee: String,
    pub due_at: i64,
    /// Still to do (not done or cancelled).
    pub open: bool,
}

/// One stay of a record at a step of its approval flow.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepVisit {
    pub form: String,
    pub node: String,
    pub entered_at: i64,
    /// When the step was decided or left; None while the record waits there.
    pub left_at: Option<i64>,
}

/// Narrows the leads to those whose value for `dim` is `key` (a custom widget's filter, a drill-down).
pub use liveline_types::metrics::Filter;

/// True when the lead reached `stage`.
pub fn reached(l: &LeadFact, stage: Stage, sla_ms: i64) -> bool {
    let rank = status_rank(&l.status);
    match stage {
        Stage::Captured => true,
        Stage::Assigned => !l.owner.is_empty(),
        Stage::ContactedInSla => {
            l.first_contact_at > 0 && l.first_contact_at - l.captured_at <= sla_ms
        }
        Stage::Contacted => l.first_contact_at > 0 || rank >= 1,
        Stage::Qualified => rank >= 2,
        Stage::Quoted => rank >= 3,
        Stage::Won => rank >= 4,
        Stage::Lost => l.status == "lost",
    }
}

/// How far along the open road a status is: new 0, contacted 1, qualified 2, quoted 3, won 4; lost says nothing
/// of how far it got (its contact log does).
fn status_rank(status: &str) -> u8 {
    match status {
        "contacted" => 1,
        "qualified" => 2,
        "quoted" => 3,
        "won" => 4,
        _ => 0,
    }
}

/// The lead's value for a dimension; days and weeks come from `days` (the viewer's calendar).
pub fn key_of<'a>(l: &'a LeadFact, dim: Dim, days: &'a DayIndex) -> &'a str {
    match dim {
        Dim::All => "",
        Dim::Session => &l.session,
        Dim::Host => &l.host,
        Dim::Platform => &l.platform,
        Dim::Channel => &l.channel,
        Dim::Rep => &l.owner,
        Dim::Team => &l.team,
        Dim::Country => &l.country,
        Dim::Product => &l.product,
        Dim::Status => &l.status,
        Dim::Week => days.week(l.captured_at),
        Dim::Day => days.day(l.captured_at),
    }
}

#[derive(Default)]
struct Acc {
    counts: [u64; 8],
    contact: Vec<i64>,
}

impl Acc {
    fn add(&mut self, l: &LeadFact, sla_ms: i64) {
        for s in Stage::ALL {
            if reached(l, s, sla_ms) {
                self.counts[s.index()] += 1;
            }
        }
        if l.first_contact_at > 0 {
            self.contact.push(l.first_contact_at - l.captured_at);
        }
    }

    fn row(mut self, key: &str) -> FunnelRow {
        self.contact.sort_unstable();
        FunnelRow {
            key: key.to_string(),
            label: key.to_string(),
            counts: self.counts.to_vec(),
            contact_p50_ms: percentile(&self.contact, 50),
            contact_p90_ms: percentile(&self.contact, 90),
        }
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// Captured in the period and matching every filter.
fn selected(l: &LeadFact, period: &Period, filters: &[Filter], days: &DayIndex) -> bool {
    period.contains(l.captured_at)
        && filters
            .iter()
            .all(|f| key_of(l, f.dim, days) == f.key.as_str())
}

/// The viewer's calendar, built only when days or weeks are asked for.
fn calendar(
    leads: &[LeadFact],
    dim: Dim,
    period: &Period,
    filters: &[Filter],
    tz: &TimeZone,
) -> DayIndex {
    let by_day = |d: Dim| matches!(d, Dim::Day | Dim::Week);
    if by_day(dim) || filters.iter().any(|f| by_day(f.dim)) {
        DayIndex::for_leads(leads, period, tz)
    } else {
        DayIndex::default()
    }
}

/// The funnel per group of `dim` over the leads captured in `period`, and the total. Rows are ordered by leads
/// captured (most first), except days and weeks, which run in calendar order.
pub fn funnel(
    leads: &[LeadFact],
    dim: Dim,
    period: &Period,
    filters: &[Filter],
    tz: &TimeZone,
    sla_ms: i64,
) -> (Vec<FunnelRow>, FunnelRow) {
    let days = calendar(leads, dim, period, filters, tz);
    let mut groups: HashMap<&str, Acc> = HashMap::new();
    let mut total = Acc::default();
    for l in leads.iter().filter(|l| selected(l, period, filters, &days)) {
        groups
            .entry(key_of(l, dim, &days))
            .or_default()
            .add(l, sla_ms);
        total.add(l, sla_ms);
    }
    let mut rows: Vec<FunnelRow> = groups.into_iter().map(|(k, a)| a.row(k)).collect();
    if matches!(dim, Dim::Day | Dim::Week) {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
    } else {
        rows.sort_by(|a, b| {
            b.count(Stage::Captured)
                .cmp(&a.count(Stage::Captured))
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    (rows, total.row(""))
}

/// The leads behind one number: captured in `period`, whose `dim` is `key`, that reached `stage`; newest first.
#[allow(clippy::too_many_arguments)] // each says which number was clicked
pub fn drill<'a>(
    leads: &'a [LeadFact],
    dim: Dim,
    key: &str,
    stage: Stage,
    period: &Period,
    filters: &[Filter],
    tz: &TimeZone,
    sla_ms: i64,
) -> Vec<&'a LeadFact> {
    let days = calendar(leads, dim, period, filters, tz);
    let mut out: Vec<&LeadFact> = leads
        .iter()
        .filter(|l| {
            selected(l, period, filters, &days)
                && (dim == Dim::All || key_of(l, dim, &days) == key)
                && reached(l, stage, sla_ms)
        })
        .collect();
    out.sort_by(|a, b| {
        b.captured_at
            .cmp(&a.captured_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// Who waits for an answer now: leads not contacted yet (still `new`, no contact logged), oldest first, at most
/// `limit` of them with the total; and open tasks past their deadline per assignee, most first.
pub fn response(leads: &[LeadFact], tasks: &[TaskFact], now: i64, limit: usize) -> ResponseBoard {
    let mut waiting: Vec<&LeadFact> = leads
        .iter()
        .filter(|l| l.status == "new" && l.first_contact_at == 0)
        .collect();
    waiting.sort_by(|a, b| {
        a.captured_at
            .cmp(&b.captured_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut per_rep: HashMap<&str, (u64, i64)> = HashMap::new();
    for t in tasks
        .iter()
        .filter(|t| t.open && t.due_at > 0 && t.due_at < now)
    {
        let e = per_rep.entry(&t.assignee).or_insert((0, i64::MAX));
        e.0 += 1;
        e.1 = e.1.min(t.due_at);
    }
    let mut overdue: Vec<OverdueRow> = per_rep
        .into_iter()
        .map(|(rep, (n, oldest))| OverdueRow {
            rep: rep.to_string(),
            rep_name: rep.to_string(),
            overdue: n,
            oldest_due_at: oldest,
        })
        .collect();
    overdue.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then_with(|| a.oldest_due_at.cmp(&b.oldest_due_at))
    });
    ResponseBoard {
        uncontacted_total: waiting.len() as u64,
        uncontacted: waiting
            .into_iter()
            .take(limit)
            .map(|l| WaitingLead {
                id: l.id.clone(),
                buyer_name: String::new(),
                owner: l.owner.clone(),
                owner_name: l.owner.clone(),
                captured_at: l.captured_at,
            })
            .collect(),
        overdue,
    }
}

/// Time spent at each step of each flow: visits that ended in `period` (average and p90), and records waiting
/// there now. Ordered by flow, then by the longest p90.
pub fn approval_steps(visits: &[StepVisit], period: &Period) -> Vec<StepRow> {
    #[derive(Default)]
    struct StepAcc {
        spent: Vec<i64>,
        waiting: u64,
    }
    let mut steps: HashMap<(&str, &str), StepAcc> = HashMap::new();
    for v in visits {
        match v.left_at {
            None => steps.entry((&v.form, &v.node)).or_default().waiting += 1,
            Some(left) if period.contains(left) => steps
                .entry((&v.form, &v.node))
                .or_default()
                .spent
                .push(left - v.entered_at),
            Some(_) => {}
        }
    }
    let mut rows: Vec<StepRow> = steps
        .into_iter()
        .map(|((form, node), mut a)| {
            a.spent.sort_unstable();
            let n = a.spent.len() as i64;
            StepRow {
                form: form.to_string(),
                form_label: Text::new(form, form),
                node: node.to_string(),
                node_label: Text::new(node, node),
                passed: n as u64,
                avg_ms: (n > 0).then(|| a.spent.iter().sum::<i64>() / n),
                p90_ms: percentile(&a.spent, 90),
                waiting: a.waiting,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        a.form
            .cmp(&b.form)
            .then_with(|| b.p90_ms.cmp(&a.p90_ms))
            .then_with(|| a.node.cmp(&b.node))
    });
    rows
}
