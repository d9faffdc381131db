//! The managers' dashboards on real devices of a real server: each device counts what it holds (a rep's board is
//! their own leads; the manager's the team's), and a change that arrives by sync moves the numbers.

use liveline_testkit::{eventually, Device, TestServer};
use liveline_types::metrics::{DashboardQuery, Dim, DrillQuery, FunnelTable, PeriodSpec, Stage};
use liveline_types::{codes, LeadInput};
use std::collections::BTreeMap;

fn buyer(name: &str, country: &str, phone: &str) -> LeadInput {
    LeadInput {
        buyer_name: name.into(),
        country: country.into(),
        phone: phone.into(),
        channel: "tiktok_live".into(),
        ..Default::default()
    }
}

fn today() -> PeriodSpec {
    PeriodSpec {
        preset: "today".into(),
        tz: "Asia/Shanghai".into(),
        ..Default::default()
    }
}

fn board(dev: &Device, dim: Dim) -> FunnelTable {
    board_over(dev, Some(dim), today())
}

fn board_over(dev: &Device, dim: Option<Dim>, period: PeriodSpec) -> FunnelTable {
    dev.replica
        .lock()
        .unwrap()
        .funnel_board(&DashboardQuery { dim, period }, liveline_replica::now_ms())
        .unwrap()
}

/// What changed between two boards: per rep at one stage.
fn delta(after: &FunnelTable, before: &FunnelTable, stage: Stage) -> BTreeMap<String, i64> {
    let (a, b) = (per_rep(after, stage), per_rep(before, stage));
    a.keys()
        .chain(b.keys())
        .map(|k| {
            let d = *a.get(k).unwrap_or(&0) as i64 - *b.get(k).unwrap_or(&0) as i64;
            (k.clone(), d)
        })
        .filter(|(_, d)| *d != 0)
        .collect()
}

