//! Devices and a real sync server on loopback: capture, propagation, offline merges, refusals, restarts.

use liveline_sync_server::Store;
use liveline_testkit::{eventually, lead, Device, TestServer};
use liveline_types::{codes, LeadInput, SyncState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_captured_on_one_device_reaches_another() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut a = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut b = Device::sign_in(&server, tmp.path(), "manager@demo.liveline").await;
    a.online();
    b.online();
    a.synced().await;
    b.synced().await;
    assert_eq!(b.count(), 300, "the demo team's leads arrive on first sync");

    let saved = a.capture(&lead("Zoe Unique-Buyer"));
    assert_eq!(saved.phone, "+12015550123");
    assert!(saved.pending, "not yet confirmed by the server");
    a.synced().await;
    assert!(
        !a.lead(&saved.id).pending,
        "the server's ack clears the pending mark"
    );
    b.wait_for("Zoe Unique-Buyer").await;
    let on_b = b.find("Zoe Unique-Buyer");
    assert_eq!(on_b.len(), 1);
    assert_eq!(on_b[0].phone, "+12015550123");
    assert_eq!(on_b[0].created_by, "u-assistant");

    // The document is plain automerge: any implementation loads it.
    let bytes = b
        .replica
        .lock()
        .unwrap()
        .doc_bytes(&saved.id)
        .unwrap()
        .unwrap();
    let doc = automerge::Automerge::load(&bytes).unwrap();
    use automerge::ReadDoc;
    assert_eq!(
        doc.get(automerge::ROOT, "buyer_name")
            .unwrap()
            .unwrap()
            .0
            .as_str(),
        Some("Zoe Unique-Buyer")
    );
    a.offline().await;
    b.offline().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_two_devices_both_survive() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut a = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut b = Device::sign_in(&server, tmp.path(), "rep1@demo.liveline").await;
    a.online();
    b.online();
    // The rep reads leads they own: the assistant gives this one to them (the team's members arrive on sync).
    a.synced().await;
    let l = a.capture(&LeadInput {
        owner: "u-rep1".into(),
        ..lead("Kenji Sato")
    });
    a.synced().await;
    // The demo team has other buyers of that name: wait for this one.
    eventually("the lead reaches the rep", || {
        b.replica.lock().unwrap().get_lead(&l.id).ok()
    })
    .await;

    a.offline().await;
    b.offline().await;
    // Different fields on each device, and the same field on both.
    a.edit(&l.id, |i| {
        i.notes = "wants 200 units".into();
        i.company = "Sato Trading".into();
    });
    b.edit(&l.id, |i| {
        i.status = "contacted".into();
        i.company = "Sato KK".into();
    });
    let offline_new = a.capture(&LeadInput {
        owner: "u-rep1".into(),
        ..lead("Offline Buyer")
    });
    assert_eq!(a.sync.as_ref().map(|s| s.status().state), None);

    a.online();
    b.online();
    a.synced().await;
    b.synced().await;
    b.wait_for("Offline Buyer").await;
    // Both pushed; wait until each holds the other's edit (fan-out is asynchronous).
    let mut tries = 0;
    let (la, lb) = loop {
        let (la, lb) = (a.lead(&l.id), b.lead(&l.id));
        if (la.notes == lb.notes && la.status == lb.status && la.company == lb.company)
            || tries == 200
        {
            break (la, lb);
        }
        tries += 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(la.notes, "wants 200 units");
    assert_eq!(la.status, "contacted");
    assert_eq!(
        la,
        LeadViewEq::strip(&lb, la.pending),
        "both devices show the same lead"
    );
    assert!(la.company == "Sato Trading" || la.company == "Sato KK");
    assert_eq!(
        b.find("Offline Buyer").len(),
        1,
        "a lead captured offline arrives after reconnect"
    );
    assert_eq!(b.lead(&offline_new.id).buyer_name, "Offline Buyer");
    a.offline().await;
    b.offline().await;
    server.stop().await;
}

struct LeadViewEq;
impl LeadViewEq {
    fn strip(v: &liveline_types::LeadView, pending: bool) -> liveline_types::LeadView {
        liveline_types::LeadView {
            pending,
            ..v.clone()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_edit_reaches_its_author_only_and_blocks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut a = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut b = Device::sign_in(&server, tmp.path(), "manager@demo.liveline").await;
    a.online();
    b.online();
    let l = a.capture(&lead("Olga Petrova"));
    a.synced().await;
    a.offline().await;

    // Offline: move the lead to another team (forbidden), then capture another lead (fine).
    a.replica
        .lock()
        .unwrap()
        .edit_lead_raw(&l.id, |lead| lead.team = "other-team".into())
        .unwrap();
    let ok = a.capture(&lead("Still Fine"));
    a.online();
    a.synced().await;
    b.synced().await;

    let refused = a.replica.lock().unwrap().refused_edits().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].error.code, codes::TEAM_CHANGE_FORBIDDEN);
    assert_eq!(refused[0].path, "team");
    assert_eq!(refused[0].title, "Olga Petrova");
    assert!(
        refused[0].content.contains("team: other-team"),
        "the refused content is kept to copy"
    );
    assert_eq!(
        a.lead(&l.id).team,
        "demo",
        "the author's copy is rebuilt from what the server confirmed"
    );
    assert_eq!(a.sync.as_ref().unwrap().status().refused, 1);
    b.wait_for("Still Fine").await;
    assert_eq!(
        b.find("Still Fine").len(),
        1,
        "the refusal did not block the other upload"
    );
    assert_eq!(
        b.lead(&l.id).team,
        "demo",
        "nobody else received the refused change"
    );
    assert!(b
        .replica
        .lock()
        .unwrap()
        .refused_edits()
        .unwrap()
        .is_empty());
    assert_eq!(a.lead(&ok.id).pending, false);
    a.offline().await;
    b.offline().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_loses_nothing_it_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("server");
    let server = TestServer::start(&dir).await;
    let addr = server.addr;
    let mut a = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    a.online();
    a.synced().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(a.capture(&lead(&format!("Before Restart {i}"))).id);
    }
    a.synced().await;
    server.stop().await;
    // While the server is down the device keeps working.
    for i in 0..5 {
        ids.push(a.capture(&lead(&format!("During Outage {i}"))).id);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(a.sync.as_ref().unwrap().status().state, SyncState::Offline);
    assert_eq!(a.sync.as_ref().unwrap().status().pending, 5);

    let server = TestServer::start_on(&dir, addr).await;
    a.synced().await;
    let mut fresh = Device::sign_in(&server, tmp.path(), "lead@demo.liveline").await;
    fresh.online();
    fresh.synced().await;
    for id in &ids {
        assert!(
            server.state.store.doc(id).unwrap().is_some(),
            "server has {id}"
        );
        assert!(
            fresh.replica.lock().unwrap().get_lead(id).is_ok(),
            "a new device has {id}"
        );
    }
    assert_eq!(fresh.count(), 325);
    use liveline_sync_server::Store;
    assert!(server.state.store.integrity_ok().unwrap());
    a.offline().await;
    fresh.offline().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_is_cut_off_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut a = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    a.online();
    a.synced().await;
    let device_id = a
        .replica
        .lock()
        .unwrap()
        .credentials()
        .unwrap()
        .unwrap()
        .device_id;
    assert!(liveline_sync_server::revoke_device(&server.state, &device_id).unwrap());
    let mut rx = a.sync.as_ref().unwrap().subscribe();
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        rx.wait_for(|s| s.last_error.is_some()),
    )
    .await
    .expect("the device hears of the revocation")
    .unwrap()
    .clone();
    assert_eq!(status.state, SyncState::Offline);
    assert_eq!(status.last_error.unwrap().code, codes::DEVICE_REVOKED);
    a.offline().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unreachable_server_have_their_own_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let e = liveline_replica::sign_in(&server.url(), "assistant@demo.liveline", "nope", "t")
        .await
        .unwrap_err();
    assert_eq!(e.code, codes::BAD_CREDENTIALS);
    let e = liveline_replica::sign_in(&server.url(), "nobody@demo.liveline", "demo", "t")
        .await
        .unwrap_err();
    assert_eq!(e.code, codes::BAD_CREDENTIALS);
    server.stop().await;
    let e = liveline_replica::sign_in("http://127.0.0.1:9", "a@b.co", "x", "t")
        .await
        .unwrap_err();
    assert_eq!(e.code, codes::SERVER_UNREACHABLE);
}

