//! `liveline-bench`: the figures the README's bench command prints, measured on loopback with real replicas and
//! a real server: capture, propagate, assign, reconnect, reconnect_idle and bootstrap; first the form engine's
//! figures (a 50-line order validated and saved, a 200-decision approval log replayed).

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
    forms()?;
    let tmp = tempfile::tempdir()?;
    let server = TestServer::start(&tmp.path().join("server")).await;
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only == "doors" {
        doors(&server, tmp.path()).await?;
        server.stop().await;
        return Ok(());
    }
    // The import first: the dashboards' 100,000 leads leave the server sweeping their tasks, which the import's
    // figure should not pay for.
    import(&server, tmp.path()).await?;
    if only != "import" {
        dashboards(&server, tmp.path()).await?;
    }
    if only == "device" || only == "import" {
        server.stop().await;
        return Ok(());
    }
    doors(&server, tmp.path()).await?;

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

/// One `GET /health` over a fresh connection, as a load balancer's check would make it.
async fn health(addr: std::net::SocketAddr) -> anyhow::Result<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(b"GET /health HTTP/1.0\r\n\r\n").await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    anyhow::ensure!(out.starts_with(b"HTTP/1.0 200") || out.starts_with(b"HTTP/1.1 200"));
    Ok(t.elapsed())
}

/// The server's doors under one hostile account: a manager's round trip (a `Ping` on its sync connection) and
/// the health check, idle and while one rep's account says `Hello` on 20 sockets in a loop.
async fn doors(server: &TestServer, dir: &std::path::Path) -> anyhow::Result<()> {
    use liveline_testkit::raw::{connect, hello, hello_flood, round_trip, Flood};
    use std::sync::atomic::Ordering;
    let rep = Device::sign_in(server, dir, "rep1@demo.liveline").await;
    let manager = Device::sign_in(server, dir, "manager@demo.liveline").await;
    let mut probe = connect(server, Some(&manager.token())).await?;
    futures_util::SinkExt::send(&mut probe, hello()).await?;
    let rounds = |name: &str, h: &mut Histogram<u64>, worst_health: Duration| {
        println!(
            "round_trip {name} p50_ms={:.3} p99_ms={:.3} health_max_ms={:.1} n={}",
            ms(h, 0.5),
            ms(h, 0.99),
            worst_health.as_secs_f64() * 1000.0,
            h.len()
        );
    };
    for phase in ["idle", "hello_flood=20"] {
        let flood = std::sync::Arc::new(Flood::default());
        let attackers = if phase == "idle" {
            Vec::new()
        } else {
            let a = hello_flood(server, &rep.token(), 20, flood.clone());
            tokio::time::sleep(Duration::from_millis(500)).await;
            a
        };
        let mut h = Histogram::<u64>::new(3)?;
        let mut worst = Duration::ZERO;
        for i in 0..2_000 {
            h.record(round_trip(&mut probe).await.as_micros() as u64)?;
            if i % 20 == 0 {
                worst = worst.max(health(server.addr).await?);
            }
        }
        flood.stop.store(true, Ordering::Relaxed);
        for a in attackers {
            let _ = a.await;
        }
        rounds(phase, &mut h, worst);
        if phase != "idle" {
            println!(
                "hello_flood refused_connections={} closed_connections={}",
                flood.refused.load(Ordering::Relaxed),
                flood.closed.load(Ordering::Relaxed)
            );
        }
    }
    Ok(())
}

