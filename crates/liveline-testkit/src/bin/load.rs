//! `liveline-load`: a load generator on loopback. It seeds a store, starts the real `sync-server` binary on it, and
//! connects many simulated devices (one authenticated WebSocket each, speaking the real protocol) that push edits
//! at a set rate; it measures how long each edit takes to reach the other devices holding it, and the server's
//! memory. Bounded in count and time; traffic goes to 127.0.0.1 only.
//!
//! Prints:
//! - `load devices=2000 teams=20 edits_per_s=200 fanout_p50_ms=… fanout_p99_ms=… server_rss_mb=…`
//! - `load_max devices=2000 edits_per_s=…`: the highest rate tried whose fan-out p99 stayed under 500 ms
//! - `load_shared devices=50 docs=20 max_edits_per_s=…`: 50 devices of one team all editing the same 20 leads
//!
//! Needs `target/release/sync-server` beside it (`scripts/bench.sh` builds it).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use liveline_domain::doc::uuid_bytes;
use liveline_domain::Lead;
use liveline_sync::{decode, encode, ClientMsg, DocChanges, EntryOp, ServerMsg};
use liveline_sync_server::{auth, demo, SqliteStore, Store};
use liveline_testkit::free_port;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One simulated device: its token, its actor, the documents it edits (its own copy of each).
struct Sim {
    token: String,
    /// Each copy carries the device's actor, so its edits are the device's.
    docs: Vec<(String, AutoCommit)>,
    next: usize,
    /// Changes others made to the documents this device edits, as received, not yet applied. Like a real replica,
    /// the device merges them before its next edit of that document, so its edit follows what it has seen.
    inbox: Inbox,
}

type Inbox = Arc<Mutex<HashMap<String, Vec<Vec<u8>>>>>;

/// Edits in flight: a hash of the change's bytes to when it was sent, and the fan-out latencies seen.
struct Meter {
    sent: Mutex<HashMap<u64, Instant>>,
    latencies: Mutex<Histogram<u64>>,
    received: AtomicU64,
}

