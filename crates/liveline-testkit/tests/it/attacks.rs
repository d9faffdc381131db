//! Attacks one low-privilege member (a sales rep) can make with a hand-written client against a real server: each
//! test plays the attack through `liveline_testkit::raw` and checks what the team would notice (a hidden cost on
//! the rep's device, a flow the rep wrote carried out in the server's name, an approval step skipped).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use liveline_domain::doc::definition_doc_id;
use liveline_domain::{DocKind, Task};
use liveline_sync::ServerMsg;
use liveline_sync_server::Store;
use liveline_testkit::{eventually, Device, TestServer};
use liveline_types::forms::{Act, Value};
use liveline_types::{codes, LeadInput};

use crate::forms::{
    actor_of, creds_of, decide, lead_form_with_incoterm, order_input, proposal_input, push_as,
    push_new, waiting_at,
};

/// A to-do of the rep's, as any device may create one, carrying `extra` top-level texts (a squatter's payload).
fn squatting_task(rep: &Device, extra: &[(&str, String)]) -> AutoCommit {
    let creds = creds_of(rep);
    let mut doc = AutoCommit::new().with_actor(actor_of(&creds.device_id));
    Task::new(
        "demo",
        "todo",
        "notes",
        &creds.user_id,
        &creds.user_id,
        9_000_000_000_000,
        0,
    )
    .save_into(&mut doc)
    .unwrap();
    for (k, v) in extra {
        doc.put(ROOT, *k, v.as_str()).unwrap();
    }
    doc.commit();
    doc
}

/// The server's answer to a squat must be `doc.reserved_id` on `id`, and nothing stored there.
async fn refused_as_reserved(server: &TestServer, rep: &Device, id: &str, doc: &mut AutoCommit) {
    match push_new(server, rep, id, doc).await {
        ServerMsg::Refused { path, error, .. } => assert_eq!(
            (path.as_str(), error.code.as_str()),
            ("id", codes::DOC_RESERVED_ID)
        ),
        other => panic!("a document at a reserved id must be refused: {other:?}"),
    }
    assert!(
        server.state.store.doc(id).unwrap().is_none(),
        "the squat is stored"
    );
}

/// A rep creates a to-do at the id of the hidden part of their own proposal, before the category lead prices it.
/// Were it kept, the lead's device would write the cost, profit and margin into the rep's to-do, and the rep's
/// device would receive them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_cannot_squat_the_hidden_part_of_a_proposal() {
    use liveline_forms::record::part_id;
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let lead = Device::ready(&server, tmp.path(), "lead@demo.liveline").await;
    let readers = "sales_lead,finance,manager,admin";

    let id = rep
        .replica
        .lock()
        .unwrap()
        .save_record("product_selection", None, &proposal_input(None, ""), "UTC")
        .unwrap()
        .unwrap();
    let part = part_id(&id, readers);
    let mut squat = squatting_task(&rep, &[]);
    refused_as_reserved(&server, &rep, &part, &mut squat).await;

    decide(&rep, &id, Act::Submit).unwrap();
    rep.synced().await;
    eventually("the lead gets the proposal", || {
        (waiting_at(&lead, &id).as_deref() == Some("category_lead")).then_some(())
    })
    .await;
    lead.replica
        .lock()
        .unwrap()
        .save_record(
            "product_selection",
            Some(&id),
            &proposal_input(Some("17.00"), "priced"),
            "UTC",
        )
        .unwrap()
        .expect("the lead prices the proposal");
    decide(&lead, &id, Act::Approve).unwrap();
    lead.synced().await;
    rep.nudge();
    let values = eventually("the rep sees the lead's note", || {
        let r = rep.replica.lock().unwrap().record(&id).ok()?;
        (r.values.get("notes") == Some(&Value::Text("priced".into()))).then_some(r.values)
    })
    .await;
    rep.synced().await;
    for hidden in ["cost", "profit", "margin"] {
        assert!(
            !values.contains_key(hidden),
            "the rep's device holds {hidden}"
        );
    }
    let held = rep.replica.lock().unwrap().doc_bytes(&part).unwrap();
    assert!(
        held.is_none(),
        "the rep's device holds a document at the part's id"
    );
    // The part is the lead's, with the cost, on the server.
    let stored = server
        .state
        .store
        .doc(&part)
        .unwrap()
        .expect("the part is stored");
    let stored = AutoCommit::load(&stored).unwrap();
    assert_eq!(
        liveline_domain::doc::read_str(&stored, "kind").as_deref(),
        Some("record_part")
    );
    assert!(liveline_forms::record::read_values(&stored).contains_key("cost"));
}

