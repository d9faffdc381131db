//! Lead assignment: the team's rules as a document, their validation, and the pure decision of who gets a lead.
//!
//! The server runs [`decide`] the moment a lead reaches it, with the team's current load passed in; the app runs
//! the same function for a manager's dry run. Time is passed in; time zones come from the IANA database.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{hydrate, reconcile, Hydrate, Reconcile};
use liveline_types::{
    codes, AppError, AssignDecision, AssignRule, GroupMember, LeadInput, RepGroup, RepSchedule,
    RulesConfig, CONDITION_FIELDS, CONDITION_OPS,
};

use crate::doc::DocError;

pub const ROUND_ROBIN: &str = "round_robin";
pub const LEAST_LOADED: &str = "least_loaded";
pub const WEIGHTED: &str = "weighted";
pub const STRATEGIES: [&str; 3] = [ROUND_ROBIN, LEAST_LOADED, WEIGHTED];

/// Minutes to first contact when neither the rule nor the team says otherwise.
pub const DEFAULT_SLA_MINUTES: i64 = 30;
/// The longest deadline a rule may give: a week.
pub const MAX_SLA_MINUTES: i64 = 7 * 24 * 60;

/// The id of a team's assignment-rules document: the same on every device and the server, so two managers who
/// create the rules offline edit one document (their edits merge) instead of two.
pub fn rules_doc_id(team: &str) -> String {
    crate::doc::named_doc_id("liveline:assignment_rules:", team)
}

/// `AssignDecision::rule` for a lead given to the team's fallback owner, and for a duplicate given to the owner
/// of the earlier lead.
pub const FALLBACK: &str = "fallback";
pub const DUPLICATE: &str = "duplicate";

#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub countries: Vec<String>,
    pub channels: Vec<String>,
    pub live_sessions: Vec<String>,
    pub product_keywords: Vec<String>,
    #[autosurgeon(missing = "Default::default")]
    pub languages: Vec<String>,
    #[autosurgeon(missing = "Default::default")]
    pub conditions: Vec<Condition>,
    pub target_user: String,
    pub target_group: String,
    pub strategy: String,
    pub sla_minutes: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Condition {
    pub field: String,
    pub op: String,
    pub value: String,
}

/// A whole number as typed, thousands separators and spaces allowed ("1,000").
fn whole_number(s: &str) -> Option<i64> {
    s.trim().replace([',', ' '], "").parse().ok()
}

