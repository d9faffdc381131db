//! Every built-in dashboard computed on a small team whose answers were worked out by hand (in the comments).
//! Times are Shanghai local unless said; Shanghai is UTC+8 all year.

use liveline_metrics::*;
use liveline_types::metrics::{Dim, PeriodSpec, Stage};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// Milliseconds of a Shanghai wall-clock time.
fn sh(s: &str) -> i64 {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    dt.to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

#[allow(clippy::too_many_arguments)]
fn lead(
    id: &str,
    at: &str,
    session: &str,
    channel: &str,
    owner: &str,
    country: &str,
    status: &str,
    contact_after_min: i64,
) -> LeadFact {
    let captured_at = sh(at);
    let (host, platform) = match session {
        "s1" => ("host1", "tiktok"),
        "s2" => ("host2", "alibaba"),
        _ => ("", ""),
    };
    LeadFact {
        id: id.into(),
        team: "t1".into(),
        captured_at,
        session: session.into(),
        host: host.into(),
        platform: platform.into(),
        channel: channel.into(),
        owner: owner.into(),
        country: country.into(),
        product: if country == "DE" { "chair" } else { "lamp" }.into(),
        status: status.into(),
        first_contact_at: if contact_after_min > 0 {
            captured_at + contact_after_min * MIN
        } else {
            0
        },
    }
}

/// L1 is captured at 23:30 on 30 November in Shanghai, which is still 30 November in UTC; L2 at 00:10 on
/// 1 December in Shanghai, which is 30 November in UTC. L3 was first given to rep_a and moved to rep_b.
fn team() -> Vec<LeadFact> {
    vec![
        lead(
            "L1",
            "2026-11-30T23:30",
            "s1",
            "tiktok_live",
            "rep_a",
            "US",
            "won",
            10,
        ),
        lead(
            "L2",
            "2026-12-01T00:10",
            "s1",
            "tiktok_live",
            "rep_a",
            "US",
            "quoted",
            40,
        ),
        lead(
            "L3",
            "2026-12-01T09:00",
            "s2",
            "alibaba_live",
            "rep_b",
            "DE",
            "lost",
            5,
        ),
        lead(
            "L4",
            "2026-12-01T10:00",
            "s2",
            "alibaba_live",
            "",
            "DE",
            "new",
            0,
        ),
        lead(
            "L5",
            "2026-11-20T15:00",
            "s1",
            "tiktok_live",
            "rep_b",
            "US",
            "qualified",
            20,
        ),
        lead(
            "L6",
            "2026-10-31T23:59",
            "s1",
            "tiktok_live",
            "rep_a",
            "US",
            "contacted",
            0,
        ),
        lead(
            "L7",
            "2026-11-25T10:00",
            "s1",
            "tiktok_live",
            "rep_b",
            "US",
            "new",
            0,
        ),
    ]
}

/// Noon on Tuesday 1 December 2026 in Shanghai (04:00 UTC).
fn now() -> i64 {
    sh("2026-12-01T12:00")
}

fn period(preset: &str, tz: &str) -> (Period, jiff::tz::TimeZone) {
    resolve(
        &PeriodSpec {
            preset: preset.into(),
            tz: tz.into(),
            ..Default::default()
        },
        now(),
    )
    .unwrap()
}

fn custom(from: &str, to: &str) -> Result<(Period, jiff::tz::TimeZone), PeriodError> {
    resolve(
        &PeriodSpec {
            preset: "custom".into(),
            from: from.into(),
            to: to.into(),
            tz: "Asia/Shanghai".into(),
        },
        now(),
    )
}

fn counts(r: &liveline_types::metrics::FunnelRow) -> Vec<u64> {
    r.counts.clone()
}

fn keys(rows: &[liveline_types::metrics::FunnelRow]) -> Vec<(&str, u64)> {
    rows.iter()
        .map(|r| (r.key.as_str(), r.count(Stage::Captured)))
        .collect()
}

#[test]
fn today_in_shanghai_counts_the_lead_captured_after_midnight_and_not_the_one_before() {
    let leads = team();
    let (p, tz) = period("today", "Asia/Shanghai");
    let (rows, total) = funnel(&leads, Dim::All, &p, &[], &tz, FIRST_CONTACT_SLA_MS);
    // Today: L2, L3, L4. Assigned L2, L3; within 30 min only L3 (5 min; L2 took 40); contacted L2, L3;
    // qualified and quoted L2; won none; lost L3.
    //                        cap asg sla con qua quo won lost
    assert_eq!(counts(&total), [3, 2, 1, 2, 1, 1, 0, 1]);
    assert_eq!(rows.len(), 1);
    // Contact times 5 and 40 minutes: the p50 is the first (nearest rank 1 of 2), the p90 the second.
    assert_eq!(total.contact_p50_ms, Some(5 * MIN));
    assert_eq!(total.contact_p90_ms, Some(40 * MIN));
    assert_eq!(total.conversion(Stage::Quoted), Some(1.0 / 3.0));

    // In UTC, "today" (1 December from 00:00 UTC, 08:00 in Shanghai) holds only L3 and L4.
    let (p, tz) = period("today", "UTC");
    let (_, total) = funnel(&leads, Dim::All, &p, &[], &tz, FIRST_CONTACT_SLA_MS);
    assert_eq!(counts(&total), [2, 1, 1, 1, 0, 0, 0, 1]);
}

#[test]
fn days_fall_on_the_viewers_calendar() {
    let leads = team();
    let (p, tz) = period("week", "Asia/Shanghai");
    // The ISO week from Monday 30 November: L1 (Monday night), L2, L3, L4.
    let (rows, total) = funnel(&leads, Dim::Day, &p, &[], &tz, FIRST_CONTACT_SLA_MS);
    assert_eq!(total.count(Stage::Captured), 4);
    assert_eq!(keys(&rows), [("2026-11-30", 1), ("2026-12-01", 3)]);
    // The same leads seen from UTC: L1 and L2 were both captured on 30 November.
    let tz_utc = jiff::tz::TimeZone::UTC;
    let (rows, _) = funnel(&leads, Dim::Day, &p, &[], &tz_utc, FIRST_CONTACT_SLA_MS);
    assert_eq!(keys(&rows), [("2026-11-30", 2), ("2026-12-01", 2)]);
    // Weeks over all time: L6 (Saturday 31 October) in week 44, L5 (20 November) in 47, L7 (25 November) in 48,
    // the rest in 49.
    let (rows, _) = funnel(
        &leads,
        Dim::Week,
        &Period::ALL,
        &[],
        &tz,
        FIRST_CONTACT_SLA_MS,
    );
    assert_eq!(
        keys(&rows),
        [
            ("2026-W44", 1),
            ("2026-W47", 1),
            ("2026-W48", 1),
            ("2026-W49", 4)
        ]
    );
}

#[test]
fn a_reassigned_lead_counts_once_for_its_current_rep() {
    let leads = team();
    let (p, tz) = period("week", "Asia/Shanghai");
    let (rows, total) = funnel(&leads, Dim::Rep, &p, &[], &tz, FIRST_CONTACT_SLA_MS);
    // rep_a: L1 (won, 10 min) and L2 (quoted, 40 min). rep_b: L3 (lost, 5 min; it was rep_a's first).
    // Unassigned: L4. The rows add up to the total.
    assert_eq!(keys(&rows), [("rep_a", 2), ("", 1), ("rep_b", 1)]);
    assert_eq!(counts(&rows[0]), [2, 2, 1, 2, 2, 2, 1, 0]);
    assert_eq!(counts(&rows[1]), [1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(counts(&rows[2]), [1, 1, 1, 1, 0, 0, 0, 1]);
    assert_eq!(rows[0].conversion(Stage::Won), Some(0.5));
    assert_eq!(rows[2].contact_p50_ms, Some(5 * MIN));
    assert_eq!(rows[1].contact_p50_ms, None);
    let sum: u64 = rows.iter().map(|r| r.count(Stage::Captured)).sum();
    assert_eq!(sum, total.count(Stage::Captured));
}

#[test]
fn sessions_hosts_platforms_channels_and_teams() {
    let leads = team();
    let (p, tz) = period("month", "Asia/Shanghai");
    // December so far: L2 (s1), L3 and L4 (s2).
    let (rows, _) = funnel(&leads, Dim::Session, &p, &[], &tz, FIRST_CONTACT_SLA_MS);
    assert_eq!(keys(&rows), [("s2", 2), ("s1", 1)]);
    assert_eq!(counts(&rows[0]), [2, 1, 1, 1, 0, 0, 0, 1]);
    let (rows, _) = funnel(&leads, Dim::Host, &p, &[], &tz, FIRST_CONTACT_SLA_MS);
    assert_eq!(keys(&rows), [("host2", 2), ("host1", 1)]);
    let (rows, _) = funnel(
        &leads,
        Dim::Platform,
        &Period::ALL,
        &[],
        &tz,
        FIRST_CONTACT_SLA_MS,
    );
    assert_eq!(keys(&rows), [("tiktok", 5), ("alibaba", 2)]);
    let (rows, _) = funnel(&leads, Dim::Channel, &p, &[], &tz, FIRST_CONTACT_SLA_MS);
    assert_eq!(keys(&rows), [("alibaba_live", 2), ("tiktok_live", 1)]);
    let (rows, _) = funnel(
        &leads,
        Dim::Team,
        &Period::ALL,
        &[],
        &tz,
        FIRST_CONTACT_SLA_MS,
    );
    assert_eq!(keys(&rows), [("t1", 7)]);
    // All time by status; L6 is contacted by status though no contact was logged.
    let (rows, total) = funnel(
        &leads,
        Dim::Status,
        &Period::ALL,
        &[],
        &tz,
        FIRST_CONTACT_SLA_MS,
    );
    assert_eq!(
        keys(&rows),
        [
            ("new", 2),
            ("contacted", 1),
            ("lost", 1),
            ("qualified", 1),
            ("quoted", 1),
            ("won", 1)
        ]
    );
    // Contacted: L1, L2, L3, L5, L6. Qualified: L1, L2, L5. Quoted: L1, L2. Within 30 min: L1, L3, L5.
    assert_eq!(counts(&total), [7, 6, 3, 5, 3, 2, 1, 1]);
    // Contact times 5, 10, 20, 40 minutes: p50 is the 2nd (10), p90 the 4th (40).
    assert_eq!(total.contact_p50_ms, Some(10 * MIN));
    assert_eq!(total.contact_p90_ms, Some(40 * MIN));
}

#[test]
fn a_custom_range_takes_whole_days_and_an_empty_period_has_no_rates() {
    let leads = team();
    let (p, tz) = custom("2026-11-01", "2026-11-30").unwrap();
    // November in Shanghai: L5, L7 and L1 (23:30 on the 30th, the last day included); not L6 (31 October).
    let (_, total) = funnel(&leads, Dim::All, &p, &[], &tz, FIRST_CONTACT_SLA_MS);
    assert_eq!(total.count(Stage::Captured), 3);
    let (rows, total) = {
        let (p, tz) = custom("2025-01-01", "2025-01-31").unwrap();
        funnel(&leads, Dim::Rep, &p, &[], &tz, FIRST_CONTACT_SLA_MS)
    };
    assert!(rows.is_empty());
    assert_eq!(counts(&total), [0; 8]);
    assert_eq!(total.conversion(Stage::Won), None);
    assert_eq!(total.contact_p50_ms, None);
    assert_eq!(
        custom("2026-12-02", "2026-12-01").unwrap_err(),
        PeriodError::Range
    );
    assert!(matches!(
        custom("2026-13-01", "2026-12-01"),
        Err(PeriodError::Date(_))
    ));
    let bad_tz = PeriodSpec {
        preset: "today".into(),
        tz: "Mars/Olympus".into(),
        ..Default::default()
    };
    assert_eq!(
        resolve(&bad_tz, now()).unwrap_err(),
        PeriodError::TimeZone("Mars/Olympus".into())
    );
}

#[test]
fn filters_narrow_a_widget_and_drill_down_lists_the_leads_behind_a_number() {
    let leads = team();
    let (p, tz) = period("week", "Asia/Shanghai");
    let only_de = [Filter {
        dim: Dim::Country,
        key: "DE".into(),
    }];
    let (rows, _) = funnel(&leads, Dim::Rep, &p, &only_de, &tz, FIRST_CONTACT_SLA_MS);
    assert_eq!(keys(&rows), [("", 1), ("rep_b", 1)]);
    let won: Vec<&str> = drill(
        &leads,
        Dim::Rep,
        "rep_a",
        Stage::Won,
        &p,
        &[],
        &tz,
        FIRST_CONTACT_SLA_MS,
    )
    .iter()
    .map(|l| l.id.as_str())
    .collect();
    assert_eq!(won, ["L1"]);
    let contacted: Vec<&str> = drill(
        &leads,
        Dim::All,
        "",
        Stage::Contacted,
        &p,
        &[],
        &tz,
        FIRST_CONTACT_SLA_MS,
    )
    .iter()
    .map(|l| l.id.as_str())
    .collect();
    // Newest first.
    assert_eq!(contacted, ["L3", "L2", "L1"]);
    let day: Vec<&str> = drill(
        &leads,
        Dim::Day,
        "2026-11-30",
        Stage::Captured,
        &p,
        &[],
        &tz,
        FIRST_CONTACT_SLA_MS,
    )
    .iter()
    .map(|l| l.id.as_str())
    .collect();
    assert_eq!(day, ["L1"]);
}

#[test]
fn response_lists_the_oldest_uncontacted_first_and_overdue_tasks_per_rep() {
    let leads = team();
    let n = now();
    let task = |assignee: &str, due_at: i64, open: bool| TaskFact {
        id: format!("{assignee}-{due_at}"),
        assignee: assignee.into(),
        due_at,
        open,
    };
    let tasks = vec![
        task("rep_a", n - 2 * HOUR, true),
        task("rep_a", n - HOUR, true),
        task("rep_a", n - 5 * HOUR, false),
        task("rep_b", n + HOUR, true),
        task("rep_b", n - 3 * HOUR, true),
    ];
    let r = response(&leads, &tasks, n, 10);
    // Still new with no contact: L7 (25 November), then L4 (today). L6 is contacted by status.
    let ids: Vec<&str> = r.uncontacted.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, ["L7", "L4"]);
    assert_eq!(r.uncontacted_total, 2);
    let per_rep: Vec<(&str, u64, i64)> = r
        .overdue
        .iter()
        .map(|o| (o.rep.as_str(), o.overdue, o.oldest_due_at))
        .collect();
    assert_eq!(
        per_rep,
        [("rep_a", 2, n - 2 * HOUR), ("rep_b", 1, n - 3 * HOUR)]
    );
    let r = response(&leads, &tasks, n, 1);
    assert_eq!(r.uncontacted.len(), 1);
    assert_eq!(r.uncontacted_total, 2);
}

#[test]
fn approval_steps_average_p90_and_who_waits_now() {
    let visit = |node: &str, hours: Option<i64>| StepVisit {
        form: "order".into(),
        node: node.into(),
        entered_at: 0,
        left_at: hours.map(|h| h * HOUR),
    };
    let visits = vec![
        visit("finance", Some(2)),
        visit("finance", Some(4)),
        visit("finance", Some(10)),
        visit("finance", None),
        visit("warehouse", Some(1)),
    ];
    let rows = approval_steps(&visits, &Period::ALL);
    let got: Vec<(&str, u64, Option<i64>, Option<i64>, u64)> = rows
        .iter()
        .map(|r| (r.node.as_str(), r.passed, r.avg_ms, r.p90_ms, r.waiting))
        .collect();
    // Finance: (2 + 4 + 10) / 3 hours on average; the p90 is the 3rd of 3; one order waits there now.
    assert_eq!(
        got,
        [
            ("finance", 3, Some(16 * HOUR / 3), Some(10 * HOUR), 1),
            ("warehouse", 1, Some(HOUR), Some(HOUR), 0),
        ]
    );
    // A period that ends before 3 hours counts only the visits that ended in it.
    let early = Period {
        from: 0,
        to: 3 * HOUR,
    };
    let rows = approval_steps(&visits, &early);
    assert_eq!(rows[0].passed, 1);
    assert_eq!(rows[0].avg_ms, Some(2 * HOUR));
}
