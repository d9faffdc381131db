//! Forms and flows published by an admin reach every device of the team through a real server; the server refuses
//! a definition from anyone but an admin, and one that could not work, naming the fault.

use automerge::{ActorId, AutoCommit};
use futures_util::SinkExt;
use liveline_domain::doc::definition_doc_id;
use liveline_domain::DocKind;
use liveline_forms::defs;
use liveline_forms::Status;
use liveline_sync::ServerMsg;
use liveline_sync_server::Store;
use liveline_testkit::raw::{connect, hello, next_reply, push};
use liveline_testkit::{eventually, Device, TestServer};
use liveline_types::codes;
use liveline_types::forms::{Act, FieldDef, FieldInput, FieldKind, FormDef, FormulaResult, Text};

pub(crate) fn actor_of(device_id: &str) -> ActorId {
    ActorId::from(&liveline_domain::doc::uuid_bytes::parse(device_id).unwrap()[..])
}

pub(crate) fn lead_form_with_incoterm(dev: &Device) -> FormDef {
    let mut def = dev.replica.lock().unwrap().form("lead").unwrap();
    def.fields.push(
        FieldDef::new(
            "incoterm",
            Text::new("Incoterm", "贸易术语"),
            FieldKind::Text,
        )
        .required(),
    );
    def
}

