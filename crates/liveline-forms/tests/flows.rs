//! Approval flows: every node type and action, conflicts between decisions taken apart, time limits, bad definitions.

use liveline_forms::builtin;
use liveline_forms::flow::{EffectKind, Outcome};
use liveline_forms::{Flow, Form, People, State, Status, Values};
use liveline_types::codes;
use liveline_types::forms::{
    Act, Approver, Decision, Edge, FlowAction, FlowDef, FlowNode, NodeKind, OnTimeout, Sign, Text,
    Value,
};
use std::collections::BTreeMap;

/// One order going through its flow: the record's values, the team, and the decision log as devices append to it.
struct Run {
    form: Form,
    flow: Flow,
    values: Values,
    roles: BTreeMap<String, Vec<String>>,
    log: Vec<Decision>,
    clock: i64,
}

fn team() -> BTreeMap<String, Vec<String>> {
    [
        ("rep", "sales_rep"),
        ("rep2", "sales_rep"),
        ("lead", "sales_lead"),
        ("boss", "manager"),
        ("fin1", "finance"),
        ("fin2", "finance"),
        ("wh", "warehouse"),
    ]
    .into_iter()
    .map(|(u, r)| (u.to_string(), vec![r.to_string()]))
    .collect()
}

fn money(amount: &str) -> Value {
    Value::Money(liveline_types::forms::Money {
        amount: amount.parse().unwrap(),
        currency: "USD".into(),
    })
}

impl Run {
    fn order(total: &str) -> Self {
        let form = Form::compile(&builtin::order_form()).unwrap();
        let flow = Flow::compile(&builtin::order_flow(), &form).unwrap();
        let values = Values::from([
            ("sales_rep".to_string(), Value::Text("rep".into())),
            ("currency".to_string(), Value::Text("USD".into())),
            ("total".to_string(), money(total)),
        ]);
        Self::with(form, flow, values)
    }

    fn with(form: Form, flow: Flow, values: Values) -> Self {
        Self {
            form,
            flow,
            values,
            roles: team(),
            log: Vec::new(),
            clock: 1_000_000,
        }
    }

    fn state(&self) -> State {
        self.flow
            .replay(&self.log, &People { roles: &self.roles }, &self.values)
    }

    /// `user` does `act` on what the log shows now; the decision is appended if the engine allows it.
    fn act(&mut self, user: &str, act: Act) -> Result<Decision, String> {
        let d = self.prepare(user, act)?;
        self.log.push(d.clone());
        Ok(d)
    }

    /// The decision `user`'s device would append now, without appending it (a device that is offline).
    fn prepare(&mut self, user: &str, act: Act) -> Result<Decision, String> {
        self.clock += 60_000;
        let id = format!("d{}", self.log.len() + 1000 + self.clock as usize % 997);
        let st = self.state();
        self.flow
            .decide(
                &self.form,
                &st,
                &self.values,
                user,
                act,
                (&id, "dev", self.clock),
                "",
            )
            .map_err(|e| e.code)
    }

    fn waiting(&self) -> Option<(String, Vec<String>)> {
        self.state().waiting.map(|w| (w.node, w.approvers))
    }
}

fn at(node: &str, who: &[&str]) -> Option<(String, Vec<String>)> {
    Some((
        node.to_string(),
        who.iter().map(|s| s.to_string()).collect(),
    ))
}

