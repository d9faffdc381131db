//! Approval flows: definitions checked, routes worked out, and a record's state replayed from its decision log.
//!
//! The log is append-only and lives in the record's automerge document, so decisions taken offline on several
//! devices merge into one set. The state is a function of that set alone: decisions are replayed sorted by
//! (step the actor saw, kind, time, id), so every device computes the same state whatever order it received them in.
//!
//! Conflicts, decided the same way everywhere:
//! - Two or-sign approvers act on the same step: the earlier (by time, then id) moves the flow on; the other is
//!   kept in the log as superseded and shown to its author.
//! - An approval and a rejection of the same step made without seeing each other: the rejection wins (a reject
//!   sorts before an approval of the same step), and the approval, with anything decided after it on the path it
//!   opened, is superseded. A countersign node works the same way: one rejection stops it.
//! - A withdrawal races a decision: a rejection stands before it; otherwise the withdrawal wins over approvals of
//!   that step.
//!
//! A decision that moves the flow carries the route its device worked out from the record (which edge, which
//! automatic nodes), so later edits to the record's fields cannot rewrite the path already taken.

use crate::form::{expr_fault, fault, Form, Values};
use crate::formula::{Env, Expr};
use liveline_types::forms::{
    Act, Approver, Decision, FieldKind, FlowAction, FlowDef, FlowNode, NodeKind, OnTimeout, Sign,
};
use liveline_types::{codes, AppError, FieldError};
use std::collections::{BTreeMap, BTreeSet};

/// The people of the record's team: each user's role codes.
pub struct People<'a> {
    pub roles: &'a BTreeMap<String, Vec<String>>,
}

impl People<'_> {
    fn with_role(&self, role: &str) -> Vec<String> {
        self.roles
            .iter()
            .filter(|(_, r)| r.iter().any(|x| x == role))
            .map(|(u, _)| u.clone())
            .collect()
    }
    /// The team's leads: its sales leads, or its managers where it has none.
    pub fn leads(&self) -> Vec<String> {
        let l = self.with_role("sales_lead");
        if l.is_empty() {
            self.with_role("manager")
        } else {
            l
        }
    }
}

/// A checked flow, bound to the form its records use.
#[derive(Clone, Debug)]
pub struct Flow {
    pub def: FlowDef,
    start_when: Option<Expr>,
    /// Per node: its edges' conditions, compiled (None: always).
    edges: BTreeMap<String, Vec<(Option<Expr>, String)>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not submitted yet.
    Draft,
    /// Waiting at a node.
    Running,
    /// Rejected back to the submitter, who may edit and submit again.
    Returned,
    Withdrawn,
    Approved,
}

/// The node waiting for decisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub node: String,
    pub entered_ms: i64,
    /// Who may still decide.
    pub approvers: Vec<String>,
    /// Who approved already (countersign).
    pub approved: Vec<String>,
    pub due_ms: Option<i64>,
    pub reminded: bool,
    pub escalated: bool,
}

/// What became of a decision in the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Kept in the log, without effect; the code says why (for example `flow.not_pending`: someone decided first).
    Superseded(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub decision: Decision,
    pub outcome: Outcome,
}

/// A stay at a node: when the flow entered and left it, and how it left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub node: String,
    pub step: u32,
    pub entered_ms: i64,
    pub left_ms: Option<i64>,
}

/// Something an automatic node asks the server to carry out, once per step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    pub step: u32,
    pub node: String,
    pub kind: EffectKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EffectKind {
    Cc(Vec<String>),
    Action(FlowAction),
}

/// A record's flow state, replayed from its decisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub status: Status,
    pub submitter: Option<String>,
    /// Nodes entered so far; a decision names the step it was made at.
    pub step: u32,
    pub waiting: Option<Waiting>,
    /// Every decision, in replay order, with what became of it: the record's approval trail.
    pub log: Vec<Entry>,
    pub visits: Vec<Visit>,
    pub effects: Vec<Effect>,
}

impl State {
    fn new() -> Self {
        Self {
            status: Status::Draft,
            submitter: None,
            step: 0,
            waiting: None,
            log: Vec::new(),
            visits: Vec::new(),
            effects: Vec::new(),
        }
    }
    /// Decisions that did not count, for the people who made them.
    pub fn superseded(&self) -> impl Iterator<Item = &Entry> {
        self.log.iter().filter(|e| e.outcome != Outcome::Applied)
    }
}

