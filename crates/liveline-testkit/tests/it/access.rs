//! Teams, roles and authorization, enforced by a real server: what each role's device receives, what the server
//! lets each role change (pushed by a hand-crafted client, so nothing on the device side filters first), role
//! changes reaching an open connection, the admin API, the audit log and sign-in rate limits.
//!
//! The expected tables are written out here, not derived from the policy code: loosening any rule fails a cell.

use std::time::Duration;

use automerge::{transaction::Transactable, ActorId, AutoCommit, ROOT};
use liveline_domain::dashboard::Dashboard;
use liveline_domain::doc::uuid_bytes;
use liveline_domain::{Lead, LiveSession, RecordMeta};
use liveline_replica::sign_in;
use liveline_sync::ServerMsg;
use liveline_sync_server::{auth, demo, Store};
use liveline_testkit::raw::{connect, hello, next_reply, push, WsExt};
use liveline_testkit::{eventually, lead, Device, TestServer};
use liveline_types::{codes, AppError, AuditEntryView};
use serde_json::json;

/// Rows of the tables below follow this order.
const ROLES: [&str; 7] = liveline_types::ROLE_CODES;

/// The records each role's user is tested against, from that user's point of view.
const RECORDS: [&str; 7] = [
    "lead they own",
    "lead they captured",
    "lead of a teammate",
    "session they work",
    "session of the team",
    "lead in another team",
    "custom dashboard of the team",
];

const Y: bool = true;
const N: bool = false;

/// Rows follow `ROLES`, columns `RECORDS`.
const READS: [[bool; 7]; 7] = [
    [Y, Y, N, Y, N, N, N],
    [Y, Y, N, Y, Y, N, N],
    [Y, Y, Y, Y, Y, N, Y],
    [N, N, N, N, N, N, N],
    [N, N, N, N, N, N, N],
    [Y, Y, Y, Y, Y, N, Y],
    [Y, Y, Y, Y, Y, N, Y],
];
const EDITS: [[bool; 7]; 7] = [
    [Y, Y, N, N, N, N, N],
    [Y, Y, N, N, N, N, N],
    [Y, Y, Y, Y, Y, N, Y],
    [N, N, N, N, N, N, N],
    [N, N, N, N, N, N, N],
    [Y, Y, Y, Y, Y, N, Y],
    [Y, Y, Y, Y, Y, N, Y],
];
/// Creating: a lead in the own team, a live session in the own team, a lead in another team, a custom dashboard.
const CREATES: [[bool; 4]; 7] = [
    [Y, N, N, N],
    [Y, N, N, N],
    [Y, Y, N, Y],
    [N, N, N, N],
    [N, N, N, N],
    [Y, Y, N, Y],
    [Y, Y, N, Y],
];

fn record_id(role: usize, rec: usize) -> String {
    format!("00000000-0000-4000-a000-{role:04}{rec:08}")
}

fn lead_doc(team: &str, owner: &str, created_by: &str, name: &str) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&[0xeeu8; 16][..]));
    Lead {
        kind: "lead".into(),
        team: team.into(),
        buyer_name: name.into(),
        owner: owner.into(),
        created_by: created_by.into(),
        status: "new".into(),
        ..Default::default()
    }
    .save_into(&mut doc)
    .unwrap();
    doc
}

fn session_doc(team: &str, staff: &str, created_by: &str, actor: &ActorId) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    let s = LiveSession {
        kind: "live_session".into(),
        team: team.into(),
        title: "Matrix stream".into(),
        staff: vec![staff.into()],
        created_by: created_by.into(),
        ..Default::default()
    };
    autosurgeon::reconcile(&mut doc, &s).unwrap();
    doc
}

fn dashboard_doc(team: &str, created_by: &str, actor: &ActorId) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    Dashboard::new(team, created_by, "Matrix board", 1)
        .save_into(&mut doc)
        .unwrap();
    doc
}

fn actor_of(device_id: &str) -> ActorId {
    ActorId::from(&uuid_bytes::parse(device_id).unwrap()[..])
}