#[test]
fn an_order_goes_from_sales_to_finance_to_the_warehouse() {
    let mut r = Run::order("1200");
    assert_eq!(r.state().status, Status::Draft);
    r.act("rep", Act::Submit).unwrap();
    assert_eq!(r.waiting(), at("sales", &["rep"]));
    r.act("rep", Act::Approve).unwrap();
    assert_eq!(r.waiting(), at("finance", &["fin1", "fin2"]));
    assert_eq!(
        r.act("wh", Act::Approve),
        Err(codes::FLOW_NOT_APPROVER.into())
    );
    r.act("fin2", Act::Approve).unwrap();
    assert_eq!(r.waiting(), at("warehouse", &["wh"]));
    // Shipping needs the tracking number.
    assert_eq!(r.act("wh", Act::Approve), Err(codes::FLOW_REQUIRES.into()));
    r.values
        .insert("tracking_no".into(), Value::Text("1Z999".into()));
    r.act("wh", Act::Approve).unwrap();
    let st = r.state();
    assert_eq!(st.status, Status::Approved);
    assert_eq!(st.waiting, None);
    // The notify node asked for its webhook once.
    assert_eq!(st.effects.len(), 1);
    assert_eq!(
        st.effects[0].kind,
        EffectKind::Action(FlowAction::Webhook {
            hook: "order_shipped".into()
        })
    );
    // Time spent at each node, for the dashboards (each attempt above took a minute of the test's clock).
    let stays: Vec<(&str, i64)> = st
        .visits
        .iter()
        .map(|v| (v.node.as_str(), v.left_ms.unwrap() - v.entered_ms))
        .collect();
    assert_eq!(
        stays,
        vec![
            ("sales", 60_000),
            ("finance", 120_000),
            ("warehouse", 120_000),
            ("notify", 0)
        ]
    );
    assert_eq!(
        r.act("wh", Act::Approve),
        Err(codes::FLOW_NOT_PENDING.into())
    );
}

#[test]
fn a_large_usd_order_adds_a_manager() {
    let mut r = Run::order("5000.01");
    r.act("rep", Act::Submit).unwrap();
    r.act("rep", Act::Approve).unwrap();
    assert_eq!(r.waiting(), at("manager", &["boss"]));
    // Lowering the total afterwards does not rewrite the path already taken.
    r.values.insert("total".into(), money("10"));
    assert_eq!(r.waiting(), at("manager", &["boss"]));
    r.act("boss", Act::Approve).unwrap();
    assert_eq!(r.waiting(), at("finance", &["fin1", "fin2"]));
}

#[test]
fn rejected_to_the_submitter_then_resubmitted() {
    let mut r = Run::order("100");
    r.act("rep", Act::Submit).unwrap();
    r.act("rep", Act::Approve).unwrap();
    r.act("fin1", Act::Reject { to: None }).unwrap();
    assert_eq!(r.state().status, Status::Returned);
    assert_eq!(
        r.act("rep2", Act::Submit),
        Err(codes::FLOW_NOT_SUBMITTER.into())
    );
    r.act("rep", Act::Submit).unwrap();
    assert_eq!(r.waiting(), at("sales", &["rep"]));
    // Rejected back to an earlier node: that node decides again.
    r.act("rep", Act::Approve).unwrap();
    assert_eq!(
        r.act(
            "fin1",
            Act::Reject {
                to: Some("warehouse".into())
            }
        ),
        Err(codes::FLOW_REJECT_TARGET.into())
    );
    r.act(
        "fin1",
        Act::Reject {
            to: Some("sales".into()),
        },
    )
    .unwrap();
    assert_eq!(r.waiting(), at("sales", &["rep"]));
}

#[test]
fn transfer_add_and_comment() {
    let mut r = Run::order("100");
    r.act("rep", Act::Submit).unwrap();
    r.act("rep", Act::Transfer { to: "rep2".into() }).unwrap();
    assert_eq!(r.waiting(), at("sales", &["rep2"]));
    assert_eq!(
        r.act("rep", Act::Approve),
        Err(codes::FLOW_NOT_APPROVER.into())
    );
    r.act(
        "rep2",
        Act::AddApprover {
            user: "lead".into(),
        },
    )
    .unwrap();
    assert_eq!(r.waiting(), at("sales", &["rep2", "lead"]));
    r.act("boss", Act::Comment).unwrap();
    r.act("lead", Act::Approve).unwrap();
    assert_eq!(r.waiting(), at("finance", &["fin1", "fin2"]));
    assert!(r.state().log.iter().all(|e| e.outcome == Outcome::Applied));
}

#[test]
fn withdraw_only_before_the_first_decision() {
    let mut r = Run::order("100");
    r.act("rep", Act::Submit).unwrap();
    assert_eq!(
        r.act("fin1", Act::Withdraw),
        Err(codes::FLOW_NOT_SUBMITTER.into())
    );
    r.act("rep", Act::Withdraw).unwrap();
    assert_eq!(r.state().status, Status::Withdrawn);
    r.act("rep", Act::Submit).unwrap();
    r.act("rep", Act::Approve).unwrap();
    assert_eq!(
        r.act("rep", Act::Withdraw),
        Err(codes::FLOW_ALREADY_DECIDED.into())
    );
}