impl Condition {
    /// Whether the lead's field satisfies the condition. Numbers compare as numbers; text without case.
    pub fn holds(&self, fields: &BTreeMap<String, String>) -> bool {
        let v = fields.get(&self.field).map(|s| s.trim()).unwrap_or("");
        let want = self.value.trim();
        let num = whole_number;
        match self.op.as_str() {
            "eq" => v.to_lowercase() == want.to_lowercase(),
            "contains" => v.to_lowercase().contains(&want.to_lowercase()),
            "gte" => matches!((num(v), num(want)), (Some(a), Some(b)) if a >= b),
            "lte" => matches!((num(v), num(want)), (Some(a), Some(b)) if a <= b),
            "empty" => v.is_empty(),
            "not_empty" => !v.is_empty(),
            _ => false,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Member {
    pub user: String,
    pub weight: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub members: Vec<Member>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Schedule {
    pub user: String,
    pub time_zone: String,
    pub work_start: i64,
    pub work_end: i64,
    pub work_days: Vec<i64>,
    pub away_from: i64,
    pub away_until: i64,
}

/// The assignment-rules document of a team (one per team; managers edit it, the server reads it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct AssignmentRules {
    pub kind: String,
    pub team: String,
    #[autosurgeon(missing = "Default::default")]
    pub created_by: String,
    pub rules: Vec<Rule>,
    pub groups: Vec<Group>,
    pub schedules: Vec<Schedule>,
    pub fallback_owner: String,
    pub default_sla_minutes: i64,
    pub reassign_when_overdue: bool,
    pub updated_at: i64,
}

impl AssignmentRules {
    pub fn new(team: &str, created_by: &str) -> Self {
        AssignmentRules {
            kind: "assignment_rules".into(),
            team: team.into(),
            created_by: created_by.into(),
            default_sla_minutes: DEFAULT_SLA_MINUTES,
            ..Default::default()
        }
    }

    pub fn load(doc: &AutoCommit) -> Result<Self, DocError> {
        hydrate(doc).map_err(|e| DocError::Shape(e.to_string()))
    }

    pub fn save_into(&self, doc: &mut AutoCommit) -> Result<(), DocError> {
        reconcile(doc, self).map_err(|e| DocError::Shape(e.to_string()))
    }

    /// Minutes to first contact under a rule that asks for `rule_minutes` (0: the team's default, else 30). The
    /// document is the server's input too: a deadline outside the editor's range is kept within it.
    pub fn sla(&self, rule_minutes: i64) -> i64 {
        let m = if rule_minutes > 0 {
            rule_minutes
        } else if self.default_sla_minutes > 0 {
            self.default_sla_minutes
        } else {
            DEFAULT_SLA_MINUTES
        };
        m.clamp(1, MAX_SLA_MINUTES)
    }

    pub fn config(&self) -> RulesConfig {
        RulesConfig {
            rules: self
                .rules
                .iter()
                .map(|r| AssignRule {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    enabled: r.enabled,
                    countries: r.countries.clone(),
                    channels: r.channels.clone(),
                    live_sessions: r.live_sessions.clone(),
                    product_keywords: r.product_keywords.clone(),
                    languages: r.languages.clone(),
                    conditions: r
                        .conditions
                        .iter()
                        .map(|c| liveline_types::FieldCondition {
                            field: c.field.clone(),
                            op: c.op.clone(),
                            value: c.value.clone(),
                        })
                        .collect(),
                    target_user: r.target_user.clone(),
                    target_group: r.target_group.clone(),
                    strategy: r.strategy.clone(),
                    sla_minutes: r.sla_minutes,
                })
                .collect(),
            groups: self
                .groups
                .iter()
                .map(|g| RepGroup {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    members: g
                        .members
                        .iter()
                        .map(|m| GroupMember {
                            user: m.user.clone(),
                            weight: m.weight,
                        })
                        .collect(),
                })
                .collect(),
            schedules: self
                .schedules
                .iter()
                .map(|s| RepSchedule {
                    user: s.user.clone(),
                    time_zone: s.time_zone.clone(),
                    work_start: s.work_start,
                    work_end: s.work_end,
                    work_days: s.work_days.clone(),
                    away_from: s.away_from,
                    away_until: s.away_until,
                })
                .collect(),
            fallback_owner: self.fallback_owner.clone(),
            default_sla_minutes: self.default_sla_minutes,
            reassign_when_overdue: self.reassign_when_overdue,
        }
    }

    /// Writes an edited configuration over this one (the document keeps its kind, team and author).
    pub fn set_config(&mut self, c: &RulesConfig, now: i64) {
        self.rules = c
            .rules
            .iter()
            .map(|r| Rule {
                id: r.id.clone(),
                name: r.name.trim().to_string(),
                enabled: r.enabled,
                countries: clean(&r.countries, true),
                channels: clean(&r.channels, false),
                live_sessions: clean(&r.live_sessions, false),
                product_keywords: clean(&r.product_keywords, false),
                languages: clean(&r.languages, false),
                conditions: r
                    .conditions
                    .iter()
                    .map(|c| Condition {
                        field: c.field.trim().to_string(),
                        op: c.op.trim().to_string(),
                        value: c.value.trim().to_string(),
                    })
                    .collect(),
                target_user: r.target_user.trim().to_string(),
                target_group: r.target_group.trim().to_string(),
                strategy: r.strategy.trim().to_string(),
                sla_minutes: r.sla_minutes,
            })
            .collect();
        self.groups = c
            .groups
            .iter()
            .map(|g| Group {
                id: g.id.clone(),
                name: g.name.trim().to_string(),
                members: g
                    .members
                    .iter()
                    .map(|m| Member {
                        user: m.user.clone(),
                        weight: m.weight,
                    })
                    .collect(),
            })
            .collect();
        self.schedules = c
            .schedules
            .iter()
            .map(|s| Schedule {
                user: s.user.clone(),
                time_zone: s.time_zone.trim().to_string(),
                work_start: s.work_start,
                work_end: s.work_end,
                work_days: s.work_days.clone(),
                away_from: s.away_from,
                away_until: s.away_until,
            })
            .collect();
        self.fallback_owner = c.fallback_owner.clone();
        self.default_sla_minutes = c.default_sla_minutes;
        self.reassign_when_overdue = c.reassign_when_overdue;
        self.updated_at = now;
    }
}

fn clean(list: &[String], upper: bool) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            if upper {
                s.to_ascii_uppercase()
            } else {
                s.to_string()
            }
        })
        .collect();
    out.dedup();
    out
}

