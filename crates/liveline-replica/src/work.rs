//! The device's side of tasks and assignment: the materialized `tasks` table, the task center's queries and
//! actions, logging a contact on a lead, the team's assignment rules (edit and dry run) and the notices of tasks
//! that arrived for this user.

use std::collections::HashMap;

use automerge::AutoCommit;
use liveline_domain::assign::{self, AssignmentRules, LeadFacts, Load};
use liveline_domain::lead::normalize_phone;
use liveline_domain::{DocKind, Lead, Task};
use liveline_types::{
    codes, AppError, AssignDecision, LeadInput, LeadStatus, LeadView, Notice, RulesConfig,
    TaskAction, TaskCounts, TaskInput, TaskQuery, TaskView, TeamTaskRow,
};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::replica::{commit_change, load_doc, Replica, ReplicaError, Result};

const DAY: i64 = 86_400_000;

const TASK_COLUMNS: &str = "id, team, title, task_type, assignee, created_by, linked_kind, linked_id, linked_title, \
    due_at, status, priority, snoozed_until, closed_at, closed_by, escalated_at, rule, created_at, updated_at, \
    comments, checklist";

/// Refreshes a task's row from its document.
pub(crate) fn materialize_task(tx: &Transaction<'_>, id: &str, doc: &AutoCommit) -> Result<()> {
    let t = Task::load(doc).map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
    let v = t.view(id);
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO tasks ({TASK_COLUMNS}) VALUES
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    ))?
    .execute(params![
        id,
        t.team,
        t.title,
        t.task_type,
        t.assignee,
        t.created_by,
        t.linked_kind,
        t.linked_id,
        t.linked_title,
        t.due_at,
        t.status,
        t.priority,
        t.snoozed_until,
        t.closed_at,
        t.closed_by,
        t.escalated_at,
        t.rule,
        t.created_at,
        t.updated_at,
        json(&v.comments),
        json(&v.checklist)
    ])?;
    Ok(())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// `(assignee, status)` of each task among `ids` that this device holds, before a page of changes is applied.