fn countersign_flow() -> FlowDef {
    FlowDef {
        id: "cs".into(),
        name: Text::default(),
        version: 1,
        form: "live_order".into(),
        start_when: None,
        start: "both".into(),
        nodes: vec![FlowNode {
            id: "both".into(),
            label: Text::default(),
            kind: NodeKind::Approve {
                approvers: vec![Approver::Role("finance".into())],
                sign: Sign::All,
                requires: vec![],
                others_decide: false,
            },
            next: vec![],
            limit_minutes: Some(30),
            on_timeout: OnTimeout::Escalate,
        }],
    }
}

#[test]
fn a_countersign_node_waits_for_everyone_and_one_rejection_stops_it() {
    let form = Form::compile(&builtin::order_form()).unwrap();
    let flow = Flow::compile(&countersign_flow(), &form).unwrap();
    let mut r = Run::with(form.clone(), flow.clone(), Values::new());
    r.act("rep", Act::Submit).unwrap();
    r.act("fin1", Act::Approve).unwrap();
    assert_eq!(r.waiting(), at("both", &["fin2"]));
    assert_eq!(
        r.act("fin1", Act::Approve),
        Err(codes::FLOW_ALREADY_DECIDED.into())
    );
    r.act("fin2", Act::Approve).unwrap();
    assert_eq!(r.state().status, Status::Approved);

    let mut r = Run::with(form, flow, Values::new());
    r.act("rep", Act::Submit).unwrap();
    r.act("fin1", Act::Approve).unwrap();
    r.act("fin2", Act::Reject { to: None }).unwrap();
    assert_eq!(r.state().status, Status::Returned);
}

#[test]
fn an_overdue_node_escalates_to_the_team_lead_once() {
    let form = Form::compile(&builtin::order_form()).unwrap();
    let flow = Flow::compile(&countersign_flow(), &form).unwrap();
    let mut r = Run::with(form, flow, Values::new());
    r.act("rep", Act::Submit).unwrap();
    let people = team();
    let st = r.state();
    let due = st.waiting.as_ref().unwrap().due_ms.unwrap();
    assert_eq!(due, st.waiting.as_ref().unwrap().entered_ms + 30 * 60_000);
    assert_eq!(
        r.flow.overdue(&st, &People { roles: &people }, due - 1),
        None
    );
    let act = r
        .flow
        .overdue(&st, &People { roles: &people }, due)
        .unwrap();
    assert_eq!(
        act,
        Act::Escalate {
            to: vec!["lead".into()]
        }
    );
    r.act("system", act).unwrap();
    assert_eq!(r.waiting(), at("both", &["fin1", "fin2", "lead"]));
    let st = r.state();
    assert_eq!(
        r.flow.overdue(&st, &People { roles: &people }, due + 1),
        None
    );
}

