//! Smoke test of the real `sync-server` binary: starts, serves a device, stops cleanly on SIGTERM, and comes back
//! with everything it acknowledged.

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liveline_replica::{sign_in, Replica, SyncClient};
use liveline_types::{LeadInput, SaveOutcome};

mod common;
use common::{free_port, healthy};

fn start(dir: &std::path::Path, port: u16) -> Child {
    common::server(dir, port)
        .env("LIVELINE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("sync-server starts")
}

fn terminate(mut child: Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM, got {status:?}");
}

async fn device(url: &str, path: &std::path::Path, email: &str) -> Arc<Mutex<Replica>> {
    let mut r = Replica::open(path).unwrap();
    r.set_credentials(&sign_in(url, email, "demo", "smoke").await.unwrap())
        .unwrap();
    Arc::new(Mutex::new(r))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_serves_stops_on_sigterm_and_keeps_what_it_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let server = start(&tmp.path().join("server"), port);
    healthy(port).await;

    let a = device(
        &url,
        &tmp.path().join("a.sqlite3"),
        "assistant@demo.liveline",
    )
    .await;
    let sync = SyncClient::spawn(a.clone());
    sync.wait_synced(Duration::from_secs(30)).await.unwrap();
    assert_eq!(a.lock().unwrap().lead_count().unwrap(), 300);
    let input = LeadInput {
        buyer_name: "Smoke Buyer".into(),
        country: "DE".into(),
        phone: "030 901820".into(),
        channel: "youtube".into(),
        ..Default::default()
    };
    let SaveOutcome::Saved { lead } = a.lock().unwrap().save_lead(None, &input, 1).unwrap() else {
        panic!()
    };
    sync.nudge();
    sync.wait_synced(Duration::from_secs(30)).await.unwrap();
    sync.stop().await;
    terminate(server);

    let server = start(&tmp.path().join("server"), port);
    healthy(port).await;
    let b = device(&url, &tmp.path().join("b.sqlite3"), "manager@demo.liveline").await;
    let sync = SyncClient::spawn(b.clone());
    sync.wait_synced(Duration::from_secs(30)).await.unwrap();
    let got = b.lock().unwrap().get_lead(&lead.id).unwrap();
    assert_eq!(got.phone, "+4930901820");
    assert_eq!(
        b.lock().unwrap().lead_count().unwrap(),
        301,
        "the demo is seeded once"
    );
    sync.stop().await;
    terminate(server);
}

/// Secrets never reach a log line: the binary logs at debug level to a file while devices sign in (right and wrong
/// passwords), sync and call the admin API; the file names the events but holds no password and no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_or_token_reaches_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log_path = tmp.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = common::server(&tmp.path().join("server"), port)
        .env("LIVELINE_LOG", "debug")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("sync-server starts");
    healthy(port).await;

    let admin_creds = sign_in(&url, "admin@demo.liveline", "demo", "smoke")
        .await
        .unwrap();
    let admin = liveline_replica::Admin::new(&admin_creds);
    const PASSWORD: &str = "Sekr1t-Pass-XYZ";
    const WRONG: &str = "Wr0ng-Guess-QQQ";
    admin
        .invite(&liveline_types::InviteRequest {
            email: "secret.keeper@demo.liveline".into(),
            name: "Secret Keeper".into(),
            roles: vec!["sales_rep".into()],
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert!(sign_in(&url, "secret.keeper@demo.liveline", WRONG, "smoke")
        .await
        .is_err());
    let creds = sign_in(&url, "secret.keeper@demo.liveline", PASSWORD, "smoke")
        .await
        .unwrap();
    let mut r = Replica::open(&tmp.path().join("k.sqlite3")).unwrap();
    r.set_credentials(&creds).unwrap();
    let sync = SyncClient::spawn(Arc::new(Mutex::new(r)));
    sync.wait_synced(Duration::from_secs(30)).await.unwrap();
    admin.users().await.unwrap();
    admin.audit(&Default::default()).await.unwrap();
    sync.stop().await;
    terminate(server);

    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("device signed in") && text.contains("sign-in refused"),
        "the log names the events"
    );
    for secret in [
        PASSWORD,
        WRONG,
        creds.token.as_str(),
        admin_creds.token.as_str(),
    ] {
        assert!(!text.contains(secret), "a secret is in the server log");
    }
}

/// A refused sign-in is logged without what was typed as the e-mail (people type passwords into the wrong box);
/// the log line names the client's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_sign_in_logs_no_typed_email() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let log_path = tmp.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = common::server(&tmp.path().join("server"), port)
        .env("LIVELINE_LOG", "info")
        .stdout(log)
        .spawn()
        .expect("sync-server starts");
    healthy(port).await;
    let url = format!("http://127.0.0.1:{port}");
    let typed = "hunter2-typed-in-the-email-box";
    let e = sign_in(&url, typed, "demo", "smoke").await.unwrap_err();
    assert_eq!(e.code, liveline_types::codes::BAD_CREDENTIALS);
    terminate(server);
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("sign-in refused"), "{text}");
    assert!(
        !text.contains(typed),
        "the typed e-mail is in the log: {text}"
    );
}
