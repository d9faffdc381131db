//! The demo team a first run offers: members with the password `demo`, live sessions around now, and a few hundred
//! leads, so a new user sees a living app.

use std::sync::LazyLock;

use automerge::{ActorId, AutoCommit};
use liveline_domain::lead::{normalize_phone, LeadFields};
use liveline_domain::{Lead, LiveSession};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::store::{DocCommit, Store, StoreError};
use crate::{auth, now_ms};

/// A hash to verify against when the user is unknown, so that answer takes as long as a wrong password.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| auth::hash_password("not a password"));

pub const TEAM_ID: &str = "demo";
pub const PASSWORD: &str = "demo";

/// `(id, e-mail, name, roles)` of the demo members.
pub const MEMBERS: &[(&str, &str, &str, &str)] = &[
    (
        "u-assistant",
        "assistant@demo.liveline",
        "林小雨 Lin Xiaoyu",
        "assistant",
    ),
    ("u-rep1", "rep1@demo.liveline", "王磊 Wang Lei", "sales_rep"),
    ("u-rep2", "rep2@demo.liveline", "Emily Chen", "sales_rep"),
    (
        "u-rep3",
        "rep3@demo.liveline",
        "张伟 Zhang Wei",
        "sales_rep",
    ),
    (
        "u-lead",
        "lead@demo.liveline",
        "刘洋 Liu Yang",
        "sales_lead",
    ),
    (
        "u-finance",
        "finance@demo.liveline",
        "赵敏 Zhao Min",
        "finance",
    ),
    (
        "u-warehouse",
        "warehouse@demo.liveline",
        "孙强 Sun Qiang",
        "warehouse",
    ),
    (
        "u-manager",
        "manager@demo.liveline",
        "陈静 Chen Jing",
        "manager",
    ),
    (
        "u-admin",
        "admin@demo.liveline",
        "周婷 Zhou Ting",
        "admin,manager",
    ),
];

/// A second team, for a user in several teams: the assistant works streams for both, and it has its own manager.
pub const TEAM2_ID: &str = "demo-sz";
pub const TEAM2_NAME: &str = "Shenzhen Export 深圳出口组";
/// `(id, e-mail, name, roles)` of the member whose first team is the second one.
pub const TEAM2_MANAGER: (&str, &str, &str, &str) = (
    "u-sz-manager",
    "manager-sz@demo.liveline",
    "黄蕾 Huang Lei",
    "manager",
);
/// The second team's live session in progress now.
pub const TEAM2_SESSION: &str = "00000000-0000-4000-8000-000000000201";

const BUYERS: &[&str] = &[
    "Maria Lopez",
    "John Smith",
    "Ahmed Hassan",
    "Olga Petrova",
    "Lucas Silva",
    "Fatima Khan",
    "Kenji Sato",
    "Anna Müller",
    "Carlos Ruiz",
    "Priya Sharma",
    "David Cohen",
    "Nguyen Van An",
    "Sofia Rossi",
    "Omar Farouk",
    "Emma Johnson",
    "Juan Perez",
    "Aisha Bello",
    "Tom Becker",
    "Leila Haddad",
    "Ivan Novak",
];
const COMPANIES: &[&str] = &[
    "Sunrise Trading",
    "Andes Imports",
    "Gulf Retail",
    "Nordic Home",
    "Lagos Mart",
    "Pacific Goods",
    "Atlas Supply",
    "Blue Harbor",
    "",
    "Casa Bonita",
    "Desert Rose LLC",
    "",
];
const PRODUCTS: &[&str] = &[
    "LED strip lights",
    "Phone cases",
    "Yoga mats",
    "Bluetooth speakers",
    "Kitchen knives",
    "Hair dryers",
];
/// `(country, a valid national number to vary)`.
const PHONES: &[(&str, &str)] = &[
    ("US", "2015550123"),
    ("MX", "5512345678"),
    ("BR", "11961234567"),
    ("DE", "15123456789"),
    ("GB", "7400123456"),
    ("AE", "501234567"),
    ("NG", "8021234567"),
    ("IN", "9123456789"),
    ("SA", "512345678"),
    ("FR", "612345678"),
];

