//! `liveline-bench`: the figures the README's bench command prints, measured on loopback with real replicas and
//! a real server: capture, propagate, assign, reconnect, reconnect_idle and bootstrap.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use liveline_testkit::{lead, Device, TestServer};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn line(name: &str, h: &Histogram<u64>) {
    println!(
        "{name} p50_ms={:.3} p99_ms={:.3} n={}",
        ms(h, 0.5),
        ms(h, 0.99),
        h.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let docs: u32 = std::env::var("BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir()?;
    let server = TestServer::start(&tmp.path().join("server")).await;

    // capture: validate + automerge change + replica rows, one transaction per save.
    {
        let dev = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
        let mut h = Histogram::<u64>::new(3)?;
        for i in 0..10_000 {
            let input = lead(&format!("Capture {i}"));
            let t = Instant::now();
            dev.capture(&input);
            h.record(t.elapsed().as_micros() as u64)?;
        }
        line("capture", &h);
    }

    // propagate: device A saves, device B (same server, loopback) has it in its replica.
    let mut a = Device::sign_in(&server, tmp.path(), "rep1@demo.liveline").await;
    let mut b = Device::sign_in(&server, tmp.path(), "manager@demo.liveline").await;
    a.online();
    b.online();
    a.synced().await;
    b.synced().await;
    {
        let mut h = Histogram::<u64>::new(3)?;
        for i in 0..1_000 {
            let t = Instant::now();
            let l = a.capture(&lead(&format!("Propagate {i}")));
            loop {
                if b.replica.lock().unwrap().get_lead(&l.id).is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            h.record(t.elapsed().as_micros() as u64)?;
        }
        line("propagate", &h);
    }

    // assign: the assistant saves a lead; the server's rules give it to a rep (round-robin over three) and open a
    // first-contact task; measured until the lead, with its owner, and the task are in that rep's replica.
    {
        // A replica of its own: the capture run's 10,000 unsent leads stay out of this measurement.
        let dir = tmp.path().join("assign");
        let mut assistant = Device::sign_in(&server, &dir, "assistant@demo.liveline").await;
        let mut reps = Vec::new();
        for r in ["rep1", "rep2", "rep3"] {
            let mut d = Device::sign_in(&server, tmp.path(), &format!("{r}@demo.liveline")).await;
            d.online();
            d.synced().await;
            reps.push(d);
        }
        assistant.online();
        assistant.synced().await;
        let mut h = Histogram::<u64>::new(3)?;
        for i in 0..1_000u32 {
            let input = liveline_types::LeadInput {
                country: "MX".into(),
                phone: format!("55{:08}", 10_000_000 + i),
                ..lead(&format!("Assign {i}"))
            };
            let t = Instant::now();
            let l = assistant.capture(&input);
            'wait: loop {
                for rep in &reps {
                    let r = rep.replica.lock().unwrap();
                    let assigned = r.get_lead(&l.id).is_ok_and(|x| !x.owner.is_empty());
                    if assigned {
                        let q = liveline_types::TaskQuery {
                            linked_id: l.id.clone(),
                            ..Default::default()
                        };
                        if !r.list_tasks(&q, liveline_replica::now_ms())?.is_empty() {
                            break 'wait;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            h.record(t.elapsed().as_micros() as u64)?;
        }
        line("assign", &h);
        assistant.offline().await;
        for mut r in reps {
            r.offline().await;
        }
    }

    // reconnect: 500 new leads and 2,000 edits made offline, until both sides hold everything.
    {
        a.synced().await;
        a.offline().await;
        let mut ids = Vec::new();
        for i in 0..500 {
            ids.push(a.capture(&lead(&format!("Offline {i}"))).id);
        }
        for i in 0..2_000 {
            let id = &ids[i % ids.len()];
            a.edit(id, |l| l.notes = format!("edit {i}"));
        }
        let last = ids.last().cloned().unwrap();
        let t = Instant::now();
        a.online();
        a.synced().await;
        loop {
            let on_b = b.replica.lock().unwrap().get_lead(&last).ok();
            if on_b.is_some_and(|l| l.notes == "edit 1999") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        println!(
            "reconnect s={:.3} leads=500 edits=2000",
            t.elapsed().as_secs_f64()
        );
    }
    a.offline().await;
    b.offline().await;

    // bootstrap and reconnect_idle with a team of `docs` leads.
    {
        let store = &server.state.store;
        let t = Instant::now();
        liveline_sync_server::demo::add_leads(store, 1_000_000, docs)?;
        eprintln!(
            "seeded {docs} leads on the server in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let mut fresh = Device::sign_in(&server, tmp.path(), "lead@demo.liveline").await;
        let t = Instant::now();
        fresh.online();
        fresh.synced_within(Duration::from_secs(600)).await;
        let held = fresh.replica.lock().unwrap().doc_count()?;
        println!("bootstrap s={:.3} docs={held}", t.elapsed().as_secs_f64());
        fresh.offline().await;
        let t = Instant::now();
        fresh.online();
        fresh.synced().await;
        let elapsed = t.elapsed();
        let traffic = &fresh.sync.as_ref().unwrap().traffic;
        let bytes = traffic.sent.load(Ordering::Relaxed) + traffic.received.load(Ordering::Relaxed);
        println!(
            "reconnect_idle docs={held} bytes={bytes} ms={:.1}",
            elapsed.as_secs_f64() * 1000.0
        );
        fresh.offline().await;
    }
    server.stop().await;
    Ok(())
}
