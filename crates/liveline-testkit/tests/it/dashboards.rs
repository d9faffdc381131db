//! The managers' dashboards on real devices of a real server: each device counts what it holds (a rep's board is
//! their own leads; the manager's the team's), and a change that arrives by sync moves the numbers.

use liveline_sync_server::Store;
use liveline_testkit::raw::{self, WsExt};
use liveline_testkit::{eventually, Device, TestServer};
use liveline_types::metrics::{
    ChartKind, DashboardEdit, DashboardQuery, DashboardView, Dim, DrillQuery, Filter, FunnelTable,
    Measure, PeriodSpec, Stage, WidgetSpec,
};
use liveline_types::{codes, AppError, LeadInput};
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
        .funnel_board(
            &DashboardQuery {
                dim,
                period,
                filters: Vec::new(),
            },
            liveline_replica::now_ms(),
        )
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
                filters: Vec::new(),
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
        filters: Vec::new(),
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

fn widget(id: &str, title: &str, measure: Measure, dim: Dim, filters: Vec<Filter>) -> WidgetSpec {
    WidgetSpec {
        id: id.into(),
        title: title.into(),
        measure,
        stage: Stage::Captured,
        dim,
        chart: ChartKind::Bar,
        filters,
    }
}

fn edit(dev: &Device, id: Option<&str>, e: DashboardEdit) -> Result<DashboardView, AppError> {
    let out = dev
        .replica
        .lock()
        .unwrap()
        .dashboard_edit(id, &e, liveline_replica::now_ms())
        .map_err(|e| e.to_app_error());
    dev.nudge();
    out
}

fn customs(dev: &Device) -> Vec<DashboardView> {
    dev.replica.lock().unwrap().custom_dashboards().unwrap()
}