/// Every fault in a configuration, each naming the rule, group or person it is about. `members` are the team's
/// user ids. An empty answer means the manager may publish it.
pub fn validate_rules(c: &RulesConfig, members: &[String]) -> Vec<AppError> {
    let mut out = Vec::new();
    let known = |u: &str| members.iter().any(|m| m == u);
    for r in &c.rules {
        let name = if r.name.trim().is_empty() {
            r.id.clone()
        } else {
            r.name.trim().to_string()
        };
        let e = |code: &str| AppError::new(code).with("rule", name.clone());
        match (r.target_user.trim(), r.target_group.trim()) {
            ("", "") => out.push(e(codes::RULE_NO_TARGET)),
            (u, "") if !known(u) => out.push(e(codes::RULE_USER_UNKNOWN).with("user", u)),
            ("", g) if !c.groups.iter().any(|x| x.id == g) => {
                out.push(e(codes::RULE_GROUP_UNKNOWN).with("group", g))
            }
            (u, g) if !u.is_empty() && !g.is_empty() => out.push(e(codes::RULE_NO_TARGET)),
            _ => {}
        }
        if !STRATEGIES.contains(&r.strategy.trim()) {
            out.push(e(codes::RULE_STRATEGY_UNKNOWN).with("strategy", r.strategy.trim()));
        }
        if !(0..=MAX_SLA_MINUTES).contains(&r.sla_minutes) {
            out.push(e(codes::RULE_SLA_INVALID));
        }
        for c in &r.conditions {
            let numeric = matches!(c.op.as_str(), "gte" | "lte");
            let ok = CONDITION_FIELDS.contains(&c.field.as_str())
                && CONDITION_OPS.contains(&c.op.as_str())
                && (!numeric || whole_number(&c.value).is_some());
            if !ok {
                out.push(e(codes::RULE_CONDITION_INVALID).with("field", c.field.clone()));
            }
        }
    }
    for g in &c.groups {
        let e = |code: &str| AppError::new(code).with("group", g.name.clone());
        if g.members.is_empty() {
            out.push(e(codes::RULE_GROUP_EMPTY));
        }
        for m in &g.members {
            if !known(&m.user) {
                out.push(e(codes::RULE_USER_UNKNOWN).with("user", m.user.clone()));
            }
            if m.weight < 1 || m.weight > 100 {
                out.push(e(codes::RULE_WEIGHT_INVALID).with("user", m.user.clone()));
            }
        }
    }
    for s in &c.schedules {
        let e = |code: &str| AppError::new(code).with("user", s.user.clone());
        if !known(&s.user) {
            out.push(e(codes::RULE_USER_UNKNOWN));
        }
        if jiff::tz::TimeZone::get(s.time_zone.trim()).is_err() {
            out.push(e(codes::RULE_TIME_ZONE_UNKNOWN).with("time_zone", s.time_zone.clone()));
        }
        let minute = 0..=24 * 60;
        if !minute.contains(&s.work_start)
            || !minute.contains(&s.work_end)
            || s.work_days.iter().any(|d| !(1..=7).contains(d))
            || (s.away_until != 0 && s.away_until < s.away_from)
        {
            out.push(e(codes::RULE_HOURS_INVALID));
        }
    }
    if !c.fallback_owner.is_empty() && !known(&c.fallback_owner) {
        out.push(
            AppError::new(codes::RULE_USER_UNKNOWN)
                .with("rule", FALLBACK)
                .with("user", c.fallback_owner.clone()),
        );
    }
    if !(0..=MAX_SLA_MINUTES).contains(&c.default_sla_minutes) {
        out.push(AppError::new(codes::RULE_SLA_INVALID).with("rule", FALLBACK));
    }
    out
}