/// A rep creates a to-do at the id of the team's order flow, holding a flow of their own whose first step calls the
/// team's webhook and lets the rep approve alone; and another at the order form's id. The server carries out
/// nothing of it: orders run the team's flow, and an admin still publishes the form and flow at those ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_cannot_squat_the_teams_form_or_flow_and_publishing_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let admin = Device::ready(&server, tmp.path(), "admin@demo.liveline").await;

    let mut own_flow = liveline_forms::builtin::order_flow();
    own_flow.start = "notify".into();
    let json = serde_json::to_string(&own_flow).unwrap();
    let flow_id = definition_doc_id(DocKind::FlowDef, "demo", "live_order");
    let mut squat = squatting_task(
        &rep,
        &[
            ("name", "live_order".into()),
            ("version", "1".into()),
            ("definition", json.clone()),
        ],
    );
    {
        let history = squat
            .put_object(ROOT, "history", automerge::ObjType::List)
            .unwrap();
        squat.insert(&history, 0, json.as_str()).unwrap();
        squat.commit();
    }
    refused_as_reserved(&server, &rep, &flow_id, &mut squat).await;
    let mut form = liveline_forms::builtin::order_form();
    form.fields.retain(|f| f.key != "sales_rep");
    let form_id = definition_doc_id(DocKind::FormDef, "demo", "lead");
    let mut squat = squatting_task(
        &rep,
        &[
            ("name", "lead".into()),
            ("definition", serde_json::to_string(&form).unwrap()),
        ],
    );
    refused_as_reserved(&server, &rep, &form_id, &mut squat).await;

    // An order the rep submits waits for its sales rep, as the team's flow says, and calls no webhook.
    let order = new_order(&rep);
    decide(&rep, &order, Act::Submit).unwrap();
    rep.synced().await;
    let stored = eventually("the server places the order", || {
        let bytes = server.state.store.doc(&order).ok()??;
        let doc = AutoCommit::load(&bytes).ok()?;
        liveline_domain::doc::read_str(&doc, "waiting_for")
            .filter(|w| !w.is_empty())
            .map(|_| doc)
    })
    .await;
    assert_eq!(
        liveline_domain::doc::read_str(&stored, "waiting_for").as_deref(),
        Some("u-rep1")
    );
    assert!(
        liveline_domain::doc::read_str(&stored, "effects_done")
            .unwrap_or_default()
            .is_empty(),
        "the server carried out a step of the rep's flow"
    );

    // The admin publishes the lead form at its id: it reaches the rep.
    let def = lead_form_with_incoterm(&admin);
    assert_eq!(
        admin.replica.lock().unwrap().publish_form(&def).unwrap(),
        vec![]
    );
    admin.nudge();
    admin.synced().await;
    assert_eq!(
        admin.replica.lock().unwrap().refused_edits().unwrap(),
        vec![]
    );
    rep.nudge();
    eventually("the rep's device has the published lead form", || {
        let f = rep.replica.lock().unwrap().form("lead").ok()?;
        f.fields.iter().any(|x| x.key == "incoterm").then_some(())
    })
    .await;
    let stored = server.state.store.doc(&form_id).unwrap().unwrap();
    let stored = AutoCommit::load(&stored).unwrap();
    assert_eq!(
        liveline_domain::doc::read_str(&stored, "kind").as_deref(),
        Some("form_def")
    );
}

/// Appends `d` (a decision made by hand, as a hostile client would) to the record as the server holds it and pushes
/// it as the device `dev`; the server's answer. A submit also names the flow's version, as the app does.
async fn push_decision(
    server: &TestServer,
    dev: &Device,
    id: &str,
    d: &liveline_types::forms::Decision,
) -> ServerMsg {
    let creds = creds_of(dev);
    let bytes = server
        .state
        .store
        .doc(id)
        .unwrap()
        .expect("the record is on the server");
    let mut doc = AutoCommit::load(&bytes)
        .unwrap()
        .with_actor(actor_of(&creds.device_id));
    let heads = doc.get_heads();
    if d.act == Act::Submit {
        let version = dev
            .replica
            .lock()
            .unwrap()
            .flow("live_order")
            .unwrap()
            .version;
        doc.put(ROOT, "flow_version", i64::from(version)).unwrap();
    }
    liveline_forms::record::append_decision(&mut doc, d).unwrap();
    doc.commit();
    push_as(server, dev, id, &mut doc, &heads).await
}

/// A submit of the rep's, made by hand.
fn submit(dev: &Device, route: &[&str], at_ms: i64) -> liveline_types::forms::Decision {
    let creds = creds_of(dev);
    liveline_types::forms::Decision {
        id: uuid::Uuid::now_v7().to_string(),
        step: 0,
        node: String::new(),
        actor: creds.user_id.clone(),
        device: creds.device_id.clone(),
        at_ms,
        act: Act::Submit,
        comment: String::new(),
        route: route.iter().map(|s| s.to_string()).collect(),
    }
}

fn refused_code(msg: ServerMsg) -> String {
    match msg {
        ServerMsg::Refused { error, .. } => error.code,
        other => panic!("expected a refusal: {other:?}"),
    }
}