fn actor() -> ActorId {
    ActorId::from(&[0xd3u8; 16][..])
}

/// Seeds the demo team (and a small second team) once; does nothing when any team exists.
pub fn seed<S: Store>(store: &S) -> Result<(), StoreError> {
    if store.team_count()? > 0 {
        return Ok(());
    }
    tracing::info!("seeding the demo team");
    store.create_team(TEAM_ID, "Demo Trading Co. 演示外贸团队")?;
    let hash = auth::hash_password(PASSWORD);
    for (id, email, name, roles) in MEMBERS {
        store.create_user(id, TEAM_ID, email, name, roles, &hash)?;
    }
    store.create_team(TEAM2_ID, TEAM2_NAME)?;
    let (id, email, name, roles) = TEAM2_MANAGER;
    store.create_user(id, TEAM2_ID, email, name, roles, &hash)?;
    store.set_roles("u-assistant", TEAM2_ID, "assistant")?;
    let now = now_ms();
    let hour = 3_600_000i64;
    let mut commits = Vec::new();
    let s = LiveSession {
        kind: "live_session".into(),
        team: TEAM2_ID.into(),
        title: "#1 Tools & hardware 五金工具".into(),
        platform: "tiktok_live".into(),
        host: "Lin Xiaoyu".into(),
        starts_at: now - hour,
        ends_at: now + 2 * hour,
        owner: String::new(),
        created_by: id.into(),
        staff: vec!["u-assistant".into()],
    };
    let mut doc = AutoCommit::new().with_actor(actor());
    autosurgeon::reconcile(&mut doc, &s).expect("plain struct");
    commits.push(commit(TEAM2_SESSION, doc));
    let platforms = ["tiktok_live", "alibaba_live", "facebook", "youtube"];
    for i in 0..8i64 {
        // Past sessions every other day, one in progress now, one tomorrow.
        let starts = match i {
            6 => now - hour / 2,
            7 => now + 24 * hour,
            _ => now - (14 - 2 * i) * 24 * hour,
        };
        let platform = platforms[i as usize % platforms.len()];
        let s = LiveSession {
            kind: "live_session".into(),
            team: TEAM_ID.into(),
            title: format!(
                "#{} {}",
                i + 1,
                [
                    "Spring lights",
                    "Home & kitchen",
                    "Phone accessories",
                    "Fitness week"
                ][i as usize % 4]
            ),
            platform: platform.into(),
            host: ["Lin Xiaoyu", "Emily Chen"][i as usize % 2].into(),
            starts_at: starts,
            ends_at: starts + 3 * hour,
            owner: String::new(),
            created_by: "u-manager".into(),
            // The host works the stream with the assistant.
            staff: if i % 2 == 0 {
                vec!["u-assistant".into()]
            } else {
                vec!["u-rep2".into(), "u-assistant".into()]
            },
        };
        let id = format!("00000000-0000-4000-8000-{:012}", i + 1);
        let mut doc = AutoCommit::new().with_actor(actor());
        autosurgeon::reconcile(&mut doc, &s).expect("plain struct");
        commits.push(commit(&id, doc));
    }
    commits.push(rules_commit());
    store.write(|_| (commits, ()), None, now)?;
    add_leads(store, 0, 300)
}

/// The demo team's rules: European buyers to Emily, everyone else round-robin over the three reps, the sales lead
/// as fallback; overdue leads move on to the next rep.
fn rules_commit() -> DocCommit {
    use liveline_domain::assign::{AssignmentRules, Group, Member, Rule, ROUND_ROBIN};
    let mut r = AssignmentRules::new(TEAM_ID, "u-manager");
    r.groups = vec![Group {
        id: "g-sales".into(),
        name: "销售组 Sales".into(),
        members: ["u-rep1", "u-rep2", "u-rep3"]
            .map(|u| Member {
                user: u.into(),
                weight: 1,
            })
            .to_vec(),
    }];
    r.rules = vec![
        Rule {
            id: "r-europe".into(),
            name: "欧洲 Europe → Emily".into(),
            enabled: true,
            countries: ["DE", "FR", "GB", "IT", "ES", "NL"]
                .map(String::from)
                .to_vec(),
            target_user: "u-rep2".into(),
            strategy: ROUND_ROBIN.into(),
            sla_minutes: 30,
            ..Default::default()
        },
        Rule {
            id: "r-all".into(),
            name: "其他 Everyone else".into(),
            enabled: true,
            target_group: "g-sales".into(),
            strategy: ROUND_ROBIN.into(),
            sla_minutes: 30,
            ..Default::default()
        },
    ];
    r.fallback_owner = "u-lead".into();
    r.reassign_when_overdue = true;
    let mut doc = AutoCommit::new().with_actor(actor());
    r.save_into(&mut doc).expect("plain struct");
    commit(&liveline_domain::assign::rules_doc_id(TEAM_ID), doc)
}