/// What the rules look at in a lead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadFacts {
    pub country: String,
    pub channel: String,
    pub live_session: String,
    pub product_interest: String,
    pub language: String,
    /// The fields a [`Condition`] may name, as text.
    pub fields: BTreeMap<String, String>,
}

impl LeadFacts {
    /// The facts of a sample lead as a form holds it (for a dry run), normalised like a saved lead.
    pub fn of_input(i: &LeadInput) -> Self {
        let mut fields = BTreeMap::new();
        for (k, v) in [
            ("company", &i.company),
            ("quantity", &i.quantity),
            ("status", &i.status),
            ("email", &i.email),
            ("phone", &i.phone),
            ("contact_kind", &i.contact_kind),
            ("notes", &i.notes),
            ("product_interest", &i.product_interest),
        ] {
            fields.insert(k.to_string(), v.trim().to_string());
        }
        LeadFacts {
            country: i.country.trim().to_ascii_uppercase(),
            channel: i.channel.trim().to_string(),
            live_session: i.live_session.trim().to_string(),
            product_interest: i.product_interest.clone(),
            language: i.language.trim().to_ascii_lowercase(),
            fields,
        }
    }
}

/// The team's load as the server last committed it, plus what this batch already decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// Open leads per owner.
    pub open_leads: BTreeMap<String, u64>,
    /// Per `(rule, user)`: how many leads the rule gave them, and the sequence number of the last one.
    pub by_rule: BTreeMap<(String, String), (u64, u64)>,
    /// The highest assignment sequence number so far.
    pub seq: u64,
}

impl Load {
    /// Notes that `rule` gave a lead to `user`; returns the assignment's sequence number.
    pub fn record(&mut self, rule: &str, user: &str) -> u64 {
        self.seq += 1;
        *self.open_leads.entry(user.to_string()).or_default() += 1;
        let e = self
            .by_rule
            .entry((rule.to_string(), user.to_string()))
            .or_default();
        e.0 += 1;
        e.1 = self.seq;
        self.seq
    }

    fn rule_stats(&self, rule: &str, user: &str) -> (u64, u64) {
        self.by_rule
            .get(&(rule.to_string(), user.to_string()))
            .copied()
            .unwrap_or((0, 0))
    }
}

/// Whether `user` takes leads at `now`: not away, and within their working hours on a working day in their own
/// time zone. Someone with no schedule (or an unknown time zone) is always available.
pub fn available(schedules: &[Schedule], user: &str, now: i64) -> bool {
    let Some(s) = schedules.iter().find(|s| s.user == user) else {
        return true;
    };
    if s.away_until > 0 && s.away_from <= now && now < s.away_until {
        return false;
    }
    let Ok(tz) = jiff::tz::TimeZone::get(s.time_zone.trim()) else {
        return true;
    };
    let Ok(ts) = jiff::Timestamp::from_millisecond(now) else {
        return true;
    };
    let local = ts.to_zoned(tz);
    let day = local.weekday().to_monday_one_offset() as i64;
    if !s.work_days.is_empty() && !s.work_days.contains(&day) {
        return false;
    }
    let minute = local.hour() as i64 * 60 + local.minute() as i64;
    match s.work_start.cmp(&s.work_end) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => s.work_start <= minute && minute < s.work_end,
        // An overnight shift, for example 22:00 to 06:00.
        std::cmp::Ordering::Greater => minute >= s.work_start || minute < s.work_end,
    }
}

fn matches(r: &Rule, lead: &LeadFacts) -> bool {
    let any_or = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
    let product = lead.product_interest.to_lowercase();
    r.enabled
        && any_or(&r.countries, &lead.country)
        && any_or(&r.channels, &lead.channel)
        && any_or(&r.live_sessions, &lead.live_session)
        && any_or(&r.languages, &lead.language)
        && r.conditions.iter().all(|c| c.holds(&lead.fields))
        && (r.product_keywords.is_empty()
            || r.product_keywords
                .iter()
                .any(|k| product.contains(&k.to_lowercase())))
}