/// A rep's hand-made submit with an empty route would end the order's flow approved at once, skipping finance
/// and the warehouse; one dated tomorrow, or skipping to the warehouse, is refused too. The record stays a draft,
/// and the app's own submit then waits for the first approver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_works_out_every_decision_again() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let id = new_order(&rep);
    rep.nudge();
    rep.synced().await;
    let now = liveline_replica::now_ms();
    let stored = server.state.store.doc(&id).unwrap().unwrap();
    for (route, at_ms, code) in [
        (&[][..], now, codes::FLOW_ROUTE_MISMATCH),
        (&["warehouse"][..], now, codes::FLOW_ROUTE_MISMATCH),
        (&["sales"][..], now + 24 * 3_600_000, codes::FLOW_TIME),
    ] {
        let got =
            refused_code(push_decision(&server, &rep, &id, &submit(&rep, route, at_ms)).await);
        assert_eq!(got, code, "{route:?}");
        assert_eq!(server.state.store.doc(&id).unwrap().unwrap(), stored);
    }
    // Changing the record's form or flow after it was made is the server's to refuse.
    {
        let creds = creds_of(&rep);
        let mut doc = AutoCommit::load(&stored)
            .unwrap()
            .with_actor(actor_of(&creds.device_id));
        let heads = doc.get_heads();
        doc.put(ROOT, "flow", "sample_request").unwrap();
        doc.commit();
        match push_as(&server, &rep, &id, &mut doc, &heads).await {
            ServerMsg::Refused { path, error, .. } => {
                assert_eq!(
                    (path.as_str(), error.code.as_str()),
                    ("flow", codes::SERVER_FIELD)
                )
            }
            other => panic!("{other:?}"),
        }
    }
    decide(&rep, &id, Act::Submit).unwrap();
    rep.synced().await;
    assert_eq!(
        rep.replica.lock().unwrap().refused_edits().unwrap().len(),
        0
    );
    let doc = AutoCommit::load(&server.state.store.doc(&id).unwrap().unwrap()).unwrap();
    assert_eq!(
        liveline_domain::doc::read_str(&doc, "waiting_for").as_deref(),
        Some("u-rep1"),
        "the order waits for its first approver"
    );
}

/// The admin changes the order flow's first step (`sales`) and publishes it; the version published.
fn publish_sales_step(
    admin: &Device,
    change: impl FnOnce(&mut liveline_types::forms::FlowNode),
) -> u32 {
    let mut flow = admin.replica.lock().unwrap().flow("live_order").unwrap();
    change(flow.nodes.iter_mut().find(|n| n.id == "sales").unwrap());
    assert_eq!(
        admin.replica.lock().unwrap().publish_flow(&flow).unwrap(),
        vec![]
    );
    admin.nudge();
    flow.version + 1
}

/// Waits until `dev` has version `version` of the order flow.
async fn has_order_flow(dev: &Device, version: u32) {
    eventually("the device has the published order flow", || {
        let f = dev.replica.lock().unwrap().flow("live_order").ok()?;
        (f.version == version).then_some(())
    })
    .await;
}

/// A one-line order saved on `dev`; its id.
fn new_order(dev: &Device) -> String {
    dev.replica
        .lock()
        .unwrap()
        .save_record(
            "live_order",
            None,
            &order_input(&[("SKU-1", "2", "10.00")]),
            "UTC",
        )
        .unwrap()
        .unwrap()
}

/// A submit dated at the epoch, with the right route, is kept (the device's clock is its own), but the step's time
/// limit runs from when the server saw it: it is not auto-approved at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backdated_decision_does_not_fire_a_time_limit() {
    use liveline_types::forms::OnTimeout;
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let admin = Device::ready(&server, tmp.path(), "admin@demo.liveline").await;
    let version = publish_sales_step(&admin, |sales| {
        sales.limit_minutes = Some(60);
        sales.on_timeout = OnTimeout::AutoApprove;
    });
    admin.synced().await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    has_order_flow(&rep, version).await;
    let id = new_order(&rep);
    rep.nudge();
    rep.synced().await;
    let got = push_decision(&server, &rep, &id, &submit(&rep, &["sales"], 0)).await;
    assert!(matches!(got, ServerMsg::Ack { .. }), "{got:?}");
    let now = liveline_replica::now_ms();
    assert_eq!(liveline_sync_server::sweep(&server.state, now).unwrap(), 0);
    let waiting = |server: &TestServer| {
        let doc = AutoCommit::load(&server.state.store.doc(&id).unwrap().unwrap()).unwrap();
        liveline_domain::doc::read_str(&doc, "waiting_at")
    };
    assert_eq!(waiting(&server).as_deref(), Some("1:sales"));
    // An hour after the server saw it, the limit does what the flow says.
    assert_eq!(
        liveline_sync_server::sweep(&server.state, now + 61 * 60_000).unwrap(),
        1
    );
    assert_eq!(waiting(&server).as_deref(), Some("2:finance"));
}

