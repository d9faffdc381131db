//! The local replica on its own: search and filters of the lead list, edits, and the damaged-file path.

use liveline_replica::replica::Credentials;
use liveline_replica::Replica;
use liveline_types::{LeadInput, LeadQuery, SaveOutcome};

fn replica(dir: &std::path::Path) -> Replica {
    let mut r = Replica::open(&dir.join("r.sqlite3")).unwrap();
    r.set_credentials(&Credentials {
        server: "http://127.0.0.1:1".into(),
        token: "t".into(),
        device_id: "0190d2a4-0000-7000-8000-000000000001".into(),
        user_id: "u1".into(),
        team_id: "t1".into(),
        email: "a@example.com".into(),
    })
    .unwrap();
    r
}

fn save(
    r: &mut Replica,
    name: &str,
    company: &str,
    phone: &str,
    channel: &str,
    status: &str,
) -> String {
    let input = LeadInput {
        buyer_name: name.into(),
        company: company.into(),
        country: "GB".into(),
        phone: phone.into(),
        channel: channel.into(),
        status: status.into(),
        ..Default::default()
    };
    match r.save_lead(None, &input, 1_700_000_000_000).unwrap() {
        SaveOutcome::Saved { lead } => lead.id,
        SaveOutcome::Invalid { errors } => panic!("{errors:?}"),
    }
}

fn names(r: &Replica, q: LeadQuery) -> Vec<String> {
    let mut v: Vec<String> = r
        .list_leads(&q)
        .unwrap()
        .leads
        .into_iter()
        .map(|l| l.buyer_name)
        .collect();
    v.sort();
    v
}

#[test]
fn search_and_filters_find_the_right_leads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = replica(tmp.path());
    save(
        &mut r,
        "Amelia Brown",
        "Thames Tools",
        "07400 123456",
        "tiktok_live",
        "new",
    );
    save(
        &mut r,
        "Oliver Green",
        "Brown & Sons",
        "07400 654321",
        "facebook",
        "contacted",
    );
    let id = save(
        &mut r,
        "Harry 50% Off",
        "Kent_Goods",
        "07911 123456",
        "facebook",
        "won",
    );

    let q = |search: &str| LeadQuery {
        search: search.into(),
        ..Default::default()
    };
    assert_eq!(
        names(&r, q("brown")),
        ["Amelia Brown", "Oliver Green"],
        "name or company"
    );
    assert_eq!(names(&r, q("654321")), ["Oliver Green"], "phone digits");
    assert_eq!(
        names(&r, q("07400 654 321")),
        ["Oliver Green"],
        "phone as typed with spaces"
    );
    assert_eq!(
        names(&r, q("50%")),
        ["Harry 50% Off"],
        "a % in the search is literal"
    );
    assert_eq!(
        names(&r, q("s_t")),
        Vec::<String>::new(),
        "an _ in the search is literal"
    );
    assert_eq!(names(&r, q("kent_")), ["Harry 50% Off"]);
    let channel = LeadQuery {
        channel: "facebook".into(),
        ..Default::default()
    };
    assert_eq!(names(&r, channel), ["Harry 50% Off", "Oliver Green"]);
    let both = LeadQuery {
        channel: "facebook".into(),
        status: "won".into(),
        ..Default::default()
    };
    assert_eq!(names(&r, both), ["Harry 50% Off"]);
    let page = r
        .list_leads(&LeadQuery {
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (page.leads.len(), page.total),
        (2, 3),
        "a page and the total"
    );

    // An edit keeps the id, updates the row and is queued for the server.
    let mut input = r.get_lead(&id).unwrap().to_input();
    input.status = "lost".into();
    let SaveOutcome::Saved { lead } = r.save_lead(Some(&id), &input, 1_700_000_100_000).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (lead.id.as_str(), lead.status.as_str(), lead.pending),
        (id.as_str(), "lost", true)
    );
    assert_eq!(r.pending_count().unwrap(), 4);

    // Invalid input saves nothing.
    let bad = LeadInput {
        buyer_name: "No Contact".into(),
        country: "GB".into(),
        channel: "other".into(),
        ..Default::default()
    };
    assert!(matches!(
        r.save_lead(None, &bad, 1).unwrap(),
        SaveOutcome::Invalid { .. }
    ));
    assert_eq!(r.lead_count().unwrap(), 3);
    assert_eq!(r.pending_count().unwrap(), 4);
}

#[test]
fn a_refusal_drops_only_that_documents_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = replica(tmp.path());
    let a = save(&mut r, "Ann", "", "+44 7400 123456", "tiktok_live", "new");
    let b = save(&mut r, "Bob", "", "+44 7400 123457", "tiktok_live", "new");
    let queued_a = r.pending_for(&a).unwrap();
    let queued_b = r.pending_for(&b).unwrap();
    assert_eq!((queued_a.len(), queued_b.len()), (1, 1));
    assert_ne!(queued_a, queued_b);
    let dropped = r
        .refuse(
            &a,
            &queued_a,
            "team",
            &liveline_types::AppError::new(liveline_types::codes::FOREIGN_TEAM),
            1,
        )
        .unwrap();
    assert_eq!(dropped, queued_a, "the refused change leaves the queue");
    assert!(r.pending_for(&a).unwrap().is_empty());
    assert_eq!(
        r.pending_for(&b).unwrap(),
        queued_b,
        "the other lead still goes up"
    );
    assert_eq!(r.refused_count().unwrap(), 1);
}