/// One change by `actor` on top of the server's copy of `id`: a new note (or title, for a session).
fn edit_change(server: &TestServer, id: &str, actor: &ActorId) -> Vec<u8> {
    let bytes = server.state.store.doc(id).unwrap().unwrap();
    let mut doc = AutoCommit::load(&bytes).unwrap().with_actor(actor.clone());
    let field = match RecordMeta::read(&doc).unwrap().kind {
        liveline_domain::DocKind::Lead => "notes",
        _ => "title",
    };
    doc.put(ROOT, field, "changed by the matrix").unwrap();
    doc.commit();
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_role_by_record_by_read_and_write() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let store = &server.state.store;
    store.create_team("t2", "Other team").unwrap();
    let hash = auth::hash_password("demo");
    store
        .create_user(
            "m-other",
            "demo",
            "other@matrix.test",
            "Other",
            "sales_rep",
            &hash,
        )
        .unwrap();
    let mut commits = Vec::new();
    let seeder = ActorId::from(&[0xeeu8; 16][..]);
    for (r, role) in ROLES.iter().enumerate() {
        let me = format!("m-{role}");
        store
            .create_user(
                &me,
                "demo",
                &format!("{role}@matrix.test"),
                role,
                role,
                &hash,
            )
            .unwrap();
        let docs = [
            lead_doc("demo", &me, "m-other", "own"),
            lead_doc("demo", "", &me, "captured"),
            lead_doc("demo", "m-other", "m-other", "teammate"),
            session_doc("demo", &me, "m-other", &seeder),
            session_doc("demo", "m-other", "m-other", &seeder),
            // Owned and created by "me", but in a team "me" is not in: still not theirs.
            lead_doc("t2", &me, &me, "elsewhere"),
            dashboard_doc("demo", "m-other", &seeder),
        ];
        for (i, d) in docs.into_iter().enumerate() {
            commits.push(demo::commit(&record_id(r, i), d));
        }
    }
    store.write(|_| (commits, ()), None, 0).unwrap();

    let mut failures = Vec::new();
    for (r, role) in ROLES.iter().enumerate() {
        // Reads: what a real device of this user holds after syncing.
        let mut device = Device::sign_in(&server, tmp.path(), &format!("{role}@matrix.test")).await;
        device.online();
        device.synced().await;
        for (i, rec) in RECORDS.iter().enumerate() {
            let held = device
                .replica
                .lock()
                .unwrap()
                .doc_bytes(&record_id(r, i))
                .unwrap()
                .is_some();
            if held != READS[r][i] {
                failures.push(format!(
                    "{role} reads {rec}: got {held}, expected {}",
                    READS[r][i]
                ));
            }
        }
        let creds = device
            .replica
            .lock()
            .unwrap()
            .credentials()
            .unwrap()
            .unwrap();
        device.offline().await;

        // Writes: pushed by a hand-crafted client with this device's token and actor.
        let actor = actor_of(&creds.device_id);
        let mut ws = connect(&server, Some(&creds.token)).await.unwrap();
        ws.send_msg(hello()).await;
        for (i, rec) in RECORDS.iter().enumerate() {
            let id = record_id(r, i);
            let before = store.doc(&id).unwrap();
            ws.send_msg(push(&id, vec![edit_change(&server, &id, &actor)]))
                .await;
            let accepted = match next_reply(&mut ws).await {
                ServerMsg::Ack { .. } => true,
                ServerMsg::Refused { .. } => false,
                other => panic!("{role} edits {rec}: unexpected {other:?}"),
            };
            if accepted != EDITS[r][i] {
                failures.push(format!(
                    "{role} edits {rec}: got {accepted}, expected {}",
                    EDITS[r][i]
                ));
            }
            if !accepted {
                assert_eq!(
                    store.doc(&id).unwrap(),
                    before,
                    "a refused edit leaves {rec} as it was"
                );
            }
        }
        let news: [(&str, AutoCommit); 4] = [
            ("creates a lead", {
                let mut d = AutoCommit::new().with_actor(actor.clone());
                Lead {
                    kind: "lead".into(),
                    team: "demo".into(),
                    buyer_name: "New".into(),
                    created_by: format!("m-{role}"),
                    ..Default::default()
                }
                .save_into(&mut d)
                .unwrap();
                d
            }),
            (
                "creates a session",
                session_doc("demo", "", &format!("m-{role}"), &actor),
            ),
            ("creates a lead in another team", {
                let mut d = AutoCommit::new().with_actor(actor.clone());
                Lead {
                    kind: "lead".into(),
                    team: "t2".into(),
                    buyer_name: "New".into(),
                    created_by: format!("m-{role}"),
                    ..Default::default()
                }
                .save_into(&mut d)
                .unwrap();
                d
            }),
            (
                "creates a dashboard",
                dashboard_doc("demo", &format!("m-{role}"), &actor),
            ),
        ];
        for (i, (what, mut d)) in news.into_iter().enumerate() {
            d.commit();
            let change = d.get_last_local_change().unwrap().raw_bytes().to_vec();
            let id = uuid::Uuid::new_v4().to_string();
            ws.send_msg(push(&id, vec![change])).await;
            let accepted = match next_reply(&mut ws).await {
                ServerMsg::Ack { .. } => true,
                ServerMsg::Refused { .. } => false,
                other => panic!("{role} {what}: unexpected {other:?}"),
            };
            if accepted != CREATES[r][i] {
                failures.push(format!(
                    "{role} {what}: got {accepted}, expected {}",
                    CREATES[r][i]
                ));
            }
            assert_eq!(store.doc(&id).unwrap().is_some(), accepted);
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
    assert!(store.integrity_ok().unwrap());
    server.stop().await;
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn of(server: &TestServer, device: &Device) -> Api {
        let creds = device
            .replica
            .lock()
            .unwrap()
            .credentials()
            .unwrap()
            .unwrap();
        Api {
            base: server.url(),
            token: creds.token,
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, String) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        self.call(reqwest::Method::GET, path, None).await
    }
}

fn code(body: &str) -> String {
    serde_json::from_str::<AppError>(body)
        .map(|e| e.code)
        .unwrap_or_else(|_| body.to_string())
}

async fn wait_count(device: &Device, want: u64) {
    for _ in 0..400 {
        if device.count() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the device holds {} leads, expected {want}", device.count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_roles_devices_and_read_the_audit_log() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut admin = Device::sign_in(&server, tmp.path(), "admin@demo.liveline").await;
    let mut rep = Device::sign_in(&server, tmp.path(), "rep1@demo.liveline").await;
    admin.online();
    rep.online();
    admin.synced().await;
    rep.synced().await;
    let team_total = admin.count();
    let own = rep.count();
    assert!(
        own > 0 && own < team_total,
        "a rep holds only their own leads ({own} of {team_total})"
    );
    assert!(rep
        .find("")
        .iter()
        .all(|l| l.owner == "u-rep1" || l.created_by == "u-rep1"));

    // Only an admin, and only with a token.
    let api = Api::of(&server, &admin);
    let rep_api = Api::of(&server, &rep);
    let (status, body) = rep_api.get("/v1/admin/users").await;
    assert_eq!((status, code(&body)), (403, codes::ADMIN_ONLY.to_string()));
    let anonymous = Api {
        token: "nope".into(),
        ..Api::of(&server, &admin)
    };
    assert_eq!(anonymous.get("/v1/admin/users").await.0, 401);

    // A role change reaches the rep's open connection: the team arrives, then leaves again.
    let put = |roles: serde_json::Value| {
        api.call(
            reqwest::Method::PUT,
            "/v1/admin/users/u-rep1/roles",
            Some(json!({ "roles": roles })),
        )
    };
    assert_eq!(put(json!(["sales_lead"])).await.0, 200);
    wait_count(&rep, team_total).await;
    assert_eq!(put(json!(["sales_rep"])).await.0, 200);
    wait_count(&rep, own).await;
    let (status, body) = put(json!(["boss"])).await;
    assert_eq!(
        (status, code(&body)),
        (422, codes::ROLE_UNKNOWN.to_string())
    );
    assert!(body.contains("boss"), "the unknown role is named: {body}");
    let (status, body) = api
        .call(
            reqwest::Method::PUT,
            "/v1/admin/users/u-admin/roles",
            Some(json!({ "roles": ["manager"] })),
        )
        .await;
    assert_eq!((status, code(&body)), (409, codes::LAST_ADMIN.to_string()));

    // Inviting: every bad field has its own answer; a good invite can sign in with its role.
    let invite = |email: &str, roles: serde_json::Value, password: &str| {
        api.call(
            reqwest::Method::POST,
            "/v1/admin/users",
            Some(
                json!({ "email": email, "name": "New Rep", "roles": roles, "password": password }),
            ),
        )
    };
    let cases = [
        (
            "not-an-email",
            json!(["sales_rep"]),
            "long enough",
            422,
            codes::EMAIL_INVALID,
        ),
        (
            "new@demo.liveline",
            json!(["sales_rep"]),
            "short",
            422,
            codes::PASSWORD_SHORT,
        ),
        (
            "new@demo.liveline",
            json!(["wizard"]),
            "long enough",
            422,
            codes::ROLE_UNKNOWN,
        ),
        (
            "new@demo.liveline",
            json!([]),
            "long enough",
            422,
            codes::REQUIRED,
        ),
        (
            "rep2@demo.liveline",
            json!(["sales_rep"]),
            "long enough",
            409,
            codes::ALREADY_MEMBER,
        ),
    ];
    for (email, roles, password, want_status, want_code) in cases {
        let (status, body) = invite(email, roles, password).await;
        assert_eq!(
            (status, code(&body)),
            (want_status, want_code.to_string()),
            "{email}"
        );
    }
    let (status, body) = invite("new@demo.liveline", json!(["sales_rep"]), "long enough").await;
    assert_eq!(status, 201, "{body}");
    let creds = sign_in(&server.url(), "new@demo.liveline", "long enough", "t")
        .await
        .unwrap();
    let (_, users) = api.get("/v1/admin/users").await;
    assert!(users.contains("new@demo.liveline") && users.contains(&creds.user_id));
    // Someone with an account in another team joins this one: no name or password needed, theirs are kept.
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/v1/admin/users",
            Some(json!({ "email": "Manager-SZ@demo.liveline", "name": "", "roles": ["sales_lead"], "password": "" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let joined: liveline_types::AdminUserView = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            joined.id.as_str(),
            joined.name.as_str(),
            joined.roles.as_slice()
        ),
        (
            "u-sz-manager",
            "黄蕾 Huang Lei",
            ["sales_lead".to_string()].as_slice()
        )
    );
    let sz = sign_in(&server.url(), "manager-sz@demo.liveline", "demo", "t")
        .await
        .expect("their password still works");
    let sz_api = liveline_replica::Admin::new(&sz);
    let teams: Vec<_> = sz_api
        .teams()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.role))
        .collect();
    assert_eq!(
        teams,
        [
            ("demo-sz".to_string(), "manager".to_string()),
            ("demo".to_string(), "sales_lead".to_string())
        ]
    );

    // The audit log names who changed what, from which device, per record and per user, and exports to CSV.
    let mine = rep.find("")[0].clone();
    rep.edit(&mine.id, |i| i.notes = "called, wants a sample".into());
    rep.synced().await;
    let (_, body) = api.get(&format!("/v1/admin/audit?doc={}", mine.id)).await;
    let entries: Vec<AuditEntryView> = serde_json::from_str(&body).unwrap();
    let rep_creds = rep.replica.lock().unwrap().credentials().unwrap().unwrap();
    let last = &entries[0];
    assert_eq!(
        (
            last.user_id.as_str(),
            last.device_id.as_str(),
            last.action.as_str()
        ),
        ("u-rep1", rep_creds.device_id.as_str(), "edited")
    );
    assert!(
        last.fields.contains(&"notes".to_string()),
        "{:?}",
        last.fields
    );
    let (_, body) = api.get("/v1/admin/audit?user=u-rep1").await;
    let by_user: Vec<AuditEntryView> = serde_json::from_str(&body).unwrap();
    assert!(!by_user.is_empty() && by_user.iter().all(|e| e.user_id == "u-rep1"));
    let (status, csv) = api.get("/v1/admin/audit?user=u-rep1&format=csv").await;
    assert_eq!(status, 200);
    assert!(
        csv.starts_with('\u{feff}'),
        "Excel needs the byte-order mark"
    );
    assert!(csv.contains("time_utc") && csv.contains("Wang Lei") && csv.contains(&mine.id));
    let (status, body) = api.get("/v1/admin/audit?format=pdf").await;
    assert_eq!((status, code(&body)), (422, codes::BAD_MESSAGE.to_string()));
    // The rep's own edits, as seen by someone outside the team: nothing.
    assert_eq!(rep_api.get("/v1/admin/audit").await.0, 403);

    // Devices: listed, and revoking one from the API cuts it off at once.
    let (_, devices) = api.get("/v1/admin/devices").await;
    assert!(devices.contains(&rep_creds.device_id));
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/admin/devices/{}/revoke", rep_creds.device_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let mut revoked = false;
    for _ in 0..200 {
        let s = rep.sync.as_ref().unwrap().status();
        if s.last_error.as_ref().map(|e| e.code.as_str()) == Some(codes::DEVICE_REVOKED) {
            revoked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(revoked, "the revoked device is told why");
    assert_eq!(rep_api.get("/v1/me").await.0, 401);
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/v1/admin/devices/no-such-device/revoke",
            None,
        )
        .await;
    assert_eq!(status, 404);

    admin.offline().await;
    rep.offline().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_cannot_touch_leads_and_a_rep_cannot_take_a_teammates_lead() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut assistant = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    let mut finance = Device::sign_in(&server, tmp.path(), "finance@demo.liveline").await;
    assistant.online();
    finance.online();
    finance.synced().await;
    assistant.synced().await;
    assert_eq!(finance.count(), 0, "finance receives no leads");

    // The assistant's lead goes to a rep by the team's rules; the assistant then tries to take it for themselves:
    // refused on the server, rebuilt on the device, kept in the inbox.
    let l = assistant.capture(&lead("Owned Elsewhere"));
    assistant.synced().await;
    let owner = eventually("the rules give the lead a rep", || {
        let l = assistant.lead(&l.id);
        (!l.owner.is_empty()).then_some(l.owner)
    })
    .await;
    assistant.edit(&l.id, |i| i.owner = "u-assistant".into());
    assistant.synced().await;
    let refused = assistant.replica.lock().unwrap().refused_edits().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        (refused[0].path.as_str(), refused[0].error.code.as_str()),
        ("owner", codes::OWNER_CHANGE_FORBIDDEN)
    );
    assert_eq!(
        assistant.lead(&l.id).owner,
        owner,
        "the device shows what the server holds"
    );

    // A finance device pushing a lead gets a refusal naming why, and the lead does not exist anywhere.
    let creds = finance
        .replica
        .lock()
        .unwrap()
        .credentials()
        .unwrap()
        .unwrap();
    let actor = actor_of(&creds.device_id);
    let mut d = AutoCommit::new().with_actor(actor);
    Lead {
        kind: "lead".into(),
        team: "demo".into(),
        buyer_name: "From finance".into(),
        created_by: "u-finance".into(),
        ..Default::default()
    }
    .save_into(&mut d)
    .unwrap();
    d.commit();
    let mut ws = connect(&server, Some(&creds.token)).await.unwrap();
    ws.send_msg(hello()).await;
    let id = uuid::Uuid::new_v4().to_string();
    ws.send_msg(push(
        &id,
        vec![d.get_last_local_change().unwrap().raw_bytes().to_vec()],
    ))
    .await;
    match next_reply(&mut ws).await {
        ServerMsg::Refused { error, path, .. } => {
            assert_eq!(
                (error.code.as_str(), path.as_str()),
                (codes::ROLE_FORBIDDEN, "kind")
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(server.state.store.doc(&id).unwrap().is_none());

    assistant.offline().await;
    finance.offline().await;
    server.stop().await;
}

/// A sign-in over HTTP from `client` (as the trusted proxy in front names it); the error code, if refused.
async fn sign_in_from(
    server: &TestServer,
    client: &str,
    email: &str,
    password: &str,
) -> Option<String> {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/sign-in", server.url()))
        .header("x-forwarded-for", client)
        .json(&serde_json::json!({"email": email, "password": password, "device_name": "t"}))
        .send()
        .await
        .unwrap();
    if r.status().is_success() {
        return None;
    }
    let body: serde_json::Value = r.json().await.unwrap();
    Some(body["code"].as_str().unwrap().to_string())
}

/// Someone guessing a rep's password from one address waits after ten tries, and so does their right guess; the
/// rep, signing in from the venue, is not locked out (before, ten wrong guesses from anywhere locked the account
/// for everyone). Behind the trusted proxy the client's address is the one it names; a client cannot name one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_rate_limited_per_account_and_address() {
    let tmp = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", liveline_testkit::free_port())
        .parse()
        .unwrap();
    let server = TestServer::start_with(&tmp.path().join("server"), addr, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let attacker = "203.0.113.5";
    let mut codes_seen = Vec::new();
    for _ in 0..liveline_sync_server::SIGN_IN_PER_EMAIL_MINUTE + 1 {
        codes_seen.push(sign_in_from(&server, attacker, "rep1@demo.liveline", "guess").await);
    }
    assert!(codes_seen[..codes_seen.len() - 1]
        .iter()
        .all(|c| c.as_deref() == Some(codes::BAD_CREDENTIALS)));
    assert_eq!(
        codes_seen.last().unwrap().as_deref(),
        Some(codes::RATE_LIMITED)
    );
    assert_eq!(
        sign_in_from(&server, attacker, "rep1@demo.liveline", "demo")
            .await
            .as_deref(),
        Some(codes::RATE_LIMITED),
        "even the right password waits at the guesser's address"
    );
    assert_eq!(
        sign_in_from(&server, "198.51.100.7", "rep1@demo.liveline", "demo").await,
        None,
        "the rep at the venue signs in"
    );
    // A client that writes its own X-Forwarded-For in front of the proxy's is still the address the proxy heard.
    assert_eq!(
        sign_in_from(
            &server,
            &format!("198.51.100.9, {attacker}"),
            "rep1@demo.liveline",
            "demo"
        )
        .await
        .as_deref(),
        Some(codes::RATE_LIMITED)
    );
    server.stop().await;

    // Without a trusted proxy the header is ignored: changing it does not buy more guesses.
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut last = None;
    for i in 0..liveline_sync_server::SIGN_IN_PER_EMAIL_MINUTE + 1 {
        last = sign_in_from(
            &server,
            &format!("198.51.100.{i}"),
            "rep2@demo.liveline",
            "guess",
        )
        .await;
    }
    assert_eq!(last.as_deref(), Some(codes::RATE_LIMITED));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_admin_client_speaks_the_api_and_reports_refusals_by_code() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let admin_dev = Device::sign_in(&server, tmp.path(), "admin@demo.liveline").await;
    let rep_dev = Device::sign_in(&server, tmp.path(), "rep3@demo.liveline").await;
    let creds = |d: &Device| d.replica.lock().unwrap().credentials().unwrap().unwrap();
    let admin = liveline_replica::Admin::new(&creds(&admin_dev));
    let rep = liveline_replica::Admin::new(&creds(&rep_dev));

    assert_eq!(rep.users().await.unwrap_err().code, codes::ADMIN_ONLY);
    let users = admin.users().await.unwrap();
    assert!(users
        .iter()
        .any(|u| u.id == "u-rep3" && u.roles == ["sales_rep"]));
    let changed = admin
        .set_roles("u-rep3", &["sales_rep".into(), "finance".into()])
        .await
        .unwrap();
    assert_eq!(changed.roles, ["sales_rep", "finance"]);
    let e = admin
        .set_roles("u-nobody", &["finance".into()])
        .await
        .unwrap_err();
    assert_eq!(e.code, codes::USER_UNKNOWN);

    let rep_device = creds(&rep_dev).device_id;
    assert!(admin
        .devices()
        .await
        .unwrap()
        .iter()
        .any(|d| d.id == rep_device && d.revoked_at.is_none()));
    admin.revoke(&rep_device).await.unwrap();
    assert!(admin
        .devices()
        .await
        .unwrap()
        .iter()
        .any(|d| d.id == rep_device && d.revoked_at.is_some()));
    assert_eq!(rep.users().await.unwrap_err().code, codes::DEVICE_REVOKED);

    let q = liveline_types::AuditQuery {
        user: "u-assistant".into(),
        limit: 5,
        ..Default::default()
    };
    assert!(
        admin.audit(&q).await.unwrap().is_empty(),
        "seeded data has no audited author"
    );
    let csv = admin.audit_csv(&q).await.unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBFid,time_utc"));

    let gone = liveline_replica::Admin::new(&liveline_replica::replica::Credentials {
        server: "127.0.0.1:9".into(),
        ..creds(&admin_dev)
    });
    assert_eq!(
        gone.users().await.unwrap_err().code,
        codes::SERVER_UNREACHABLE
    );
    server.stop().await;
}

/// The device token is kept out of the replica's database: in the OS keychain where there is one, else (as on this
/// machine, with no session bus) in a file sealed with a key kept outside the data folder. A copied data folder
/// signs nobody in, a replica from before keeps its sign-in (the token moves out of the database once), and
/// signing out removes the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_token_is_kept_out_of_the_database_and_a_copied_folder_signs_nobody_in() {
    use liveline_replica::vault::{token_path, Vault};
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut rep = Device::ready(&server, &data, "rep1@demo.liveline").await;
    let creds = rep.replica.lock().unwrap().credentials().unwrap().unwrap();
    assert_eq!(rep.replica.lock().unwrap().vault_kind(), "encrypted_file");
    rep.offline().await;
    drop(rep);

    // Nothing in the data folder holds the token as written.
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(creds.token.len())
                .any(|w| w == creds.token.as_bytes()),
            "a file of the data folder holds the token"
        );
    }
    let replica_path = data.join("rep1_demo.liveline.sqlite3");
    assert!(token_path(&replica_path).exists());

    // Opened again, the device is still signed in and syncs with the same token.
    let again = liveline_replica::Replica::open(&replica_path).unwrap();
    assert_eq!(again.credentials().unwrap(), Some(creds.clone()));
    drop(again);

    // The data folder copied to a machine (or user) whose key differs: not signed in, nothing fails.
    let copied = Vault::with_key(&replica_path, tmp.path().join("another-machine/device.key"));
    assert_eq!(copied.load().unwrap(), None);

    // A replica from before the vault, with the token in its database: it stays signed in, and the token leaves
    // the database.
    let old = data.join("old.sqlite3");
    {
        let r = liveline_replica::Replica::open(&old).unwrap();
        drop(r);
        let conn = rusqlite::Connection::open(&old).unwrap();
        for (k, v) in [
            ("token", creds.token.as_str()),
            ("server", creds.server.as_str()),
            ("device_id", creds.device_id.as_str()),
            ("user_id", creds.user_id.as_str()),
            ("team_id", creds.team_id.as_str()),
            ("email", creds.email.as_str()),
        ] {
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                [k, v],
            )
            .unwrap();
        }
    }
    let mut migrated = liveline_replica::Replica::open(&old).unwrap();
    assert_eq!(migrated.credentials().unwrap(), Some(creds.clone()));
    let left: Option<String> = rusqlite::Connection::open(&old)
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'token'", [], |r| {
            r.get(0)
        })
        .ok();
    assert_eq!(left, None, "the token is still in the database");

    // Signing out removes the token; the device is signed out after a restart too.
    migrated.sign_out(false).unwrap();
    assert!(!token_path(&old).exists());
    assert_eq!(migrated.credentials().unwrap(), None);
    drop(migrated);
    assert_eq!(
        liveline_replica::Replica::open(&old)
            .unwrap()
            .credentials()
            .unwrap(),
        None
    );
}