fn titles(d: &DashboardView) -> Vec<&str> {
    d.widgets.iter().map(|w| w.title.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_dashboard_is_shared_with_the_team_and_edits_made_offline_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let mut lead = Device::ready(&server, tmp.path(), "lead@demo.liveline").await;
    let mut rep1 = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;

    // The manager composes: captured per channel, and captured per country of TikTok leads only.
    let tiktok = vec![Filter {
        dim: Dim::Channel,
        key: "tiktok_live".into(),
    }];
    let d = edit(
        &manager,
        None,
        DashboardEdit::Create {
            title: "Weekly review".into(),
        },
    )
    .unwrap();
    for w in [
        widget(
            "w-channels",
            "Leads per channel",
            Measure::Count,
            Dim::Channel,
            vec![],
        ),
        widget(
            "w-tiktok",
            "TikTok leads per country",
            Measure::Count,
            Dim::Country,
            tiktok.clone(),
        ),
        widget(
            "w-speed",
            "First contact per rep",
            Measure::ContactP50,
            Dim::Rep,
            vec![],
        ),
    ] {
        edit(
            &manager,
            Some(&d.id),
            DashboardEdit::PutWidget { widget: w },
        )
        .unwrap();
    }
    // A title no one can read, and a rep composing, are refused; nothing is saved.
    let e = edit(
        &manager,
        Some(&d.id),
        DashboardEdit::Rename { title: " ".into() },
    )
    .unwrap_err();
    assert_eq!(e.code, codes::DASHBOARD_TITLE);
    let e = edit(
        &rep1,
        None,
        DashboardEdit::Create {
            title: "Mine".into(),
        },
    )
    .unwrap_err();
    assert_eq!(e.code, codes::DASHBOARD_FORBIDDEN);
    assert!(customs(&rep1).is_empty());

    // It reaches the sales lead's device as the manager arranged it.
    // The manager's edits are sent one by one: wait for all three widgets, then check their order.
    let shared = eventually(
        "the sales lead holds the dashboard with its three widgets",
        || {
            customs(&lead)
                .into_iter()
                .find(|x| x.id == d.id && x.widgets.len() == 3)
        },
    )
    .await;
    assert_eq!(shared.title, "Weekly review");
    assert_eq!(shared.created_by_name, customs(&manager)[0].created_by_name);
    assert_eq!(
        titles(&shared),
        [
            "Leads per channel",
            "TikTok leads per country",
            "First contact per rep"
        ]
    );

    // A widget's numbers: the filter keeps only TikTok leads. Two captures move it: a TikTok one by +1, a
    // Facebook one not at all; the per-channel widget moves by +1 for each channel.
    let query = |w: &WidgetSpec| DashboardQuery {
        dim: Some(w.dim),
        period: today(),
        filters: w.filters.clone(),
    };
    let count = |dev: &Device, w: &WidgetSpec, key: &str| {
        let t = dev
            .replica
            .lock()
            .unwrap()
            .funnel_board(&query(w), liveline_replica::now_ms())
            .unwrap();
        t.rows
            .iter()
            .find(|r| r.key == key)
            .map(|r| r.count(w.stage))
            .unwrap_or(0)
    };
    let (by_channel, by_country) = (&shared.widgets[0], &shared.widgets[1]);
    let before = (
        count(&lead, by_country, "DE"),
        count(&lead, by_channel, "tiktok_live"),
        count(&lead, by_channel, "facebook"),
    );
    assistant.capture(&buyer("Custom Widget Tik", "DE", "151 2345 2001"));
    assistant.capture(&LeadInput {
        channel: "facebook".into(),
        ..buyer("Custom Widget Face", "DE", "151 2345 2002")
    });
    lead.wait_for("Custom Widget").await;
    eventually("both captures reached the sales lead", || {
        (lead.find("Custom Widget").len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        (
            count(&lead, by_country, "DE"),
            count(&lead, by_channel, "tiktok_live"),
            count(&lead, by_channel, "facebook"),
        ),
        (before.0 + 1, before.1 + 1, before.2 + 1)
    );
    // The drill-down of a filtered widget lists only what the widget counted.
    let drilled = lead
        .replica
        .lock()
        .unwrap()
        .drill(
            &DrillQuery {
                dim: Dim::Country,
                key: "DE".into(),
                stage: Stage::Captured,
                period: today(),
                filters: tiktok.clone(),
            },
            liveline_replica::now_ms(),
        )
        .unwrap();
    assert_eq!(drilled.total, before.0 + 1);
    assert!(drilled
        .leads
        .iter()
        .all(|l| l.channel == "tiktok_live" && l.country == "DE"));
    assert!(drilled
        .leads
        .iter()
        .any(|l| l.buyer_name == "Custom Widget Tik"));

    // Offline on both devices: the manager moves "First contact" to the top; the sales lead renames the board,
    // retitles the TikTok widget and adds one. Back online, both hold every edit, in one order.
    manager.offline().await;
    lead.offline().await;
    edit(
        &manager,
        Some(&d.id),
        DashboardEdit::MoveWidget {
            id: "w-speed".into(),
            before: Some("w-channels".into()),
        },
    )
    .unwrap();
    edit(
        &lead,
        Some(&d.id),
        DashboardEdit::Rename {
            title: "周报 Weekly".into(),
        },
    )
    .unwrap();
    let mut retitled = by_country.clone();
    retitled.title = "TikTok by country".into();
    edit(
        &lead,
        Some(&d.id),
        DashboardEdit::PutWidget { widget: retitled },
    )
    .unwrap();
    edit(
        &lead,
        Some(&d.id),
        DashboardEdit::PutWidget {
            widget: widget(
                "w-won",
                "Won per team",
                Measure::Conversion,
                Dim::Team,
                vec![],
            ),
        },
    )
    .unwrap();
    manager.online();
    lead.online();
    let want = [
        "First contact per rep",
        "Leads per channel",
        "TikTok by country",
        "Won per team",
    ];
    for dev in [&manager, &lead] {
        let merged = eventually("both devices hold both sets of edits", || {
            customs(dev).into_iter().find(|x| {
                x.id == d.id
                    && x.title == "周报 Weekly"
                    && x.widgets.len() == 4
                    && x.widgets[0].id == "w-speed"
            })
        })
        .await;
        assert_eq!(titles(&merged), want);
    }

    // A rep's device never receives it, and a hand-made dashboard the app cannot show is refused by the server.
    rep1.online();
    rep1.synced().await;
    assert!(customs(&rep1).is_empty());
    assert!(rep1
        .replica
        .lock()
        .unwrap()
        .doc_bytes(&d.id)
        .unwrap()
        .is_none());
    let before_server = server.state.store.doc(&d.id).unwrap();
    let creds = manager
        .replica
        .lock()
        .unwrap()
        .credentials()
        .unwrap()
        .unwrap();
    let mut doc = automerge::AutoCommit::load(&before_server.clone().unwrap())
        .unwrap()
        .with_actor(automerge::ActorId::from(
            &liveline_domain::doc::uuid_bytes::parse(&creds.device_id).unwrap()[..],
        ));
    let mut bad = liveline_domain::dashboard::Dashboard::load(&doc).unwrap();
    bad.widgets.get_mut("w-won").unwrap().measure = "revenue".into();
    bad.save_into(&mut doc).unwrap();
    doc.commit();
    let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let mut ws = raw::connect(&server, Some(&creds.token)).await.unwrap();
    ws.send_msg(raw::hello()).await;
    ws.send_msg(raw::push(&d.id, vec![change])).await;
    match raw::next_reply(&mut ws).await {
        liveline_sync::ServerMsg::Refused { error, .. } => {
            assert_eq!(error.code, codes::DASHBOARD_WIDGET)
        }
        other => panic!("a dashboard with an unknown measure: {other:?}"),
    }
    assert_eq!(server.state.store.doc(&d.id).unwrap(), before_server);

    // Deleted: gone from the list on every device of the team.
    edit(&manager, Some(&d.id), DashboardEdit::Delete).unwrap();
    eventually("the sales lead no longer lists it", || {
        customs(&lead).is_empty().then_some(())
    })
    .await;
    server.stop().await;
}