/// A countersign step (the rep and the sales lead both confirm): the two approve while offline, apart. Merged,
/// the order moves on to finance, as the flow says; before, the approval that did not see the other carried no
/// route, and whichever completed the step ended the whole flow approved there, skipping finance and the warehouse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_countersign_approvals_made_offline_move_the_order_on() {
    use liveline_types::forms::{Approver, NodeKind, Sign};
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let admin = Device::ready(&server, tmp.path(), "admin@demo.liveline").await;
    let version = publish_sales_step(&admin, |sales| {
        sales.kind = NodeKind::Approve {
            approvers: vec![
                Approver::FieldUser("sales_rep".into()),
                Approver::Role("sales_lead".into()),
            ],
            sign: Sign::All,
            requires: Vec::new(),
            others_decide: false,
        };
    });
    admin.synced().await;
    let mut rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let mut lead = Device::ready(&server, tmp.path(), "lead@demo.liveline").await;
    let finance = Device::ready(&server, tmp.path(), "finance@demo.liveline").await;
    has_order_flow(&rep, version).await;
    let id = new_order(&rep);
    decide(&rep, &id, Act::Submit).unwrap();
    rep.synced().await;
    eventually("the lead gets the order", || {
        (waiting_at(&lead, &id).as_deref() == Some("sales")).then_some(())
    })
    .await;
    rep.offline().await;
    lead.offline().await;
    decide(&rep, &id, Act::Approve).unwrap();
    decide(&lead, &id, Act::Approve).unwrap();
    rep.online();
    rep.synced().await;
    lead.online();
    lead.synced().await;
    for dev in [&rep, &lead] {
        assert_eq!(dev.replica.lock().unwrap().refused_edits().unwrap(), vec![]);
    }
    eventually("finance gets the order", || {
        (waiting_at(&finance, &id).as_deref() == Some("finance")).then_some(())
    })
    .await;
    let st = crate::forms::state_of(&rep, &id).unwrap();
    assert_eq!(st.status, liveline_forms::Status::Running);
}

/// An automerge chunk of `typ` around `body`, with its checksum, as a hostile client would build one by hand.
fn chunk(typ: u8, body: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut head = vec![typ];
    uleb(&mut head, body.len() as u64);
    let mut h = sha2::Sha256::new();
    h.update(&head);
    h.update(body);
    let sum = h.finalize();
    let mut out = vec![0x85, 0x6f, 0x4a, 0x83];
    out.extend_from_slice(&sum[..4]);
    out.extend(head);
    out.extend_from_slice(body);
    out
}

fn uleb(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn sleb(out: &mut Vec<u8>, mut n: i64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if (n == 0 && b & 0x40 == 0) || (n == -1 && b & 0x40 != 0) {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// This process's resident memory (the server runs in it), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// A megabyte of deflated zeros (a gigabyte inflated), and a change whose columns say "2^40 times the same
/// operation" in a few bytes: both refused before automerge parses them, at once, the server's memory unmoved,
/// and the connection still serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_cannot_make_the_server_inflate_or_expand_without_bound() {
    use liveline_testkit::raw::{connect, hello, next_reply, push};
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let creds = creds_of(&rep);
    let mut ws = connect(&server, Some(&creds.token)).await.unwrap();
    futures_util::SinkExt::send(&mut ws, hello()).await.unwrap();

    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    while z.get_ref().len() < (1 << 20) {
        z.write_all(&zeros).unwrap();
    }
    let bomb = chunk(2, &z.finish().unwrap());
    let before = rss();
    let id = uuid::Uuid::now_v7().to_string();
    futures_util::SinkExt::send(&mut ws, push(&id, vec![bomb]))
        .await
        .unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), next_reply(&mut ws))
        .await
        .expect("the server answers a compressed chunk at once");
    assert_eq!(refused_code(got), codes::COMPRESSED_CHANGE);
    let grown = rss().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "the server's memory grew by {grown} bytes"
    );

    // One operation (a put of `false` at the root's key "a"), its every column a run of 2^40.
    let actor = liveline_domain::doc::uuid_bytes::parse(&creds.device_id).unwrap();
    let mut body = Vec::new();
    uleb(&mut body, 0); // dependencies
    uleb(&mut body, 16);
    body.extend_from_slice(&actor);
    uleb(&mut body, 1); // seq
    uleb(&mut body, 1); // start op
    sleb(&mut body, 0); // time
    uleb(&mut body, 0); // message
    uleb(&mut body, 0); // other actors
    let run = |value: &[u8]| {
        let mut c = Vec::new();
        sleb(&mut c, 1 << 40);
        c.extend_from_slice(value);
        c
    };
    let columns = [(21u64, run(&[1, b'a'])), (66, run(&[1])), (86, run(&[1]))];
    uleb(&mut body, columns.len() as u64);
    for (spec, data) in &columns {
        uleb(&mut body, *spec);
        uleb(&mut body, data.len() as u64);
    }
    for (_, data) in &columns {
        body.extend_from_slice(data);
    }
    let expanding = chunk(1, &body);
    futures_util::SinkExt::send(&mut ws, push(&id, vec![expanding]))
        .await
        .unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), next_reply(&mut ws))
        .await
        .expect("the server answers a change of 2^40 operations at once");
    assert_eq!(refused_code(got), codes::CHANGE_TOO_LARGE);
    assert!(server.state.store.doc(&id).unwrap().is_none());

    // The connection still works: the rep's app saves and syncs as before.
    let lead = rep.capture(&liveline_testkit::lead("Still here"));
    rep.nudge();
    rep.synced().await;
    assert!(server.state.store.doc(&lead.id).unwrap().is_some());
}

