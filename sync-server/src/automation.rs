//! The server's automations on leads and tasks: assignment by the team's rules the moment a lead arrives,
//! duplicates linked to the earlier lead's owner, the first-contact task (opened, moved with the lead, closed by a
//! logged contact) and the escalation of overdue tasks.
//!
//! They run inside the write that accepts a push (or inside the sweep's own write), so a lead, its assignment and
//! its task are committed together. What they write is an ordinary automerge change by the server's actor, so it
//! merges with whatever devices do offline. Decisions come from `liveline_domain::assign`; this module only loads
//! and stores.

use std::collections::HashMap;

use automerge::{ActorId, AutoCommit};
use liveline_domain::assign::{self, AssignmentRules, Load};
use liveline_domain::policy::Role;
use liveline_domain::{task, DocKind, Lead, RecordMeta, Task};
use liveline_forms::Values;

use crate::store::{DocCommit, DocIndex, DocReader, Result};

/// The automerge actor of every change the server writes itself.
pub fn server_actor() -> ActorId {
    ActorId::from(&b"liveline-server\0"[..])
}

/// Something worth telling a team's group chat, sent after the write commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Assigned {
        team: String,
        lead: String,
        buyer: String,
        owner: String,
        rule: String,
        due_at: i64,
    },
    Duplicate {
        team: String,
        lead: String,
        buyer: String,
        owner: String,
    },
    Overdue {
        team: String,
        lead: String,
        buyer: String,
        owner: String,
        reassigned_to: String,
    },
    /// A record's flow reached an action node that calls the team's webhooks (`hook` names the event).
    Flow {
        team: String,
        record: String,
        form: String,
        hook: String,
        title: String,
    },
}

struct TeamCtx {
    rules: Option<AssignmentRules>,
    roles: Vec<(String, Vec<Role>)>,
    members: Vec<String>,
    load: Option<Load>,
    /// Leads of this write so far, for duplicates within one batch: `(phone, email, id, owner)`.
    seen: Vec<(String, String, String, String)>,
}

/// The automations of one write. Caches what it read for the write's duration.
pub struct Automations<'a> {
    reader: &'a dyn DocReader,
    now: i64,
    teams: HashMap<String, TeamCtx>,
    /// Documents as this write left them so far: a push may carry a lead and its task, and the server may change
    /// both; every step must start from the newest copy, not from what was committed before the write.
    written: HashMap<String, AutoCommit>,
    pub events: Vec<Event>,
}

/// What the automations did to one lead push.
#[derive(Default)]
pub struct LeadOutcome {
    /// The server's own change to the lead (already applied to the document), to log with the device's.
    pub change: Option<Vec<u8>>,
    /// A rule gave the lead to someone: `(rule, user)`.
    pub assignment: Option<(String, String)>,
    /// Other documents written (tasks).
    pub extra: Vec<DocCommit>,
    /// What the server indexes of the lead as it now stands (read here anyway, so the commit need not read it again).
    pub index: Option<DocIndex>,
}

fn commit_server(doc: &mut AutoCommit) -> Option<Vec<u8>> {
    doc.commit()?;
    doc.get_last_local_change().map(|c| c.raw_bytes().to_vec())
}

/// Sets a record part's `people` as the server's change, unless it already names them; the change's bytes.
fn put_people(part: &mut AutoCommit, people: &str) -> Option<Vec<u8>> {
    use automerge::transaction::Transactable;
    if liveline_domain::doc::read_str(part, "people").as_deref() == Some(people) {
        return None;
    }
    part.set_actor(server_actor());
    part.put(automerge::ROOT, "people", people).ok()?;
    commit_server(part)
}

fn new_doc_commit(id: &str, doc: &mut AutoCommit) -> Option<DocCommit> {
    doc.commit();
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    DocCommit::of(id, doc, changes, None)
}

