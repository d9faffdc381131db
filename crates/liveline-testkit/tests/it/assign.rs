//! Lead assignment, first-contact tasks and escalation, against a real server with the demo team's rules
//! (European buyers to Emily, everyone else round-robin over three reps, the sales lead as fallback, overdue leads
//! move on), real replicas and real webhooks on loopback.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use liveline_sync_server::{now_ms, sweep};
use liveline_testkit::{eventually, Device, TestServer};
use liveline_types::{codes, AssignRule, FieldCondition, LeadInput, RulesConfig, TaskAction};

fn buyer(name: &str, country: &str, phone: &str) -> LeadInput {
    LeadInput {
        buyer_name: name.into(),
        country: country.into(),
        phone: phone.into(),
        channel: "tiktok_live".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_leads_captured_offline_each_reach_the_right_rep_once_with_one_task() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let mut rep1 = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    assistant.offline().await;
    // 25 buyers from Germany (the Europe rule: Emily), 25 from Mexico (round-robin over the three reps).
    let mut ids = BTreeMap::new();
    for i in 0..50 {
        let (country, phone) = if i % 2 == 0 {
            ("DE", format!("151 2345 {:04}", 1000 + i))
        } else {
            ("MX", format!("55 1234 {:04}", 1000 + i))
        };
        let l = assistant.capture(&buyer(&format!("Offline Buyer {i:02}"), country, &phone));
        assert!(
            l.owner.is_empty(),
            "the device leaves the choice to the server"
        );
        ids.insert(l.id.clone(), country);
    }
    assistant.online();
    assistant.synced().await;

    let leads = eventually("50 assigned leads on the manager's device", || {
        let found = manager.find("Offline Buyer");
        (found.len() == 50 && found.iter().all(|l| !l.owner.is_empty())).then_some(found)
    })
    .await;
    let mut per_rep: BTreeMap<String, u32> = BTreeMap::new();
    for l in &leads {
        match ids[&l.id] {
            "DE" => assert_eq!(
                (l.owner.as_str(), l.assigned_rule.as_str()),
                ("u-rep2", "r-europe")
            ),
            _ => {
                assert_eq!(l.assigned_rule, "r-all", "{}", l.buyer_name);
                *per_rep.entry(l.owner.clone()).or_default() += 1;
            }
        }
        assert!(l.assigned_at > 0);
    }
    assert_eq!(
        per_rep.values().copied().collect::<Vec<_>>(),
        [9, 8, 8],
        "round-robin over rep1..rep3: {per_rep:?}"
    );

    // Exactly one first-contact task per lead, for its owner, due 30 minutes after the assignment.
    let tasks = eventually("50 tasks on the manager's device", || {
        let t: Vec<_> = manager
            .tasks("team", "")
            .into_iter()
            .filter(|t| ids.contains_key(&t.linked_id))
            .collect();
        (t.len() == 50).then_some(t)
    })
    .await;
    for t in &tasks {
        let l = leads.iter().find(|l| l.id == t.linked_id).unwrap();
        assert_eq!(t.task_type, "first_contact");
        assert_eq!(t.assignee, l.owner);
        assert_eq!(t.due_at - l.assigned_at, 30 * 60_000);
        assert_eq!(t.linked_title, l.buyer_name);
    }
    let mut linked: Vec<_> = tasks.iter().map(|t| t.linked_id.clone()).collect();
    linked.dedup();
    assert_eq!(linked.len(), 50);

    // The rep's device holds exactly their leads and tasks, and was told about each new task once.
    let mine = per_rep["u-rep1"] as usize;
    let rep_tasks = eventually("rep1's tasks", || {
        let t: Vec<_> = rep1
            .tasks("mine", "")
            .into_iter()
            .filter(|t| ids.contains_key(&t.linked_id))
            .collect();
        (t.len() == mine).then_some(t)
    })
    .await;
    assert!(rep_tasks.iter().all(|t| t.assignee == "u-rep1"));
    assert_eq!(rep1.find("Offline Buyer").len(), mine);
    let notices = rep1.replica.lock().unwrap().take_notices().unwrap();
    assert_eq!(notices.len(), mine, "one notice per task that arrived");
    assert!(rep1
        .replica
        .lock()
        .unwrap()
        .take_notices()
        .unwrap()
        .is_empty());

    // Reconnecting changes nothing: nobody is assigned twice.
    assistant.offline().await;
    assistant.online();
    assistant.synced().await;
    manager.synced().await;
    let again = manager
        .tasks("team", "")
        .into_iter()
        .filter(|t| ids.contains_key(&t.linked_id))
        .count();
    assert_eq!(again, 50);
    for d in [&mut assistant, &mut manager, &mut rep1] {
        d.offline().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_contact_closes_the_task_and_an_overdue_one_escalates_and_moves_on() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut rep1 = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let mut rep2 = Device::ready(&server, tmp.path(), "rep2@demo.liveline").await;
    let mut sales_lead = Device::ready(&server, tmp.path(), "lead@demo.liveline").await;
    // Round-robin starts with rep1, then rep2.
    let first = assistant.capture(&buyer("Called Back", "MX", "55 8765 4321"));
    let second = assistant.capture(&buyer("Never Called", "MX", "55 8765 4322"));
    assistant.synced().await;
    let task1 = eventually("rep1's task", || {
        rep1.tasks("mine", "")
            .into_iter()
            .find(|t| t.linked_id == first.id)
    })
    .await;
    eventually("rep2's task", || {
        rep2.tasks("mine", "")
            .into_iter()
            .find(|t| t.linked_id == second.id)
    })
    .await;

    // rep1 calls the buyer: the server closes the first-contact task. (The lead and its task travel in different
    // buckets, so the task may be there first.)
    eventually("rep1 holds the lead", || {
        rep1.replica.lock().unwrap().get_lead(&first.id).ok()
    })
    .await;
    let logged = rep1
        .replica
        .lock()
        .unwrap()
        .log_contact(&first.id, "whatsapp", "Sent the catalogue", now_ms())
        .unwrap()
        .unwrap();
    assert_eq!(logged.status, "contacted");
    rep1.sync.as_ref().unwrap().nudge();
    let closed = eventually("the task closed by the contact", || {
        let t = rep1.replica.lock().unwrap().get_task(&task1.id).ok()?;
        (t.status == "done").then_some(t)
    })
    .await;
    assert_eq!(closed.closed_by, "u-rep1");
    let bad = rep1
        .replica
        .lock()
        .unwrap()
        .log_contact(&first.id, "carrier pigeon", "", now_ms())
        .unwrap();
    assert!(bad.is_err(), "an unknown contact kind is refused");

    // Thirty-one minutes later rep2 still has not called: the lead moves to rep3 with a fresh deadline, and the
    // sales lead gets an urgent task about it. rep1's closed task is left alone.
    let escalated = sweep(&server.state, now_ms() + 31 * 60_000).unwrap();
    assert_eq!(escalated, 1);
    let moved = eventually("the lead moved on", || {
        let l = sales_lead.find("Never Called").pop()?;
        (l.owner == "u-rep3").then_some(l)
    })
    .await;
    assert_eq!(moved.assigned_rule, "r-all");
    let urgent = eventually("the sales lead's overdue task", || {
        sales_lead
            .tasks("mine", "")
            .into_iter()
            .find(|t| t.linked_id == second.id && t.task_type == "overdue")
    })
    .await;
    assert_eq!(urgent.priority, "urgent");
    assert_eq!(urgent.rule, "u-rep2", "names who missed it");
    eventually("rep2 no longer holds the lead", || {
        rep2.find("Never Called").is_empty().then_some(())
    })
    .await;
    let first_task = sales_lead
        .tasks_of(&second.id)
        .into_iter()
        .find(|t| t.task_type == "first_contact")
        .unwrap();
    assert_eq!(first_task.assignee, "u-rep3");
    assert!(first_task.due_at > now_ms() + 29 * 60_000);
    // Sweeping again at the same moment escalates nothing twice.
    assert_eq!(sweep(&server.state, now_ms() + 31 * 60_000).unwrap(), 0);
    for d in [&mut assistant, &mut rep1, &mut rep2, &mut sales_lead] {
        d.offline().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_buyer_goes_to_their_owner_and_rules_edited_in_the_app_take_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let mut admin = Device::ready(&server, tmp.path(), "admin@demo.liveline").await;
    let first = assistant.capture(&buyer("Returning Rosa", "MX", "55 2222 3333"));
    assistant.synced().await;
    let owner = eventually("first assignment", || {
        let l = manager.find("Returning Rosa").pop()?;
        (!l.owner.is_empty()).then_some(l.owner)
    })
    .await;
    // Same phone typed differently, a week later: linked to the first lead, given to the same rep.
    let again = assistant.capture(&LeadInput {
        email: "rosa@example.com".into(),
        ..buyer("Rosa R.", "MX", "+52 55 2222 3333")
    });
    assistant.synced().await;
    let dup = eventually("duplicate linked", || {
        let l = manager.find("Rosa R.").pop()?;
        (!l.owner.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(dup.duplicate_of, first.id);
    assert_eq!(dup.owner, owner);
    assert_eq!(dup.assigned_rule, "duplicate");
    let t = eventually("the owner is told", || manager.tasks_of(&again.id).pop()).await;
    assert_eq!(
        (t.task_type.as_str(), t.assignee.as_str()),
        ("duplicate", owner.as_str())
    );

    // An assistant (or rep) naming an owner does not skip the rules: the buyer from Germany goes to Emily, as the
    // Europe rule says. A manager's choice is kept: no rule runs, and the first-contact task opens for them.
    let named = assistant.capture(&LeadInput {
        owner: "u-rep3".into(),
        ..buyer("Named Owner", "DE", "151 9999 0002")
    });
    assistant.synced().await;
    let l = eventually("the rules give the named lead an owner", || {
        let l = manager.replica.lock().unwrap().get_lead(&named.id).ok()?;
        (!l.assigned_rule.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(
        (l.owner.as_str(), l.assigned_rule.as_str()),
        ("u-rep2", "r-europe")
    );
    let chosen = manager.capture(&LeadInput {
        owner: "u-rep3".into(),
        ..buyer("Chosen Owner", "DE", "151 9999 0001")
    });
    manager.synced().await;
    let t = eventually("the chosen owner's task", || {
        manager.tasks_of(&chosen.id).pop()
    })
    .await;
    assert_eq!(
        (t.task_type.as_str(), t.assignee.as_str()),
        ("first_contact", "u-rep3")
    );
    let l = eventually("the chosen owner's lead", || {
        manager.replica.lock().unwrap().get_lead(&chosen.id).ok()
    })
    .await;
    assert_eq!(
        (l.owner.as_str(), l.assigned_rule.as_str()),
        ("u-rep3", ""),
        "not the Europe rule's Emily"
    );

    // The manager sends Facebook leads to rep3; a rule naming a stranger is refused with the rule named.
    let mut config: RulesConfig = manager.replica.lock().unwrap().rules().unwrap().unwrap();
    let mut fb = config.rules[1].clone();
    fb.id = "r-fb".into();
    fb.name = "Facebook → Zhang Wei".into();
    fb.channels = vec!["facebook".into()];
    fb.target_group.clear();
    fb.target_user = "u-ghost".into();
    config.rules.insert(0, fb);
    let errors = manager
        .replica
        .lock()
        .unwrap()
        .save_rules(&config, now_ms())
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, codes::RULE_USER_UNKNOWN);
    assert_eq!(errors[0].args["rule"], "Facebook → Zhang Wei");
    config.rules[0].target_user = "u-rep3".into();
    let sample = LeadInput {
        channel: "facebook".into(),
        ..buyer("Sample", "US", "")
    };
    let dry = manager
        .replica
        .lock()
        .unwrap()
        .dry_run(&config, &sample, now_ms())
        .unwrap();
    assert_eq!((dry.owner.as_str(), dry.rule.as_str()), ("u-rep3", "r-fb"));
    assert!(manager
        .replica
        .lock()
        .unwrap()
        .save_rules(&config, now_ms())
        .unwrap()
        .is_empty());
    manager.sync.as_ref().unwrap().nudge();
    manager.synced().await;
    let fb_lead = assistant.capture(&LeadInput {
        channel: "facebook".into(),
        ..buyer("Facebook Fan", "US", "(201) 555-0177")
    });
    assistant.synced().await;
    let l = eventually("facebook lead assigned", || {
        let l = manager.find("Facebook Fan").pop()?;
        (!l.owner.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(
        (l.owner.as_str(), l.assigned_rule.as_str()),
        ("u-rep3", "r-fb")
    );

    // rep3 leaves the team: the rule naming them is skipped, the lead still gets an owner.
    liveline_replica::Admin::new(
        &admin
            .replica
            .lock()
            .unwrap()
            .credentials()
            .unwrap()
            .unwrap(),
    )
    .set_roles("u-rep3", &[])
    .await
    .unwrap();
    assistant.capture(&LeadInput {
        channel: "facebook".into(),
        ..buyer("Facebook Fan Two", "US", "(201) 555-0178")
    });
    assistant.synced().await;
    let l2 = eventually("assigned despite the stale rule", || {
        let l = manager.find("Facebook Fan Two").pop()?;
        (!l.owner.is_empty()).then_some(l)
    })
    .await;
    assert_ne!(l2.owner, "u-rep3");
    assert_eq!(l2.assigned_rule, "r-all");

    // Spanish-speaking buyers ordering 500 or more go to Wang Lei; the language and the quantity come from the
    // capture form through the server's copy of the lead.
    let mut config: RulesConfig = manager.replica.lock().unwrap().rules().unwrap().unwrap();
    config.rules.insert(
        0,
        AssignRule {
            id: "r-es-bulk".into(),
            name: "Spanish bulk".into(),
            enabled: true,
            languages: vec!["es".into()],
            conditions: vec![FieldCondition {
                field: "quantity".into(),
                op: "gte".into(),
                value: "500".into(),
            }],
            target_user: "u-rep1".into(),
            strategy: "round_robin".into(),
            ..Default::default()
        },
    );
    assert!(manager
        .replica
        .lock()
        .unwrap()
        .save_rules(&config, now_ms())
        .unwrap()
        .is_empty());
    manager.sync.as_ref().unwrap().nudge();
    manager.synced().await;
    for (name, phone, quantity) in [
        ("Bulk Comprador", "55 3333 4444", "800"),
        ("Small Comprador", "55 3333 4445", "20"),
    ] {
        assistant.capture(&LeadInput {
            language: "es".into(),
            quantity: quantity.into(),
            ..buyer(name, "MX", phone)
        });
    }
    assistant.synced().await;
    let rule_of = |name: &str| {
        let l = manager.find(name).pop()?;
        (!l.owner.is_empty()).then_some((l.owner, l.assigned_rule, l.language))
    };
    let bulk = eventually("bulk assigned", || rule_of("Bulk Comprador")).await;
    assert_eq!(
        bulk,
        (
            "u-rep1".to_string(),
            "r-es-bulk".to_string(),
            "es".to_string()
        )
    );
    let small = eventually("small assigned", || rule_of("Small Comprador")).await;
    assert_eq!(small.1, "r-all");
    let _ = fb_lead;
    for d in [&mut assistant, &mut manager, &mut admin] {
        d.offline().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_to_a_task_on_two_devices_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut assistant = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut phone = Device::sign_in(&server, tmp.path(), "rep1@demo.liveline").await;
    let laptop_dir = tmp.path().join("laptop");
    let mut laptop = Device::sign_in(&server, &laptop_dir, "rep1@demo.liveline").await;
    for d in [&mut assistant, &mut phone, &mut laptop] {
        d.online();
        d.synced().await;
    }
    let l = assistant.capture(&buyer("Merge Me", "MX", "55 4444 5555"));
    assistant.synced().await;
    let t = eventually("task on the phone", || {
        phone
            .tasks("mine", "")
            .into_iter()
            .find(|t| t.linked_id == l.id)
    })
    .await;
    eventually("task on the laptop", || {
        laptop
            .tasks("mine", "")
            .into_iter()
            .find(|t| t.linked_id == l.id)
    })
    .await;
    phone.offline().await;
    laptop.offline().await;
    let act = |d: &Device, a: TaskAction| {
        d.replica
            .lock()
            .unwrap()
            .task_action(&t.id, &a, now_ms())
            .unwrap()
            .unwrap()
    };
    act(
        &phone,
        TaskAction::Comment {
            text: "Buyer asked for a video call".into(),
        },
    );
    act(
        &phone,
        TaskAction::AddCheck {
            text: "Send price list".into(),
        },
    );
    act(
        &laptop,
        TaskAction::Comment {
            text: "Samples ready on Friday".into(),
        },
    );
    let snooze = now_ms() + 3_600_000;
    act(&laptop, TaskAction::Snooze { until: snooze });
    phone.online();
    laptop.online();
    phone.synced().await;
    laptop.synced().await;
    phone.synced().await;
    let merged = eventually("both devices agree", || {
        let a = phone.replica.lock().unwrap().get_task(&t.id).ok()?;
        let b = laptop.replica.lock().unwrap().get_task(&t.id).ok()?;
        (a.comments.len() == 2
            && a.comments == b.comments
            && a.checklist == b.checklist
            && a.snoozed_until == b.snoozed_until)
            .then_some(a)
    })
    .await;
    let mut texts: Vec<_> = merged.comments.iter().map(|c| c.text.as_str()).collect();
    texts.sort();
    assert_eq!(
        texts,
        ["Buyer asked for a video call", "Samples ready on Friday"]
    );
    assert_eq!(merged.checklist[0].text, "Send price list");
    assert_eq!(merged.snoozed_until, snooze);
    assert_eq!(merged.comments[0].by_name, "王磊 Wang Lei");
    for d in [&mut assistant, &mut phone, &mut laptop] {
        d.offline().await;
    }
    server.stop().await;
}

/// A group bot that fails twice before it takes a message, and one that never answers: the lead is assigned at
/// once all the same, and the first bot gets the message (DingTalk-signed) after retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_retried_and_never_hold_up_an_assignment() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let received: Arc<Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0u32));
    let flaky = {
        let received = received.clone();
        let calls = calls.clone();
        axum::Router::new().route(
            "/robot/send",
            post(
                move |q: axum::extract::RawQuery, body: axum::Json<serde_json::Value>| async move {
                    let n = {
                        let mut c = calls.lock().unwrap();
                        *c += 1;
                        *c
                    };
                    if n <= 2 {
                        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "busy")
                            .into_response();
                    }
                    received
                        .lock()
                        .unwrap()
                        .push((q.0.unwrap_or_default(), body.0));
                    axum::Json(serde_json::json!({"errcode": 0, "errmsg": "ok"})).into_response()
                },
            ),
        )
    };
    use axum::response::IntoResponse;
    let hang = axum::Router::new().route(
        "/hook",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(600)).await;
            "late"
        }),
    );
    let broken = axum::Router::new().route(
        "/hook",
        post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down") }),
    );
    let mut addrs = Vec::new();
    for app in [flaky, hang, broken] {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    }
    let mut admin = Device::sign_in(&server, tmp.path(), "admin@demo.liveline").await;
    let mut assistant = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    let http = reqwest::Client::new();
    let put = |body: serde_json::Value| {
        http.put(format!("{}/v1/admin/webhooks", server.url()))
            .bearer_auth(admin.token())
            .json(&body)
            .send()
    };
    // A bad URL is refused, naming which hook; nothing is stored.
    let r = put(serde_json::json!([{"kind": "dingtalk", "url": "ftp://x"}]))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["code"], codes::WEBHOOK_URL_INVALID);
    assert_eq!(e["args"]["index"], "1");
    let r = put(serde_json::json!([
        {"kind": "dingtalk", "url": format!("http://{}/robot/send?access_token=t0ken", addrs[0]), "secret": "SECret"},
        {"kind": "wecom", "url": format!("http://{}/hook", addrs[1])},
        {"kind": "feishu", "url": format!("http://{}/hook", addrs[2])}
    ]))
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let listed: serde_json::Value = http
        .get(format!("{}/v1/admin/webhooks", server.url()))
        .bearer_auth(admin.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["has_secret"], true);
    assert!(
        listed[0].get("secret").is_none(),
        "secrets are never sent back"
    );

    admin.online();
    assistant.online();
    admin.synced().await;
    assistant.synced().await;
    let l = assistant.capture(&buyer("Bot Watcher", "MX", "55 6666 7777"));
    assistant.synced().await;
    // Assigned whatever the bots do.
    let owner = eventually("assigned", || {
        let l = admin.find("Bot Watcher").pop()?;
        (!l.owner.is_empty()).then_some(l.owner)
    })
    .await;
    let (query, body) = eventually("the bot got the message after retries", || {
        received.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(*calls.lock().unwrap(), 3);
    let text = body["text"]["content"].as_str().unwrap();
    assert!(text.contains("Bot Watcher"), "{text}");
    let name = admin
        .replica
        .lock()
        .unwrap()
        .members()
        .unwrap()
        .into_iter()
        .find(|m| m.id == owner)
        .unwrap()
        .name;
    assert!(text.contains(&name), "{text}");
    // The signature verifies with the secret.
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let ts: i64 = params["timestamp"].parse().unwrap();
    assert_eq!(
        params["sign"],
        liveline_sync_server::notify::dingtalk_sign("SECret", ts)
    );
    assert_eq!(params["access_token"], "t0ken");
    // The admin sees how each bot fared: delivered, or why the last attempt failed (without the address's token).
    let status = eventually_async(|| async {
        let hooks: serde_json::Value = http
            .get(format!("{}/v1/admin/webhooks", server.url()))
            .bearer_auth(admin.token())
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (hooks[0]["last_at"].as_i64()? > 0 && hooks[2]["last_at"].as_i64()? > 0).then_some(hooks)
    })
    .await;
    assert_eq!(status[0]["last_error"], "");
    assert_eq!(status[2]["last_error"], "http 500");
    assert_eq!(
        status[1]["last_at"], 0,
        "the hanging bot is still being waited for"
    );
    let _ = l;
    admin.offline().await;
    assistant.offline().await;
    server.stop().await;
}

/// Polls an async check every 100 ms for up to 20 s.
async fn eventually_async<T, F: std::future::Future<Output = Option<T>>>(
    mut f: impl FnMut() -> F,
) -> T {
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened");
}

/// Offline, a rep logs a call on their lead and comments on its task; one push carries both documents. The
/// server closes the task from the newest copy, so the task is closed, the comment kept, and every device agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_and_a_task_comment_pushed_together_both_land() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut rep = Device::ready(&server, tmp.path(), "rep1@demo.liveline").await;
    let mut manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let l = assistant.capture(&buyer("Both At Once", "MX", "55 7777 1212"));
    assistant.synced().await;
    let t = eventually("the rep holds lead and task", || {
        rep.replica.lock().unwrap().get_lead(&l.id).ok()?;
        rep.tasks("mine", "")
            .into_iter()
            .find(|t| t.linked_id == l.id)
    })
    .await;
    rep.offline().await;
    rep.replica
        .lock()
        .unwrap()
        .task_action(
            &t.id,
            &TaskAction::Comment {
                text: "Prefers calls after 6 pm".into(),
            },
            now_ms(),
        )
        .unwrap()
        .unwrap();
    rep.replica
        .lock()
        .unwrap()
        .log_contact(&l.id, "phone", "Called", now_ms())
        .unwrap()
        .unwrap();
    rep.online();
    rep.synced().await;
    for d in [&rep, &manager] {
        let got = eventually("closed with the comment", || {
            let t = d.replica.lock().unwrap().get_task(&t.id).ok()?;
            (t.status == "done" && !t.comments.is_empty()).then_some(t)
        })
        .await;
        assert_eq!(got.comments[0].text, "Prefers calls after 6 pm");
    }
    assert_eq!(
        sweep(&server.state, now_ms() + 31 * 60_000).unwrap(),
        0,
        "a closed task is never escalated"
    );
    for d in [&mut assistant, &mut rep, &mut manager] {
        d.offline().await;
    }
    server.stop().await;
}

/// Two leads of the same buyer captured offline reach the server in one push: the second is linked to the first
/// and goes to the same rep, not to the next one in the rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_captured_twice_offline_gets_one_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut assistant = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    assistant.offline().await;
    let first = assistant.capture(&buyer("Twice Offline", "MX", "55 6543 2109"));
    let second = assistant.capture(&buyer("Twice Offline (again)", "MX", "55 6543 2109"));
    assistant.online();
    assistant.synced().await;
    let (a, b) = eventually("both assigned", || {
        let r = manager.replica.lock().unwrap();
        let a = r.get_lead(&first.id).ok().filter(|l| !l.owner.is_empty())?;
        let b = r
            .get_lead(&second.id)
            .ok()
            .filter(|l| !l.owner.is_empty())?;
        Some((a, b))
    })
    .await;
    assert_eq!(b.duplicate_of, first.id);
    assert_eq!(b.owner, a.owner);
    assert_eq!(b.assigned_rule, "duplicate");
    for d in [&mut assistant, &mut manager] {
        d.offline().await;
    }
    server.stop().await;
}