/// Adds `count` generated leads (numbered from `first`) to the demo team, in batches; for the demo and benchmarks.
pub fn add_leads<S: Store>(store: &S, first: u32, count: u32) -> Result<(), StoreError> {
    let now = now_ms();
    let hour = 3_600_000i64;
    let mut rng = StdRng::seed_from_u64(first as u64 + 11);
    let platforms = ["tiktok_live", "alibaba_live", "facebook", "youtube"];
    let sessions: Vec<(String, i64, &str)> = (0..7i64)
        .map(|i| {
            let starts = if i == 6 {
                now - hour / 2
            } else {
                now - (14 - 2 * i) * 24 * hour
            };
            (
                format!("00000000-0000-4000-8000-{:012}", i + 1),
                starts,
                platforms[i as usize % platforms.len()],
            )
        })
        .collect();
    let reps = ["u-rep1", "u-rep2", "u-rep3"];
    let mut commits = Vec::new();
    for n in first..first + count {
        let (sid, starts_at, platform) = &sessions[rng.gen_range(0..sessions.len())];
        let (country, national) = PHONES[rng.gen_range(0..PHONES.len())];
        let mut national = national.to_string();
        national.pop();
        national.push(char::from(b'0' + rng.gen_range(0..10)));
        let buyer = BUYERS[rng.gen_range(0..BUYERS.len())];
        let status = [
            "new",
            "new",
            "contacted",
            "contacted",
            "qualified",
            "quoted",
            "won",
            "lost",
        ][rng.gen_range(0..8)];
        let fields = LeadFields {
            buyer_name: buyer.into(),
            company: COMPANIES[rng.gen_range(0..COMPANIES.len())].into(),
            country: country.into(),
            phone: normalize_phone(&national, Some(country)).unwrap_or_default(),
            email: format!(
                "{}{}@example.com",
                buyer.split(' ').next().unwrap_or("buyer").to_lowercase(),
                n
            ),
            channel: platform.to_string(),
            live_session: sid.clone(),
            product_interest: PRODUCTS[rng.gen_range(0..PRODUCTS.len())].into(),
            quantity: Some(rng.gen_range(1..50) * 10),
            status: status.into(),
            owner: if status == "new" && rng.gen_bool(0.5) {
                String::new()
            } else {
                reps[rng.gen_range(0..3)].into()
            },
            ..Default::default()
        };
        let at = starts_at + rng.gen_range(0..3 * hour).min((now - starts_at).max(1));
        let lead = Lead::create(fields, TEAM_ID, "u-assistant", at);
        let mut doc = AutoCommit::new().with_actor(actor());
        lead.save_into(&mut doc).expect("plain struct");
        let id = format!("00000000-0000-4000-9000-{:012}", n + 1);
        commits.push(commit(&id, doc));
        if commits.len() == 2000 {
            store.write(|_| (std::mem::take(&mut commits), ()), None, now)?;
        }
    }
    store.write(|_| (commits, ()), None, now)?;
    Ok(())
}

/// A whole document as a server-side write (no author, so no audit row): for seeding, benchmarks and tests.
pub fn commit(id: &str, mut doc: AutoCommit) -> DocCommit {
    doc.commit();
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect();
    DocCommit::of(id, &mut doc, changes, None).expect("a seeded record has its placement fields")
}