/// A rep's hand-written client grows five leads past a megabyte each, by editing their notes (5,000 characters,
/// as long as the form allows) two hundred times: a snapshot page of them would pass the 4 MiB a device accepts
/// in one frame. Pages are cut by bytes, so the manager who was online (log pages) and a sales lead who signs in
/// afterwards (snapshot pages) both catch up and hold every lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_the_frame_whatever_size_the_documents_are() {
    use liveline_domain::Lead;
    use liveline_testkit::raw::{connect, hello, next_reply, push};
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let online = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let creds = creds_of(&rep);
    let mut ws = connect(&server, Some(&creds.token)).await.unwrap();
    futures_util::SinkExt::send(&mut ws, hello()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = uuid::Uuid::now_v7().to_string();
        let mut doc = AutoCommit::new().with_actor(actor_of(&creds.device_id));
        let mut lead = Lead {
            kind: "lead".into(),
            team: "demo".into(),
            buyer_name: format!("Long history {i}"),
            created_by: creds.user_id.clone(),
            status: "new".into(),
            ..Default::default()
        };
        let mut changes = Vec::new();
        for edit in 0..200 {
            lead.notes = ["a", "b"][edit % 2].repeat(5_000);
            lead.save_into(&mut doc).unwrap();
            doc.commit();
            changes.push(doc.get_last_local_change().unwrap().raw_bytes().to_vec());
            if changes.len() == 50 {
                let batch = std::mem::take(&mut changes);
                futures_util::SinkExt::send(&mut ws, push(&id, batch))
                    .await
                    .unwrap();
                let got = next_reply(&mut ws).await;
                assert!(matches!(got, ServerMsg::Ack { .. }), "{got:?}");
            }
        }
        let stored = server.state.store.doc(&id).unwrap().unwrap();
        assert!(
            stored.len() > 1_000_000,
            "the lead is {} bytes",
            stored.len()
        );
        ids.push(id);
    }
    online.nudge();
    online.synced().await;
    let later = Device::ready(&server, tmp.path(), "lead@demo.liveline").await;
    for dev in [&online, &later] {
        for id in &ids {
            let held = eventually("the device holds the lead", || {
                dev.replica.lock().unwrap().doc_bytes(id).unwrap()
            })
            .await;
            let lead = Lead::load(&AutoCommit::load(&held).unwrap()).unwrap();
            assert_eq!(lead.notes, "b".repeat(5_000));
        }
    }
}