impl<'a> Automations<'a> {
    pub fn new(reader: &'a dyn DocReader, now: i64) -> Self {
        Automations {
            reader,
            now,
            teams: HashMap::new(),
            written: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// A document as this write sees it: what it already wrote, else what was committed.
    pub fn load(&self, id: &str) -> Result<Option<AutoCommit>> {
        if let Some(d) = self.written.get(id) {
            return Ok(Some(d.clone()));
        }
        self.reader.load_doc(id)
    }

    /// A document's heads as this write sees it (`None`: it has no such document).
    pub fn heads(&mut self, id: &str) -> Result<Option<Vec<automerge::ChangeHash>>> {
        if let Some(d) = self.written.get_mut(id) {
            return Ok(Some(d.get_heads()));
        }
        self.reader.heads(id)
    }

    /// Notes what this write stores for `id`, for the steps after it.
    pub fn wrote(&mut self, id: &str, doc: &AutoCommit) {
        self.written.insert(id.to_string(), doc.clone());
    }

    /// Whether `user` is a member of `team` (who a lead may be given to).
    pub fn is_member(&mut self, team: &str, user: &str) -> Result<bool> {
        Ok(self.team(team)?.members.iter().any(|m| m == user))
    }

    fn team(&mut self, team: &str) -> Result<&mut TeamCtx> {
        if !self.teams.contains_key(team) {
            let rules = self
                .reader
                .rules_doc(team)?
                .and_then(|(_, bytes)| AutoCommit::load(&bytes).ok())
                .and_then(|d| AssignmentRules::load(&d).ok());
            let roles = self.reader.team_roles(team)?;
            let members = roles.iter().map(|(u, _)| u.clone()).collect();
            self.teams.insert(
                team.to_string(),
                TeamCtx {
                    rules,
                    roles,
                    members,
                    load: None,
                    seen: Vec::new(),
                },
            );
        }
        Ok(self.teams.get_mut(team).expect("inserted above"))
    }

    fn load_of(&mut self, team: &str) -> Result<&mut Load> {
        let reader = self.reader;
        let ctx = self.team(team)?;
        if ctx.load.is_none() {
            ctx.load = Some(reader.load_of(team)?);
        }
        Ok(ctx.load.as_mut().expect("set above"))
    }

    fn sla_minutes(&mut self, team: &str) -> Result<i64> {
        Ok(self
            .team(team)?
            .rules
            .as_ref()
            .map(|r| r.sla(0))
            .unwrap_or(assign::DEFAULT_SLA_MINUTES))
    }

    /// After a person's accepted push to a lead (`before_owner`: its owner as the server had it; `None` when new), by
    /// `by`. May write a server change into `doc` and open, move or close the lead's first-contact task.
    pub fn after_lead(
        &mut self,
        doc_id: &str,
        doc: &mut AutoCommit,
        before_owner: Option<&str>,
        by: &str,
    ) -> Result<LeadOutcome> {
        let mut out = LeadOutcome::default();
        let Ok(mut lead) = Lead::load(doc) else {
            return Ok(out);
        };
        let original = lead.clone();
        let now = self.now;
        let team = lead.team.clone();
        let is_new = before_owner.is_none();
        // The team's rules are read only when a lead is new or gets its task: an ordinary edit costs no lookup.
        let mut sla: Option<i64> = None;
        let mut task_type = task::FIRST_CONTACT;

        if is_new && !lead.owner.is_empty() {
            // Only the team-wide roles give a new lead to someone: a rep's or assistant's lead goes through the
            // duplicates and the rules like any other, whoever their device named.
            let team_wide = self
                .team(&team)?
                .roles
                .iter()
                .any(|(u, roles)| u == by && roles.iter().any(|r| r.team_wide()));
            if !team_wide {
                lead.owner.clear();
            }
        }
        if is_new {
            // A buyer the team already knows goes to whoever has them, and they are told.
            let dup = self.find_duplicate(&team, &lead, doc_id)?;
            if let Some((dup_id, dup_owner)) = dup {
                lead.duplicate_of = dup_id;
                let member = self.team(&team)?.members.contains(&dup_owner);
                if lead.owner.is_empty() && member {
                    lead.owner = dup_owner.clone();
                    lead.assigned_rule = assign::DUPLICATE.into();
                    lead.assigned_at = now;
                    task_type = task::DUPLICATE;
                    self.events.push(Event::Duplicate {
                        team: team.clone(),
                        lead: doc_id.into(),
                        buyer: lead.buyer_name.clone(),
                        owner: dup_owner,
                    });
                }
            }
            let open = liveline_types::LeadStatus::is_open_code(&lead.status);
            if lead.owner.is_empty() && lead.assigned_at == 0 && open {
                let facts = lead.facts();
                let ctx = self.team(&team)?;
                if let Some(rules) = ctx.rules.clone() {
                    let members = ctx.members.clone();
                    let load = self.load_of(&team)?;
                    let d = assign::decide(&rules, &facts, &members, load, now, None);
                    if !d.skipped.is_empty() {
                        tracing::info!(doc = %doc_id, skipped = ?d.skipped, "assignment rules skipped");
                    }
                    if !d.owner.is_empty() {
                        load.record(&d.rule, &d.owner);
                        lead.owner = d.owner.clone();
                        lead.assigned_rule = d.rule.clone();
                        lead.assigned_rule_name = d.rule_name.clone();
                        lead.assigned_at = now;
                        sla = Some(d.sla_minutes);
                        out.assignment = Some((d.rule.clone(), d.owner.clone()));
                        self.events.push(Event::Assigned {
                            team: team.clone(),
                            lead: doc_id.into(),
                            buyer: lead.buyer_name.clone(),
                            owner: d.owner,
                            rule: d.rule_name,
                            due_at: now.saturating_add(
                                d.sla_minutes.clamp(0, assign::MAX_SLA_MINUTES) * 60_000,
                            ),
                        });
                    }
                }
            }
            self.team(&team)?.seen.push((
                lead.phone.clone(),
                lead.email.to_lowercase(),
                doc_id.to_string(),
                lead.owner.clone(),
            ));
        }

        let got_owner = !lead.owner.is_empty() && before_owner.is_none_or(|b| b.is_empty());
        if got_owner
            && lead.first_task.is_empty()
            && lead.contacts.is_empty()
            && lead.status == "new"
        {
            let title = lead.buyer_name.clone();
            let sla = match sla {
                Some(s) => s,
                None => self.sla_minutes(&team)?,
            };
            let mut t = Task::new(
                &team,
                task_type,
                &title,
                &lead.owner,
                "",
                now.saturating_add(sla.clamp(0, assign::MAX_SLA_MINUTES) * 60_000),
                now,
            )
            .link("lead", doc_id, &lead.buyer_name);
            t.rule = lead.assigned_rule.clone();
            let id = uuid::Uuid::now_v7().to_string();
            let mut tdoc = AutoCommit::new().with_actor(server_actor());
            if t.save_into(&mut tdoc).is_ok() {
                if let Some(c) = new_doc_commit(&id, &mut tdoc) {
                    self.wrote(&id, &tdoc);
                    lead.first_task = id;
                    out.extra.push(c);
                }
            }
        } else if !lead.first_task.is_empty() {
            let contacted = !lead.contacts.is_empty() || lead.status != "new";
            let moved = before_owner.is_some_and(|b| b != lead.owner) && !lead.owner.is_empty();
            if contacted || moved {
                let id = lead.first_task.clone();
                if let Some(c) = self.edit_task(&id, |t| {
                    // Only the lead's own task, in its own team: the id comes from a document devices write.
                    if !t.is_open() || t.team != lead.team || t.linked_id != doc_id {
                        return false;
                    }
                    if contacted {
                        t.close(task::DONE, by, now);
                    } else {
                        t.assignee = lead.owner.clone();
                    }
                    true
                })? {
                    out.extra.push(c);
                }
            }
        }

        if lead != original {
            doc.set_actor(server_actor());
            if lead.save_into(doc).is_ok() {
                out.change = commit_server(doc);
            }
        }
        // `lead` is what the document now reads as, unless saving it failed (then the commit reads it again).
        if out.change.is_some() || lead == original {
            out.index = Some(DocIndex::of_lead(&lead));
        }
        Ok(out)
    }

    fn find_duplicate(
        &mut self,
        team: &str,
        lead: &Lead,
        not: &str,
    ) -> Result<Option<(String, String)>> {
        if lead.phone.is_empty() && lead.email.is_empty() {
            return Ok(None);
        }
        let email = lead.email.to_lowercase();
        if let Some(found) = self.reader.duplicate_of(team, &lead.phone, &email, not)? {
            return Ok(Some(found));
        }
        let ctx = self.team(team)?;
        Ok(ctx
            .seen
            .iter()
            .find(|(p, e, id, _)| {
                id != not
                    && ((!lead.phone.is_empty() && *p == lead.phone)
                        || (!email.is_empty() && *e == email))
            })
            .map(|(_, _, id, owner)| (id.clone(), owner.clone())))
    }

    /// Applies `edit` to a stored task as the server; `None` when the task is missing or `edit` changed nothing.
    fn edit_task(
        &mut self,
        id: &str,
        edit: impl FnOnce(&mut Task) -> bool,
    ) -> Result<Option<DocCommit>> {
        let Some(mut doc) = self.load(id)? else {
            return Ok(None);
        };
        let Ok(mut t) = Task::load(&doc) else {
            return Ok(None);
        };
        if !edit(&mut t) {
            return Ok(None);
        }
        doc.set_actor(server_actor());
        if t.save_into(&mut doc).is_err() {
            return Ok(None);
        }
        let commit =
            commit_server(&mut doc).and_then(|c| DocCommit::of(id, &mut doc, vec![c], None));
        if commit.is_some() {
            self.wrote(id, &doc);
        }
        Ok(commit)
    }

    /// Escalates an overdue first-contact task: the team's sales leads (or, without one, its managers) get an
    /// urgent task, and when the rules say so the lead goes to the next rep of its rule with a fresh deadline.
    pub fn escalate(&mut self, task_id: &str) -> Result<Vec<DocCommit>> {
        let now = self.now;
        let Some(mut tdoc) = self.load(task_id)? else {
            return Ok(Vec::new());
        };
        let Ok(mut t) = Task::load(&tdoc) else {
            return Ok(Vec::new());
        };
        // Only a first-contact task the server itself opened is escalated.
        if !t.created_by.is_empty() || t.task_type != task::FIRST_CONTACT {
            return Ok(Vec::new());
        }
        // A snooze does not stop the clock on a first contact: logging the contact does.
        if !t.is_open() || t.due_at == 0 || t.due_at > now || t.escalated_at != 0 {
            return Ok(Vec::new());
        }
        let team = t.team.clone();
        let late_owner = t.assignee.clone();
        let mut out = Vec::new();
        let ctx = self.team(&team)?;
        let rules = ctx.rules.clone();
        let members = ctx.members.clone();
        let with = |role: Role| -> Vec<String> {
            ctx.roles
                .iter()
                .filter(|(_, r)| r.contains(&role))
                .map(|(u, _)| u.clone())
                .collect()
        };
        let mut leads = with(Role::SalesLead);
        if leads.is_empty() {
            leads = with(Role::Manager);
        }

        // The lead it is about, for its title and a possible reassignment.
        let mut lead_doc = None;
        if t.linked_kind == "lead" {
            if let Some(d) = self.load(&t.linked_id)? {
                if let Ok(l) = Lead::load(&d) {
                    // The lead must be this task's, in its team.
                    if l.team == t.team && l.first_task == task_id {
                        lead_doc = Some((d, l));
                    }
                }
            }
        }
        let buyer = lead_doc
            .as_ref()
            .map(|(_, l)| l.buyer_name.clone())
            .unwrap_or_else(|| t.linked_title.clone());

        let mut reassigned_to = String::new();
        if let (Some(rules), Some((ldoc, lead))) = (rules.as_ref(), lead_doc.as_mut()) {
            if rules.reassign_when_overdue && lead.contacts.is_empty() {
                let facts = lead.facts();
                let load = self.load_of(&team)?;
                let d = assign::decide(rules, &facts, &members, load, now, Some(&late_owner));
                if !d.owner.is_empty() && d.owner != late_owner {
                    load.record(&d.rule, &d.owner);
                    lead.owner = d.owner.clone();
                    lead.assigned_rule = d.rule.clone();
                    lead.assigned_rule_name = d.rule_name.clone();
                    lead.assigned_at = now;
                    ldoc.set_actor(server_actor());
                    if lead.save_into(ldoc).is_ok() {
                        if let Some(c) = commit_server(ldoc) {
                            if let Some(mut dc) = DocCommit::of(&t.linked_id, ldoc, vec![c], None) {
                                dc.assignment = Some((d.rule.clone(), d.owner.clone()));
                                out.push(dc);
                            }
                        }
                    }
                    let (lid, snapshot) = (t.linked_id.clone(), ldoc.clone());
                    self.wrote(&lid, &snapshot);
                    t.assignee = d.owner.clone();
                    t.due_at = now
                        .saturating_add(d.sla_minutes.clamp(0, assign::MAX_SLA_MINUTES) * 60_000);
                    t.comments.push(task::Comment {
                        by: String::new(),
                        at: now,
                        text: format!("overdue:{late_owner}"),
                    });
                    reassigned_to = d.owner;
                }
            }
        }
        if reassigned_to.is_empty() {
            t.escalated_at = now;
            t.priority = "urgent".into();
        }
        t.updated_at = now;
        tdoc.set_actor(server_actor());
        if t.save_into(&mut tdoc).is_ok() {
            if let Some(c) = commit_server(&mut tdoc) {
                out.extend(DocCommit::of(task_id, &mut tdoc, vec![c], None));
                self.wrote(task_id, &tdoc);
            }
        }
        for u in leads {
            let mut e = Task::new(&team, task::OVERDUE, &buyer, &u, "", 0, now).link(
                &t.linked_kind,
                &t.linked_id,
                &buyer,
            );
            e.priority = "urgent".into();
            e.rule = late_owner.clone();
            let id = uuid::Uuid::now_v7().to_string();
            let mut doc = AutoCommit::new().with_actor(server_actor());
            if e.save_into(&mut doc).is_ok() {
                out.extend(new_doc_commit(&id, &mut doc));
            }
        }
        self.events.push(Event::Overdue {
            team,
            lead: t.linked_id.clone(),
            buyer,
            owner: late_owner,
            reassigned_to,
        });
        Ok(out)
    }
}

/// A whole number at the top of a document (0 when there is none).
fn int(doc: &AutoCommit, key: &str) -> i64 {
    match automerge::ReadDoc::get(doc, automerge::ROOT, key) {
        Ok(Some((automerge::Value::Scalar(s), _))) => s.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// How far after the server's clock a device's decision may be dated (clocks drift a little).
pub const DECISION_SKEW_MS: i64 = 5 * 60_000;

/// The name under which the server records its own decisions (time limits) in a record's trail.
pub const SERVER_USER: &str = "liveline";

/// What the server wrote after a push to a form record (or a sweep of it).
#[derive(Default)]
pub struct RecordOutcome {
    /// The server's change to the record (already applied), to log with the device's.
    pub change: Option<Vec<u8>>,
    /// Other documents written (tasks a flow's action node opened).
    pub extra: Vec<DocCommit>,
}

/// A record's form and flow as the team uses them, with the team's roles.
struct RecordFlow {
    team: String,
    form: liveline_forms::Form,
    flow: liveline_forms::Flow,
    roles: std::collections::BTreeMap<String, Vec<String>>,
}

impl Automations<'_> {
    /// The form and the flow version a record runs (the one it was submitted under, else the newest), compiled.
    fn record_flow(&mut self, doc: &AutoCommit) -> Result<Option<RecordFlow>> {
        use automerge::{ReadDoc, ROOT};
        use liveline_domain::doc::definition_doc_id;
        use liveline_domain::DocKind;
        use liveline_forms::{builtin, defs, Flow, Form};
        use liveline_types::forms::{FlowDef, FormDef};

        let text = liveline_domain::doc::read_str;
        let (Some(team), Some(form_id), Some(flow_id)) =
            (text(doc, "team"), text(doc, "form"), text(doc, "flow"))
        else {
            return Ok(None);
        };
        let flow_version = match doc.get(ROOT, "flow_version") {
            Ok(Some((automerge::Value::Scalar(s), _))) => s.as_i64(),
            _ => None,
        };
        let form: Option<FormDef> = self.form_def(&team, &form_id)?;
        let flow_doc = self.load(&definition_doc_id(DocKind::FlowDef, &team, &flow_id))?;
        let flow_doc = defs::published(DocKind::FlowDef, &team, &flow_id, |_| flow_doc);
        let flows: Vec<FlowDef> = match flow_doc {
            Some(d) => defs::flow_versions(&d),
            None => builtin::flows()
                .into_iter()
                .filter(|f| f.id == flow_id)
                .collect(),
        };
        let flow = flows
            .iter()
            .find(|f| Some(i64::from(f.version)) == flow_version)
            .or(flows.last());
        let (Some(form), Some(flow)) = (form, flow) else {
            tracing::warn!(form = %form_id, flow = %flow_id, "a record names a form or flow the team does not have");
            return Ok(None);
        };
        let Some((form, flow)) = Form::compile(&form).ok().and_then(|form| {
            let flow = Flow::compile(flow, &form).ok()?;
            Some((form, flow))
        }) else {
            tracing::warn!(form = %form_id, flow = %flow_id, "a record's form or flow does not compile");
            return Ok(None);
        };
        let roles = self
            .team(&team)?
            .roles
            .iter()
            .map(|(u, r)| (u.clone(), r.iter().map(|r| r.code().to_string()).collect()))
            .collect();
        Ok(Some(RecordFlow {
            team,
            form,
            flow,
            roles,
        }))
    }

    /// After an accepted push to a form record (or the server's own decision on it): replays its flow and writes,
    /// as the server's change, whom it waits for (`waiting_for`; `involved`: everyone it has waited for or copied,
    /// who keep reading it), when the waiting step's time limit passes (`due_at`, for the sweep), and carries out
    /// the automatic nodes the flow reached, once each (`effects_done`): set a field, open a task, call the team's
    /// webhooks.
    pub fn after_record(&mut self, id: &str, doc: &mut AutoCommit) -> Result<RecordOutcome> {
        let mut out = self.run_flow(id, doc)?;
        out.extra.extend(self.place_parts(id, doc)?);
        Ok(out)
    }

    /// A record's values with those of its hidden parts (the flow's conditions may read them).
    fn all_values(
        &self,
        id: &str,
        doc: &AutoCommit,
        form: &liveline_forms::Form,
    ) -> Result<Values> {
        self.values_seen(id, doc, form, &HashMap::new())
    }

    /// Keeps a record's hidden parts where the record is: each part's `people` is set to the people the record
    /// names now (its owner, creator and approvers), as the server's change, so a part reaches its reading roles
    /// exactly where the record reaches. Returns the parts written.
    fn place_parts(&mut self, id: &str, doc: &AutoCommit) -> Result<Vec<DocCommit>> {
        use liveline_domain::doc::read_str;
        let Ok(meta) = RecordMeta::read(doc) else {
            return Ok(Vec::new());
        };
        let Some(form) =
            read_str(doc, "form").and_then(|f| self.form(&meta.team, &f).ok().flatten())
        else {
            return Ok(Vec::new());
        };
        let people = liveline_domain::policy::record_people(&meta).join(",");
        let mut out = Vec::new();
        for (_, part_id) in liveline_forms::record::parts_of(&form, id) {
            let part = self.load(&part_id)?;
            let Some(mut part) =
                liveline_forms::ids::verified(&part_id, part, DocKind::RecordPart, &meta.team)
            else {
                continue;
            };
            if let Some(c) = self.set_people(&part_id, &mut part, &people) {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn set_people(&mut self, id: &str, part: &mut AutoCommit, people: &str) -> Option<DocCommit> {
        let change = put_people(part, people)?;
        let c = DocCommit::of(id, part, vec![change], None)?;
        self.wrote(id, part);
        Some(c)
    }

    /// After an accepted push to a record's hidden part: its `people` as its record names them now (a device
    /// names only some, or none while the record has not reached the server). Returns the server's change.
    pub fn after_part(&mut self, doc: &mut AutoCommit) -> Result<Option<Vec<u8>>> {
        let Some(record) = liveline_domain::doc::read_str(doc, "record") else {
            return Ok(None);
        };
        let Some(parent) = self.load(&record)? else {
            return Ok(None);
        };
        let Ok(meta) = RecordMeta::read(&parent) else {
            return Ok(None);
        };
        let people = liveline_domain::policy::record_people(&meta).join(",");
        Ok(put_people(doc, &people))
    }

    /// The server's judgement of the decisions a push adds to a record (`accepted`: the hashes of the changes
    /// ingestion accepted): each is worked out again by the flow on what its author saw (the record at the change's
    /// dependencies, with its hidden parts as this write has them, `pushed` first: parts sent in the same push) and
    /// must be what the flow gives there, route and all; none is dated after the server's clock and a small skew.
    /// `form` and `flow` stay what the record was created with, and `flow_version` changes only with a submit.
    pub fn judge_decisions(
        &mut self,
        id: &str,
        doc: &mut AutoCommit,
        accepted: &[[u8; 32]],
        pushed: &HashMap<String, AutoCommit>,
    ) -> Result<std::result::Result<(), (String, liveline_types::AppError)>> {
        use automerge::ChangeHash;
        use liveline_forms::{record, People};
        use liveline_types::{codes, forms::Act, AppError};
        let text = liveline_domain::doc::read_str;
        let version =
            |d: &AutoCommit| match automerge::ReadDoc::get(d, automerge::ROOT, "flow_version") {
                Ok(Some((automerge::Value::Scalar(s), _))) => s.as_i64(),
                _ => None,
            };
        let refuse = |path: &str, e: AppError| Ok(Err((path.to_string(), e)));
        for h in accepted {
            let Some(deps) = doc.get_change_meta_by_hash(&ChangeHash(*h)).map(|m| m.deps) else {
                continue;
            };
            let seen = if deps.is_empty() {
                Ok(AutoCommit::new())
            } else {
                doc.fork_at(&deps)
            };
            // Both are heads of this document, so forking cannot fail; a change it would fail on is not stored.
            let (Ok(seen), Ok(after)) = (seen, doc.fork_at(&[ChangeHash(*h)])) else {
                return refuse("", AppError::new(codes::BAD_CHANGE));
            };
            for key in ["form", "flow"] {
                let was = text(&seen, key).unwrap_or_default();
                if !was.is_empty() && text(&after, key).unwrap_or_default() != was {
                    return refuse(key, AppError::new(codes::SERVER_FIELD));
                }
            }
            let known = record::decisions(&seen);
            let new: Vec<_> = record::decisions(&after)
                .into_iter()
                .filter(|d| !known.iter().any(|k| k.id == d.id))
                .collect();
            let submits = new.iter().any(|d| d.act == Act::Submit);
            if version(&after) != version(&seen) && !submits {
                return refuse("flow_version", AppError::new(codes::SERVER_FIELD));
            }
            if new.is_empty() {
                continue;
            }
            let Some(rf) = self.record_flow(&after)? else {
                return refuse("decisions", AppError::new(codes::FLOW_NOT_PENDING));
            };
            if submits {
                // A submit runs the flow's newest version (a record returned and submitted again keeps its own).
                let newest =
                    self.newest_flow_version(&rf.team, &text(&after, "flow").unwrap_or_default())?;
                let v = version(&after);
                if v != version(&seen) && v != newest {
                    return refuse("flow_version", AppError::new(codes::SERVER_FIELD));
                }
            }
            let values = self.values_seen(id, &seen, &rf.form, pushed)?;
            let people = People { roles: &rf.roles };
            let mut log = known;
            for d in new {
                let state = rf.flow.replay(&log, &people, &values);
                if let Err(e) = rf.flow.check_decision(
                    &rf.form,
                    &state,
                    &values,
                    &d,
                    self.now + DECISION_SKEW_MS,
                ) {
                    return refuse("decisions", e);
                }
                log.push(d);
            }
        }
        Ok(Ok(()))
    }

    /// The newest version of the team's flow `flow_id` (published, else built-in).
    fn newest_flow_version(&self, team: &str, flow_id: &str) -> Result<Option<i64>> {
        use liveline_domain::doc::definition_doc_id;
        use liveline_forms::{builtin, defs};
        let found = self.load(&definition_doc_id(DocKind::FlowDef, team, flow_id))?;
        let versions = match defs::published(DocKind::FlowDef, team, flow_id, |_| found) {
            Some(d) => defs::flow_versions(&d),
            None => builtin::flows()
                .into_iter()
                .filter(|f| f.id == flow_id)
                .collect(),
        };
        Ok(versions.last().map(|f| i64::from(f.version)))
    }

    /// A record's values as a device saw them (`doc`), with its hidden parts as this write has them, `pushed`
    /// (parts in the same push, as judged) before the stored ones.
    fn values_seen(
        &self,
        id: &str,
        doc: &AutoCommit,
        form: &liveline_forms::Form,
        pushed: &HashMap<String, AutoCommit>,
    ) -> Result<Values> {
        liveline_forms::record::values_loading_parts(form, id, doc, |part_id| {
            match pushed.get(part_id) {
                Some(p) => Ok(Some(p.clone())),
                None => self.load(part_id),
            }
        })
    }

    /// The team's form `form_id` as published (else the built-in one of that id).
    fn form_def(
        &self,
        team: &str,
        form_id: &str,
    ) -> Result<Option<liveline_types::forms::FormDef>> {
        use liveline_domain::doc::definition_doc_id;
        use liveline_forms::{builtin, defs};
        let found = self.load(&definition_doc_id(DocKind::FormDef, team, form_id))?;
        Ok(
            match defs::published(DocKind::FormDef, team, form_id, |_| found) {
                Some(d) => defs::read(&d),
                None => builtin::forms().into_iter().find(|f| f.id == form_id),
            },
        )
    }

    /// [`Automations::form_def`], compiled.
    fn form(&self, team: &str, form_id: &str) -> Result<Option<liveline_forms::Form>> {
        Ok(self
            .form_def(team, form_id)?
            .and_then(|d| liveline_forms::Form::compile(&d).ok()))
    }

    fn run_flow(&mut self, id: &str, doc: &mut AutoCommit) -> Result<RecordOutcome> {
        use automerge::transaction::Transactable;
        use automerge::ROOT;
        use liveline_forms::flow::EffectKind;
        use liveline_forms::{record, People, Status};
        use liveline_types::forms::FlowAction;

        let mut out = RecordOutcome::default();
        let Some(rf) = self.record_flow(doc)? else {
            return Ok(out);
        };
        let text = |k: &str| liveline_domain::doc::read_str(doc, k).unwrap_or_default();
        let list = |s: String| -> Vec<String> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        };
        let people = People { roles: &rf.roles };
        let values = self.all_values(id, doc, &rf.form)?;
        let mut state = rf.flow.replay(&record::decisions(doc), &people, &values);
        let (mark, since) = self.clamp_waiting(doc, &mut state);
        let waiting = match (&state.status, &state.waiting) {
            (Status::Running, Some(w)) => w.approvers.clone(),
            _ => Vec::new(),
        };
        let mut involved = list(text("involved"));
        let mut done = list(text("effects_done"));
        let mut set = values.clone();
        let title = {
            let def = &rf.form.def;
            // Only a field everyone reads names the record in a chat message or a task title.
            def.fields
                .iter()
                .filter(|f| !f.removed && f.read.is_empty())
                .find_map(|f| match values.get(&f.key) {
                    Some(liveline_types::forms::Value::Text(s)) if !s.is_empty() => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| def.name.en.clone())
        };
        for e in &state.effects {
            let key = format!("{}:{}", e.step, e.node);
            if done.contains(&key) {
                continue;
            }
            done.push(key);
            match &e.kind {
                EffectKind::Cc(users) => involved.extend(users.iter().cloned()),
                EffectKind::Action(FlowAction::SetField { field, value }) => {
                    set.insert(field.clone(), value.clone());
                }
                EffectKind::Action(FlowAction::CreateTask {
                    title: task_title,
                    assignee,
                    due_minutes,
                }) => {
                    let name = match (task_title.zh.is_empty(), task_title.en.is_empty()) {
                        (false, false) if task_title.zh != task_title.en => {
                            format!("{} · {}", task_title.zh, task_title.en)
                        }
                        (true, _) => task_title.en.clone(),
                        _ => task_title.zh.clone(),
                    };
                    let due = self
                        .now
                        .saturating_add(i64::from(*due_minutes).saturating_mul(60_000));
                    let assignees = rf.flow.resolve(
                        std::slice::from_ref(assignee),
                        &people,
                        state.submitter.as_deref(),
                        &values,
                    );
                    for u in assignees {
                        let t = Task::new(&rf.team, task::TODO, &name, &u, "", due, self.now)
                            .link("record", id, &title);
                        let tid = uuid::Uuid::now_v7().to_string();
                        let mut tdoc = AutoCommit::new().with_actor(server_actor());
                        if t.save_into(&mut tdoc).is_ok() {
                            if let Some(c) = new_doc_commit(&tid, &mut tdoc) {
                                self.wrote(&tid, &tdoc);
                                out.extra.push(c);
                            }
                        }
                    }
                }
                EffectKind::Action(FlowAction::Webhook { hook }) => self.events.push(Event::Flow {
                    team: rf.team.clone(),
                    record: id.to_string(),
                    form: rf.form.def.id.clone(),
                    hook: hook.clone(),
                    title: title.clone(),
                }),
            }
        }
        for u in &waiting {
            involved.push(u.clone());
        }
        let mut seen = std::collections::BTreeSet::new();
        involved.retain(|u| seen.insert(u.clone()));
        // The sweep's next look: only while the waiting step's time limit still has something to do.
        let due = match (&state.waiting, rf.flow.overdue(&state, &people, i64::MAX)) {
            (Some(w), Some(_)) => w.due_ms.unwrap_or(0),
            _ => 0,
        };
        let due_before = match automerge::ReadDoc::get(doc, ROOT, "due_at") {
            Ok(Some((automerge::Value::Scalar(s), _))) => s.as_i64().unwrap_or(0),
            _ => 0,
        };
        let since_before = int(doc, "waiting_since");
        let (waiting, involved, done) = (waiting.join(","), involved.join(","), done.join(","));
        if text("waiting_for") == waiting
            && text("involved") == involved
            && text("effects_done") == done
            && due_before == due
            && text("waiting_at") == mark
            && since_before == since
            && set == values
        {
            return Ok(out);
        }
        doc.set_actor(server_actor());
        let wrote = (|| {
            doc.put(ROOT, "waiting_for", waiting)?;
            doc.put(ROOT, "involved", involved)?;
            doc.put(ROOT, "effects_done", done)?;
            doc.put(ROOT, "due_at", due)?;
            doc.put(ROOT, "waiting_at", mark.as_str())?;
            doc.put(ROOT, "waiting_since", since)?;
            Ok::<_, automerge::AutomergeError>(())
        })();
        // A field the flow sets is written into the record; a hidden one is not (the record would give it away).
        let (shown_before, shown_after) = (
            record::split(&rf.form, &values).0,
            record::split(&rf.form, &set).0,
        );
        if wrote.is_err()
            || record::write_values(
                doc,
                &rf.form.def.id,
                rf.form.def.version,
                &shown_before,
                &shown_after,
            )
            .is_err()
        {
            return Ok(out);
        }
        out.change = commit_server(doc);
        Ok(out)
    }

    /// A waiting step's time limit runs from when the server first saw the step waiting, never from a time a
    /// device wrote: a decision dated in the past would otherwise make the next step overdue at once (and
    /// auto-approve it). Moves the waiting step's entry and due time no earlier than that moment; returns the
    /// step's mark (`step:node`, empty when nothing waits) and the moment, which the server keeps in the record.
    fn clamp_waiting(&self, doc: &AutoCommit, state: &mut liveline_forms::State) -> (String, i64) {
        let step = state.step;
        let Some(w) = state.waiting.as_mut() else {
            return (String::new(), 0);
        };
        let mark = format!("{step}:{}", w.node);
        let since = if liveline_domain::doc::read_str(doc, "waiting_at").as_deref()
            == Some(mark.as_str())
        {
            int(doc, "waiting_since")
        } else {
            self.now
        };
        if since > w.entered_ms {
            if let Some(due) = w.due_ms.as_mut() {
                *due = due.saturating_add(since - w.entered_ms);
            }
            w.entered_ms = since;
        }
        (mark, since)
    }

    /// A record whose waiting step's time limit passed: the server records what the flow says (a reminder, an
    /// escalation to the submitter's team lead, an approval), then places the record again. Returns what it wrote.
    pub fn sweep_record(&mut self, id: &str) -> Result<Vec<DocCommit>> {
        use liveline_forms::{record, People};
        let Some(mut doc) = self.load(id)? else {
            return Ok(Vec::new());
        };
        let Some(rf) = self.record_flow(&doc)? else {
            return Ok(Vec::new());
        };
        let values = self.all_values(id, &doc, &rf.form)?;
        let people = People { roles: &rf.roles };
        let mut state = rf.flow.replay(&record::decisions(&doc), &people, &values);
        self.clamp_waiting(&doc, &mut state);
        let mut changes = Vec::new();
        if let Some(act) = rf.flow.overdue(&state, &people, self.now) {
            let decision_id = uuid::Uuid::now_v7().to_string();
            match rf.flow.decide(
                &rf.form,
                &state,
                &values,
                SERVER_USER,
                act,
                (&decision_id, SERVER_USER, self.now),
                "",
            ) {
                Ok(d) => {
                    doc.set_actor(server_actor());
                    if record::append_decision(&mut doc, &d).is_ok() {
                        changes.extend(commit_server(&mut doc));
                    }
                }
                // Cannot go on (an auto-approval whose route fails on the values): left for people, once.
                Err(e) => {
                    tracing::warn!(record = %id, code = %e.code, "a time limit's action could not be taken")
                }
            }
        }
        // Placed again either way, which also clears a due time nothing is left to do for.
        let after = self.after_record(id, &mut doc)?;
        changes.extend(after.change);
        let mut out = after.extra;
        if changes.is_empty() {
            // Nothing changed, yet the index says it is due: write the due time off so the sweep moves on.
            use automerge::transaction::Transactable;
            doc.set_actor(server_actor());
            if doc.put(automerge::ROOT, "due_at", 0i64).is_ok() {
                changes.extend(commit_server(&mut doc));
            }
        }
        if let Some(c) = DocCommit::of(id, &mut doc, changes, None) {
            self.wrote(id, &doc);
            out.push(c);
        }
        Ok(out)
    }
}