/// Pushes `doc`'s changes as the device `dev` (its token and actor) over a hand-crafted client; the server's answer.
pub(crate) async fn push_as(
    server: &TestServer,
    dev: &Device,
    id: &str,
    doc: &mut AutoCommit,
    since: &[automerge::ChangeHash],
) -> ServerMsg {
    let creds = dev.replica.lock().unwrap().credentials().unwrap().unwrap();
    let mut ws = connect(server, Some(&creds.token)).await.unwrap();
    ws.send(hello()).await.unwrap();
    let changes = doc
        .get_changes(since)
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    ws.send(push(id, changes)).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(20), next_reply(&mut ws))
        .await
        .expect("the server answers the push")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_published_form_reaches_the_team_and_bad_ones_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut admin = Device::ready(&server, tmp.path(), "admin@demo.liveline").await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let finance = Device::ready(&server, tmp.path(), "finance@demo.liveline").await;

    // Until an admin publishes, everyone has the built-in form.
    assert_eq!(rep.replica.lock().unwrap().form("lead").unwrap().version, 1);

    let def = lead_form_with_incoterm(&admin);
    assert_eq!(
        admin.replica.lock().unwrap().publish_form(&def).unwrap(),
        vec![]
    );
    admin.nudge();
    admin.synced().await;
    assert_eq!(
        admin.replica.lock().unwrap().refused_edits().unwrap(),
        vec![],
        "the server accepted the form"
    );
    for dev in [&rep, &finance] {
        let got = eventually("the published form reaches the device", || {
            let f = dev.replica.lock().unwrap().form("lead").unwrap();
            (f.version == 2).then_some(f)
        })
        .await;
        let incoterm = got
            .fields
            .iter()
            .find(|f| f.key == "incoterm")
            .expect("the new field is there");
        assert!(incoterm.required);
        assert_eq!(incoterm.label.zh, "贸易术语");
    }

    // Capture follows the published lead form: the added required field is asked for, named, and kept.
    let assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    eventually("the form reaches the assistant", || {
        (assistant
            .replica
            .lock()
            .unwrap()
            .form("lead")
            .unwrap()
            .version
            == 2)
            .then_some(())
    })
    .await;
    let mut input = liveline_testkit::lead("Incoterm Buyer");
    let out = assistant
        .replica
        .lock()
        .unwrap()
        .save_lead(None, &input, liveline_replica::now_ms())
        .unwrap();
    let liveline_types::SaveOutcome::Invalid { errors } = out else {
        panic!("a lead without the newly required field was saved: {out:?}");
    };
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.error.code.as_str()))
            .collect::<Vec<_>>(),
        [("incoterm", codes::REQUIRED)]
    );
    assert_eq!(
        assistant.find("Incoterm Buyer"),
        vec![],
        "nothing is saved while a field is wrong"
    );
    input
        .extra
        .insert("incoterm".into(), FieldInput::Text(" FOB ".into()));
    let saved = assistant.capture(&input);
    assert_eq!(
        saved.extra.get("incoterm"),
        Some(&FieldInput::Text("FOB".into()))
    );
    let seen = admin.wait_for("Incoterm Buyer").await;
    assert_eq!(
        seen[0].extra.get("incoterm"),
        Some(&FieldInput::Text("FOB".into())),
        "the added field's value reaches the manager's device with the lead"
    );
    // A field the form does not have is refused by name rather than dropped.
    input
        .extra
        .insert("incoterms".into(), FieldInput::Text("CIF".into()));
    let errors = assistant
        .replica
        .lock()
        .unwrap()
        .validate_lead(&input)
        .unwrap();
    assert_eq!(
        (errors[0].field.as_str(), errors[0].error.code.as_str()),
        ("incoterms", codes::FIELD_UNKNOWN)
    );

    // A flow too: the admin adds a time limit to finance's step.
    let mut flow = admin.replica.lock().unwrap().flow("live_order").unwrap();
    flow.nodes
        .iter_mut()
        .find(|n| n.id == "finance")
        .unwrap()
        .limit_minutes = Some(120);
    assert_eq!(
        admin.replica.lock().unwrap().publish_flow(&flow).unwrap(),
        vec![]
    );
    admin.nudge();
    admin.synced().await;
    eventually("the published flow reaches the rep", || {
        let f = rep.replica.lock().unwrap().flow("live_order").unwrap();
        (f.version == 2 && f.nodes.iter().any(|n| n.limit_minutes == Some(120))).then_some(())
    })
    .await;

    // The device checks first: a rep may not publish, and a faulty form is refused before anything is saved.
    let mine = lead_form_with_incoterm(&rep);
    let errors = rep.replica.lock().unwrap().publish_form(&mine).unwrap();
    assert_eq!(errors[0].error.code, codes::DEF_ADMIN_ONLY);
    let mut faulty = admin.replica.lock().unwrap().form("lead").unwrap();
    faulty.fields.push(FieldDef::new(
        "value",
        Text::default(),
        FieldKind::Formula {
            expr: "quantity * unit_price".into(),
            result: FormulaResult::Number { scale: 2 },
        },
    ));
    let errors = admin.replica.lock().unwrap().publish_form(&faulty).unwrap();
    assert_eq!(
        (errors[0].field.as_str(), errors[0].error.code.as_str()),
        ("value", codes::DEF_EXPR_UNKNOWN_FIELD)
    );
    assert_eq!(errors[0].error.args["name"], "unit_price");

    // The server checks again, whatever a client sends. A rep's hand-crafted form: refused for the role.
    admin.offline().await;
    let id = definition_doc_id(DocKind::FormDef, "demo", "lead");
    let rep_creds = rep.replica.lock().unwrap().credentials().unwrap().unwrap();
    let mut forged = AutoCommit::new().with_actor(actor_of(&rep_creds.device_id));
    defs::write(
        &mut forged,
        DocKind::FormDef,
        "demo",
        &rep_creds.user_id,
        "lead_v2",
        1,
        &{
            let mut d = rep.replica.lock().unwrap().form("lead").unwrap();
            d.id = "lead_v2".into();
            d.version = 1;
            d
        },
    )
    .unwrap();
    let forged_id = definition_doc_id(DocKind::FormDef, "demo", "lead_v2");
    match push_as(&server, &rep, &forged_id, &mut forged, &[]).await {
        ServerMsg::Refused { error, .. } => assert_eq!(error.code, codes::ROLE_FORBIDDEN),
        other => panic!("a rep's form must be refused: {other:?}"),
    }
    // The admin's own faulty version 3, pushed without the device's check: refused, naming the field.
    let admin_creds = admin
        .replica
        .lock()
        .unwrap()
        .credentials()
        .unwrap()
        .unwrap();
    let bytes = server
        .state
        .store
        .doc(&id)
        .unwrap()
        .expect("the server holds the form");
    let mut doc = AutoCommit::load(&bytes)
        .unwrap()
        .with_actor(actor_of(&admin_creds.device_id));
    let held_heads = doc.get_heads();
    faulty.version = 3;
    defs::write(
        &mut doc,
        DocKind::FormDef,
        "demo",
        &admin_creds.user_id,
        "lead",
        3,
        &faulty,
    )
    .unwrap();
    doc.commit();
    match push_as(&server, &admin, &id, &mut doc, &held_heads).await {
        ServerMsg::Refused { path, error, .. } => {
            assert_eq!(path, "definition");
            assert_eq!(error.code, codes::DEF_EXPR_UNKNOWN_FIELD);
            assert_eq!(error.args["field"], "value");
            assert_eq!(error.args["name"], "unit_price");
        }
        other => panic!("a faulty form must be refused: {other:?}"),
    }
    // Nothing of it reached the server's copy or the team.
    let held = AutoCommit::load(&server.state.store.doc(&id).unwrap().unwrap()).unwrap();
    assert_eq!(defs::read::<FormDef>(&held).unwrap().version, 2);
    rep.synced().await;
    assert_eq!(rep.replica.lock().unwrap().form("lead").unwrap().version, 2);
    assert!(server.state.store.doc(&forged_id).unwrap().is_none());
}