fn map(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The total's counts at each stage minus the earlier board's.
fn total_delta(after: &FunnelTable, before: &FunnelTable) -> Vec<i64> {
    after
        .total
        .counts
        .iter()
        .zip(&before.total.counts)
        .map(|(a, b)| *a as i64 - *b as i64)
        .collect()
}

/// Leads per rep at one stage.
fn per_rep(t: &FunnelTable, stage: Stage) -> BTreeMap<String, u64> {
    t.rows
        .iter()
        .map(|r| (r.key.clone(), r.count(stage)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_device_counts_what_it_holds_and_synced_changes_move_the_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let mut rep1 = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    // The demo team's leads are counted too; what follows is measured against them.
    let before = board(&manager, Dim::Rep);
    let before_mine = board(&rep1, Dim::Rep);
    // A day with nothing captured has no rows and no rates.
    let empty = board_over(
        &manager,
        Some(Dim::Rep),
        PeriodSpec {
            preset: "custom".into(),
            from: "2020-01-01".into(),
            to: "2020-01-01".into(),
            tz: "Asia/Shanghai".into(),
        },
    );
    assert!(empty.rows.is_empty());
    assert_eq!(empty.total.conversion(Stage::Won), None);

    // Two German buyers (Emily, u-rep2) and three Mexican ones (round-robin rep1, rep2, rep3).
    let mut ids = Vec::new();
    for (i, (country, phone)) in [
        ("DE", "151 2345 1001"),
        ("DE", "151 2345 1002"),
        ("MX", "55 1234 1003"),
        ("MX", "55 1234 1004"),
        ("MX", "55 1234 1005"),
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(
            assistant
                .capture(&buyer(&format!("Board Buyer {i}"), country, phone))
                .id,
        );
    }
    assistant.synced().await;
    let t = eventually("five assigned leads on the manager's board", || {
        let t = board(&manager, Dim::Rep);
        (total_delta(&t, &before)[Stage::Assigned.index()] == 5).then_some(t)
    })
    .await;
    assert_eq!(total_delta(&t, &before), [5, 5, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        delta(&t, &before, Stage::Captured),
        map(&[("u-rep1", 1), ("u-rep2", 3), ("u-rep3", 1)])
    );
    // Rows carry the reps' names (the unassigned row, key "", is named by the UI).
    assert!(
        t.rows
            .iter()
            .filter(|r| !r.key.is_empty())
            .all(|r| !r.label.is_empty() && r.label != r.key),
        "{:?}",
        t.rows
    );

    // rep1's device holds only rep1's leads: its board counts no one else's.
    let mine = eventually("rep1's lead", || {
        let t = board(&rep1, Dim::Rep);
        (total_delta(&t, &before_mine)[0] == 1).then_some(t)
    })
    .await;
    assert_eq!(mine.rows.len(), 1, "only rep1's row: {:?}", mine.rows);
    assert_eq!(mine.rows[0].key, "u-rep1");
    let all = || PeriodSpec {
        preset: "all".into(),
        ..today()
    };
    let all_time = board_over(&rep1, Some(Dim::Rep), all());
    assert_eq!(
        all_time.total.count(Stage::Captured),
        rep1.replica.lock().unwrap().lead_count().unwrap(),
        "every lead rep1's device holds, and no other"
    );
    let team_all_time = board_over(&manager, None, all());
    assert!(all_time.total.count(Stage::Captured) < team_all_time.total.count(Stage::Captured));
    assert_eq!(
        per_rep(&t, Stage::Captured)["u-rep1"],
        mine.total.count(Stage::Captured),
        "the manager counts the same leads for rep1"
    );
    let before = t;

    // rep1 calls the buyer: the contact reaches the manager, whose board moves without a restart.
    let lead = eventually("rep1 holds the new lead", || rep1.find("Board Buyer").pop()).await;
    rep1.replica
        .lock()
        .unwrap()
        .log_contact(
            &lead.id,
            "whatsapp",
            "sent the catalogue",
            liveline_replica::now_ms(),
        )
        .unwrap()
        .unwrap();
    rep1.nudge();
    let t = eventually("the contact on the manager's board", || {
        let t = board(&manager, Dim::Rep);
        (total_delta(&t, &before)[Stage::Contacted.index()] == 1).then_some(t)
    })
    .await;
    assert_eq!(total_delta(&t, &before), [0, 0, 1, 1, 0, 0, 0, 0]);
    assert_eq!(delta(&t, &before, Stage::Contacted), map(&[("u-rep1", 1)]));
    assert!(t.total.contact_p50_ms.is_some());
    let before = t;

    // The number drills down to the lead behind it.
    let drilled = manager
        .replica
        .lock()
        .unwrap()
        .drill(
            &DrillQuery {
                dim: Dim::Rep,
                key: "u-rep1".into(),
                stage: Stage::Contacted,
                period: today(),
            },
            liveline_replica::now_ms(),
        )
        .unwrap();
    assert_eq!(drilled.total as usize, drilled.leads.len());
    let drilled = drilled.leads;
    assert!(drilled.iter().any(|l| l.id == lead.id));
    assert!(drilled
        .iter()
        .all(|l| l.owner == "u-rep1" && !l.contacts.is_empty() || l.status != "new"));
    assert_eq!(
        drilled.len() as u64,
        per_rep(&before, Stage::Contacted)["u-rep1"]
    );

    // The response board: the four leads no one called yet, oldest first.
    let response = manager
        .replica
        .lock()
        .unwrap()
        .response_board(liveline_replica::now_ms())
        .unwrap();
    let waiting: Vec<&str> = response
        .uncontacted
        .iter()
        .filter(|w| ids.contains(&w.id))
        .map(|w| w.id.as_str())
        .collect();
    let expected: Vec<&str> = ids
        .iter()
        .filter(|i| **i != lead.id)
        .map(|s| s.as_str())
        .collect();
    assert_eq!(waiting, expected);
    assert!(response
        .uncontacted
        .windows(2)
        .all(|w| w[0].captured_at <= w[1].captured_at));
    assert!(response
        .uncontacted
        .iter()
        .all(|w| !w.buyer_name.is_empty()));

    // The manager moves the lead to rep3: it counts once, for rep3.
    manager.edit(&lead.id, |l| l.owner = "u-rep3".into());
    let t = board(&manager, Dim::Rep);
    assert_eq!(
        delta(&t, &before, Stage::Captured),
        map(&[("u-rep1", -1), ("u-rep3", 1)])
    );
    assert_eq!(total_delta(&t, &before), [0; 8]);
    let before = t;

    // A period the device cannot read is refused by name, and the board is unchanged.
    let bad = DashboardQuery {
        dim: Some(Dim::Rep),
        period: PeriodSpec {
            tz: "Mars/Olympus".into(),
            ..today()
        },
    };
    let err = manager
        .replica
        .lock()
        .unwrap()
        .funnel_board(&bad, liveline_replica::now_ms())
        .unwrap_err()
        .to_app_error();
    assert_eq!(err.code, codes::PERIOD_TIME_ZONE);
    assert_eq!(
        err.args.get("time_zone").map(String::as_str),
        Some("Mars/Olympus")
    );
    assert_eq!(board(&manager, Dim::Rep), before);

    for d in [&mut assistant, &mut manager, &mut rep1] {
        d.offline().await;
    }
    server.stop().await;
}