/// Who the rules give a lead to at `now`. `members` are the team's user ids: a rule naming someone who left or a
/// group that is gone is skipped (and named in `skipped`), never fatal. `exclude` keeps a user out (the owner of
/// an overdue lead being reassigned).
pub fn decide(
    rules: &AssignmentRules,
    lead: &LeadFacts,
    members: &[String],
    load: &Load,
    now: i64,
    exclude: Option<&str>,
) -> AssignDecision {
    let member = |u: &str| members.iter().any(|m| m == u);
    let ok = |u: &str| member(u) && Some(u) != exclude && available(&rules.schedules, u, now);
    let sla = |r: i64| rules.sla(r);
    let mut skipped = Vec::new();
    for r in rules.rules.iter().filter(|r| matches(r, lead)) {
        let candidates: Vec<(&str, i64)> = if !r.target_user.is_empty() {
            vec![(r.target_user.as_str(), 1)]
        } else {
            match rules.groups.iter().find(|g| g.id == r.target_group) {
                Some(g) => g
                    .members
                    .iter()
                    .map(|m| (m.user.as_str(), m.weight.max(1)))
                    .collect(),
                None => Vec::new(),
            }
        };
        let pick = pick(&r.id, &r.strategy, &candidates, &ok, load);
        match pick {
            Some(owner) => {
                return AssignDecision {
                    owner: owner.to_string(),
                    rule: r.id.clone(),
                    rule_name: r.name.clone(),
                    sla_minutes: sla(r.sla_minutes),
                    reason: "assign.rule".into(),
                    skipped,
                    ..Default::default()
                }
            }
            None => skipped.push(if r.name.is_empty() {
                r.id.clone()
            } else {
                r.name.clone()
            }),
        }
    }
    if !rules.fallback_owner.is_empty()
        && member(&rules.fallback_owner)
        && Some(rules.fallback_owner.as_str()) != exclude
    {
        return AssignDecision {
            owner: rules.fallback_owner.clone(),
            rule: FALLBACK.into(),
            sla_minutes: sla(0),
            reason: "assign.fallback".into(),
            skipped,
            ..Default::default()
        };
    }
    AssignDecision {
        reason: "assign.nobody".into(),
        sla_minutes: sla(0),
        skipped,
        ..Default::default()
    }
}