/// The order decisions are replayed in, within a step: rejections first, then withdrawals, then changes to who
/// decides, then approvals; notes last.
fn rank(a: &Act) -> u8 {
    match a {
        Act::Reject { .. } => 0,
        Act::Withdraw => 1,
        Act::Submit => 2,
        Act::Transfer { .. } | Act::AddApprover { .. } | Act::Escalate { .. } => 3,
        Act::Approve => 4,
        Act::AutoApprove => 5,
        Act::Comment | Act::Remind => 6,
    }
}

fn node_fault(node: &str, code: &str) -> FieldError {
    fault(&format!("node:{node}"), code)
}

impl Flow {
    /// Checks what a flow is on its own: node ids unique, start and edges leading to nodes that exist, every
    /// approval or copy node naming someone, no cycle, every node reachable. The server runs this on every
    /// published flow; `compile` adds the checks that need the form.
    pub fn check_structure(def: &FlowDef) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut ids = BTreeSet::new();
        for n in &def.nodes {
            if !ids.insert(n.id.as_str()) || n.id.is_empty() {
                errors.push(node_fault(&n.id, codes::DEF_NODE_DUPLICATE));
            }
        }
        if !ids.contains(def.start.as_str()) {
            errors.push(FieldError {
                field: "start".into(),
                error: AppError::new(codes::DEF_NODE_UNKNOWN).with("to", def.start.clone()),
            });
        }
        for n in &def.nodes {
            let nobody = match &n.kind {
                NodeKind::Approve { approvers, .. } => approvers.is_empty(),
                NodeKind::Cc { to } => to.is_empty(),
                NodeKind::Action { .. } => false,
            };
            if nobody {
                errors.push(node_fault(&n.id, codes::DEF_NO_APPROVER));
            }
            for e in &n.next {
                if !ids.contains(e.to.as_str()) {
                    errors.push(FieldError {
                        field: format!("node:{}", n.id),
                        error: AppError::new(codes::DEF_NODE_UNKNOWN).with("to", e.to.clone()),
                    });
                }
            }
        }
        if !errors.is_empty() {
            return errors;
        }
        if let Some(cycle) = find_cycle(def) {
            errors.push(FieldError {
                field: format!("node:{}", cycle[0]),
                error: AppError::new(codes::DEF_FLOW_CYCLE).with("cycle", cycle.join(" → ")),
            });
        }
        let mut reached = BTreeSet::from([def.start.as_str()]);
        let mut todo = vec![def.start.as_str()];
        while let Some(n) = todo.pop() {
            for e in def.nodes.iter().filter(|x| x.id == n).flat_map(|x| &x.next) {
                if reached.insert(e.to.as_str()) {
                    todo.push(e.to.as_str());
                }
            }
        }
        for n in &def.nodes {
            if !reached.contains(n.id.as_str()) {
                errors.push(node_fault(&n.id, codes::DEF_NODE_UNREACHABLE));
            }
        }
        errors
    }

    /// Checks a flow against its form: its structure (`check_structure`), then conditions that compile over the
    /// form's fields, approver and required fields that are on the form, roles that exist, actions that fit.
    pub fn compile(def: &FlowDef, form: &Form) -> Result<Self, Vec<FieldError>> {
        let mut errors = Self::check_structure(def);
        let names: Vec<&str> = form
            .def
            .fields
            .iter()
            .filter(|f| !f.removed)
            .map(|f| f.key.as_str())
            .collect();
        let field = |k: &str| form.def.fields.iter().find(|f| f.key == k && !f.removed);
        if def.form != form.def.id {
            errors.push(FieldError {
                field: "form".into(),
                error: AppError::new(codes::DEF_FLOW_FORM).with("form", def.form.clone()),
            });
        }
        let start_when = match &def.start_when {
            None => None,
            Some(src) => match Expr::compile(src, names.iter().copied()) {
                Ok(e) => Some(e),
                Err(e) => {
                    errors.push(expr_fault("start_when", e));
                    None
                }
            },
        };
        let user_field = |k: &str| field(k).is_some_and(|f| f.kind == FieldKind::User);
        let mut edges = BTreeMap::new();
        for n in &def.nodes {
            let at = format!("node:{}", n.id);
            let check_approver = |a: &Approver, errors: &mut Vec<FieldError>| match a {
                Approver::FieldUser(k) if !user_field(k) => errors.push(FieldError {
                    field: at.clone(),
                    error: AppError::new(codes::DEF_FLOW_FIELD).with("name", k.clone()),
                }),
                Approver::Role(r) if liveline_domain::Role::from_code(r).is_none() => {
                    errors.push(FieldError {
                        field: at.clone(),
                        error: AppError::new(codes::DEF_ROLE_UNKNOWN).with("role", r.clone()),
                    })
                }
                _ => {}
            };
            match &n.kind {
                NodeKind::Approve {
                    approvers,
                    requires,
                    ..
                } => {
                    for a in approvers {
                        check_approver(a, &mut errors);
                    }
                    for k in requires {
                        if field(k).is_none() {
                            errors.push(FieldError {
                                field: at.clone(),
                                error: AppError::new(codes::DEF_FLOW_FIELD).with("name", k.clone()),
                            });
                        }
                    }
                }
                NodeKind::Cc { to } => {
                    for a in to {
                        check_approver(a, &mut errors);
                    }
                }
                NodeKind::Action { action } => match action {
                    FlowAction::SetField { field: k, value } => match field(k) {
                        None => errors.push(FieldError {
                            field: at.clone(),
                            error: AppError::new(codes::DEF_FLOW_FIELD).with("name", k.clone()),
                        }),
                        Some(f) => {
                            let tz = jiff::tz::TimeZone::UTC;
                            let ctx = crate::form::Ctx {
                                roles: &[],
                                members: &[],
                                tz: &tz,
                            };
                            if let Err(e) = crate::form::check_stored(f, value, &ctx) {
                                errors.push(FieldError {
                                    field: at.clone(),
                                    error: AppError::new(codes::DEF_DEFAULT)
                                        .with("detail", e.error.code),
                                });
                            }
                        }
                    },
                    FlowAction::CreateTask { assignee, .. } => {
                        check_approver(assignee, &mut errors)
                    }
                    FlowAction::Webhook { .. } => {}
                },
            }
            let mut out = Vec::new();
            for e in &n.next {
                let cond = match &e.when {
                    None => None,
                    Some(src) => match Expr::compile(src, names.iter().copied()) {
                        Ok(x) => Some(x),
                        Err(x) => {
                            errors.push(expr_fault(&at, x));
                            None
                        }
                    },
                };
                out.push((cond, e.to.clone()));
            }
            edges.insert(n.id.clone(), out);
        }
        if errors.is_empty() {
            Ok(Self {
                def: def.clone(),
                start_when,
                edges,
            })
        } else {
            Err(errors)
        }
    }

    fn node(&self, id: &str) -> Option<&FlowNode> {
        self.def.nodes.iter().find(|n| n.id == id)
    }

    /// Whether this flow runs on a record with these values.
    pub fn applies(&self, form: &Form, values: &Values) -> Result<bool, AppError> {
        match &self.start_when {
            None => Ok(true),
            Some(e) => e
                .truth(&Env {
                    fields: &form.def.fields,
                    values,
                    row: None,
                })
                .map_err(route_error),
        }
    }

    /// The nodes a decision passes: from the start (`from: None`) or from node `from`, through automatic nodes,
    /// to the next approval node, or to the end (the route then ends with no approval node, or is empty).
    pub fn route(
        &self,
        form: &Form,
        from: Option<&str>,
        values: &Values,
    ) -> Result<Vec<String>, AppError> {
        let env = Env {
            fields: &form.def.fields,
            values,
            row: None,
        };
        let mut out = Vec::new();
        let mut next = match from {
            None => Some(self.def.start.clone()),
            Some(n) => self.pick(n, &env)?,
        };
        while let Some(n) = next {
            out.push(n.clone());
            match self.node(&n).map(|x| &x.kind) {
                Some(NodeKind::Approve { .. }) | None => break,
                Some(_) => next = self.pick(&n, &env)?,
            }
        }
        Ok(out)
    }

    fn pick(&self, node: &str, env: &Env<'_>) -> Result<Option<String>, AppError> {
        for (cond, to) in self.edges.get(node).into_iter().flatten() {
            let taken = match cond {
                None => true,
                Some(e) => e.truth(env).map_err(route_error)?,
            };
            if taken {
                return Ok(Some(to.clone()));
            }
        }
        Ok(None)
    }

    /// Whether `route` is a path this flow allows from `from` (the start when `None`).
    fn route_ok(&self, from: Option<&str>, route: &[String]) -> bool {
        let mut at = from.map(str::to_string);
        for (i, n) in route.iter().enumerate() {
            let allowed = match &at {
                None => *n == self.def.start,
                Some(a) => self
                    .node(a)
                    .is_some_and(|x| x.next.iter().any(|e| &e.to == n)),
            };
            let last = i + 1 == route.len();
            let automatic = !matches!(
                self.node(n).map(|x| &x.kind),
                Some(NodeKind::Approve { .. })
            );
            if !allowed || (!last && !automatic) {
                return false;
            }
            at = Some(n.clone());
        }
        true
    }

    /// Replays a decision log. The same set of decisions gives the same state, in any order and with repeats.
    pub fn replay(&self, decisions: &[Decision], people: &People<'_>, values: &Values) -> State {
        let mut sorted: Vec<&Decision> = decisions.iter().collect();
        sorted.sort_by(|a, b| {
            (a.step, rank(&a.act), a.at_ms, &a.id).cmp(&(b.step, rank(&b.act), b.at_ms, &b.id))
        });
        sorted.dedup_by(|a, b| a.id == b.id);
        let mut st = State::new();
        for d in sorted {
            let outcome = match self.judge(&st, d) {
                Ok(()) => {
                    self.apply(&mut st, d, people, values);
                    Outcome::Applied
                }
                Err(code) => Outcome::Superseded(code),
            };
            st.log.push(Entry {
                decision: d.clone(),
                outcome,
            });
        }
        st
    }

    /// Whether decision `d` counts in state `st`; else the code of why not.
    fn judge(&self, st: &State, d: &Decision) -> Result<(), &'static str> {
        let at_node = |st: &State| {
            st.status == Status::Running
                && d.step == st.step
                && st.waiting.as_ref().is_some_and(|w| w.node == d.node)
        };
        let approver = |st: &State| {
            let w = st.waiting.as_ref().expect("running");
            if w.approvers.contains(&d.actor) {
                Ok(())
            } else if w.approved.contains(&d.actor) {
                Err(codes::FLOW_ALREADY_DECIDED)
            } else {
                Err(codes::FLOW_NOT_APPROVER)
            }
        };
        match &d.act {
            Act::Comment => Ok(()),
            Act::Submit => {
                if !matches!(
                    st.status,
                    Status::Draft | Status::Returned | Status::Withdrawn
                ) || d.step != st.step
                {
                    Err(codes::FLOW_NOT_PENDING)
                } else if st.submitter.as_ref().is_some_and(|s| *s != d.actor) {
                    Err(codes::FLOW_NOT_SUBMITTER)
                } else if !self.route_ok(None, &d.route) {
                    Err(codes::FLOW_ROUTE)
                } else {
                    Ok(())
                }
            }
            Act::Withdraw => {
                if !at_node(st) {
                    Err(codes::FLOW_NOT_PENDING)
                } else if st.submitter.as_deref() != Some(d.actor.as_str()) {
                    Err(codes::FLOW_NOT_SUBMITTER)
                } else if self.decided_since_submit(st) {
                    Err(codes::FLOW_ALREADY_DECIDED)
                } else {
                    Ok(())
                }
            }
            Act::Approve => {
                if !at_node(st) {
                    return Err(codes::FLOW_NOT_PENDING);
                }
                approver(st)?;
                let w = st.waiting.as_ref().expect("running");
                let sign = self.sign(&w.node);
                let last = sign == Sign::Any || w.approvers.len() == 1;
                if last && !self.route_ok(Some(&w.node), &d.route) {
                    return Err(codes::FLOW_ROUTE);
                }
                Ok(())
            }
            Act::Reject { to } => {
                if !at_node(st) {
                    return Err(codes::FLOW_NOT_PENDING);
                }
                approver(st)?;
                match to {
                    Some(n) if !self.passed_in_run(st).contains(n.as_str()) => {
                        Err(codes::FLOW_REJECT_TARGET)
                    }
                    _ => Ok(()),
                }
            }
            Act::Transfer { .. } | Act::AddApprover { .. } => {
                if !at_node(st) {
                    return Err(codes::FLOW_NOT_PENDING);
                }
                approver(st)
            }
            Act::Remind | Act::Escalate { .. } | Act::AutoApprove => {
                if !at_node(st) {
                    Err(codes::FLOW_NOT_PENDING)
                } else if matches!(d.act, Act::AutoApprove) {
                    let w = st.waiting.as_ref().expect("running");
                    if self.route_ok(Some(&w.node), &d.route) {
                        Ok(())
                    } else {
                        Err(codes::FLOW_ROUTE)
                    }
                } else {
                    Ok(())
                }
            }
        }
    }

    fn sign(&self, node: &str) -> Sign {
        match self.node(node).map(|n| &n.kind) {
            Some(NodeKind::Approve { sign, .. }) => *sign,
            _ => Sign::Any,
        }
    }

    /// Approval nodes entered since the last submit (where a rejection may send the flow back to).
    fn passed_in_run<'a>(&self, st: &'a State) -> BTreeSet<&'a str> {
        let since = st
            .log
            .iter()
            .rev()
            .find(|e| e.outcome == Outcome::Applied && e.decision.act == Act::Submit)
            .map_or(0, |e| e.decision.step);
        st.visits
            .iter()
            .filter(|v| v.step > since)
            .filter(|v| {
                matches!(
                    self.node(&v.node).map(|n| &n.kind),
                    Some(NodeKind::Approve { .. })
                )
            })
            .filter(|v| v.left_ms.is_some())
            .map(|v| v.node.as_str())
            .collect()
    }

    /// Whether anyone approved or rejected since the last submit.
    fn decided_since_submit(&self, st: &State) -> bool {
        for e in st.log.iter().rev() {
            if e.outcome != Outcome::Applied {
                continue;
            }
            match e.decision.act {
                Act::Submit => return false,
                Act::Approve | Act::Reject { .. } | Act::AutoApprove => return true,
                _ => {}
            }
        }
        false
    }

    fn apply(&self, st: &mut State, d: &Decision, people: &People<'_>, values: &Values) {
        match &d.act {
            Act::Comment => {}
            Act::Submit => {
                st.submitter = Some(d.actor.clone());
                self.enter(st, &d.route, d.at_ms, people, values);
            }
            Act::Withdraw => {
                self.leave(st, d.at_ms);
                st.status = Status::Withdrawn;
            }
            Act::Approve => {
                let w = st.waiting.as_mut().expect("judged");
                w.approvers.retain(|a| *a != d.actor);
                w.approved.push(d.actor.clone());
                if self.sign(&w.node) == Sign::Any || w.approvers.is_empty() {
                    self.leave(st, d.at_ms);
                    self.enter(st, &d.route, d.at_ms, people, values);
                }
            }
            Act::AutoApprove => {
                self.leave(st, d.at_ms);
                self.enter(st, &d.route, d.at_ms, people, values);
            }
            Act::Reject { to } => {
                self.leave(st, d.at_ms);
                match to {
                    None => st.status = Status::Returned,
                    Some(n) => self.enter(st, std::slice::from_ref(n), d.at_ms, people, values),
                }
            }
            Act::Transfer { to } => {
                let w = st.waiting.as_mut().expect("judged");
                w.approvers.retain(|a| *a != d.actor);
                if !w.approvers.contains(to) && !w.approved.contains(to) {
                    w.approvers.push(to.clone());
                }
            }
            Act::AddApprover { user } => {
                let w = st.waiting.as_mut().expect("judged");
                if !w.approvers.contains(user) && !w.approved.contains(user) {
                    w.approvers.push(user.clone());
                }
            }
            Act::Remind => st.waiting.as_mut().expect("judged").reminded = true,
            Act::Escalate { to } => {
                let w = st.waiting.as_mut().expect("judged");
                w.escalated = true;
                for u in to {
                    if !w.approvers.contains(u) && !w.approved.contains(u) {
                        w.approvers.push(u.clone());
                    }
                }
            }
        }
    }

    fn leave(&self, st: &mut State, at_ms: i64) {
        st.waiting = None;
        if let Some(v) = st.visits.last_mut() {
            if v.left_ms.is_none() {
                v.left_ms = Some(at_ms);
            }
        }
    }

    /// Enters the nodes of a route: automatic ones are passed (their effects recorded), the last approval node waits.
    fn enter(
        &self,
        st: &mut State,
        route: &[String],
        at_ms: i64,
        people: &People<'_>,
        values: &Values,
    ) {
        st.status = Status::Running;
        for n in route {
            st.step += 1;
            let node = self.node(n).expect("route checked");
            st.visits.push(Visit {
                node: n.clone(),
                step: st.step,
                entered_ms: at_ms,
                left_ms: None,
            });
            match &node.kind {
                NodeKind::Approve {
                    approvers,
                    others_decide,
                    ..
                } => {
                    let mut who = self.resolve(approvers, people, st.submitter.as_deref(), values);
                    let submitter = st.submitter.as_deref().filter(|_| *others_decide);
                    who.retain(|u| Some(u.as_str()) != submitter);
                    if who.is_empty() {
                        who = people.leads();
                        who.retain(|u| Some(u.as_str()) != submitter);
                    }
                    if who.is_empty() {
                        // The submitter is the team's only lead: a manager decides instead.
                        who = people.with_role("manager");
                        who.retain(|u| Some(u.as_str()) != submitter);
                    }
                    st.waiting = Some(Waiting {
                        node: n.clone(),
                        entered_ms: at_ms,
                        approvers: who,
                        approved: Vec::new(),
                        due_ms: node.limit_minutes.map(|m| at_ms + i64::from(m) * 60_000),
                        reminded: false,
                        escalated: false,
                    });
                    return;
                }
                NodeKind::Cc { to } => {
                    let who = self.resolve(to, people, st.submitter.as_deref(), values);
                    st.effects.push(Effect {
                        step: st.step,
                        node: n.clone(),
                        kind: EffectKind::Cc(who),
                    });
                }
                NodeKind::Action { action } => {
                    st.effects.push(Effect {
                        step: st.step,
                        node: n.clone(),
                        kind: EffectKind::Action(action.clone()),
                    });
                }
            }
            self.leave(st, at_ms);
        }
        st.status = Status::Approved;
    }

    /// The users an approver list names, sorted, each once.
    pub fn resolve(
        &self,
        list: &[Approver],
        people: &People<'_>,
        submitter: Option<&str>,
        values: &Values,
    ) -> Vec<String> {
        let mut out = BTreeSet::new();
        for a in list {
            match a {
                Approver::User(u) => {
                    out.insert(u.clone());
                }
                Approver::Role(r) => out.extend(people.with_role(r)),
                Approver::TeamLead => out.extend(
                    people
                        .leads()
                        .into_iter()
                        .filter(|u| Some(u.as_str()) != submitter),
                ),
                Approver::FieldUser(k) => {
                    if let Some(liveline_types::forms::Value::Text(u)) = values.get(k) {
                        out.insert(u.clone());
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// Checks a new decision by `actor` against the current state and the record, and fills in its route.
    /// The device calls this before appending; the server calls it again on what the author saw
    /// ([`Flow::check_decision`]). One the merged state no longer allows is kept and counts as superseded in the
    /// replay.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        form: &Form,
        st: &State,
        values: &Values,
        actor: &str,
        act: Act,
        stamp: (&str, &str, i64),
        comment: &str,
    ) -> Result<Decision, AppError> {
        let (id, device, at_ms) = stamp;
        let node = st
            .waiting
            .as_ref()
            .map(|w| w.node.clone())
            .unwrap_or_default();
        let mut d = Decision {
            id: id.to_string(),
            step: st.step,
            node: if act == Act::Submit {
                String::new()
            } else {
                node.clone()
            },
            actor: actor.to_string(),
            device: device.to_string(),
            at_ms,
            act,
            comment: comment.to_string(),
            route: Vec::new(),
        };
        let moves_on = match &d.act {
            Act::Submit => {
                if !self.applies(form, values)? {
                    return Err(AppError::new(codes::FLOW_ROUTE).with("detail", "start_when"));
                }
                d.route = self.route(form, None, values)?;
                false
            }
            // Every approval carries the route its node takes once complete, not only the one its author saw
            // complete it: in a countersign node, approvals made apart (offline) merge, and whichever completes the
            // node in the replay must know where the flow goes next (an empty route would end the flow there).
            Act::Approve => {
                if let Some(NodeKind::Approve { .. }) = self.node(&node).map(|n| &n.kind) {
                    self.check_requires(&node, values)?;
                    true
                } else {
                    false
                }
            }
            // A time limit approves only what a person could: the step's required fields must be filled.
            Act::AutoApprove => {
                self.check_requires(&node, values)?;
                true
            }
            _ => false,
        };
        if moves_on {
            d.route = self.route(form, Some(&node), values)?;
        }
        self.judge(st, &d)
            .map_err(|code| AppError::new(code).with("node", node))?;
        Ok(d)
    }

    /// The server's judgement of a decision a person added: it must be exactly what [`Flow::decide`] gives on the
    /// state `seen` and the values its author's device had when deciding (so a submit with no route, an approval
    /// that skips a step, one before a required field is filled, one by someone the step does not wait for, are
    /// refused), dated no later than the server's clock allows (`latest_ms`).
    pub fn check_decision(
        &self,
        form: &Form,
        seen: &State,
        values: &Values,
        d: &Decision,
        latest_ms: i64,
    ) -> Result<(), AppError> {
        if d.at_ms > latest_ms {
            return Err(AppError::new(codes::FLOW_TIME));
        }
        let expected = self.decide(
            form,
            seen,
            values,
            &d.actor,
            d.act.clone(),
            (&d.id, &d.device, d.at_ms),
            &d.comment,
        )?;
        if (expected.step, &expected.node, &expected.route) != (d.step, &d.node, &d.route) {
            return Err(AppError::new(codes::FLOW_ROUTE_MISMATCH)
                .with("node", expected.node)
                .with("route", expected.route.join(" → ")));
        }
        Ok(())
    }

    /// Refuses to pass `node` while a field it requires is empty, naming the fields.
    fn check_requires(&self, node: &str, values: &Values) -> Result<(), AppError> {
        let Some(NodeKind::Approve { requires, .. }) = self.node(node).map(|n| &n.kind) else {
            return Ok(());
        };
        let missing: Vec<&str> = requires
            .iter()
            .filter(|k| !values.contains_key(*k))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AppError::new(codes::FLOW_REQUIRES)
                .with("fields", missing.join(", "))
                .with("node", node))
        }
    }

    /// The decision the server appends when the waiting node's time limit has passed, if any.
    pub fn overdue(&self, st: &State, people: &People<'_>, now_ms: i64) -> Option<Act> {
        let w = st.waiting.as_ref()?;
        if w.due_ms.is_none_or(|due| now_ms < due) {
            return None;
        }
        match self.node(&w.node)?.on_timeout {
            OnTimeout::Nothing => None,
            OnTimeout::Remind => (!w.reminded).then_some(Act::Remind),
            OnTimeout::Escalate => (!w.escalated).then(|| Act::Escalate {
                to: people
                    .leads()
                    .into_iter()
                    .filter(|u| !w.approvers.contains(u) && !w.approved.contains(u))
                    .collect(),
            }),
            OnTimeout::AutoApprove => Some(Act::AutoApprove),
        }
    }
}

fn route_error(e: crate::formula::ExprError) -> AppError {
    let detail = match e {
        crate::formula::ExprError::Eval(d) | crate::formula::ExprError::Syntax(d) => d,
        crate::formula::ExprError::UnknownField(n) => n,
        crate::formula::ExprError::WrongType => "not a yes/no condition".into(),
    };
    AppError::new(codes::FLOW_ROUTE).with("detail", detail)
}

/// A cycle among the flow's edges, as the node ids around it, if there is one.
fn find_cycle(def: &FlowDef) -> Option<Vec<String>> {
    fn visit<'a>(
        n: &'a str,
        def: &'a FlowDef,
        open: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = open.iter().position(|x| *x == n) {
            let mut c: Vec<String> = open[i..].iter().map(|s| s.to_string()).collect();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        open.push(n);
        for e in def.nodes.iter().filter(|x| x.id == n).flat_map(|x| &x.next) {
            if let Some(c) = visit(&e.to, def, open, done) {
                return Some(c);
            }
        }
        open.pop();
        done.insert(n);
        None
    }
    let mut done = BTreeSet::new();
    def.nodes
        .iter()
        .find_map(|n| visit(&n.id, def, &mut Vec::new(), &mut done))
}