/// What the capture form would refuse, a hand-written client cannot store either: the refusal names the field with
/// the code the form shows, and nothing is stored. A lead a rep creates already owned by themselves still goes
/// through the team's rules (buyers from Europe go to Emily).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_values_are_the_servers_to_check() {
    use liveline_domain::Lead;
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let creds = creds_of(&rep);
    let base = Lead {
        kind: "lead".into(),
        team: "demo".into(),
        buyer_name: "Hans Müller".into(),
        country: "DE".into(),
        phone: "+4915112345678".into(),
        channel: "tiktok_live".into(),
        status: "new".into(),
        created_by: creds.user_id.clone(),
        ..Default::default()
    };
    let new_lead = |lead: &Lead, extra: Option<(&str, &str)>| {
        let mut doc = AutoCommit::new().with_actor(actor_of(&creds.device_id));
        lead.save_into(&mut doc).unwrap();
        if let Some((k, v)) = extra {
            doc.put(ROOT, k, v).unwrap();
        }
        doc.commit();
        doc
    };
    let cases: [(Lead, Option<(&str, &str)>, &str, &str); 6] = [
        (
            Lead {
                phone: "+49 151 1234 5678".into(),
                ..base.clone()
            },
            None,
            "phone",
            codes::PHONE_INVALID,
        ),
        (
            Lead {
                phone: "+4912".into(),
                ..base.clone()
            },
            None,
            "phone",
            codes::PHONE_INVALID,
        ),
        (
            Lead {
                buyer_name: "   ".into(),
                ..base.clone()
            },
            None,
            "buyer_name",
            codes::REQUIRED,
        ),
        (
            Lead {
                status: "paid_in_full".into(),
                ..base.clone()
            },
            None,
            "status",
            codes::STATUS_UNKNOWN,
        ),
        (
            Lead {
                owner: "u-someone-else".into(),
                ..base.clone()
            },
            None,
            "owner",
            codes::OWNER_UNKNOWN,
        ),
        (
            base.clone(),
            Some(("is_vip", "yes")),
            "is_vip",
            codes::FIELD_UNKNOWN,
        ),
    ];
    for (lead, extra, path, code) in cases {
        let id = uuid::Uuid::now_v7().to_string();
        match push_new(&server, &rep, &id, &mut new_lead(&lead, extra)).await {
            ServerMsg::Refused { path: p, error, .. } => {
                assert_eq!((p.as_str(), error.code.as_str()), (path, code))
            }
            other => panic!("{path}: {other:?}"),
        }
        assert!(server.state.store.doc(&id).unwrap().is_none());
    }
    // An edit that breaks the phone is refused; the lead stays as it was.
    let id = uuid::Uuid::now_v7().to_string();
    let mut doc = new_lead(
        &Lead {
            owner: creds.user_id.clone(),
            ..base.clone()
        },
        None,
    );
    assert!(matches!(
        push_new(&server, &rep, &id, &mut doc).await,
        ServerMsg::Ack { .. }
    ));
    let stored = server.state.store.doc(&id).unwrap().unwrap();
    let heads = doc.get_heads();
    doc.put(ROOT, "phone", "call me").unwrap();
    doc.commit();
    match push_as(&server, &rep, &id, &mut doc, &heads).await {
        ServerMsg::Refused { path, error, .. } => {
            assert_eq!(
                (path.as_str(), error.code.as_str()),
                ("phone", codes::PHONE_INVALID)
            )
        }
        other => panic!("{other:?}"),
    }
    // The rep named themselves the owner of a buyer from Germany: the rules gave the lead to Emily.
    let lead = eventually("the server assigns the lead", || {
        let bytes = server.state.store.doc(&id).ok()??;
        let lead = Lead::load(&AutoCommit::load(&bytes).ok()?).ok()?;
        (!lead.assigned_rule.is_empty()).then_some(lead)
    })
    .await;
    assert_eq!(lead.owner, "u-rep2");
    assert_eq!(lead.phone, "+4915112345678");
    let _ = stored;
}