/// The form engine on the device: a 50-line order validated (formulas included) and written to its automerge
/// document and saved; a 200-decision approval log replayed.
fn forms() -> anyhow::Result<()> {
    use liveline_forms::record::{append_decision, decisions, write_values};
    use liveline_forms::{builtin, Ctx, Flow, Form, People, Values};
    use liveline_types::forms::{Act, FieldInput, Value};
    use std::collections::BTreeMap;

    let form = Form::compile(&builtin::order_form()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let text = |s: &str| FieldInput::Text(s.to_string());
    let lines: Vec<BTreeMap<String, FieldInput>> = (0..50)
        .map(|i| {
            BTreeMap::from([
                ("sku".to_string(), text(&format!("sku-{i}"))),
                ("quantity".to_string(), text(&(1 + i % 7).to_string())),
                (
                    "unit_price".to_string(),
                    text(&format!("{}.{:02}", 3 + i, i)),
                ),
            ])
        })
        .collect();
    let input: BTreeMap<String, FieldInput> = [
        ("customer", text("cust-1")),
        ("sales_rep", text("rep")),
        ("currency", text("USD")),
        ("lines", FieldInput::Rows(lines)),
        ("ship_to_name", text("Ana Souza")),
        ("ship_to_address", text("Rua A 1, São Paulo")),
        ("ship_to_country", text("BR")),
        ("ship_to_phone", text("11 91234 5678")),
        ("payment_method", text("paypal")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let roles = vec!["sales_rep".to_string()];
    let members = vec!["rep".to_string()];
    let tz = jiff::tz::TimeZone::UTC;
    let ctx = Ctx {
        roles: &roles,
        members: &members,
        tz: &tz,
    };
    let mut h = Histogram::<u64>::new(3)?;
    for _ in 0..2_000 {
        let t = Instant::now();
        let values = form
            .validate(&input, &Values::new(), &ctx)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut doc = automerge::AutoCommit::new();
        write_values(&mut doc, "live_order", 1, &Values::new(), &values)?;
        doc.commit();
        std::hint::black_box(doc.save_nocompress());
        h.record(t.elapsed().as_micros() as u64)?;
    }
    line("order_validate_save lines=50", &h);

    // 200 decisions: rounds of submit, the rep's approval, comments and a finance rejection back to the rep.
    let flow =
        Flow::compile(&builtin::order_flow(), &form).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let team: BTreeMap<String, Vec<String>> = [
        ("rep", "sales_rep"),
        ("fin", "finance"),
        ("lead", "sales_lead"),
    ]
    .into_iter()
    .map(|(u, r)| (u.to_string(), vec![r.to_string()]))
    .collect();
    let people = People { roles: &team };
    let values: Values = [
        ("sales_rep".to_string(), Value::Text("rep".into())),
        ("currency".to_string(), Value::Text("USD".into())),
    ]
    .into_iter()
    .collect();
    let mut doc = automerge::AutoCommit::new();
    let script = [
        ("rep", Act::Submit),
        ("lead", Act::Comment),
        ("rep", Act::Approve),
        ("fin", Act::Comment),
        ("fin", Act::Reject { to: None }),
    ];
    let mut n = 0;
    while n < 200 {
        let (who, act) = &script[n % script.len()];
        let st = flow.replay(&decisions(&doc), &people, &values);
        let id = format!("d{n}");
        let d = flow
            .decide(
                &form,
                &st,
                &values,
                who,
                act.clone(),
                (&id, "dev", n as i64 * 1_000),
                "",
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        append_decision(&mut doc, &d)?;
        n += 1;
    }
    let log = decisions(&doc);
    let mut h = Histogram::<u64>::new(3)?;
    for _ in 0..2_000 {
        let t = Instant::now();
        std::hint::black_box(flow.replay(&log, &people, &values));
        h.record(t.elapsed().as_micros() as u64)?;
    }
    line(&format!("flow_replay decisions={}", log.len()), &h);
    let mut h = Histogram::<u64>::new(3)?;
    let saved = doc.save();
    for _ in 0..500 {
        let t = Instant::now();
        let doc = automerge::AutoCommit::load(&saved)?;
        std::hint::black_box(flow.replay(&decisions(&doc), &people, &values));
        h.record(t.elapsed().as_micros() as u64)?;
    }
    line(&format!("flow_load_replay decisions={}", log.len()), &h);
    Ok(())
}

/// The built-in dashboards on a manager's device holding 100,000 leads (with their contacts), 200,000 tasks and
/// 50 live sessions over half a year: each board over all of it, with the facts read (`warm`: the manager switches
/// boards or periods) and right after a write (`cold`: the facts are read again from SQLite).
async fn dashboards(server: &TestServer, dir: &std::path::Path) -> anyhow::Result<()> {
    use liveline_types::metrics::{DashboardQuery, Dim, PeriodSpec};
    const LEADS: u32 = 100_000;
    const TASKS: u32 = 200_000;
    let dev = Device::sign_in(server, &dir.join("dashboards"), "manager@demo.liveline").await;
    let path = dev.replica.lock().unwrap().path().to_path_buf();
    let team = dev.replica.lock().unwrap().session()?.unwrap().team_id;
    let reps: Vec<String> = (0..20).map(|i| format!("rep-{i}")).collect();
    let now = liveline_replica::now_ms();
    const DAY: i64 = 86_400_000;
    {
        let mut conn = rusqlite::Connection::open(&path)?;
        let tx = conn.transaction()?;
        for s in 0..50 {
            tx.execute(
                "INSERT OR REPLACE INTO live_sessions (id, title, platform, host, starts_at, ends_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    format!("session-{s}"),
                    format!("Stream {s}"),
                    ["tiktok", "alibaba", "youtube"][s % 3],
                    format!("host-{}", s % 5),
                    now - (50 - s as i64) * 3 * DAY,
                    now - (50 - s as i64) * 3 * DAY + 3 * 3_600_000
                ],
            )?;
        }
        let statuses = ["new", "contacted", "qualified", "quoted", "won", "lost"];
        let channels = [
            "tiktok_live",
            "alibaba_live",
            "facebook",
            "youtube",
            "instagram",
            "other",
        ];
        let countries = ["US", "DE", "BR", "MX", "NG", "FR", "IN", "JP", "GB", "AE"];
        {
            let mut st = tx.prepare(
                "INSERT INTO leads (id, team, buyer_name, company, country, phone, email, contact_kind, contact,
                   channel, live_session, product_interest, quantity, notes, status, owner, created_by, created_at,
                   updated_at, assigned_at, first_contact_at, contacts)
                 VALUES (?1, ?2, ?3, '', ?4, ?5, '', 'whatsapp', '', ?6, ?7, ?8, NULL, '', ?9, ?10, 'assistant',
                   ?11, ?11, ?12, ?13, ?14)",
            )?;
            for i in 0..LEADS {
                let at = now - (i as i64 * 157 % (180 * DAY / 1000)) * 1000;
                let status = statuses[(i as usize * 7) % 6];
                let contacted = status != "new" && i % 10 != 0;
                let first = if contacted {
                    at + (i as i64 % 90) * 60_000
                } else {
                    0
                };
                let contacts = if contacted {
                    format!(
                        r#"[{{"at":{first},"by":"{}","kind":"whatsapp","note":"called"}}]"#,
                        reps[i as usize % 20]
                    )
                } else {
                    "[]".to_string()
                };
                st.execute(rusqlite::params![
                    format!("lead-{i}"),
                    team,
                    format!("Buyer {i}"),
                    countries[i as usize % 10],
                    format!("+1555{:07}", i),
                    channels[i as usize % 6],
                    format!("session-{}", i % 50),
                    format!("product {}", i % 12),
                    status,
                    if i % 25 == 0 {
                        String::new()
                    } else {
                        reps[i as usize % 20].clone()
                    },
                    at,
                    if i % 25 == 0 { 0 } else { at + 1_000 },
                    first,
                    contacts,
                ])?;
            }
            let mut st = tx.prepare(
                "INSERT INTO tasks (id, team, title, task_type, assignee, created_by, linked_kind, linked_id,
                   linked_title, due_at, status, priority, snoozed_until, closed_at, closed_by, escalated_at, rule,
                   created_at, updated_at, comments, checklist)
                 VALUES (?1, ?2, 'Follow up', 'follow_up', ?3, 'liveline', 'lead', ?4, '', ?5, ?6, 'normal', 0, 0,
                   '', 0, '', ?7, ?7, '[]', '[]')",
            )?;
            for i in 0..TASKS {
                let due = now + ((i as i64 % 400) - 300) * 3_600_000;
                st.execute(rusqlite::params![
                    format!("task-{i}"),
                    team,
                    reps[i as usize % 20],
                    format!("lead-{}", i % LEADS),
                    due,
                    if i % 3 == 0 { "done" } else { "open" },
                    due - DAY,
                ])?;
            }
        }
        tx.commit()?;
    }
    let r = dev.replica.lock().unwrap();
    let spec = |preset: &str| PeriodSpec {
        preset: preset.into(),
        tz: "Asia/Shanghai".into(),
        ..Default::default()
    };
    let q = |dim: Dim, preset: &str| DashboardQuery {
        dim: Some(dim),
        period: spec(preset),
        filters: Vec::new(),
    };
    assert_eq!(
        r.funnel_board(&q(Dim::All, "all"), now)?.total.counts[0],
        LEADS as u64
    );
    for (name, dim, preset) in [
        ("sessions", Dim::Session, "all"),
        ("channels", Dim::Channel, "all"),
        ("reps", Dim::Rep, "all"),
        ("teams", Dim::Team, "all"),
        ("days", Dim::Day, "all"),
        ("weeks", Dim::Week, "all"),
        ("sessions_month", Dim::Session, "month"),
    ] {
        let mut h = Histogram::<u64>::new(3)?;
        for _ in 0..50 {
            let t = Instant::now();
            let table = r.funnel_board(&q(dim, preset), now)?;
            h.record(t.elapsed().as_micros() as u64)?;
            assert!(!table.rows.is_empty());
        }
        println!(
            "dashboard board={name} p50_ms={:.3} p99_ms={:.3} leads={LEADS} tasks={TASKS}",
            ms(&h, 0.5),
            ms(&h, 0.99)
        );
    }
    let mut h = Histogram::<u64>::new(3)?;
    for _ in 0..50 {
        let t = Instant::now();
        let b = r.response_board(now)?;
        h.record(t.elapsed().as_micros() as u64)?;
        assert!(!b.overdue.is_empty());
    }
    println!(
        "dashboard board=response p50_ms={:.3} p99_ms={:.3} leads={LEADS} tasks={TASKS}",
        ms(&h, 0.5),
        ms(&h, 0.99)
    );
    drop(r);
    // after a write: a lead captured on this device (or arriving by sync) before each read; only its row is read
    // again. first_load: the device's first dashboard, reading every lead and task.
    let mut h = Histogram::<u64>::new(3)?;
    for i in 0..50 {
        dev.capture(&lead(&format!("Dashboard {i}")));
        let r = dev.replica.lock().unwrap();
        let t = Instant::now();
        r.funnel_board(&q(Dim::Session, "all"), now)?;
        h.record(t.elapsed().as_micros() as u64)?;
    }
    println!(
        "dashboard board=sessions_after_write p50_ms={:.3} p99_ms={:.3} leads={LEADS} tasks={TASKS}",
        ms(&h, 0.5),
        ms(&h, 0.99)
    );
    let mut h = Histogram::<u64>::new(3)?;
    for _ in 0..5 {
        let fresh = liveline_replica::Replica::open(&path)?;
        let t = Instant::now();
        fresh.funnel_board(&q(Dim::Session, "all"), now)?;
        h.record(t.elapsed().as_micros() as u64)?;
    }
    println!(
        "dashboard_first_load p50_ms={:.3} p99_ms={:.3} leads={LEADS} tasks={TASKS}",
        ms(&h, 0.5),
        ms(&h, 0.99)
    );
    Ok(())
}

/// A 50,000-row workbook imported on a device: read, mapped, every row validated like the capture form and
/// checked for duplicates, written as lead documents in chunks; rows per second over the whole import.
async fn import(server: &TestServer, dir: &std::path::Path) -> anyhow::Result<()> {
    const ROWS: u32 = 50_000;
    let dev = Device::sign_in(server, &dir.join("import"), "assistant@demo.liveline").await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet();
    for (c, h) in ["姓名", "公司", "国家", "手机号", "邮箱", "渠道", "备注"]
        .iter()
        .enumerate()
    {
        s.write_string(0, c as u16, *h)?;
    }
    for i in 0..ROWS {
        let r = i + 1;
        s.write_string(r, 0, format!("Import Buyer {i}"))?;
        s.write_string(r, 1, format!("Company {}", i % 300))?;
        s.write_string(r, 2, ["US", "DE", "MX", "BR", "FR"][i as usize % 5])?;
        let phone = match i % 5 {
            0 => format!("202 55{} {:04}", i / 10_000, i % 10_000),
            1 => format!("030 9{:06}", i),
            2 => format!("55 1{:03} {:04}", i / 10_000, i % 10_000),
            3 => format!("11 9{:04} {:04}", i / 10_000, i % 10_000),
            _ => format!("01 4{:03} {:04}", i / 10_000, i % 10_000),
        };
        s.write_string(r, 3, phone)?;
        s.write_string(r, 4, format!("buyer{i}@example.com"))?;
        s.write_string(r, 5, "tiktok_live")?;
        s.write_string(r, 6, "from the spring fair")?;
    }
    let file = dir.join("import-50000.xlsx");
    book.save(&file)?;
    let t = Instant::now();
    let mut r = dev.replica.lock().unwrap();
    let preview = r.import_open(&file, "import-50000.xlsx", liveline_replica::now_ms())?;
    let opened = t.elapsed().as_secs_f64();
    r.import_start(&preview.job, &preview.mapping)?;
    let done = loop {
        let p = r.import_step(&preview.job, liveline_replica::now_ms())?;
        if p.status != "running" {
            break p;
        }
    };
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(done.done == ROWS as u64, "all rows looked at: {done:?}");
    println!(
        "import rows_per_s={:.0} rows={ROWS} imported={} refused={} duplicates={} s={secs:.2} read_s={opened:.2}",
        ROWS as f64 / secs,
        done.imported,
        done.refused,
        done.duplicates
    );
    Ok(())
}