#[test]
fn two_or_sign_approvers_at_once_the_earlier_counts() {
    let mut r = Run::order("100");
    r.act("rep", Act::Submit).unwrap();
    r.act("rep", Act::Approve).unwrap();
    // Both finance users approve offline, having seen the same step.
    let a = r.prepare("fin2", Act::Approve).unwrap();
    let b = r.prepare("fin1", Act::Approve).unwrap();
    r.log.push(b.clone());
    r.log.push(a.clone());
    let st = r.state();
    assert_eq!(st.waiting.as_ref().unwrap().node, "warehouse");
    let outcome = |id: &str| {
        st.log
            .iter()
            .find(|e| e.decision.id == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(outcome(&a.id), Outcome::Applied);
    assert_eq!(outcome(&b.id), Outcome::Superseded(codes::FLOW_NOT_PENDING));
    assert_eq!(st.superseded().count(), 1);
}

#[test]
fn an_approval_and_a_rejection_made_apart_the_rejection_wins_wherever_they_merge() {
    let mut r = Run::order("100");
    r.act("rep", Act::Submit).unwrap();
    r.act("rep", Act::Approve).unwrap();
    let reject = r.prepare("fin1", Act::Reject { to: None }).unwrap();
    // fin2 approved earlier by the clock, and the warehouse even saw that and commented.
    let mut approve = r.prepare("fin2", Act::Approve).unwrap();
    approve.at_ms = reject.at_ms - 30_000;
    r.log.push(approve.clone());
    let note = r.act("wh", Act::Comment).unwrap();
    r.log.push(reject.clone());
    let st = r.state();
    assert_eq!(st.status, Status::Returned);
    let outcome = |id: &str| {
        st.log
            .iter()
            .find(|e| e.decision.id == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(
        outcome(&approve.id),
        Outcome::Superseded(codes::FLOW_NOT_PENDING)
    );
    assert_eq!(outcome(&reject.id), Outcome::Applied);
    assert_eq!(outcome(&note.id), Outcome::Applied);
    // The other merge order, and a repeated delivery, give the same state.
    let mut other = r.log.clone();
    other.reverse();
    other.push(approve.clone());
    assert_eq!(
        r.flow
            .replay(&other, &People { roles: &r.roles }, &r.values),
        st
    );
}

#[test]
fn a_decision_with_a_route_the_flow_does_not_have_is_kept_but_does_not_count() {
    let mut r = Run::order("100");
    r.act("rep", Act::Submit).unwrap();
    let mut forged = r.prepare("rep", Act::Approve).unwrap();
    forged.route = vec!["warehouse".into()];
    r.log.push(forged.clone());
    let st = r.state();
    assert_eq!(st.waiting.unwrap().node, "sales");
    assert_eq!(
        st.log.last().unwrap().outcome,
        Outcome::Superseded(codes::FLOW_ROUTE)
    );
}

#[test]
fn a_cc_node_copies_and_moves_on() {
    let form = Form::compile(&builtin::live_script_form()).unwrap();
    let flow = Flow::compile(&builtin::live_script_flow(), &form).unwrap();
    let mut roles = team();
    roles.insert("host".into(), vec!["assistant".into()]);
    let mut r = Run::with(form, flow, Values::new());
    r.roles = roles;
    r.act("rep", Act::Submit).unwrap();
    assert_eq!(r.waiting(), at("lead", &["lead"]));
    r.act("lead", Act::Approve).unwrap();
    let st = r.state();
    assert_eq!(st.status, Status::Approved);
    assert_eq!(st.effects[0].kind, EffectKind::Cc(vec!["host".into()]));
}

#[test]
fn a_low_margin_proposal_needs_a_manager() {
    let form = Form::compile(&builtin::product_selection_form()).unwrap();
    let flow = Flow::compile(&builtin::product_selection_flow(), &form).unwrap();
    for (margin, then) in [("14.9", Some("manager")), ("15", None)] {
        let values = Values::from([
            ("category_lead".to_string(), Value::Text("lead".into())),
            ("margin".to_string(), Value::Number(margin.parse().unwrap())),
            (
                "cost".to_string(),
                Value::Money(liveline_types::forms::Money {
                    amount: "9".parse().unwrap(),
                    currency: "USD".into(),
                }),
            ),
        ]);
        let mut r = Run::with(form.clone(), flow.clone(), values);
        r.act("rep", Act::Submit).unwrap();
        r.act("lead", Act::Approve).unwrap();
        assert_eq!(
            r.state().waiting.map(|w| w.node),
            then.map(str::to_string),
            "margin {margin}"
        );
    }
}

/// Compiles a broken variant of the order flow; the (field, code) of each fault.
fn refused(edit: impl FnOnce(&mut FlowDef)) -> Vec<(String, String)> {
    let form = Form::compile(&builtin::order_form()).unwrap();
    let mut def = builtin::order_flow();
    edit(&mut def);
    Flow::compile(&def, &form)
        .expect_err("refused")
        .into_iter()
        .map(|e| {
            (
                e.field,
                format!(
                    "{} {:?}",
                    e.error.code,
                    e.error.args.values().collect::<Vec<_>>()
                ),
            )
        })
        .collect()
}

fn node<'a>(def: &'a mut FlowDef, id: &str) -> &'a mut FlowNode {
    def.nodes.iter_mut().find(|n| n.id == id).unwrap()
}

#[test]
fn invalid_flows_are_refused_naming_the_fault() {
    let f = |s: &str, c: &str| (s.to_string(), c.to_string());
    assert_eq!(
        refused(|d| node(d, "warehouse").next = vec![Edge {
            when: None,
            to: "finance".into()
        }]),
        vec![
            f(
                "node:finance",
                "def.flow.cycle [\"finance → warehouse → finance\"]"
            ),
            f("node:notify", "def.node.unreachable []")
        ]
    );
    assert_eq!(
        refused(|d| node(d, "finance").kind = NodeKind::Approve {
            approvers: vec![],
            sign: Sign::Any,
            requires: vec![],
            others_decide: false,
        }),
        vec![f("node:finance", "def.node.no_approver []")]
    );
    assert_eq!(
        refused(|d| node(d, "sales").next[0].when = Some("amount > 5000".into())),
        vec![f("node:sales", "def.expr.unknown_field [\"amount\"]")]
    );
    assert_eq!(
        refused(|d| node(d, "sales").next = vec![Edge {
            when: None,
            to: "finanse".into()
        }]),
        vec![f("node:sales", "def.node.unknown [\"finanse\"]")]
    );
    assert_eq!(
        refused(|d| node(d, "sales").next = vec![Edge {
            when: None,
            to: "finance".into()
        }]),
        vec![f("node:manager", "def.node.unreachable []")]
    );
    assert_eq!(
        refused(|d| node(d, "sales").kind = NodeKind::Approve {
            approvers: vec![Approver::FieldUser("customer".into())],
            sign: Sign::Any,
            requires: vec![],
            others_decide: false,
        }),
        vec![f("node:sales", "def.flow.field [\"customer\"]")]
    );
    assert_eq!(
        refused(|d| d.form = "lead".into()),
        vec![f("form", "def.flow.form [\"lead\"]")]
    );
}

#[test]
fn a_passed_time_limit_approves_a_step_but_never_one_missing_its_required_fields() {
    use liveline_types::forms::OnTimeout;
    let mut def = builtin::order_flow();
    for n in def.nodes.iter_mut() {
        if n.id == "finance" || n.id == "warehouse" {
            n.limit_minutes = Some(60);
            n.on_timeout = OnTimeout::AutoApprove;
        }
    }
    let form = Form::compile(&builtin::order_form()).unwrap();
    let flow = Flow::compile(&def, &form).unwrap();
    let values = Values::from([
        ("sales_rep".to_string(), Value::Text("rep".into())),
        ("currency".to_string(), Value::Text("USD".into())),
        ("total".to_string(), money("100")),
    ]);
    let mut r = Run::with(form, flow, values);
    r.act("rep", Act::Submit).unwrap();
    r.act("rep", Act::Approve).unwrap();
    let people = team();
    let due = |r: &Run| r.state().waiting.unwrap().due_ms.unwrap();
    let st = r.state();
    assert_eq!(
        r.flow.overdue(&st, &People { roles: &people }, due(&r) - 1),
        None
    );
    assert_eq!(
        r.flow.overdue(&st, &People { roles: &people }, due(&r)),
        Some(Act::AutoApprove)
    );
    // Finance's step has nothing required: the time limit approves it, in the trail as the system's.
    r.act("system", Act::AutoApprove).unwrap();
    assert_eq!(r.state().waiting.unwrap().node, "warehouse");
    // Shipping needs the tracking number: no time limit ships an order without one.
    assert_eq!(
        r.act("system", Act::AutoApprove),
        Err(codes::FLOW_REQUIRES.into())
    );
    r.values
        .insert("tracking_no".into(), Value::Text("1Z999".into()));
    r.act("system", Act::AutoApprove).unwrap();
    assert_eq!(r.state().status, Status::Approved);
}

/// A countersign node that leads on to the warehouse: two approvals made apart (both devices saw the other's
/// approval missing) merge into the node complete, and the flow goes on, instead of ending approved there.
#[test]
fn countersign_approvals_made_apart_move_the_flow_on() {
    let form = Form::compile(&builtin::order_form()).unwrap();
    let mut def = countersign_flow();
    def.nodes[0].next = vec![Edge {
        when: None,
        to: "wh".into(),
    }];
    def.nodes.push(FlowNode {
        id: "wh".into(),
        label: Text::default(),
        kind: NodeKind::Approve {
            approvers: vec![Approver::Role("warehouse".into())],
            sign: Sign::Any,
            requires: vec!["tracking_no".into()],
            others_decide: false,
        },
        next: vec![],
        limit_minutes: None,
        on_timeout: OnTimeout::Nothing,
    });
    let flow = Flow::compile(&def, &form).unwrap();
    let mut r = Run::with(form, flow, Values::new());
    r.act("rep", Act::Submit).unwrap();
    let a = r.prepare("fin1", Act::Approve).unwrap();
    let b = r.prepare("fin2", Act::Approve).unwrap();
    assert_eq!(
        (a.route.clone(), b.route.clone()),
        (vec!["wh".into()], vec!["wh".into()])
    );
    r.log.extend([b, a]);
    assert_eq!(r.state().status, Status::Running);
    assert_eq!(r.waiting(), at("wh", &["wh"]));
}

/// The server's second look at a decision: what `decide` gives on what its author saw, or a refusal.
#[test]
fn the_server_refuses_a_decision_that_is_not_what_the_flow_gives() {
    let mut r = Run::order("100");
    let seen = r.state();
    let honest = r.prepare("rep", Act::Submit).unwrap();
    let latest = honest.at_ms + 1;
    let check = |r: &Run, d: &Decision| {
        r.flow
            .check_decision(&r.form, &seen, &r.values, d, latest)
            .map_err(|e| e.code)
    };
    assert_eq!(check(&r, &honest), Ok(()));
    for route in [
        vec![],
        vec!["warehouse".to_string()],
        vec!["finance".to_string()],
    ] {
        let forged = Decision {
            route,
            ..honest.clone()
        };
        assert_eq!(check(&r, &forged), Err(codes::FLOW_ROUTE_MISMATCH.into()));
    }
    let tomorrow = Decision {
        at_ms: honest.at_ms + 2,
        ..honest.clone()
    };
    assert_eq!(check(&r, &tomorrow), Err(codes::FLOW_TIME.into()));
    // An approval by someone the step does not wait for, or before its required field is filled.
    r.log.push(honest);
    let seen = r.state();
    let mut by_rep2 = r.prepare("rep", Act::Approve).unwrap();
    by_rep2.actor = "rep2".into();
    assert_eq!(
        r.flow
            .check_decision(&r.form, &seen, &r.values, &by_rep2, i64::MAX)
            .map_err(|e| e.code),
        Err(codes::FLOW_NOT_APPROVER.into())
    );
    r.act("rep", Act::Approve).unwrap();
    r.act("fin1", Act::Approve).unwrap();
    let seen = r.state();
    let mut shipped = r.prepare("fin1", Act::Comment).unwrap();
    shipped.actor = "wh".into();
    shipped.act = Act::Approve;
    shipped.route = vec!["notify".into()];
    assert_eq!(
        r.flow
            .check_decision(&r.form, &seen, &r.values, &shipped, i64::MAX)
            .map_err(|e| e.code),
        Err(codes::FLOW_REQUIRES.into())
    );
}

/// A proposal's category lead is a user field the rep who proposes fills; naming themselves does not let them
/// review their own proposal: the step waits for the team's leads instead, and the rep's approval is refused.
#[test]
fn a_proposer_who_names_themselves_category_lead_does_not_review_their_proposal() {
    let form = Form::compile(&builtin::product_selection_form()).unwrap();
    let flow = Flow::compile(&builtin::product_selection_flow(), &form).unwrap();
    let values = Values::from([
        ("category_lead".to_string(), Value::Text("rep".into())),
        ("cost".to_string(), money("9.00")),
    ]);
    let mut r = Run::with(form, flow, values);
    r.act("rep", Act::Submit).unwrap();
    assert_eq!(r.waiting(), at("category_lead", &["lead"]));
    assert_eq!(
        r.act("rep", Act::Approve),
        Err(codes::FLOW_NOT_APPROVER.into())
    );
    // Another rep named category lead decides as usual.
    r.values
        .insert("category_lead".into(), Value::Text("rep2".into()));
    let mut fresh = Run::with(r.form.clone(), r.flow.clone(), r.values.clone());
    fresh.act("rep", Act::Submit).unwrap();
    assert_eq!(fresh.waiting(), at("category_lead", &["rep2"]));
}