fn key(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Seeds `teams` teams; in each, `readers` users read the whole team (sales leads) and `writers` reps each own
/// one lead and edit it. `shared_docs` > 0 instead gives every user of a single team the same documents to edit.
fn seed(
    store: &SqliteStore,
    prefix: &str,
    teams: usize,
    readers: usize,
    writers: usize,
    shared_docs: usize,
) -> anyhow::Result<(Vec<Sim>, Vec<Sim>)> {
    let hash = auth::hash_password("load");
    let now = liveline_sync_server::now_ms();
    let mut reader_sims = Vec::new();
    let mut writer_sims = Vec::new();
    for t in 0..teams {
        let team = format!("{prefix}{t}");
        store.create_team(&team, &team)?;
        let mut commits = Vec::new();
        let mut shared: Vec<(String, AutoCommit)> = Vec::new();
        for d in 0..shared_docs {
            let id = uuid::Uuid::new_v4().to_string();
            let lead = Lead {
                kind: "lead".into(),
                team: team.clone(),
                buyer_name: format!("Shared {d}"),
                status: "new".into(),
                ..Default::default()
            };
            let mut doc = AutoCommit::new();
            lead.save_into(&mut doc)?;
            doc.commit();
            shared.push((id.clone(), doc.clone()));
            commits.push(demo::commit(&id, doc));
        }
        for u in 0..readers + writers {
            let user = format!("{team}-u{u}");
            // Shared documents sit in the team scope only: their editors read the whole team.
            let role = if u < readers || shared_docs > 0 {
                "sales_lead"
            } else {
                "sales_rep"
            };
            store.create_user(
                &user,
                &team,
                &format!("{user}@load.test"),
                &user,
                role,
                &hash,
            )?;
            let (token, token_hash) = auth::new_token();
            let device = uuid::Uuid::new_v4().to_string();
            store.add_device(&device, &user, "load", &token_hash, now)?;
            let actor = ActorId::from(&uuid_bytes::parse(&device).unwrap()[..]);
            let mut docs = Vec::new();
            if shared_docs > 0 {
                for (id, doc) in shared.iter_mut() {
                    docs.push((id.clone(), doc.fork().with_actor(actor.clone())));
                }
            } else if u >= readers {
                let id = uuid::Uuid::new_v4().to_string();
                let lead = Lead {
                    kind: "lead".into(),
                    team: team.clone(),
                    buyer_name: format!("Buyer of {user}"),
                    status: "new".into(),
                    owner: user.clone(),
                    created_by: user.clone(),
                    ..Default::default()
                };
                let mut doc = AutoCommit::new();
                lead.save_into(&mut doc)?;
                doc.commit();
                docs.push((id.clone(), doc.fork().with_actor(actor.clone())));
                commits.push(demo::commit(&id, doc));
            }
            let sim = Sim {
                token,
                docs,
                next: 0,
                inbox: Inbox::default(),
            };
            if u < readers && shared_docs == 0 {
                reader_sims.push(sim);
            } else {
                writer_sims.push(sim);
            }
        }
        store.write(|_| (commits, ()), None, now)?;
    }
    Ok((reader_sims, writer_sims))
}

/// Connects a device and keeps reading: counts `CaughtUp` (readiness) and records fan-out latencies.
async fn connect(
    addr: &str,
    sim: &Sim,
    meter: Arc<Meter>,
    ready: Arc<AtomicU64>,
) -> anyhow::Result<mpsc::Sender<Vec<u8>>> {
    let mut req = format!("ws://{addr}/v1/sync").into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {}", sim.token).parse()?);
    // As the app's client connects: no Nagle delay, a small read buffer.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true).await?;
    let (mut sink, mut stream) = ws.split();
    sink.send(Message::Binary(
        encode(&ClientMsg::Hello { cursors: vec![] }).into(),
    ))
    .await?;
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
    let inbox = sim.inbox.clone();
    let held: std::collections::HashSet<String> = sim.docs.iter().map(|d| d.0.clone()).collect();
    tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut counted = false;
        while let Some(Ok(msg)) = stream.next().await {
            let Message::Binary(bytes) = msg else {
                continue;
            };
            match decode::<ServerMsg>(&bytes) {
                Ok(ServerMsg::CaughtUp { .. }) if !counted => {
                    counted = true;
                    ready.fetch_add(1, Ordering::Relaxed);
                }
                Ok(ServerMsg::Changes { entries, .. }) => {
                    let now = Instant::now();
                    for e in entries {
                        if let EntryOp::Change(b) = e.op {
                            let sent = meter.sent.lock().unwrap().get(&key(&b)).copied();
                            if let Some(at) = sent {
                                let us = now.duration_since(at).as_micros() as u64;
                                let _ = meter.latencies.lock().unwrap().record(us.max(1));
                                meter.received.fetch_add(1, Ordering::Relaxed);
                            }
                            if held.contains(&e.doc) {
                                inbox.lock().unwrap().entry(e.doc).or_default().push(b);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    });
    Ok(tx)
}

/// Pushes edits at `rate` per second for `secs`, round-robin over the writers; returns (p50, p99) in ms and the
/// rate actually sent.
async fn run(
    writers: &mut [(Sim, mpsc::Sender<Vec<u8>>)],
    meter: &Arc<Meter>,
    rate: u64,
    secs: u64,
) -> (f64, f64, f64) {
    *meter.latencies.lock().unwrap() = Histogram::new(3).unwrap();
    meter.sent.lock().unwrap().clear();
    let tick = Duration::from_millis(10);
    let per_tick = rate as f64 / 100.0;
    let started = Instant::now();
    let mut owed = 0.0;
    let mut sent = 0u64;
    let mut w = 0usize;
    let mut every = tokio::time::interval(tick);
    while started.elapsed() < Duration::from_secs(secs) {
        every.tick().await;
        owed += per_tick;
        while owed >= 1.0 {
            owed -= 1.0;
            let (sim, tx) = &mut writers[w % writers.len()];
            w += 1;
            let i = sim.next % sim.docs.len();
            sim.next += 1;
            let (id, doc) = &mut sim.docs[i];
            let received = sim.inbox.lock().unwrap().remove(id.as_str());
            if let Some(received) = received {
                let changes = received
                    .into_iter()
                    .filter_map(|b| automerge::Change::from_bytes(b).ok());
                // Changes whose dependencies have not arrived yet wait inside the document until they do.
                let _ = doc.apply_changes(changes);
            }
            doc.put(ROOT, "notes", format!("edit {sent}")).unwrap();
            doc.commit();
            let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
            meter
                .sent
                .lock()
                .unwrap()
                .insert(key(&change), Instant::now());
            let frame = encode(&ClientMsg::Push {
                docs: vec![DocChanges {
                    doc: id.clone(),
                    changes: vec![change],
                }],
            });
            if tx.try_send(frame).is_ok() {
                sent += 1;
            }
        }
    }
    // Let the last edits arrive.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let h = meter.latencies.lock().unwrap().clone();
    let q = |x: f64| h.value_at_quantile(x) as f64 / 1000.0;
    (q(0.5), q(0.99), sent as f64 / secs as f64)
}

async fn start_server(dir: &std::path::Path, port: u16) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?
        .parent()
        .map(|p| p.join("sync-server"))
        .ok_or_else(|| anyhow::anyhow!("no folder"))?;
    let child = Command::new(&exe)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("LIVELINE_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: {e} (build it: cargo build --release -p liveline-sync-server)",
                exe.display()
            )
        })?;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the server never listened")
}

/// Seeds, starts a server, connects every device and waits until all caught up.
async fn setup(
    tmp: &std::path::Path,
    teams: usize,
    readers: usize,
    writers: usize,
    shared_docs: usize,
) -> anyhow::Result<(Child, Vec<(Sim, mpsc::Sender<Vec<u8>>)>, Arc<Meter>, usize)> {
    let dir = tmp.join(format!("server-{teams}-{readers}-{writers}-{shared_docs}"));
    std::fs::create_dir_all(&dir)?;
    let (reader_sims, writer_sims) = {
        let store = SqliteStore::open(&dir)?;
        seed(&store, "team", teams, readers, writers, shared_docs)?
    };
    let port = free_port();
    let server = start_server(&dir, port).await?;
    let addr = format!("127.0.0.1:{port}");
    let meter = Arc::new(Meter {
        sent: Mutex::new(HashMap::new()),
        latencies: Mutex::new(Histogram::new(3)?),
        received: AtomicU64::new(0),
    });
    let ready = Arc::new(AtomicU64::new(0));
    let total = reader_sims.len() + writer_sims.len();
    let mut readers_tx = Vec::new();
    for chunk in reader_sims.chunks(50) {
        for s in chunk {
            readers_tx.push(connect(&addr, s, meter.clone(), ready.clone()).await?);
        }
    }
    let mut writers_out = Vec::new();
    for s in writer_sims {
        let tx = connect(&addr, &s, meter.clone(), ready.clone()).await?;
        writers_out.push((s, tx));
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while (ready.load(Ordering::Relaxed) as usize) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Reader connections stay open for the whole run through their senders.
    std::mem::forget(readers_tx);
    Ok((server, writers_out, meter, total))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    raise_fd_limit();
    let tmp = tempfile::tempdir()?;
    let secs: u64 = std::env::var("LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);

    // LOAD_ONLY=shared runs the shared-documents workload alone (for iterating on it).
    let only_shared = std::env::var("LOAD_ONLY").is_ok_and(|v| v == "shared");
    if !only_shared {
        many_teams(tmp.path(), secs).await?;
    }
    shared(tmp.path(), secs).await
}

/// 20 teams of 100: in each, 10 sales leads read the whole team and 90 reps edit their own lead.
async fn many_teams(tmp: &std::path::Path, secs: u64) -> anyhow::Result<()> {
    let (mut server, mut writers, meter, devices) = setup(tmp, 20, 10, 90, 0).await?;
    let (p50, p99, sent) = run(&mut writers, &meter, 200, secs).await;
    println!(
        "load devices={devices} teams=20 edits_per_s={sent:.0} fanout_p50_ms={p50:.1} fanout_p99_ms={p99:.1} server_rss_mb={:.0} deliveries={}",
        rss_mb(server.id()),
        meter.received.load(Ordering::Relaxed)
    );
    let mut best = 200.0;
    for rate in [400u64, 800, 1600, 3200] {
        let (_, p99, sent) = run(&mut writers, &meter, rate, secs.min(6)).await;
        eprintln!("  rate {rate}/s: sent {sent:.0}/s, p99 {p99:.1} ms");
        if p99 >= 500.0 || sent < rate as f64 * 0.9 {
            break;
        }
        best = sent;
    }
    println!(
        "load_max devices={devices} edits_per_s={best:.0} server_rss_mb={:.0}",
        rss_mb(server.id())
    );
    let _ = server.kill();
    let _ = server.wait();
    Ok(())
}

/// The automerge-repo comparison: 50 devices of one team all holding and editing the same 20 leads.
async fn shared(tmp: &std::path::Path, secs: u64) -> anyhow::Result<()> {
    let (mut server, mut writers, meter, devices) = setup(tmp, 1, 0, 50, 20).await?;
    let mut best = 0.0;
    for rate in [100u64, 200, 400, 450, 500, 600, 800, 1000, 1200, 1600] {
        let (_, p99, sent) = run(&mut writers, &meter, rate, secs.min(6)).await;
        eprintln!("  shared rate {rate}/s: sent {sent:.0}/s, p99 {p99:.1} ms");
        if p99 >= 500.0 || sent < rate as f64 * 0.9 {
            break;
        }
        best = sent;
    }
    println!("load_shared devices={devices} docs=20 max_edits_per_s={best:.0}");
    let _ = server.kill();
    let _ = server.wait();
    Ok(())
}