/// A user in two teams works in one at a time, per device. The assistant moves this device to the second team
/// (the server refuses a team they are not in); from then on the device offers that team's live session, its new
/// lead lands in that team, that team's manager receives it and the first team's manager never does. The move holds
/// across a reconnect; the user's other device stays in the first team.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_in_two_teams_captures_into_the_team_the_device_works_in() {
    use liveline_sync_server::demo::{TEAM2_ID, TEAM2_NAME, TEAM2_SESSION, TEAM_ID};
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut asst = Device::ready(&server, tmp.path(), "assistant@demo.liveline").await;
    let manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    let manager_sz = Device::ready(&server, tmp.path(), "manager-sz@demo.liveline").await;
    let session = |d: &Device| d.replica.lock().unwrap().session().unwrap().unwrap();
    let sessions = |d: &Device| -> Vec<String> {
        let r = d.replica.lock().unwrap();
        r.live_sessions()
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    let creds = asst.replica.lock().unwrap().credentials().unwrap().unwrap();
    let api = liveline_replica::Admin::new(&creds);

    // Signed in, the device works in the user's first team, and offers only that team's live sessions.
    assert_eq!(session(&asst).team_id, TEAM_ID);
    assert!(!sessions(&asst).is_empty());
    assert!(!sessions(&asst).contains(&TEAM2_SESSION.to_string()));
    let teams = api.teams().await.unwrap();
    let listed: Vec<_> = teams
        .iter()
        .map(|t| (t.id.as_str(), t.role.as_str(), t.current))
        .collect();
    assert_eq!(
        listed,
        [(TEAM_ID, "assistant", true), (TEAM2_ID, "assistant", false)]
    );
    assert_eq!(teams[1].name, TEAM2_NAME);

    // A team the user is not in: refused, and the device stays where it was.
    let e = api.switch_team("no-such-team").await.unwrap_err();
    assert_eq!(e.code, codes::NOT_MEMBER);
    assert_eq!(api.teams().await.unwrap()[0].current, true);

    // The move: the open connection receives the second team's Welcome (its members, the assistant's roles there).
    let moved = api.switch_team(TEAM2_ID).await.unwrap();
    assert_eq!(
        (moved.name.as_str(), moved.role.as_str()),
        (TEAM2_NAME, "assistant")
    );
    asst.replica.lock().unwrap().set_team(&moved).unwrap();
    let here = eventually("the second team's Welcome", || {
        let s = session(&asst);
        s.members
            .iter()
            .any(|m| m.id == "u-sz-manager")
            .then_some(s)
    })
    .await;
    assert_eq!(
        (here.team_id.as_str(), here.team_name.as_str()),
        (TEAM2_ID, TEAM2_NAME)
    );
    assert!(!here.members.iter().any(|m| m.id == "u-manager"));
    assert_eq!(sessions(&asst), [TEAM2_SESSION]);
    let live = asst
        .replica
        .lock()
        .unwrap()
        .current_live_session(liveline_replica::now_ms())
        .unwrap()
        .expect("the second team's stream is on now");
    assert_eq!(live.id, TEAM2_SESSION);
    // The first team's records are still on the device: the user still reads that team.
    assert!(asst.count() > 0);

    // A capture now belongs to the second team, with its live session.
    let mut input = lead("Bilal Second Team");
    input.live_session = live.id.clone();
    let captured = asst.capture(&input);
    assert_eq!(captured.team, TEAM2_ID);
    let received = manager_sz.wait_for("Bilal Second").await;
    assert_eq!(received[0].team, TEAM2_ID);
    assert_eq!(received[0].live_session, TEAM2_SESSION);
    asst.synced().await;
    manager.synced().await;
    assert!(
        manager.find("Bilal Second").is_empty(),
        "the first team's manager must not receive it"
    );
    let stored = server.state.store.doc(&captured.id).unwrap().unwrap();
    let stored = Lead::load(&automerge::AutoCommit::load(&stored).unwrap()).unwrap();
    assert_eq!(stored.team, TEAM2_ID);

    // The move is the server's: it holds across a reconnect, and the user's other device is not moved.
    asst.offline().await;
    asst.online();
    asst.synced().await;
    assert_eq!(session(&asst).team_id, TEAM2_ID);
    let other_dir = tmp.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = Device::ready(&server, &other_dir, "assistant@demo.liveline").await;
    assert_eq!(session(&other).team_id, TEAM_ID);
    let mut second = lead("Carla First Team");
    second.phone = "(201) 555-0188".into();
    assert_eq!(other.capture(&second).team, TEAM_ID);
    manager.wait_for("Carla First").await;
    manager_sz.synced().await;
    assert!(manager_sz.find("Carla First").is_empty());
    server.stop().await;
}