/// The candidate a strategy picks among those `ok` says are available. Ties go to whoever waited longest for a
/// lead from this rule, then to the order in the group, so every replica and every run picks the same person.
fn pick<'a>(
    rule: &str,
    strategy: &str,
    candidates: &[(&'a str, i64)],
    ok: &dyn Fn(&str) -> bool,
    load: &Load,
) -> Option<&'a str> {
    let avail: Vec<(usize, &'a str, i64)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, (u, _))| ok(u))
        .map(|(i, (u, w))| (i, *u, *w))
        .collect();
    let last = |u: &str| load.rule_stats(rule, u).1;
    let best = match strategy {
        LEAST_LOADED => avail
            .iter()
            .min_by_key(|(i, u, _)| (load.open_leads.get(*u).copied().unwrap_or(0), last(u), *i)),
        WEIGHTED => avail.iter().min_by(|a, b| {
            // Fewest leads per unit of weight after this one: (count + 1) / weight, compared without division.
            let (ca, cb) = (
                load.rule_stats(rule, a.1).0 as i128 + 1,
                load.rule_stats(rule, b.1).0 as i128 + 1,
            );
            (ca * b.2 as i128)
                .cmp(&(cb * a.2 as i128))
                .then(last(a.1).cmp(&last(b.1)))
                .then(a.0.cmp(&b.0))
        }),
        _ => avail.iter().min_by_key(|(i, u, _)| (last(u), *i)),
    };
    best.map(|(_, u, _)| *u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const MON_0200_UTC: i64 = 1_764_554_400_000; // 2025-12-01 02:00 UTC: 10:00 in Shanghai, 21:00 Sunday in New York
    const MON_1500_UTC: i64 = 1_764_601_200_000; // 2025-12-01 15:00 UTC: 23:00 in Shanghai, 10:00 in New York

    fn members() -> Vec<String> {
        ["a", "b", "c", "boss"].map(String::from).to_vec()
    }

    fn group(id: &str, users: &[(&str, i64)]) -> Group {
        Group {
            id: id.into(),
            name: id.to_uppercase(),
            members: users
                .iter()
                .map(|(u, w)| Member {
                    user: u.to_string(),
                    weight: *w,
                })
                .collect(),
        }
    }

    fn rule(id: &str, target_group: &str, strategy: &str) -> Rule {
        Rule {
            id: id.into(),
            name: format!("Rule {id}"),
            enabled: true,
            target_group: target_group.into(),
            strategy: strategy.into(),
            ..Default::default()
        }
    }

    fn rules(rules: Vec<Rule>, groups: Vec<Group>) -> AssignmentRules {
        AssignmentRules {
            rules,
            groups,
            ..AssignmentRules::new("t", "boss")
        }
    }

    fn lead(country: &str) -> LeadFacts {
        LeadFacts {
            country: country.into(),
            channel: "tiktok_live".into(),
            product_interest: "LED Strip Lights".into(),
            ..Default::default()
        }
    }

    use liveline_types::LeadInput;

    /// Runs `n` leads through the rules, recording each decision as the server does; returns leads per owner.
    fn run(r: &AssignmentRules, n: usize, now: i64) -> (BTreeMap<String, u64>, Vec<String>) {
        let mut load = Load::default();
        let mut order = Vec::new();
        for _ in 0..n {
            let d = decide(r, &lead("US"), &members(), &load, now, None);
            load.record(&d.rule, &d.owner);
            order.push(d.owner);
        }
        let mut per = BTreeMap::new();
        for o in &order {
            *per.entry(o.clone()).or_default() += 1;
        }
        (per, order)
    }

    #[test]
    fn round_robin_is_fair_over_ten_thousand_leads_and_strictly_rotates() {
        let r = rules(
            vec![rule("r1", "g", ROUND_ROBIN)],
            vec![group("g", &[("a", 1), ("b", 1), ("c", 1)])],
        );
        let (per, order) = run(&r, 10_000, MON_0200_UTC);
        assert_eq!(per["a"], 3334);
        assert_eq!(per["b"], 3333);
        assert_eq!(per["c"], 3333);
        assert_eq!(&order[..6], ["a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn weighted_shares_follow_the_weights() {
        let r = rules(
            vec![rule("r1", "g", WEIGHTED)],
            vec![group("g", &[("a", 1), ("b", 2), ("c", 3)])],
        );
        let (per, _) = run(&r, 6_000, MON_0200_UTC);
        assert_eq!((per["a"], per["b"], per["c"]), (1000, 2000, 3000));
    }

    #[test]
    fn least_loaded_gives_to_whoever_has_fewest_open_leads() {
        let r = rules(
            vec![rule("r1", "g", LEAST_LOADED)],
            vec![group("g", &[("a", 1), ("b", 1), ("c", 1)])],
        );
        let mut load = Load::default();
        load.open_leads.insert("a".into(), 5);
        load.open_leads.insert("b".into(), 2);
        load.open_leads.insert("c".into(), 3);
        let mut got = Vec::new();
        for _ in 0..4 {
            let d = decide(&r, &lead("US"), &members(), &load, MON_0200_UTC, None);
            load.record(&d.rule, &d.owner);
            got.push(d.owner);
        }
        // b: 2→3 ties with c at 3; c has waited longer for this rule, so c; then b and c alternate up to a's 5.
        assert_eq!(got, ["b", "c", "b", "c"]);
    }

    #[test]
    fn working_hours_follow_each_reps_own_time_zone() {
        let mut r = rules(
            vec![rule("r1", "g", ROUND_ROBIN)],
            vec![group("g", &[("a", 1), ("b", 1)])],
        );
        let nine_to_six = |user: &str, tz: &str| Schedule {
            user: user.into(),
            time_zone: tz.into(),
            work_start: 9 * 60,
            work_end: 18 * 60,
            work_days: vec![1, 2, 3, 4, 5],
            ..Default::default()
        };
        r.schedules = vec![
            nine_to_six("a", "Asia/Shanghai"),
            nine_to_six("b", "America/New_York"),
        ];
        let at = |r: &AssignmentRules, now| {
            decide(r, &lead("US"), &members(), &Load::default(), now, None).owner
        };
        assert_eq!(
            at(&r, MON_0200_UTC),
            "a",
            "10:00 Monday in Shanghai, Sunday night in New York"
        );
        assert_eq!(
            at(&r, MON_1500_UTC),
            "b",
            "23:00 in Shanghai, 10:00 in New York"
        );
        // Nobody works at 05:00 UTC on a Sunday: the fallback owner takes it.
        r.fallback_owner = "boss".into();
        let sunday = MON_0200_UTC - 21 * 3_600_000;
        let d = decide(&r, &lead("US"), &members(), &Load::default(), sunday, None);
        assert_eq!((d.owner.as_str(), d.rule.as_str()), ("boss", FALLBACK));
        assert_eq!(d.skipped, ["Rule r1"]);
        // An absence wins over working hours.
        r.schedules[0].away_from = MON_0200_UTC - 1;
        r.schedules[0].away_until = MON_0200_UTC + 1;
        assert_eq!(at(&r, MON_0200_UTC), "boss");
    }

    #[rstest]
    #[case::country_matches("DE", "Sunrise lights", "de")]
    #[case::keyword_any_case("US", "yoga MATS", "yoga")]
    #[case::no_rule_matches("US", "Speakers", "rest")]
    fn the_first_rule_that_holds_takes_the_lead(
        #[case] country: &str,
        #[case] product: &str,
        #[case] owner_rule: &str,
    ) {
        let mut de = rule("de", "", ROUND_ROBIN);
        de.countries = vec!["DE".into(), "AT".into()];
        de.target_user = "a".into();
        let mut yoga = rule("yoga", "", ROUND_ROBIN);
        yoga.product_keywords = vec!["Yoga".into()];
        yoga.target_user = "b".into();
        yoga.sla_minutes = 10;
        let rest = Rule {
            target_user: "c".into(),
            ..rule("rest", "", ROUND_ROBIN)
        };
        let r = rules(vec![de, yoga, rest], vec![]);
        let facts = LeadFacts {
            country: country.into(),
            product_interest: product.into(),
            ..lead(country)
        };
        let d = decide(&r, &facts, &members(), &Load::default(), MON_0200_UTC, None);
        assert_eq!(d.rule, owner_rule);
        assert_eq!(d.sla_minutes, if owner_rule == "yoga" { 10 } else { 30 });
    }

    #[test]
    fn buyer_language_and_field_conditions_choose_the_rule() {
        let spanish_bulk = Rule {
            languages: vec!["es".into(), "pt".into()],
            conditions: vec![
                Condition {
                    field: "quantity".into(),
                    op: "gte".into(),
                    value: "1,000".into(),
                },
                Condition {
                    field: "company".into(),
                    op: "not_empty".into(),
                    value: String::new(),
                },
            ],
            target_user: "a".into(),
            ..rule("es", "", ROUND_ROBIN)
        };
        let rest = Rule {
            target_user: "c".into(),
            ..rule("rest", "", ROUND_ROBIN)
        };
        let r = rules(vec![spanish_bulk, rest], vec![]);
        let facts = |language: &str, quantity: &str, company: &str| {
            LeadFacts::of_input(&LeadInput {
                language: language.into(),
                quantity: quantity.into(),
                company: company.into(),
                country: "MX".into(),
                ..Default::default()
            })
        };
        let who =
            |f: LeadFacts| decide(&r, &f, &members(), &Load::default(), MON_0200_UTC, None).owner;
        assert_eq!(who(facts("es", "1200", "Casa Bonita")), "a");
        assert_eq!(
            who(facts("ES", "1,000", "Casa Bonita")),
            "a",
            "codes and numbers are normalised"
        );
        assert_eq!(
            who(facts("es", "999", "Casa Bonita")),
            "c",
            "below the quantity"
        );
        assert_eq!(who(facts("es", "5000", "")), "c", "no company");
        assert_eq!(
            who(facts("en", "5000", "Casa Bonita")),
            "c",
            "another language"
        );
        assert_eq!(
            who(facts("es", "a lot", "Casa Bonita")),
            "c",
            "not a number"
        );
        let mut bad = r.config();
        bad.rules[0].conditions[0].value = "many".into();
        bad.rules[0].conditions[1].field = "password".into();
        let codes: Vec<_> = validate_rules(&bad, &members())
            .into_iter()
            .map(|e| (e.code, e.args["field"].clone()))
            .collect();
        assert_eq!(
            codes,
            [
                (
                    codes::RULE_CONDITION_INVALID.to_string(),
                    "quantity".to_string()
                ),
                (
                    codes::RULE_CONDITION_INVALID.to_string(),
                    "password".to_string()
                )
            ]
        );
    }

    #[test]
    fn a_rule_naming_someone_who_left_is_skipped_not_fatal() {
        let gone = Rule {
            target_user: "ghost".into(),
            ..rule("r1", "", ROUND_ROBIN)
        };
        let no_group = rule("r2", "deleted", ROUND_ROBIN);
        let mut r = rules(
            vec![gone, no_group, rule("r3", "g", ROUND_ROBIN)],
            vec![group("g", &[("c", 1)])],
        );
        let d = decide(
            &r,
            &lead("US"),
            &members(),
            &Load::default(),
            MON_0200_UTC,
            None,
        );
        assert_eq!((d.owner.as_str(), d.rule.as_str()), ("c", "r3"));
        assert_eq!(d.skipped, ["Rule r1", "Rule r2"]);
        // The editor says exactly what is wrong before such rules are published.
        r.rules[2].strategy = "lottery".into();
        let errors: Vec<_> = validate_rules(&r.config(), &members())
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errors,
            [
                "rules.user_unknown rule=Rule r1 user=ghost",
                "rules.group_unknown group=deleted rule=Rule r2",
                "rules.strategy_unknown rule=Rule r3 strategy=lottery"
            ]
        );
    }

    #[test]
    fn exclusion_passes_an_overdue_lead_to_the_next_rep() {
        let r = rules(
            vec![rule("r1", "g", ROUND_ROBIN)],
            vec![group("g", &[("a", 1), ("b", 1)])],
        );
        let d = decide(
            &r,
            &lead("US"),
            &members(),
            &Load::default(),
            MON_0200_UTC,
            Some("a"),
        );
        assert_eq!(d.owner, "b");
    }

    #[test]
    fn schedules_are_checked_for_time_zones_and_hours() {
        let c = RulesConfig {
            schedules: vec![RepSchedule {
                user: "a".into(),
                time_zone: "Mars/Olympus".into(),
                work_start: 9 * 60,
                work_end: 25 * 60,
                ..Default::default()
            }],
            fallback_owner: "nobody".into(),
            default_sla_minutes: 30,
            ..Default::default()
        };
        let codes: Vec<_> = validate_rules(&c, &members())
            .into_iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(
            codes,
            [
                codes::RULE_TIME_ZONE_UNKNOWN,
                codes::RULE_HOURS_INVALID,
                codes::RULE_USER_UNKNOWN
            ]
        );
    }

    #[test]
    fn each_team_has_one_rules_document_id() {
        let a = rules_doc_id("demo");
        assert_eq!(a, rules_doc_id("demo"));
        assert_ne!(a, rules_doc_id("demo2"));
        assert!(crate::doc::uuid_bytes::parse(&a).is_some(), "{a}");
        assert_eq!(&a[14..15], "8", "a version-8 UUID: {a}");
    }

    #[test]
    fn the_document_round_trips_its_configuration() {
        let mut r = rules(
            vec![rule("r1", "g", WEIGHTED)],
            vec![group("g", &[("a", 2)])],
        );
        r.fallback_owner = "boss".into();
        let mut doc = AutoCommit::new();
        r.save_into(&mut doc).unwrap();
        let back = AssignmentRules::load(&doc).unwrap();
        assert_eq!(back, r);
        let mut again = AssignmentRules::new("t", "boss");
        again.set_config(&back.config(), r.updated_at);
        assert_eq!(again.config(), r.config());
    }
}