/// An admin's webhooks cannot be pointed inside the operator's network: loopback, private, link-local and
/// unique-local addresses are refused when saved (a server that allows no internal host by name). Where the
/// operator allows loopback (an on-premises ERP): a hook that redirects is not followed, a plain-JSON hook needs a
/// secret and signs each request, a bot's own error text is not shown to the admin, and a buyer named like a
/// mention (`@all`, `<at user_id="all">`) reaches the chat as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_cannot_reach_inside_and_say_only_what_they_should() {
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    let tmp = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", liveline_testkit::free_port())
        .parse()
        .unwrap();
    let strict = TestServer::start_with(&tmp.path().join("strict"), addr, |s| {
        s.webhook_allow_hosts.clear();
    })
    .await;
    let admin = Device::ready(&strict, tmp.path(), "admin@demo.liveline").await;
    let http = reqwest::Client::new();
    let put = |server: &TestServer, token: String, body: serde_json::Value| {
        http.put(format!("{}/v1/admin/webhooks", server.url()))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/erp",
        "http://192.168.1.1/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
    ] {
        let r = put(
            &strict,
            admin.token(),
            serde_json::json!([{"kind": "wecom", "url": url}]),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 422, "{url}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["code"], codes::WEBHOOK_ADDRESS_FORBIDDEN, "{url}");
    }
    strict.stop().await;

    // The operator allows loopback: receivers that redirect, refuse with a chatty error, and check signatures.
    let seen: Arc<Mutex<Vec<(String, axum::http::HeaderMap, Vec<u8>)>>> = Arc::default();
    let record = |name: &'static str| {
        let seen = seen.clone();
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((name.to_string(), headers, body.to_vec()));
                axum::Json(serde_json::json!({"errcode": 0}))
            }
        }
    };
    let inside = axum::Router::new().route("/secret", post(record("inside")));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inside_addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, inside).await.unwrap() });
    let to_inside = format!("http://{inside_addr}/secret");
    let outside = axum::Router::new()
        .route(
            "/redirect",
            post(move || {
                let to = to_inside.clone();
                async move { axum::response::Redirect::temporary(&to) }
            }),
        )
        .route(
            "/chatty",
            post(|| async {
                axum::Json(serde_json::json!({"errcode": 93000, "errmsg": "invalid webhook url, internal host db-7.corp"}))
            }),
        )
        .route("/erp", post(record("erp")))
        .route("/wecom", post(record("wecom")));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let out = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, outside).await.unwrap() });

    let server = TestServer::start(&tmp.path().join("server")).await;
    let admin = Device::ready(&server, tmp.path(), "admin@demo.liveline").await;
    let r = put(
        &server,
        admin.token(),
        serde_json::json!([{"kind": "generic", "url": format!("http://{out}/erp")}]),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["code"], codes::WEBHOOK_SECRET_REQUIRED);
    let r = put(
        &server,
        admin.token(),
        serde_json::json!([
            {"kind": "wecom", "url": format!("http://{out}/redirect")},
            {"kind": "wecom", "url": format!("http://{out}/chatty")},
            {"kind": "generic", "url": format!("http://{out}/erp"), "secret": "erp-secret"},
            {"kind": "wecom", "url": format!("http://{out}/wecom")}
        ]),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);

    let assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    assistant.capture(&LeadInput {
        buyer_name: "@all <at user_id=\"all\">所有人</at>".into(),
        ..liveline_testkit::lead("x")
    });
    assistant.nudge();
    assistant.synced().await;
    eventually("the ERP and the chat got the lead", || {
        let got = seen.lock().unwrap();
        (got.iter().any(|s| s.0 == "erp") && got.iter().any(|s| s.0 == "wecom")).then_some(())
    })
    .await;
    let statuses = eventually("the failures are recorded", || {
        let s = server.state.store.webhook_status("demo").ok()?;
        (s.iter().filter(|x| !x.2.is_empty()).count() >= 2).then_some(s)
    })
    .await;
    let errors: Vec<&str> = statuses
        .iter()
        .map(|s| s.2.as_str())
        .filter(|e| !e.is_empty())
        .collect();
    assert!(errors.contains(&"http 307"), "{errors:?}");
    assert!(errors.contains(&"bot error 93000"), "{errors:?}");
    assert!(errors.iter().all(|e| !e.contains("db-7")), "{errors:?}");
    let got = seen.lock().unwrap().clone();
    assert!(
        got.iter().all(|s| s.0 != "inside"),
        "the redirect was followed"
    );
    let (_, headers, body) = got.iter().find(|s| s.0 == "erp").unwrap();
    let ts: i64 = headers["x-liveline-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-liveline-signature"].to_str().unwrap(),
        liveline_sync_server::notify::generic_signature("erp-secret", ts, body)
    );
    let (_, _, chat) = got.iter().find(|s| s.0 == "wecom").unwrap();
    let chat: serde_json::Value = serde_json::from_slice(chat).unwrap();
    let text = chat["text"]["content"].as_str().unwrap();
    assert!(!text.contains('@') && !text.contains("<at"), "{text}");
    assert!(text.contains("＠all"), "{text}");
}

