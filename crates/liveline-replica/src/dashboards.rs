//! The managers' dashboards, computed on the device from what its replica holds (offline too, and never more
//! than the server let this device read). The definitions are `liveline-metrics`; this reads the facts and
//! names what the numbers are about.

use crate::replica::{Replica, ReplicaError, Result};
use liveline_metrics::{LeadFact, Period, PeriodError, TaskFact, FIRST_CONTACT_SLA_MS};
use liveline_types::metrics::{
    DashboardQuery, Dim, DrillPage, DrillQuery, FunnelTable, PeriodSpec, ResponseBoard, StepRow,
};
use liveline_types::{codes, AppError, LeadView};
use rusqlite::OptionalExtension;
use std::collections::HashMap;
use std::sync::Arc;

/// The leads and tasks as the dashboards read them, with where each id is.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub leads: Vec<LeadFact>,
    pub tasks: Vec<TaskFact>,
    /// Built when a row is first refreshed, not at the first load (a dashboard opened once never needs it).
    lead_at: HashMap<String, usize>,
    task_at: HashMap<String, usize>,
    indexed: bool,
}

impl Facts {
    fn index(&mut self) {
        if self.indexed {
            return;
        }
        self.indexed = true;
        self.lead_at = self
            .leads
            .iter()
            .enumerate()
            .map(|(i, l)| (l.id.clone(), i))
            .collect();
        self.task_at = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
    }

    fn put_lead(&mut self, id: &str, row: Option<LeadFact>) {
        self.index();
        put(&mut self.leads, &mut self.lead_at, id, row, |l| &l.id);
    }

    fn put_task(&mut self, id: &str, row: Option<TaskFact>) {
        self.index();
        put(&mut self.tasks, &mut self.task_at, id, row, |t| &t.id);
    }
}

/// Replaces, adds or (with `None`) removes the item with `id`, keeping `at` true.
fn put<T>(
    items: &mut Vec<T>,
    at: &mut HashMap<String, usize>,
    id: &str,
    row: Option<T>,
    id_of: impl Fn(&T) -> &String,
) {
    match (at.get(id).copied(), row) {
        (Some(i), Some(r)) => items[i] = r,
        (None, Some(r)) => {
            at.insert(id.to_string(), items.len());
            items.push(r);
        }
        (Some(i), None) => {
            at.remove(id);
            items.swap_remove(i);
            if let Some(moved) = items.get(i) {
                at.insert(id_of(moved).clone(), i);
            }
        }
        (None, None) => {}
    }
}

const LEAD_FACTS: &str =
    "SELECT l.id, l.team, l.created_at, l.live_session, COALESCE(s.host, ''), COALESCE(s.platform, ''),
            l.channel, l.owner, l.country, l.product_interest, l.status, l.first_contact_at
     FROM leads l LEFT JOIN live_sessions s ON s.id = l.live_session";

const TASK_FACTS: &str = "SELECT id, assignee, due_at, status = 'open' FROM tasks";

/// Notes the id of every lead and task row this connection writes, so the facts are refreshed row by row. They
/// are temporary (this connection only): a device that never opens a dashboard pays nothing. A session's host or
/// platform edited leaves its leads' rows alone, so a live session written marks its leads.
fn triggers() -> String {
    let mut sql = String::new();
    for (table, dirty) in [("leads", "dirty_leads"), ("tasks", "dirty_tasks")] {
        sql.push_str(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS {dirty} (id TEXT PRIMARY KEY) WITHOUT ROWID;
             CREATE TEMP TRIGGER IF NOT EXISTS {dirty}_in AFTER INSERT ON main.{table}
               BEGIN INSERT OR IGNORE INTO {dirty} VALUES (new.id); END;
             CREATE TEMP TRIGGER IF NOT EXISTS {dirty}_up AFTER UPDATE ON main.{table}
               BEGIN INSERT OR IGNORE INTO {dirty} VALUES (old.id); INSERT OR IGNORE INTO {dirty} VALUES (new.id); END;
             CREATE TEMP TRIGGER IF NOT EXISTS {dirty}_del AFTER DELETE ON main.{table}
               BEGIN INSERT OR IGNORE INTO {dirty} VALUES (old.id); END;"
        ));
    }
    for event in ["INSERT", "UPDATE"] {
        sql.push_str(&format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS dirty_session_{event} AFTER {event} ON main.live_sessions
               BEGIN INSERT OR IGNORE INTO dirty_leads SELECT id FROM main.leads WHERE live_session = new.id; END;"
        ));
    }
    sql
}