pub(crate) fn task_owners(
    tx: &Transaction<'_>,
    ids: &[&str],
) -> Result<Vec<Option<(String, String)>>> {
    let mut st = tx.prepare_cached("SELECT assignee, status FROM tasks WHERE id = ?1")?;
    ids.iter()
        .map(|id| {
            Ok(st
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })
        .collect()
}

/// After a page of changes: a task that is now open and this user's, and was not before, gets a notice.
pub(crate) fn note_arrivals(
    tx: &Transaction<'_>,
    ids: &[&str],
    before: &[Option<(String, String)>],
    now: i64,
) -> Result<()> {
    let me: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = 'user_id'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(me) = me else { return Ok(()) };
    let after = task_owners(tx, ids)?;
    for ((id, b), a) in ids.iter().zip(before).zip(after) {
        let Some((assignee, status)) = a else {
            continue;
        };
        let was_mine = b.as_ref().is_some_and(|(u, _)| *u == me);
        if assignee == me && status == liveline_domain::task::OPEN && !was_mine {
            tx.execute(
                "INSERT OR IGNORE INTO notices (task_id, at) VALUES (?1, ?2)",
                params![id, now],
            )?;
        }
    }
    Ok(())
}

/// The start of the viewer's day containing `now`, as ms since the epoch.
fn day_start(now: i64, utc_offset_minutes: i32) -> i64 {
    let off = utc_offset_minutes as i64 * 60_000;
    (now + off).div_euclid(DAY) * DAY - off
}

fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskView> {
    let comments: String = r.get(19)?;
    let checklist: String = r.get(20)?;
    Ok(TaskView {
        id: r.get(0)?,
        team: r.get(1)?,
        title: r.get(2)?,
        task_type: r.get(3)?,
        assignee: r.get(4)?,
        created_by: r.get(5)?,
        linked_kind: r.get(6)?,
        linked_id: r.get(7)?,
        linked_title: r.get(8)?,
        due_at: r.get(9)?,
        status: r.get(10)?,
        priority: r.get(11)?,
        snoozed_until: r.get(12)?,
        closed_at: r.get(13)?,
        closed_by: r.get(14)?,
        escalated_at: r.get(15)?,
        rule: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
        comments: serde_json::from_str(&comments).unwrap_or_default(),
        checklist: serde_json::from_str(&checklist).unwrap_or_default(),
        assignee_name: r.get(21)?,
        pending: r.get(22)?,
    })
}

fn task_select() -> String {
    let cols: Vec<String> = TASK_COLUMNS.split(", ").map(|c| format!("t.{c}")).collect();
    format!(
        "SELECT {}, COALESCE(m.name, ''), EXISTS (SELECT 1 FROM pending p WHERE p.doc_id = t.id)
         FROM tasks t LEFT JOIN members m ON m.id = t.assignee",
        cols.join(", ")
    )
}

/// The SQL condition of a task-center tab at `now`, with `end` the end of the viewer's day (both numbers this
/// device computed, written into the SQL as literals).
fn when_condition(when: &str, now: i64, end: i64) -> String {
    match when {
        "overdue" => format!(
            "t.status = 'open' AND t.snoozed_until <= {now} AND t.due_at > 0 AND t.due_at <= {now}"
        ),
        "today" => format!(
            "t.status = 'open' AND t.snoozed_until <= {now} AND t.due_at > {now} AND t.due_at < {end}"
        ),
        "upcoming" => format!(
            "t.status = 'open' AND NOT (t.snoozed_until <= {now} AND t.due_at > 0 AND t.due_at < {end})"
        ),
        "done" => "t.status != 'open'".into(),
        _ => "t.status = 'open'".into(),
    }
}

impl Replica {
    fn me(&self) -> Result<String> {
        Ok(self.actor()?.1.user_id)
    }

    fn names(&self) -> Result<HashMap<String, String>> {
        Ok(self
            .members()?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect())
    }

    fn with_names(&self, mut tasks: Vec<TaskView>) -> Result<Vec<TaskView>> {
        let names = self.names()?;
        for t in &mut tasks {
            for c in &mut t.comments {
                c.by_name = names.get(&c.by).cloned().unwrap_or_default();
            }
        }
        Ok(tasks)
    }

    /// The task center's list: the user's own tasks (or, with `scope = team`, every task this device holds), in
    /// the tab asked for; overdue and open tasks by deadline, done ones newest first.
    pub fn list_tasks(&self, q: &TaskQuery, now: i64) -> Result<Vec<TaskView>> {
        let day_end = day_start(now, q.utc_offset_minutes) + DAY;
        let mut cond = vec![when_condition(&q.when, now, day_end)];
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if q.scope != "team" {
            args.push(self.me()?.into());
            cond.push(format!("t.assignee = ?{}", args.len()));
        }
        for (col, v) in [("task_type", &q.task_type), ("linked_id", &q.linked_id)] {
            if !v.is_empty() {
                args.push(v.clone().into());
                cond.push(format!("t.{col} = ?{}", args.len()));
            }
        }
        let order = if q.when == "done" {
            "t.closed_at DESC, t.id"
        } else {
            "t.due_at = 0, t.due_at, t.created_at, t.id"
        };
        let limit = if q.limit == 0 { 200 } else { q.limit.min(1000) };
        let sql = format!(
            "{} WHERE {} ORDER BY {order} LIMIT {limit}",
            task_select(),
            cond.join(" AND ")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args), task_row)?;
        self.with_names(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The counts on the task center's tabs for the signed-in user (the badge shows `overdue + today`).
    pub fn task_counts(&self, now: i64, utc_offset_minutes: i32) -> Result<TaskCounts> {
        let me = self.me()?;
        let day_end = day_start(now, utc_offset_minutes) + DAY;
        let count = |when: &str| -> Result<u64> {
            Ok(self.conn.query_row(
                &format!(
                    "SELECT COUNT(*) FROM tasks t WHERE t.assignee = ?1 AND {}",
                    when_condition(when, now, day_end)
                ),
                params![me],
                |r| r.get(0),
            )?)
        };
        Ok(TaskCounts {
            open: count("")?,
            overdue: count("overdue")?,
            today: count("today")?,
            upcoming: count("upcoming")?,
            done: count("done")?,
        })
    }

    pub fn get_task(&self, id: &str) -> Result<TaskView> {
        let sql = format!("{} WHERE t.id = ?1", task_select());
        let t = self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], task_row)
            .optional()?
            .ok_or_else(|| ReplicaError::NotFound(id.to_string()))?;
        Ok(self.with_names(vec![t])?.remove(0))
    }

    /// Does what the user asked to a task, as one local change. A refused action (see `Task::act`) changes
    /// nothing and comes back as `Err` with its code.
    pub fn task_action(
        &mut self,
        id: &str,
        action: &TaskAction,
        now: i64,
    ) -> Result<std::result::Result<TaskView, AppError>> {
        let (actor, creds) = self.actor()?;
        let members: Vec<String> = self.names()?.into_keys().collect();
        let tx = self.conn.transaction()?;
        let mut doc = load_doc(&tx, id)?.ok_or_else(|| ReplicaError::NotFound(id.to_string()))?;
        doc.set_actor(actor);
        let mut t = Task::load(&doc).map_err(|e| ReplicaError::Doc(id.into(), e.to_string()))?;
        if let Err(e) = t.act(action, &creds.user_id, &members, now) {
            return Ok(Err(e));
        }
        t.save_into(&mut doc)
            .map_err(|e| ReplicaError::Doc(id.into(), e.to_string()))?;
        commit_change(&tx, id, DocKind::Task, &mut doc)?;
        tx.commit()?;
        Ok(Ok(self.get_task(id)?))
    }

    /// A to-do the user writes for themselves or a teammate.
    pub fn create_task(
        &mut self,
        input: &TaskInput,
        now: i64,
    ) -> Result<std::result::Result<TaskView, AppError>> {
        let (actor, creds) = self.actor()?;
        let title = input.title.trim();
        if title.is_empty() {
            return Ok(Err(AppError::new(codes::REQUIRED).with("field", "title")));
        }
        if title.chars().count() > 200 {
            return Ok(Err(AppError::new(codes::TOO_LONG).with("max", "200")));
        }
        let assignee = if input.assignee.trim().is_empty() {
            creds.user_id.clone()
        } else {
            input.assignee.trim().to_string()
        };
        if !self.names()?.contains_key(&assignee) {
            return Ok(Err(
                AppError::new(codes::TASK_ASSIGNEE_UNKNOWN).with("user", assignee)
            ));
        }
        let mut t = Task::new(
            &creds.team_id,
            liveline_domain::task::TODO,
            title,
            &assignee,
            &creds.user_id,
            input.due_at,
            now,
        );
        if !input.priority.is_empty() {
            t.priority = input.priority.clone();
        }
        if !input.linked_id.is_empty() {
            let title = match input.linked_kind.as_str() {
                "lead" => self
                    .get_lead(&input.linked_id)
                    .map(|l| l.buyer_name)
                    .unwrap_or_default(),
                _ => String::new(),
            };
            t = t.link(&input.linked_kind, &input.linked_id, &title);
        }
        let id = uuid::Uuid::now_v7().to_string();
        let tx = self.conn.transaction()?;
        let mut doc = AutoCommit::new().with_actor(actor);
        t.save_into(&mut doc)
            .map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        commit_change(&tx, &id, DocKind::Task, &mut doc)?;
        tx.commit()?;
        Ok(Ok(self.get_task(&id)?))
    }

    /// A manager's view of the team: per member, open and overdue tasks, done today, and the oldest open one.
    pub fn team_tasks(&self, now: i64, utc_offset_minutes: i32) -> Result<Vec<TeamTaskRow>> {
        let start = day_start(now, utc_offset_minutes);
        let mut st = self.conn.prepare_cached(
            "SELECT m.id, m.name,
               (SELECT COUNT(*) FROM tasks t WHERE t.assignee = m.id AND t.status = 'open'),
               (SELECT COUNT(*) FROM tasks t WHERE t.assignee = m.id AND t.status = 'open' AND t.due_at > 0
                  AND t.due_at <= ?1 AND t.snoozed_until <= ?1),
               (SELECT COUNT(*) FROM tasks t WHERE t.assignee = m.id AND t.status = 'done' AND t.closed_at >= ?2),
               (SELECT MIN(t.created_at) FROM tasks t WHERE t.assignee = m.id AND t.status = 'open')
             FROM members m ORDER BY m.name",
        )?;
        let rows = st.query_map(params![now, start], |r| {
            let oldest: Option<i64> = r.get(5)?;
            Ok(TeamTaskRow {
                user: r.get(0)?,
                name: r.get(1)?,
                open: r.get(2)?,
                overdue: r.get(3)?,
                done_today: r.get(4)?,
                oldest_open_ms: oldest.map(|o| (now - o).max(0)).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Logs a contact with the buyer on a lead (the server then closes its first-contact task).
    pub fn log_contact(
        &mut self,
        lead_id: &str,
        kind: &str,
        note: &str,
        now: i64,
    ) -> Result<std::result::Result<LeadView, AppError>> {
        let (actor, creds) = self.actor()?;
        let tx = self.conn.transaction()?;
        let mut doc =
            load_doc(&tx, lead_id)?.ok_or_else(|| ReplicaError::NotFound(lead_id.to_string()))?;
        doc.set_actor(actor);
        let mut lead =
            Lead::load(&doc).map_err(|e| ReplicaError::Doc(lead_id.into(), e.to_string()))?;
        if let Err(e) = lead.log_contact(&creds.user_id, kind, note, now) {
            return Ok(Err(e));
        }
        lead.save_into(&mut doc)
            .map_err(|e| ReplicaError::Doc(lead_id.into(), e.to_string()))?;
        commit_change(&tx, lead_id, DocKind::Lead, &mut doc)?;
        tx.commit()?;
        Ok(Ok(self.get_lead(lead_id)?))
    }

    /// Tasks that arrived for this user since the last call, for notifications. Each is announced once.
    pub fn take_notices(&mut self) -> Result<Vec<Notice>> {
        let tx = self.conn.transaction()?;
        let out = {
            let mut st = tx.prepare_cached(
                "SELECT t.id, t.task_type, t.title, t.linked_title, t.due_at FROM notices n
                 JOIN tasks t ON t.id = n.task_id ORDER BY n.at, t.id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(Notice {
                    task_id: r.get(0)?,
                    task_type: r.get(1)?,
                    title: r.get(2)?,
                    linked_title: r.get(3)?,
                    due_at: r.get(4)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.execute("DELETE FROM notices", [])?;
        tx.commit()?;
        Ok(out)
    }

    // ---- assignment rules -------------------------------------------------------------------------------------

    /// The rules document of this device's team (its id is fixed per team).
    fn rules_doc(&self) -> Result<Option<(String, AssignmentRules)>> {
        let team = self.actor()?.1.team_id;
        let id = assign::rules_doc_id(&team);
        let found: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT bytes FROM docs WHERE id = ?1 AND kind = 'assignment_rules'",
                [&id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(bytes) = found else {
            return Ok(None);
        };
        let doc =
            AutoCommit::load(&bytes).map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        // Only the team's own rules count, never a document of another kind or team at that id.
        if !liveline_forms::ids::holds(&id, &doc, DocKind::AssignmentRules, &team) {
            return Ok(None);
        }
        let rules = AssignmentRules::load(&doc)
            .map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        Ok(Some((id, rules)))
    }

    /// The team's assignment rules, when this device holds them (managers, sales leads and admins do).
    pub fn rules(&self) -> Result<Option<RulesConfig>> {
        Ok(self.rules_doc()?.map(|(_, r)| r.config()))
    }

    /// Publishes edited rules. Every fault is named and nothing is saved while there is one; a user whose roles
    /// do not allow editing rules is told so here (the server refuses it too).
    pub fn save_rules(&mut self, config: &RulesConfig, now: i64) -> Result<Vec<AppError>> {
        let session = self.session()?.ok_or(ReplicaError::NotSignedIn)?;
        let team_wide = session
            .role
            .split(',')
            .any(|r| matches!(r.trim(), "sales_lead" | "manager" | "admin"));
        if !team_wide {
            return Ok(vec![AppError::new(codes::RULES_FORBIDDEN)]);
        }
        let members: Vec<String> = session.members.iter().map(|m| m.id.clone()).collect();
        let errors = assign::validate_rules(config, &members);
        if !errors.is_empty() {
            return Ok(errors);
        }
        let (actor, creds) = self.actor()?;
        let existing = self.rules_doc()?;
        let tx = self.conn.transaction()?;
        let (id, mut doc, mut rules) = match existing {
            Some((id, rules)) => {
                let doc = load_doc(&tx, &id)?.ok_or_else(|| ReplicaError::NotFound(id.clone()))?;
                (id, doc, rules)
            }
            None => (
                assign::rules_doc_id(&creds.team_id),
                AutoCommit::new(),
                AssignmentRules::new(&creds.team_id, &creds.user_id),
            ),
        };
        doc.set_actor(actor);
        rules.set_config(config, now);
        rules
            .save_into(&mut doc)
            .map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        commit_change(&tx, &id, DocKind::AssignmentRules, &mut doc)?;
        tx.commit()?;
        Ok(Vec::new())
    }

    /// What the rules (as given, published or not) would do with a sample lead now, with the load this device
    /// sees. A phone or e-mail that matches a lead on this device is reported as a duplicate.
    pub fn dry_run(
        &self,
        config: &RulesConfig,
        sample: &LeadInput,
        now: i64,
    ) -> Result<AssignDecision> {
        let members: Vec<String> = self.names()?.into_keys().collect();
        let mut rules = AssignmentRules::new("", "");
        rules.set_config(config, now);
        let country = sample.country.trim().to_ascii_uppercase();
        let phone = normalize_phone(sample.phone.trim(), Some(&country)).unwrap_or_default();
        let email = sample.email.trim().to_lowercase();
        if !phone.is_empty() || !email.is_empty() {
            let dup: Option<(String, String)> = self
                .conn
                .query_row(
                    "SELECT id, owner FROM leads WHERE (?1 != '' AND phone = ?1) OR (?2 != '' AND lower(email) = ?2)
                     ORDER BY created_at LIMIT 1",
                    params![phone, email],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((id, owner)) = dup.filter(|(_, o)| !o.is_empty()) {
                return Ok(AssignDecision {
                    owner,
                    rule: assign::DUPLICATE.into(),
                    duplicate_of: id,
                    reason: "assign.duplicate".into(),
                    sla_minutes: rules.sla(0),
                    ..Default::default()
                });
            }
        }
        let mut load = Load::default();
        let open: Vec<String> = LeadStatus::OPEN
            .iter()
            .map(|s| format!("'{}'", s.code()))
            .collect();
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT owner, COUNT(*) FROM leads WHERE owner != '' AND status IN ({}) GROUP BY owner",
            open.join(", ")
        ))?;
        for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (owner, n) = row?;
            load.open_leads.insert(owner, n as u64);
        }
        let facts = LeadFacts::of_input(sample);
        let mut d = assign::decide(&rules, &facts, &members, &load, now, None);
        if let Some(r) = rules.rules.iter().find(|r| r.id == d.rule) {
            d.rule_name = r.name.clone();
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::day_start;

    #[test]
    fn the_viewers_day_starts_at_their_local_midnight() {
        // 2025-12-01 16:30 UTC is 00:30 on the 2nd in Shanghai (UTC+8) and 11:30 on the 1st in New York (UTC-5).
        let now = 1_764_606_600_000;
        assert_eq!(day_start(now, 8 * 60), 1_764_604_800_000);
        assert_eq!(day_start(now, -5 * 60), 1_764_547_200_000 + 5 * 3_600_000);
    }
}