/// A rep's device pushes more than its allowance, so its push waits; meanwhile a flood of signals passes (more
/// than the connection's news ring holds) with the device's revocation in the middle of it, so the connection never
/// hears of the revocation itself. It still learns of it: the waiting push is not stored and the device is told it
/// was signed out. Team switches are limited per user and signal only when the device really moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_is_never_lost_in_a_flood_of_news() {
    use liveline_domain::Lead;
    use liveline_testkit::raw::{connect, hello, next, push};
    let tmp = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", liveline_testkit::free_port())
        .parse()
        .unwrap();
    let server = TestServer::start_with(&tmp.path().join("server"), addr, |s| {
        s.push_kib_per_s = 8;
        s.push_burst_kib = 16;
    })
    .await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let creds = creds_of(&rep);
    let mut ws = connect(&server, Some(&creds.token)).await.unwrap();
    futures_util::SinkExt::send(&mut ws, hello()).await.unwrap();
    // Eight leads with long notes: about 40 KiB, so the push waits for its allowance for a few seconds.
    let mut docs = Vec::new();
    let mut ids = Vec::new();
    for i in 0..8 {
        let id = uuid::Uuid::now_v7().to_string();
        let mut doc = AutoCommit::new().with_actor(actor_of(&creds.device_id));
        Lead {
            kind: "lead".into(),
            team: "demo".into(),
            buyer_name: format!("After revocation {i}"),
            created_by: creds.user_id.clone(),
            status: "new".into(),
            notes: "n".repeat(5_000),
            ..Default::default()
        }
        .save_into(&mut doc)
        .unwrap();
        doc.commit();
        let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
        docs.push(liveline_sync::DocChanges {
            doc: id.clone(),
            changes: vec![change],
        });
        ids.push(id);
    }
    let frame = liveline_sync::encode(&liveline_sync::ClientMsg::Push { docs });
    assert!(frame.len() > 32 * 1024, "{} bytes", frame.len());
    futures_util::SinkExt::send(
        &mut ws,
        tokio_tungstenite::tungstenite::Message::Binary(frame.into()),
    )
    .await
    .unwrap();
    let _ = push; // (the frame above carries several documents)
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for _ in 0..2_000 {
        liveline_sync_server::access_changed(&server.state, "u-somebody-else");
    }
    liveline_sync_server::revoke_device(&server.state, &creds.device_id).unwrap();
    for _ in 0..18_000 {
        liveline_sync_server::access_changed(&server.state, "u-somebody-else");
    }
    let told = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            match futures_util::StreamExt::next(&mut ws).await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(b))) => {
                    if let Ok(ServerMsg::Error { error, fatal: true }) = liveline_sync::decode(&b) {
                        return Some(error.code);
                    }
                }
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    })
    .await
    .expect("the revoked connection is closed");
    assert_eq!(told.as_deref(), Some(codes::DEVICE_REVOKED));
    for id in &ids {
        assert!(
            server.state.store.doc(id).unwrap().is_none(),
            "a revoked device's push was stored"
        );
    }
    let _ = next;

    // Team switches: the current team again signals nobody; past ten a minute, the user waits.
    let assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..liveline_sync_server::TEAM_SWITCH_PER_MINUTE + 1 {
        let r = http
            .put(format!("{}/v1/me/team", server.url()))
            .bearer_auth(assistant.token())
            .json(&serde_json::json!({"team_id": "demo"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 200),
        "{statuses:?}"
    );
    assert_eq!(*statuses.last().unwrap(), 429);
}

/// One rep's account opens 20 sockets and says `Hello` on them in a loop (each `Hello` costs the server a
/// snapshot of the rep's buckets). Connections per account are capped and rate limited, and a repeated `Hello`
/// closes its connection, so the manager's round trip and the health check stay near their idle figures (without
/// these limits: 190 ms and 430 ms against 50 µs idle). The bench prints the figures; this bound is generous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_saying_hello_in_a_loop_does_not_starve_the_others() {
    use liveline_testkit::raw::{connect, hello, hello_flood, round_trip, Flood};
    use std::sync::atomic::Ordering;
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let mut probe = connect(&server, Some(&manager.token())).await.unwrap();
    futures_util::SinkExt::send(&mut probe, hello())
        .await
        .unwrap();
    let median = |mut v: Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(round_trip(&mut probe).await);
    }
    let idle = median(idle);

    let flood = std::sync::Arc::new(Flood::default());
    let attackers = hello_flood(&server, &rep.token(), 20, flood.clone());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut busy = Vec::new();
    let mut health = std::time::Duration::ZERO;
    let http = reqwest::Client::new();
    for _ in 0..20 {
        busy.push(round_trip(&mut probe).await);
        let t = std::time::Instant::now();
        let r = http
            .get(format!("{}/health", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        health = health.max(t.elapsed());
    }
    flood.stop.store(true, Ordering::Relaxed);
    for a in attackers {
        let _ = a.await;
    }
    let busy = median(busy);
    let (refused, closed) = (
        flood.refused.load(Ordering::Relaxed),
        flood.closed.load(Ordering::Relaxed),
    );
    eprintln!("idle round trip {idle:?}, under 20 hello loops {busy:?}, slowest health {health:?}, refused {refused}, closed {closed}");
    assert!(refused > 0, "no connection was refused");
    assert!(closed > 0, "no repeated Hello was refused");
    assert!(
        busy < idle * 10 + std::time::Duration::from_millis(50),
        "the manager's round trip went from {idle:?} to {busy:?}"
    );
    assert!(
        health < std::time::Duration::from_millis(250),
        "health took {health:?}"
    );
}

/// The rep who proposes a product picks its category lead; naming themselves does not make them its reviewer: the
/// proposal waits for the team's sales lead, on the server and on the rep's device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposer_who_names_themselves_category_lead_is_not_the_reviewer() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let mut input = proposal_input(None, "");
    input.insert(
        "category_lead".into(),
        liveline_types::forms::FieldInput::Text("u-rep1".into()),
    );
    let id = rep
        .replica
        .lock()
        .unwrap()
        .save_record("product_selection", None, &input, "UTC")
        .unwrap()
        .unwrap();
    decide(&rep, &id, Act::Submit).unwrap();
    rep.synced().await;
    let waiting = eventually("the server places the proposal", || {
        let doc = AutoCommit::load(&server.state.store.doc(&id).ok()??).ok()?;
        liveline_domain::doc::read_str(&doc, "waiting_for").filter(|w| !w.is_empty())
    })
    .await;
    assert_eq!(waiting, "u-lead");
    assert!(
        decide(&rep, &id, Act::Approve).is_err(),
        "the rep reviewed their own proposal"
    );
    let st = crate::forms::state_of(&rep, &id).unwrap();
    assert_eq!(st.waiting.unwrap().approvers, ["u-lead"]);
}