/// Takes the ids noted in a dirty table.
fn dirty(conn: &rusqlite::Connection, table: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(&format!("SELECT id FROM temp.{table}"))?;
    let ids = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    if !ids.is_empty() {
        conn.execute(&format!("DELETE FROM temp.{table}"), [])?;
    }
    Ok(ids)
}

fn lead_fact(r: &rusqlite::Row<'_>) -> rusqlite::Result<LeadFact> {
    Ok(LeadFact {
        id: r.get(0)?,
        team: r.get(1)?,
        captured_at: r.get(2)?,
        session: r.get(3)?,
        host: r.get(4)?,
        platform: r.get(5)?,
        channel: r.get(6)?,
        owner: r.get(7)?,
        country: r.get(8)?,
        product: r.get(9)?,
        status: r.get(10)?,
        first_contact_at: r.get(11)?,
    })
}

fn task_fact(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskFact> {
    Ok(TaskFact {
        id: r.get(0)?,
        assignee: r.get(1)?,
        due_at: r.get(2)?,
        open: r.get(3)?,
    })
}

/// The most leads a drill-down lists.
pub const DRILL_LIMIT: usize = 500;
/// The most waiting leads the response board lists.
pub const WAITING_LIMIT: usize = 100;

fn period_error(e: PeriodError) -> ReplicaError {
    ReplicaError::Invalid(match e {
        PeriodError::TimeZone(tz) => AppError::new(codes::PERIOD_TIME_ZONE).with("time_zone", tz),
        PeriodError::Date(v) => AppError::new(codes::PERIOD_DATE).with("value", v),
        PeriodError::Range => AppError::new(codes::PERIOD_RANGE),
        PeriodError::Preset(v) => AppError::new(codes::PERIOD_PRESET).with("value", v),
    })
}

fn resolve(spec: &PeriodSpec, now: i64) -> Result<(Period, jiff::tz::TimeZone)> {
    liveline_metrics::resolve(spec, now).map_err(period_error)
}

impl Replica {
    /// The facts. The first call reads every lead and task; later ones read again only the rows written since
    /// (this connection's temporary triggers note their ids), or everything when another connection committed.
    pub fn facts(&self) -> Result<Arc<Facts>> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let mut cached = self.facts.lock().unwrap_or_else(|p| p.into_inner());
        match cached.as_mut() {
            Some((at, facts)) if *at == version => {
                let leads = dirty(&self.conn, "dirty_leads")?;
                let tasks = dirty(&self.conn, "dirty_tasks")?;
                if !leads.is_empty() || !tasks.is_empty() {
                    let f = Arc::make_mut(facts);
                    let mut st = self
                        .conn
                        .prepare_cached(&format!("{LEAD_FACTS} WHERE l.id = ?1"))?;
                    for id in leads {
                        f.put_lead(&id, st.query_row([&id], lead_fact).optional()?);
                    }
                    let mut st = self
                        .conn
                        .prepare_cached(&format!("{TASK_FACTS} WHERE id = ?1"))?;
                    for id in tasks {
                        f.put_task(&id, st.query_row([&id], task_fact).optional()?);
                    }
                }
                return Ok(facts.clone());
            }
            _ => {}
        }
        self.conn.execute_batch(&triggers())?;
        self.conn
            .execute_batch("DELETE FROM temp.dirty_leads; DELETE FROM temp.dirty_tasks;")?;
        let mut facts = Facts::default();
        // The tasks are read on a second connection meanwhile (the database is in WAL mode, and only this
        // connection writes, so both read the same state).
        let path = self.path().to_path_buf();
        let (leads, tasks) = std::thread::scope(|s| {
            let tasks = s.spawn(move || -> Result<Vec<TaskFact>> {
                let c = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                let mut st = c.prepare(TASK_FACTS)?;
                let rows = st.query_map([], task_fact)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            });
            let leads = (|| -> Result<Vec<LeadFact>> {
                let mut st = self.conn.prepare_cached(LEAD_FACTS)?;
                let rows = st.query_map([], lead_fact)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })();
            let tasks = tasks.join().unwrap_or_else(|_| {
                Err(ReplicaError::Doc(
                    "tasks".into(),
                    "reading the tasks stopped".into(),
                ))
            });
            (leads, tasks)
        });
        facts.leads = leads?;
        facts.tasks = tasks?;
        let facts = Arc::new(facts);
        *cached = Some((version, facts.clone()));
        Ok(facts)
    }

    /// Names for the keys a funnel is grouped by: session titles, people's names, the team's name. Codes
    /// (channels, statuses, countries) are named by the UI in the viewer's language.
    pub(crate) fn labels(&self, dim: Dim) -> Result<HashMap<String, String>> {
        let sql = match dim {
            Dim::Session => "SELECT id, title FROM live_sessions",
            Dim::Rep | Dim::Host => "SELECT id, name FROM members",
            Dim::Team => {
                let mut out = HashMap::new();
                if let Some(s) = self.session()? {
                    out.insert(s.team_id, s.team_name);
                }
                return Ok(out);
            }
            _ => return Ok(HashMap::new()),
        };
        let mut st = self.conn.prepare_cached(sql)?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }

    /// A funnel table: per session, channel, rep, team… (or one row) over a period in the viewer's time zone.
    pub fn funnel_board(&self, q: &DashboardQuery, now: i64) -> Result<FunnelTable> {
        let (period, tz) = resolve(&q.period, now)?;
        let dim = q.dim.unwrap_or(Dim::All);
        let facts = self.facts()?;
        let (mut rows, total) = liveline_metrics::funnel(
            &facts.leads,
            dim,
            &period,
            &q.filters,
            &tz,
            FIRST_CONTACT_SLA_MS,
        );
        let names = self.labels(dim)?;
        for r in &mut rows {
            if let Some(n) = names.get(&r.key) {
                r.label = n.clone();
            }
        }
        Ok(FunnelTable {
            dim: Some(dim),
            rows,
            total,
            from_ms: (period.from != Period::ALL.from).then_some(period.from),
            to_ms: (period.to != Period::ALL.to).then_some(period.to),
        })
    }

    /// Leads no one has contacted yet, oldest first, and overdue tasks per rep, now.
    pub fn response_board(&self, now: i64) -> Result<ResponseBoard> {
        let facts = self.facts()?;
        let mut board = liveline_metrics::response(&facts.leads, &facts.tasks, now, WAITING_LIMIT);
        let names = self.labels(Dim::Rep)?;
        let mut st = self
            .conn
            .prepare_cached("SELECT buyer_name FROM leads WHERE id = ?1")?;
        for w in &mut board.uncontacted {
            w.buyer_name = st.query_row([&w.id], |r| r.get(0)).unwrap_or_default();
            w.owner_name = names.get(&w.owner).cloned().unwrap_or_default();
        }
        for o in &mut board.overdue {
            o.rep_name = names.get(&o.rep).cloned().unwrap_or_else(|| o.rep.clone());
        }
        Ok(board)
    }

    /// Time spent at each approval step (visits that ended in the period), and records waiting at each now.
    pub fn approval_board(&self, period: &PeriodSpec, now: i64) -> Result<Vec<StepRow>> {
        let (period, _) = resolve(period, now)?;
        let (visits, labels) = self.step_visits()?;
        let mut rows = liveline_metrics::approval_steps(&visits, &period);
        for r in &mut rows {
            if let Some((form, node)) = labels.get(&(r.form.clone(), r.node.clone())) {
                r.form_label = form.clone();
                r.node_label = node.clone();
            }
        }
        Ok(rows)
    }

    /// The leads behind one number of a funnel: how many, and the newest `DRILL_LIMIT` of them.
    pub fn drill(&self, q: &DrillQuery, now: i64) -> Result<DrillPage> {
        let (period, tz) = resolve(&q.period, now)?;
        let facts = self.facts()?;
        let all = liveline_metrics::drill(
            &facts.leads,
            q.dim,
            &q.key,
            q.stage,
            &period,
            &q.filters,
            &tz,
            FIRST_CONTACT_SLA_MS,
        );
        let leads = all
            .iter()
            .take(DRILL_LIMIT)
            .map(|l| self.get_lead(&l.id))
            .collect::<Result<Vec<LeadView>>>()?;
        Ok(DrillPage {
            total: all.len() as u64,
            leads,
        })
    }
}
