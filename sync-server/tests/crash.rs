//! Crash trials of the real `sync-server` binary: while two devices push a burst of leads, the server is killed
//! with SIGKILL at a random moment and restarted on the same data. Afterwards every lead is on the server (so
//! nothing it acknowledged was lost: a device drops a change from its queue only on an ack), its database passes
//! `PRAGMA integrity_check`, no upload was refused or left pending, and a manager's device holds them all.
//!
//! CI runs 5 trials; `LIVELINE_CRASH_TRIALS=100 cargo test -p liveline-sync-server --test crash` runs 100.
//! `LIVELINE_CRASH_SEED` replays a failing trial's kill moments.

use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liveline_replica::{now_ms, sign_in, Replica, SyncClient, SyncHandle};
use liveline_types::{LeadInput, SaveOutcome};

mod common;
use common::{free_port, healthy};

/// Starts the real server; its warnings and errors go to `server.log` beside the data folder, which a failing
/// trial prints.
fn start(dir: &std::path::Path, port: u16) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.with_extension("log"))
        .unwrap();
    common::server(dir, port)
        .env("LIVELINE_LOG", "warn")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("sync-server starts")
}

fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

struct Dev {
    replica: Arc<Mutex<Replica>>,
    sync: SyncHandle,
}

async fn device(url: &str, path: &std::path::Path, email: &str) -> Dev {
    let mut r = Replica::open(path).unwrap();
    r.set_credentials(&sign_in(url, email, "demo", "crash").await.unwrap())
        .unwrap();
    let replica = Arc::new(Mutex::new(r));
    let sync = SyncClient::spawn(replica.clone());
    Dev { replica, sync }
}

fn capture(d: &Dev, name: &str, n: u64) -> String {
    let input = LeadInput {
        buyer_name: name.into(),
        country: "MX".into(),
        phone: format!("55{:08}", 20_000_000 + n),
        channel: "tiktok_live".into(),
        ..Default::default()
    };
    let out = d
        .replica
        .lock()
        .unwrap()
        .save_lead(None, &input, now_ms())
        .unwrap();
    d.sync.nudge();
    match out {
        SaveOutcome::Saved { lead } => lead.id,
        SaveOutcome::Invalid { errors } => panic!("{errors:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_burst_keeps_everything_it_acknowledged() {
    let trials: u32 = std::env::var("LIVELINE_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let first_seed: u64 = std::env::var("LIVELINE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xc0ffee_u64);
    let mut seed = first_seed;
    let mut report = Vec::new();
    for trial in 0..trials {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("server");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut server = start(&data, port);
        healthy(port).await;
        let a = device(
            &url,
            &tmp.path().join("a.sqlite3"),
            "assistant@demo.liveline",
        )
        .await;
        let b = device(&url, &tmp.path().join("b.sqlite3"), "rep1@demo.liveline").await;
        let m = device(&url, &tmp.path().join("m.sqlite3"), "manager@demo.liveline").await;
        for d in [&a, &b, &m] {
            d.sync.wait_synced(Duration::from_secs(60)).await.unwrap();
        }

        // The burst: 80 leads from two devices, one every 4 ms; the server dies somewhere inside it.
        let kill_at = Duration::from_millis(20 + next(&mut seed) % 280);
        let down_for = Duration::from_millis(50 + next(&mut seed) % 250);
        let mut ids = Vec::new();
        let started = tokio::time::Instant::now();
        let mut killed = false;
        for i in 0..80u64 {
            let d = if i % 2 == 0 { &a } else { &b };
            ids.push(capture(
                d,
                &format!("Crash Burst {trial}-{i}"),
                trial as u64 * 1000 + i,
            ));
            if !killed && started.elapsed() >= kill_at {
                unsafe { libc::kill(server.id() as i32, libc::SIGKILL) };
                let _ = server.wait();
                killed = true;
                tokio::time::sleep(down_for).await;
                server = start(&data, port);
            }
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
        if !killed {
            unsafe { libc::kill(server.id() as i32, libc::SIGKILL) };
            let _ = server.wait();
            server = start(&data, port);
        }
        healthy(port).await;
        for d in [&a, &b, &m] {
            d.sync.nudge();
            if let Err(s) = d.sync.wait_synced(Duration::from_secs(90)).await {
                let log = std::fs::read_to_string(data.with_extension("log")).unwrap_or_default();
                let pending = d.replica.lock().unwrap().pending(10).unwrap();
                let db = rusqlite::Connection::open(data.join("liveline-server.sqlite3")).unwrap();
                let on_server: Vec<(String, i64)> = pending
                    .iter()
                    .map(|p| {
                        let n: i64 = db
                            .query_row("SELECT COUNT(*) FROM docs WHERE id = ?1", [&p.doc], |r| {
                                r.get(0)
                            })
                            .unwrap();
                        (p.doc.clone(), n)
                    })
                    .collect();
                panic!("trial {trial} (seed {first_seed}): a device never synced: {s:?}\npending on server: {on_server:?}\nserver log:\n{log}");
            }
        }
        for d in [&a, &b] {
            let r = d.replica.lock().unwrap();
            assert_eq!(
                r.pending_count().unwrap(),
                0,
                "trial {trial}: an upload is stuck"
            );
            assert_eq!(
                r.refused_count().unwrap(),
                0,
                "trial {trial}: {:?}",
                r.refused_edits().unwrap()
            );
        }
        let missing_on_manager = {
            let mut missing = 0;
            for _ in 0..200 {
                let r = m.replica.lock().unwrap();
                missing = ids.iter().filter(|id| r.get_lead(id).is_err()).count();
                drop(r);
                if missing == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            missing
        };
        assert_eq!(
            missing_on_manager, 0,
            "trial {trial} (seed {first_seed}): the manager's device misses leads"
        );
        for d in [a, b, m] {
            d.sync.stop().await;
        }
        unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
        let _ = server.wait();

        let db = rusqlite::Connection::open(data.join("liveline-server.sqlite3")).unwrap();
        let ok: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "trial {trial} (seed {first_seed})");
        let mut st = db
            .prepare("SELECT COUNT(*) FROM docs WHERE id = ?1")
            .unwrap();
        for id in &ids {
            let n: i64 = st.query_row([id], |r| r.get(0)).unwrap();
            assert_eq!(
                n, 1,
                "trial {trial} (seed {first_seed}): lead {id} is not in the server's store"
            );
        }
        let tasks: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM task_index WHERE task_type = 'first_contact'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            tasks as usize,
            ids.len(),
            "trial {trial}: one first-contact task per lead, none twice"
        );
        report.push(kill_at.as_millis());
    }
    eprintln!("server crash trials: {trials} trials passed, killed at {report:?} ms into the burst (seed {first_seed})");
}
