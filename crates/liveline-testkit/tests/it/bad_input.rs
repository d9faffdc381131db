//! Bad input at the sync entry point, from a hand-crafted client on a real WebSocket: each gets a precise refusal
//! and the store is unharmed. And a damaged local database gets a clear error and a way back.

use automerge::{ActorId, AutoCommit};
use futures_util::{SinkExt, StreamExt};
use liveline_domain::doc::uuid_bytes;
use liveline_domain::Lead;
use liveline_replica::{sign_in, Replica};
use liveline_sync::{ServerMsg, MAX_FRAME};
use liveline_sync_server::Store;
use liveline_testkit::raw::{connect, hello, next_reply, push};
use liveline_testkit::TestServer;
use liveline_types::codes;
use tokio_tungstenite::tungstenite::Message;

fn lead_change(actor: &ActorId, team: &str) -> (AutoCommit, Vec<u8>) {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    let lead = Lead {
        kind: "lead".into(),
        team: team.into(),
        buyer_name: "Crafted".into(),
        created_by: "u-assistant".into(),
        ..Default::default()
    };
    lead.save_into(&mut doc).unwrap();
    doc.commit();
    let bytes = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    (doc, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_bad_input_precisely_and_stays_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;

    // No token, a wrong token: the upgrade is refused with 401.
    for token in [None, Some("0000")] {
        match connect(&server, token).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401)
            }
            other => panic!("expected 401, got {:?}", other.map(|_| ())),
        }
    }

    let creds = sign_in(&server.url(), "assistant@demo.liveline", "demo", "crafted")
        .await
        .unwrap();
    let mut ws = connect(&server, Some(&creds.token)).await.unwrap();
    ws.send(hello()).await.unwrap();

    // Malformed frame, a text frame, another protocol version.
    ws.send(Message::Binary(vec![1, 0, 99, 1, 2].into()))
        .await
        .unwrap();
    assert!(
        matches!(next_reply(&mut ws).await, ServerMsg::Error { error, fatal: false } if error.code == codes::BAD_MESSAGE)
    );
    ws.send(Message::Text("hello".into())).await.unwrap();
    assert!(
        matches!(next_reply(&mut ws).await, ServerMsg::Error { error, .. } if error.code == codes::BAD_MESSAGE)
    );
    ws.send(Message::Binary(vec![9, 0, 0].into()))
        .await
        .unwrap();
    assert!(
        matches!(next_reply(&mut ws).await, ServerMsg::Error { error, .. } if error.code == codes::VERSION)
    );

    // A change made with another device's actor.
    let mine = ActorId::from(&uuid_bytes::parse(&creds.device_id).unwrap()[..]);
    let other = ActorId::from(&[5u8; 16][..]);
    let doc_id = uuid::Uuid::new_v4().to_string();
    let (_, forged) = lead_change(&other, "demo");
    ws.send(push(&doc_id, vec![forged])).await.unwrap();
    match next_reply(&mut ws).await {
        ServerMsg::Refused { error, .. } => assert_eq!(error.code, codes::ACTOR_MISMATCH),
        other => panic!("{other:?}"),
    }
    assert!(server.state.store.doc(&doc_id).unwrap().is_none());

    // A change whose dependency the server never saw: held, with the missing hash named.
    let (mut doc, _first) = lead_change(&mine, "demo");
    let mut l = Lead::load(&doc).unwrap();
    l.company = "Later".into();
    l.save_into(&mut doc).unwrap();
    doc.commit();
    let second = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    ws.send(push(&doc_id, vec![second])).await.unwrap();
    match next_reply(&mut ws).await {
        ServerMsg::MissingDeps { missing, .. } => assert_eq!(missing.len(), 1),
        other => panic!("{other:?}"),
    }
    assert!(server.state.store.doc(&doc_id).unwrap().is_none());

    // Garbage bytes as a change; a record created in another team; a document id that is not an id.
    ws.send(push(&doc_id, vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]]))
        .await
        .unwrap();
    assert!(
        matches!(next_reply(&mut ws).await, ServerMsg::Refused { error, .. } if error.code == codes::BAD_CHANGE)
    );
    let (_, foreign) = lead_change(&mine, "someone-else");
    ws.send(push(&doc_id, vec![foreign])).await.unwrap();
    assert!(
        matches!(next_reply(&mut ws).await, ServerMsg::Refused { error, path, .. } if error.code == codes::FOREIGN_TEAM && path == "team")
    );
    ws.send(push("../../etc/passwd", vec![])).await.unwrap();
    assert!(
        matches!(next_reply(&mut ws).await, ServerMsg::Refused { error, .. } if error.code == codes::DOC_BAD_ID)
    );
    // The same UUID written another way (upper case, without hyphens) would be a second document of the same
    // automerge id on the server: refused, and nothing is stored under either spelling.
    for spelling in [
        doc_id.to_uppercase(),
        doc_id.replace('-', ""),
        format!("{{{doc_id}}}"),
    ] {
        let (_, lead) = lead_change(&mine, "demo");
        ws.send(push(&spelling, vec![lead])).await.unwrap();
        match next_reply(&mut ws).await {
            ServerMsg::Refused { error, path, .. } => {
                assert_eq!(
                    (error.code.as_str(), path.as_str()),
                    (codes::DOC_BAD_ID, "id")
                )
            }
            other => panic!("{spelling}: {other:?}"),
        }
        assert!(server.state.store.doc(&spelling).unwrap().is_none());
    }

    // The connection still works: a good change is accepted.
    let (_, good) = lead_change(&mine, "demo");
    ws.send(push(&doc_id, vec![good])).await.unwrap();
    assert!(
        matches!(next_reply(&mut ws).await, ServerMsg::Ack { hashes, .. } if hashes.len() == 1)
    );
    assert!(server.state.store.doc(&doc_id).unwrap().is_some());

    // An oversized frame closes the connection; the store is intact.
    let _ = ws
        .send(Message::Binary(vec![1u8; MAX_FRAME + 10].into()))
        .await;
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(closed, "an oversized frame ends the connection");
    assert!(server.state.store.integrity_ok().unwrap());
    assert!(server.state.store.doc(&doc_id).unwrap().is_some());
    server.stop().await;
}

#[test]
fn a_damaged_local_database_says_so_and_can_start_over() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("liveline.sqlite3");
    std::fs::write(
        &path,
        b"this is not a database, it was damaged by a crash or a bad disk".repeat(100),
    )
    .unwrap();
    let err = Replica::open(&path)
        .err()
        .expect("a damaged file is refused");
    assert_eq!(err.to_app_error().code, codes::STORAGE_CORRUPT);
    Replica::destroy(&path).unwrap();
    let r = Replica::open(&path).expect("a fresh replica opens");
    assert_eq!(r.lead_count().unwrap(), 0);
}