/// A phone signed in again (a new device id, the same user) still holds leads captured under its old id: they
/// reach the server instead of being refused as another device's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_captured_before_signing_in_again_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let dir = tmp.path().join("phone");
    let id = {
        let mut d = Device::sign_in(&server, &dir, "rep1@demo.liveline").await;
        d.online();
        d.synced().await;
        d.offline().await;
        d.capture(&lead("Captured Before Sign-in")).id
    };
    let mut again = Device::sign_in(&server, &dir, "rep1@demo.liveline").await;
    again.online();
    again.synced().await;
    {
        let r = again.replica.lock().unwrap();
        assert_eq!(
            r.refused_count().unwrap(),
            0,
            "{:?}",
            r.refused_edits().unwrap()
        );
        assert_eq!(r.pending_count().unwrap(), 0);
    }
    assert!(server.state.store.doc(&id).unwrap().is_some());
    again.offline().await;
    server.stop().await;
}

/// A nudge counts one change on its way before the client looks; with nothing to send the badge returns to
/// "synced" instead of showing a change that does not exist. (The crash trials found it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nudge_with_nothing_to_send_leaves_the_device_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut d = Device::sign_in(&server, tmp.path(), "manager@demo.liveline").await;
    d.online();
    d.synced().await;
    d.sync.as_ref().unwrap().nudge();
    d.synced_within(std::time::Duration::from_secs(5)).await;
    let status = d.sync.as_ref().unwrap().status();
    assert_eq!((status.state, status.pending), (SyncState::Synced, 0));
    d.offline().await;
    server.stop().await;
}