pub(crate) fn order_input(
    lines: &[(&str, &str, &str)],
) -> std::collections::BTreeMap<String, FieldInput> {
    let text = |s: &str| FieldInput::Text(s.to_string());
    let rows = lines
        .iter()
        .map(|(sku, q, p)| {
            [("sku", *sku), ("quantity", *q), ("unit_price", *p)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), text(v)))
                .collect()
        })
        .collect();
    [
        ("customer", text("cust-1")),
        ("sales_rep", text("u-rep1")),
        ("currency", text("USD")),
        ("lines", FieldInput::Rows(rows)),
        ("ship_to_name", text("Ana Souza")),
        ("ship_to_address", text("Rua A 1, São Paulo")),
        ("ship_to_country", text("BR")),
        ("payment_method", text("paypal")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub(crate) fn state_of(dev: &Device, id: &str) -> Option<liveline_forms::State> {
    dev.replica
        .lock()
        .unwrap()
        .record(id)
        .ok()
        .and_then(|r| r.flow)
}

pub(crate) fn waiting_at(dev: &Device, id: &str) -> Option<String> {
    state_of(dev, id).and_then(|s| s.waiting).map(|w| w.node)
}

pub(crate) fn decide(dev: &Device, id: &str, act: Act) -> Result<(), String> {
    let r = dev
        .replica
        .lock()
        .unwrap()
        .decide(id, act, "", liveline_replica::now_ms())
        .unwrap()
        .map_err(|e| e.code);
    dev.nudge();
    r
}

fn all_time() -> liveline_types::metrics::PeriodSpec {
    liveline_types::metrics::PeriodSpec {
        preset: "all".into(),
        tz: "UTC".into(),
        ..Default::default()
    }
}

/// The approvals dashboard of the order flow on a device: per step (by name; the board puts the slowest
/// first), visits that ended and records waiting now.
fn steps(dev: &Device) -> Vec<(String, u64, u64)> {
    let mut rows: Vec<(String, u64, u64)> = dev
        .replica
        .lock()
        .unwrap()
        .approval_board(&all_time(), liveline_replica::now_ms())
        .unwrap()
        .into_iter()
        .filter(|r| r.form == "live_order")
        .map(|r| (r.node, r.passed, r.waiting))
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_goes_through_sales_finance_and_the_warehouse_on_three_devices() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let mut finance = Device::ready(&server, tmp.path(), "finance@demo.liveline").await;
    let mut warehouse = Device::ready(&server, tmp.path(), "warehouse@demo.liveline").await;

    // A bad line is named and nothing is saved.
    let bad = rep
        .replica
        .lock()
        .unwrap()
        .save_record(
            "live_order",
            None,
            &order_input(&[("sku-1", "2", "9.999")]),
            "Asia/Shanghai",
        )
        .unwrap();
    assert_eq!(bad.unwrap_err()[0].field, "lines[0].unit_price");

    let id = rep
        .replica
        .lock()
        .unwrap()
        .save_record(
            "live_order",
            None,
            &order_input(&[("sku-1", "2", "19.99"), ("sku-2", "1", "5")]),
            "Asia/Shanghai",
        )
        .unwrap()
        .unwrap();
    decide(&rep, &id, Act::Submit).unwrap();
    decide(&rep, &id, Act::Approve).unwrap();
    rep.synced().await;
    // The order reaches finance at its step, and not the warehouse yet.
    eventually("finance gets the order at its step", || {
        (waiting_at(&finance, &id).as_deref() == Some("finance")).then_some(())
    })
    .await;
    assert!(
        warehouse.replica.lock().unwrap().record(&id).is_err(),
        "the warehouse does not see it before its step"
    );
    // What the screens show: finance's list puts the order first as theirs, at finance's step, with its total;
    // finance may approve or reject it, the rep (who passed their step) may only comment.
    {
        use liveline_types::forms::ActKind;
        let list = finance
            .replica
            .lock()
            .unwrap()
            .list_records("live_order")
            .unwrap();
        assert_eq!(list.len(), 1);
        assert!(list[0].mine && list[0].status == "running");
        assert_eq!(list[0].amount(), "44.98 USD");
        assert_eq!(
            list[0].node_label.as_ref().unwrap().en,
            "Finance confirms payment"
        );
        // The approvals dashboard: the order waits at finance; the rep's step was passed once.
        assert_eq!(
            steps(&finance),
            [("finance".to_string(), 0, 1), ("sales".to_string(), 1, 0)]
        );
        let view = finance.replica.lock().unwrap().record_view(&id).unwrap();
        assert_eq!(
            view.can,
            [
                ActKind::Approve,
                ActKind::Reject,
                ActKind::Comment,
                ActKind::Transfer,
                ActKind::AddApprover
            ]
        );
        assert!(!view.writable.contains(&"tracking_no".to_string()));
        let view = rep.replica.lock().unwrap().record_view(&id).unwrap();
        assert_eq!(view.can, [ActKind::Comment]);
        assert!(
            !rep.replica
                .lock()
                .unwrap()
                .list_records("live_order")
                .unwrap()[0]
                .mine
        );
    }

    // Finance sends it back; the rep fixes a line and submits again.
    decide(&finance, &id, Act::Reject { to: None }).unwrap();
    finance.synced().await;
    eventually("the rep sees the rejection", || {
        (state_of(&rep, &id).map(|s| s.status) == Some(Status::Returned)).then_some(())
    })
    .await;
    rep.replica
        .lock()
        .unwrap()
        .save_record(
            "live_order",
            Some(&id),
            &order_input(&[("sku-1", "3", "19.99"), ("sku-2", "1", "5")]),
            "UTC",
        )
        .unwrap()
        .unwrap();
    decide(&rep, &id, Act::Submit).unwrap();
    decide(&rep, &id, Act::Approve).unwrap();
    rep.synced().await;

    // Finance approves while offline; the rep, also offline, comments. They meet later.
    eventually("finance gets the resubmitted order", || {
        (waiting_at(&finance, &id).as_deref() == Some("finance")).then_some(())
    })
    .await;
    finance.offline().await;
    rep.offline().await;
    decide(&finance, &id, Act::Approve).unwrap();
    decide(&rep, &id, Act::Comment).unwrap();
    finance.online();
    finance.synced().await;
    rep.online();
    rep.synced().await;

    // The warehouse gets it now; shipping needs the tracking number, which only the warehouse may write.
    eventually("the warehouse gets the order", || {
        (waiting_at(&warehouse, &id).as_deref() == Some("warehouse")).then_some(())
    })
    .await;
    assert_eq!(
        decide(&warehouse, &id, Act::Approve),
        Err(codes::FLOW_REQUIRES.into())
    );
    let tracking = [(
        "tracking_no".to_string(),
        FieldInput::Text("1Z999AA10123456784".into()),
    )]
    .into_iter()
    .collect();
    let refused = rep
        .replica
        .lock()
        .unwrap()
        .save_record("live_order", Some(&id), &tracking, "UTC")
        .unwrap();
    assert_eq!(refused.unwrap_err()[0].error.code, codes::FIELD_READ_ONLY);
    warehouse
        .replica
        .lock()
        .unwrap()
        .save_record("live_order", Some(&id), &tracking, "UTC")
        .unwrap()
        .unwrap();
    decide(&warehouse, &id, Act::Approve).unwrap();
    warehouse.synced().await;

    // Every device ends with the same state and the same trail.
    let mut states = Vec::new();
    for dev in [&rep, &finance, &warehouse] {
        dev.synced().await;
        let st = eventually("the order is approved on every device", || {
            state_of(dev, &id).filter(|s| s.status == Status::Approved && s.log.len() == 8)
        })
        .await;
        states.push(st);
    }
    assert_eq!(states[0], states[1]);
    assert_eq!(states[1], states[2]);
    // The approvals dashboard on every device: sales and finance were each passed twice (the return made the
    // second round), the warehouse once, and nothing waits.
    for dev in [&rep, &finance, &warehouse] {
        assert_eq!(
            steps(dev),
            [
                ("finance".to_string(), 2, 0),
                ("sales".to_string(), 2, 0),
                ("warehouse".to_string(), 1, 0)
            ]
        );
    }
    let rows = rep
        .replica
        .lock()
        .unwrap()
        .approval_board(&all_time(), liveline_replica::now_ms())
        .unwrap();
    assert!(rows
        .iter()
        .all(|r| r.avg_ms.is_some() && r.p90_ms >= r.avg_ms));
    // The slowest step first, named in both languages.
    assert!(rows.windows(2).all(|p| p[0].p90_ms >= p[1].p90_ms));
    let finance_row = rows.iter().find(|r| r.node == "finance").unwrap();
    assert_eq!(finance_row.node_label.zh, "财务确认收款");
    let trail: Vec<(String, String)> = states[0]
        .log
        .iter()
        .map(|e| {
            (
                e.decision.actor.clone(),
                format!("{:?}", e.decision.act)
                    .split([' ', '{'])
                    .next()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("u-rep1", "Submit"),
        ("u-rep1", "Approve"),
        ("u-finance", "Reject"),
        ("u-rep1", "Submit"),
        ("u-rep1", "Approve"),
        ("u-finance", "Approve"),
        ("u-rep1", "Comment"),
        ("u-warehouse", "Approve"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(trail, want);
    // The trail the screen shows also says who changed which values: the rep's order, the rep's fix of the first
    // line's quantity, the warehouse's tracking number.
    let view = finance.replica.lock().unwrap().record_view(&id).unwrap();
    let edits: Vec<(String, Vec<String>)> = view
        .flow
        .unwrap()
        .trail
        .iter()
        .filter(|t| t.act.is_none())
        .map(|t| {
            (
                t.actor.clone(),
                t.changed.iter().map(|c| c.en.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(edits.len(), 3, "{edits:?}");
    assert_eq!(
        edits[1],
        ("u-rep1".to_string(), vec!["Quantity (line 1)".to_string()])
    );
    assert_eq!(
        edits[2],
        (
            "u-warehouse".to_string(),
            vec!["Tracking number".to_string()]
        )
    );
    let v = rep.replica.lock().unwrap().record(&id).unwrap().values;
    assert_eq!(
        v["total"],
        liveline_types::forms::Value::Money(liveline_types::forms::Money {
            amount: "64.97".parse().unwrap(),
            currency: "USD".into()
        })
    );

    // A device that rewrites the log is refused: the warehouse's hand-crafted client deletes the first decision.
    let wh_creds = warehouse
        .replica
        .lock()
        .unwrap()
        .credentials()
        .unwrap()
        .unwrap();
    let mut doc = AutoCommit::load(&server.state.store.doc(&id).unwrap().unwrap())
        .unwrap()
        .with_actor(actor_of(&wh_creds.device_id));
    let heads = doc.get_heads();
    {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        let (_, list) = doc.get(automerge::ROOT, "decisions").unwrap().unwrap();
        doc.delete(&list, 0).unwrap();
    }
    doc.commit();
    warehouse.offline().await;
    match push_as(&server, &warehouse, &id, &mut doc, &heads).await {
        ServerMsg::Refused { path, error, .. } => {
            assert_eq!(
                (path.as_str(), error.code.as_str()),
                ("decisions", codes::FLOW_LOG_CHANGED)
            );
        }
        other => panic!("a rewritten log must be refused: {other:?}"),
    }

    // The form's field rules hold on the server too: the rep's hand-crafted client overwrites the tracking number
    // (a field only the warehouse may write) and is refused, naming the field; the stored value stays.
    let mut doc = AutoCommit::load(&server.state.store.doc(&id).unwrap().unwrap())
        .unwrap()
        .with_actor(actor_of(&creds_of(&rep).device_id));
    let heads = doc.get_heads();
    {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        let (_, values) = doc.get(automerge::ROOT, "values").unwrap().unwrap();
        let fake =
            serde_json::to_string(&liveline_types::forms::Value::Text("FAKE".into())).unwrap();
        doc.put(&values, "tracking_no", fake).unwrap();
    }
    doc.commit();
    rep.offline().await;
    match push_as(&server, &rep, &id, &mut doc, &heads).await {
        ServerMsg::Refused { path, error, .. } => {
            assert_eq!(
                (path.as_str(), error.code.as_str()),
                ("tracking_no", codes::FIELD_READ_ONLY)
            );
        }
        other => panic!("a rep's tracking number must be refused: {other:?}"),
    }
    let stored = AutoCommit::load(&server.state.store.doc(&id).unwrap().unwrap()).unwrap();
    assert_eq!(
        liveline_forms::record::read_values(&stored)["tracking_no"],
        liveline_types::forms::Value::Text("1Z999AA10123456784".into())
    );
}

pub(crate) fn creds_of(dev: &Device) -> liveline_replica::replica::Credentials {
    dev.replica.lock().unwrap().credentials().unwrap().unwrap()
}

/// A flow's time limits and automatic steps are the server's to carry out: an escalation when finance lets the
/// limit pass, then, after shipping, a copy to another rep, a follow-up task for the order's rep and a call to the
/// team's webhook, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_escalates_overdue_steps_and_carries_out_automatic_ones() {
    use liveline_types::forms::{Approver, Edge, FlowAction, FlowNode, NodeKind, OnTimeout};
    use std::sync::{Arc, Mutex};
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;

    // The team's webhook: a generic one on loopback that records what it gets.
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let hook = {
        let received = received.clone();
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| async move {
                received.lock().unwrap().push(body.0);
                "ok"
            }),
        )
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, hook).await.unwrap() });

    let admin = Device::ready(&server, tmp.path(), "admin@demo.liveline").await;
    let r = reqwest::Client::new()
        .put(format!("{}/v1/admin/webhooks", server.url()))
        .bearer_auth(admin.token())
        .json(&serde_json::json!([{"kind": "generic", "url": format!("http://{addr}/hook"), "secret": "erp-secret"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // Finance has an hour, then the team lead joins; after shipping: copy rep2, a task for the order's rep.
    let mut flow = admin.replica.lock().unwrap().flow("live_order").unwrap();
    let finance_node = flow.nodes.iter_mut().find(|n| n.id == "finance").unwrap();
    finance_node.limit_minutes = Some(60);
    finance_node.on_timeout = OnTimeout::Escalate;
    let warehouse_node = flow.nodes.iter_mut().find(|n| n.id == "warehouse").unwrap();
    let after_shipping = std::mem::replace(
        &mut warehouse_node.next,
        vec![Edge {
            when: None,
            to: "copy_rep2".into(),
        }],
    );
    flow.nodes.push(FlowNode {
        id: "copy_rep2".into(),
        label: Text::new("Copy Emily", "抄送 Emily"),
        kind: NodeKind::Cc {
            to: vec![Approver::User("u-rep2".into())],
        },
        next: vec![Edge {
            when: None,
            to: "review_task".into(),
        }],
        limit_minutes: None,
        on_timeout: OnTimeout::Nothing,
    });
    flow.nodes.push(FlowNode {
        id: "review_task".into(),
        label: Text::new("Ask for a review", "邀请评价"),
        kind: NodeKind::Action {
            action: FlowAction::CreateTask {
                title: Text::new("Ask the buyer for a review", "邀请买家评价"),
                assignee: Approver::FieldUser("sales_rep".into()),
                due_minutes: 24 * 60,
            },
        },
        next: after_shipping,
        limit_minutes: None,
        on_timeout: OnTimeout::Nothing,
    });
    assert_eq!(
        admin.replica.lock().unwrap().publish_flow(&flow).unwrap(),
        vec![]
    );
    admin.nudge();
    admin.synced().await;

    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let finance = Device::ready(&server, tmp.path(), "finance@demo.liveline").await;
    let lead = Device::ready(&server, tmp.path(), "lead@demo.liveline").await;
    let warehouse = Device::ready(&server, tmp.path(), "warehouse@demo.liveline").await;
    let rep2 = Device::ready(&server, tmp.path(), "rep2@demo.liveline").await;
    eventually("the rep has the new flow", || {
        (rep.replica
            .lock()
            .unwrap()
            .flow("live_order")
            .unwrap()
            .version
            == 2)
            .then_some(())
    })
    .await;
    let id = rep
        .replica
        .lock()
        .unwrap()
        .save_record(
            "live_order",
            None,
            &order_input(&[("sku-1", "2", "10")]),
            "UTC",
        )
        .unwrap()
        .unwrap();
    decide(&rep, &id, Act::Submit).unwrap();
    decide(&rep, &id, Act::Approve).unwrap();
    rep.synced().await;
    eventually("finance gets the order", || {
        (waiting_at(&finance, &id).as_deref() == Some("finance")).then_some(())
    })
    .await;

    // Before the hour is up nothing happens; after it, the sweep escalates once, and the lead receives the order.
    let now = liveline_replica::now_ms();
    assert_eq!(
        liveline_sync_server::sweep(&server.state, now + 30 * 60_000).unwrap(),
        0
    );
    assert_eq!(
        liveline_sync_server::sweep(&server.state, now + 61 * 60_000).unwrap(),
        1
    );
    assert_eq!(
        liveline_sync_server::sweep(&server.state, now + 62 * 60_000).unwrap(),
        0,
        "an escalation happens once"
    );
    let st = eventually("the lead receives the escalated order", || {
        state_of(&lead, &id).filter(|s| {
            s.waiting
                .as_ref()
                .is_some_and(|w| w.approvers.contains(&"u-lead".to_string()))
        })
    })
    .await;
    let escalation = st.log.last().unwrap();
    assert_eq!(escalation.decision.actor, "liveline");
    assert!(matches!(escalation.decision.act, Act::Escalate { .. }));

    // The lead approves for finance; the warehouse ships.
    decide(&lead, &id, Act::Approve).unwrap();
    lead.synced().await;
    eventually("the warehouse gets the order", || {
        (waiting_at(&warehouse, &id).as_deref() == Some("warehouse")).then_some(())
    })
    .await;
    let tracking = [(
        "tracking_no".to_string(),
        FieldInput::Text("1Z999AA10123456784".into()),
    )]
    .into_iter()
    .collect();
    warehouse
        .replica
        .lock()
        .unwrap()
        .save_record("live_order", Some(&id), &tracking, "UTC")
        .unwrap()
        .unwrap();
    decide(&warehouse, &id, Act::Approve).unwrap();
    warehouse.synced().await;

    // Copied: rep2, who reads no one else's orders, has it. The rep has the follow-up task, linked to the order.
    eventually("the copy reaches rep2", || {
        state_of(&rep2, &id).filter(|s| s.status == Status::Approved)
    })
    .await;
    let tasks = eventually("the follow-up task reaches the rep", || {
        let t = rep.tasks_of(&id);
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert_eq!(
        tasks.len(),
        1,
        "one task, however often the record is placed"
    );
    assert_eq!(tasks[0].assignee, "u-rep1");
    assert!(tasks[0].title.contains("Ask the buyer for a review"));
    let shipped = eventually("the webhook is called", || {
        let got = received.lock().unwrap().clone();
        got.into_iter()
            .find(|b| b["event"] == "record.order_shipped")
    })
    .await;
    assert_eq!(shipped["record"], id);
    // A later push to the record carries nothing out again.
    decide(&rep, &id, Act::Comment).unwrap();
    rep.synced().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(rep.tasks_of(&id).len(), 1);
    assert_eq!(
        received
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b["event"] == "record.order_shipped")
            .count(),
        1
    );
}

pub(crate) fn proposal_input(
    cost: Option<&str>,
    notes: &str,
) -> std::collections::BTreeMap<String, FieldInput> {
    let usd = |a: &str| FieldInput::Money {
        amount: a.into(),
        currency: "USD".into(),
    };
    let mut m: std::collections::BTreeMap<String, FieldInput> = [
        ("product", FieldInput::Text("Silk scarf".into())),
        ("supplier", FieldInput::Text("Hangzhou Silk".into())),
        ("price", usd("19.90")),
        ("shipping", usd("1.20")),
        ("platform_fee", usd("0.80")),
        ("category_lead", FieldInput::Text("u-lead".into())),
        ("notes", FieldInput::Text(notes.into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(c) = cost {
        m.insert("cost".into(), usd(c));
    }
    m
}

/// Pushes a new document `doc` as the device `dev`, with every change it has.
pub(crate) async fn push_new(
    server: &TestServer,
    dev: &Device,
    id: &str,
    doc: &mut AutoCommit,
) -> ServerMsg {
    push_as(server, dev, id, doc, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_costs_never_reach_a_reps_device_and_the_server_refuses_to_place_them_there() {
    use liveline_forms::record::part_id;
    use liveline_types::forms::Value;
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let lead = Device::ready(&server, tmp.path(), "lead@demo.liveline").await;
    let manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let readers = "sales_lead,finance,manager,admin";

    // The rep proposes a product: the cost is hidden from reps, so it is not theirs to fill (nor to type).
    let refused = rep
        .replica
        .lock()
        .unwrap()
        .save_record(
            "product_selection",
            None,
            &proposal_input(Some("9"), ""),
            "UTC",
        )
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (refused[0].field.as_str(), refused[0].error.code.as_str()),
        ("cost", codes::FIELD_READ_ONLY)
    );
    let id = rep
        .replica
        .lock()
        .unwrap()
        .save_record("product_selection", None, &proposal_input(None, ""), "UTC")
        .unwrap()
        .unwrap();
    decide(&rep, &id, Act::Submit).unwrap();
    rep.synced().await;

    // The category lead fills a cost that leaves a thin margin, with a note everyone reads, and approves: the
    // route to the manager is taken on the lead's device, which reads the margin.
    eventually("the lead gets the proposal", || {
        (waiting_at(&lead, &id).as_deref() == Some("category_lead")).then_some(())
    })
    .await;
    // The review does not pass without the cost.
    assert_eq!(
        decide(&lead, &id, Act::Approve),
        Err(codes::FLOW_REQUIRES.to_string())
    );
    lead.replica
        .lock()
        .unwrap()
        .save_record(
            "product_selection",
            Some(&id),
            &proposal_input(Some("17.00"), "checked with supplier"),
            "UTC",
        )
        .unwrap()
        .unwrap();
    decide(&lead, &id, Act::Approve).unwrap();
    lead.synced().await;

    // The manager reads the cost, the profit and the margin worked out from it.
    let view = eventually("the manager reads the cost", || {
        let v = manager.replica.lock().unwrap().record_view(&id).ok()?;
        v.values.contains_key("cost").then_some(v)
    })
    .await;
    assert!(view.values.contains_key("profit") && view.values.contains_key("margin"));
    let values = manager.replica.lock().unwrap().record(&id).unwrap().values;
    assert_eq!(
        values["profit"],
        Value::Money(liveline_types::forms::Money {
            amount: "0.90".parse().unwrap(),
            currency: "USD".into()
        })
    );
    eventually("the manager's step comes", || {
        (waiting_at(&manager, &id).as_deref() == Some("manager")).then_some(())
    })
    .await;

    // The rep's device has the lead's note and the step the thin margin led to, and nothing of the hidden part.
    let rep_values = eventually("the rep gets the lead's note", || {
        let r = rep.replica.lock().unwrap().record(&id).ok()?;
        (r.values.get("notes") == Some(&Value::Text("checked with supplier".into())))
            .then_some(r.values)
    })
    .await;
    for hidden in ["cost", "profit", "margin"] {
        assert!(
            !rep_values.contains_key(hidden),
            "the rep's device holds {hidden}"
        );
    }
    assert_eq!(waiting_at(&rep, &id).as_deref(), Some("manager"));
    // The rep raises the price: the profit the manager reads follows, though the rep could not rewrite it.
    let mut raised = proposal_input(None, "checked with supplier");
    raised.insert(
        "price".into(),
        FieldInput::Money {
            amount: "20.90".into(),
            currency: "USD".into(),
        },
    );
    rep.replica
        .lock()
        .unwrap()
        .save_record("product_selection", Some(&id), &raised, "UTC")
        .unwrap()
        .unwrap();
    rep.nudge();
    rep.synced().await;
    eventually("the manager's profit follows the new price", || {
        let v = manager.replica.lock().unwrap().record(&id).ok()?.values;
        (v.get("profit")
            == Some(&Value::Money(liveline_types::forms::Money {
                amount: "1.90".parse().unwrap(),
                currency: "USD".into(),
            })))
        .then_some(())
    })
    .await;
    // Nothing anyone did through the app was refused.
    for dev in [&rep, &lead, &manager] {
        assert_eq!(dev.replica.lock().unwrap().refused_edits().unwrap(), vec![]);
    }
    let part = part_id(&id, readers);
    assert!(
        rep.replica
            .lock()
            .unwrap()
            .doc_bytes(&part)
            .unwrap()
            .is_none(),
        "the rep's device holds the hidden part"
    );
    // The server holds the record without the cost, and the part with it.
    let stored = AutoCommit::load(&server.state.store.doc(&id).unwrap().unwrap()).unwrap();
    assert!(!liveline_forms::record::read_values(&stored).contains_key("cost"));
    let stored_part = server.state.store.doc(&part).unwrap().unwrap();
    assert!(
        liveline_forms::record::read_values(&AutoCommit::load(&stored_part).unwrap())
            .contains_key("cost")
    );

    // A hand-crafted client of the rep writes a cost into the record itself: refused, the record unchanged.
    let rep_actor = actor_of(&creds_of(&rep).device_id);
    let record_before = server.state.store.doc(&id).unwrap().unwrap();
    let mut doc = AutoCommit::load(&record_before)
        .unwrap()
        .with_actor(rep_actor.clone());
    let heads = doc.get_heads();
    {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        let (_, values) = doc.get(automerge::ROOT, "values").unwrap().unwrap();
        let cost = serde_json::to_string(&Value::Money(liveline_types::forms::Money {
            amount: "1.00".parse().unwrap(),
            currency: "USD".into(),
        }))
        .unwrap();
        doc.put(&values, "cost", cost).unwrap();
    }
    doc.commit();
    match push_as(&server, &rep, &id, &mut doc, &heads).await {
        ServerMsg::Refused { path, error, .. } => assert_eq!(
            (path.as_str(), error.code.as_str()),
            ("cost", codes::FIELD_RESTRICTED)
        ),
        other => panic!("a cost in the record must be refused: {other:?}"),
    }
    assert_eq!(server.state.store.doc(&id).unwrap().unwrap(), record_before);

    // The rep's client writes a part of its own: into the part the lead made it is refused (the rep does not read
    // it, so may not write it either), and a part for readers the form does not have (the rep's own role) is
    // refused too; the first stays as it was, the second is not stored.
    for (parts_readers, path, code) in [
        (readers, "", codes::NOT_VISIBLE),
        ("sales_rep", "readers", codes::READERS_CHANGE_FORBIDDEN),
    ] {
        let pid = part_id(&id, parts_readers);
        let mut forged = AutoCommit::new().with_actor(rep_actor.clone());
        liveline_forms::record::start_part(
            &mut forged,
            &id,
            "demo",
            parts_readers,
            "u-rep1",
            &["u-rep1".to_string()],
        )
        .unwrap();
        let mut values = liveline_forms::Values::new();
        values.insert("cost".into(), Value::Text("x".into()));
        liveline_forms::record::write_values(
            &mut forged,
            "product_selection",
            1,
            &Default::default(),
            &values,
        )
        .unwrap();
        forged.commit();
        match push_new(&server, &rep, &pid, &mut forged).await {
            ServerMsg::Refused { path: p, error, .. } => {
                assert_eq!(
                    (p.as_str(), error.code.as_str()),
                    (path, code),
                    "{parts_readers}"
                )
            }
            other => panic!("a rep's part must be refused: {other:?}"),
        }
        if pid != part {
            assert!(server.state.store.doc(&pid).unwrap().is_none());
        }
    }
    assert_eq!(server.state.store.doc(&part).unwrap().unwrap(), stored_part);
}
