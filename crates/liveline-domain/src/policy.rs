//! Who may read and write which record: the access buckets a record is placed in, the buckets each role reads,
//! and the server's write check.
//!
//! The server alone runs these on what it holds; a client's claims are never trusted. A record is placed from its
//! own fields; a user's reading is the union of what each of their roles in each of their teams reads:
//!
//! | role                       | reads                                                       | writes                                   |
//! |----------------------------|-------------------------------------------------------------|------------------------------------------|
//! | assistant                  | leads they created or own, live sessions they work          | creates leads; edits the leads it reads  |
//! | sales rep                  | leads they created or own, the team's live sessions         | creates leads; edits the leads it reads  |
//! | sales lead, manager, admin | everything in the team                                      | leads and live sessions of the team      |
//! | finance, warehouse         | no leads (orders at their step arrive with the order flow)  | no leads, no live sessions               |
//!
//! Tasks are read by their assignee and their author (every role), and by the team-wide roles; any member creates them,
//! and whoever reads one may work it. The team's assignment rules are read and written by the team-wide roles.
//!
//! Giving a lead to someone else is for the team-wide roles, or for whoever owns it now (or, while it has no owner,
//! whoever reads it). `created_by` is set once, to the author.

use crate::doc::{DocKind, RecordMeta};
use liveline_types::codes;
use serde::{Deserialize, Serialize};

/// Roles a user may hold within a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Assistant,
    SalesRep,
    SalesLead,
    Finance,
    Warehouse,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Assistant,
        Role::SalesRep,
        Role::SalesLead,
        Role::Finance,
        Role::Warehouse,
        Role::Manager,
        Role::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Assistant => "assistant",
            Role::SalesRep => "sales_rep",
            Role::SalesLead => "sales_lead",
            Role::Finance => "finance",
            Role::Warehouse => "warehouse",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.code() == s.trim())
    }

    /// Parses a comma-separated role list as stored; unknown codes are an error naming the first one.
    pub fn parse_list(s: &str) -> Result<Vec<Role>, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let r = Role::from_code(part).ok_or_else(|| part.to_string())?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out.sort();
        Ok(out)
    }

    pub fn join(roles: &[Role]) -> String {
        roles.iter().map(|r| r.code()).collect::<Vec<_>>().join(",")
    }

    /// Reads every record of the team.
    pub fn team_wide(self) -> bool {
        matches!(self, Role::SalesLead | Role::Manager | Role::Admin)
    }

    fn works_leads(self) -> bool {
        matches!(
            self,
            Role::Assistant | Role::SalesRep | Role::SalesLead | Role::Manager | Role::Admin
        )
    }
}

/// An access scope, as a stable string: `team:<team>`, `owner:<team>:<user>`, `creator:<team>:<user>`,
/// `staff:<team>:<user>`, `kind:<team>:<kind>`, `assignee:<team>:<user>` and `author:<team>:<user>` (tasks).
pub type Bucket = String;

/// A user's roles in one team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub team: String,
    pub roles: Vec<Role>,
}

/// The authenticated author of a change or reader of a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub memberships: Vec<Membership>,
}

impl Principal {
    /// A user with roles in one team.
    pub fn new(user_id: &str, team: &str, roles: &[Role]) -> Self {
        Principal {
            user_id: user_id.into(),
            memberships: vec![Membership {
                team: team.into(),
                roles: roles.to_vec(),
            }],
        }
    }

    pub fn roles_in(&self, team: &str) -> &[Role] {
        self.memberships
            .iter()
            .find(|m| m.team == team)
            .map(|m| m.roles.as_slice())
            .unwrap_or(&[])
    }

    fn any(&self, team: &str, f: impl Fn(Role) -> bool) -> bool {
        self.roles_in(team).iter().any(|r| f(*r))
    }

    /// The buckets this user's devices receive: the union over their teams and roles, sorted, without repeats.
    pub fn subscriptions(&self) -> Vec<Bucket> {
        let mut out = Vec::new();
        for m in &self.memberships {
            let first = out.len();
            let (t, u) = (&m.team, &self.user_id);
            // Every role reads the tasks assigned to it, and the tasks it wrote.
            out.push(format!("assignee:{t}:{u}"));
            out.push(format!("author:{t}:{u}"));
            // Every role reads the team's forms and flows: capture, orders and approvals are drawn from them.
            out.push(kind_bucket(t, DocKind::FormDef));
            out.push(kind_bucket(t, DocKind::FlowDef));
            // Every role reads the records whose approval waits for it (finance and warehouse see orders at their step).
            out.push(format!("approver:{t}:{u}"));
            for r in &m.roles {
                match r {
                    Role::SalesLead | Role::Manager | Role::Admin => out.push(team_bucket(t)),
                    Role::SalesRep => {
                        out.push(format!("owner:{t}:{u}"));
                        out.push(format!("creator:{t}:{u}"));
                        out.push(kind_bucket(t, DocKind::LiveSession));
                    }
                    Role::Assistant => {
                        out.push(format!("owner:{t}:{u}"));
                        out.push(format!("creator:{t}:{u}"));
                        out.push(format!("staff:{t}:{u}"));
                    }
                    Role::Finance | Role::Warehouse => {}
                }
            }
            // The parts of records hidden from some roles: where this user reads the record, for each role they
            // hold here (a part is placed once per role that reads it).
            let parts: Vec<Bucket> = out[first..]
                .iter()
                .filter(|b| b.starts_with("team:") || b.starts_with("approver:"))
                .flat_map(|b| m.roles.iter().map(move |r| part_bucket(b, *r)))
                .collect();
            out.extend(parts);
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether this user reads the record: one of its buckets is one of the user's.
    pub fn may_read(&self, meta: &RecordMeta) -> bool {
        let subs = self.subscriptions();
        buckets_for(meta).iter().any(|b| subs.contains(b))
    }
}

pub fn team_bucket(team: &str) -> Bucket {
    format!("team:{team}")
}

/// Where a record's part is placed for one role that reads it: a bucket of its record, narrowed to that role.
pub fn part_bucket(record_bucket: &str, role: Role) -> Bucket {
    format!("{record_bucket}|{}", role.code())
}

pub fn kind_bucket(team: &str, kind: DocKind) -> Bucket {
    format!("kind:{team}:{}", kind.code())
}

/// The buckets a record belongs to, computed from its own fields.
pub fn buckets_for(meta: &RecordMeta) -> Vec<Bucket> {
    let t = &meta.team;
    if meta.kind == DocKind::RecordPart {
        // The team-wide roles' bucket, and each person its record names (`approver:` is read by every role, so a
        // rep who owns the record is reached as well), each narrowed to the roles that read the part.
        let mut people = vec![team_bucket(t)];
        for s in meta.staff.iter().filter(|s| !s.is_empty()) {
            let b = format!("approver:{t}:{s}");
            if !people.contains(&b) {
                people.push(b);
            }
        }
        return people
            .iter()
            .flat_map(|b| meta.readers.iter().map(move |r| part_bucket(b, *r)))
            .collect();
    }
    let mut out = vec![team_bucket(t)];
    // A kind-wide bucket only where a role reads a whole kind (reps read the team's live sessions).
    if meta.kind == DocKind::LiveSession {
        out.push(kind_bucket(t, meta.kind));
    }
    // The team's rules and custom dashboards: read by the roles that read the whole team.
    if matches!(meta.kind, DocKind::AssignmentRules | DocKind::Dashboard) {
        return out;
    }
    if meta.kind.is_definition() {
        out.push(kind_bucket(t, meta.kind));
        return out;
    }
    if !meta.owner.is_empty() {
        let scope = if meta.kind == DocKind::Task {
            "assignee"
        } else {
            "owner"
        };
        out.push(format!("{scope}:{t}:{}", meta.owner));
    }
    if !meta.created_by.is_empty() && meta.created_by != meta.owner {
        // A task's author follows it in a scope of its own, which every role reads (leads stay out of it).
        let scope = if meta.kind == DocKind::Task {
            "author"
        } else {
            "creator"
        };
        out.push(format!("{scope}:{t}:{}", meta.created_by));
    }
    // The people named on the record: a session's staff, or whom a record's flow waits (and waited) for.
    let scope = match meta.kind {
        DocKind::LiveSession => Some("staff"),
        DocKind::Record => Some("approver"),
        _ => None,
    };
    if let Some(scope) = scope {
        for s in &meta.staff {
            let b = format!("{scope}:{t}:{s}");
            if !s.is_empty() && !out.contains(&b) {
                out.push(b);
            }
        }
    }
    out
}

/// Why a change was refused: the field it is about and a stable code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub path: String,
    pub code: &'static str,
}

fn refuse(path: &str, code: &'static str) -> Result<(), Refusal> {
    Err(Refusal {
        path: path.into(),
        code,
    })
}

/// Whether a role of `who` in `team` may create or edit records of `kind` at all.
fn may_write_kind(who: &Principal, team: &str, kind: DocKind) -> bool {
    match kind {
        DocKind::Lead => who.any(team, Role::works_leads),
        DocKind::LiveSession | DocKind::AssignmentRules | DocKind::Dashboard => {
            who.any(team, Role::team_wide)
        }
        DocKind::Task => !who.roles_in(team).is_empty(),
        DocKind::FormDef | DocKind::FlowDef => who.any(team, |r| r == Role::Admin),
        // Whoever reads a record may act on it (an approver at their step); who may create one is checked apart.
        DocKind::Record | DocKind::RecordPart => !who.roles_in(team).is_empty(),
    }
}

/// Judges a change by what the document was before (`None`: the change creates it) and what it would be after.
pub fn check_write(
    who: &Principal,
    before: Option<&RecordMeta>,
    after: &RecordMeta,
) -> Result<(), Refusal> {
    let Some(before) = before else {
        if who.roles_in(&after.team).is_empty() {
            return refuse("team", codes::FOREIGN_TEAM);
        }
        let may_create = match after.kind {
            // Orders and proposals are made by the people who work buyers, not by finance or the warehouse.
            DocKind::Record => who.any(&after.team, Role::works_leads),
            // A part is written by whoever reads it: one of its reading roles, somewhere its record reaches.
            DocKind::RecordPart => {
                who.any(&after.team, |r| after.readers.contains(&r)) && who.may_read(after)
            }
            kind => may_write_kind(who, &after.team, kind),
        };
        if !may_create {
            return refuse("kind", codes::ROLE_FORBIDDEN);
        }
        if after.created_by != who.user_id {
            return refuse("created_by", codes::CREATOR_FORBIDDEN);
        }
        return Ok(());
    };
    if who.roles_in(&before.team).is_empty() {
        return refuse("team", codes::FOREIGN_TEAM);
    }
    if !who.may_read(before) {
        return refuse("", codes::NOT_VISIBLE);
    }
    if !may_write_kind(who, &before.team, before.kind) {
        return refuse("kind", codes::ROLE_FORBIDDEN);
    }
    if after.kind != before.kind {
        return refuse("kind", codes::KIND_CHANGE_FORBIDDEN);
    }
    if after.team != before.team {
        return refuse("team", codes::TEAM_CHANGE_FORBIDDEN);
    }
    if after.created_by != before.created_by {
        return refuse("created_by", codes::CREATOR_FORBIDDEN);
    }
    if after.readers != before.readers {
        return refuse("readers", codes::READERS_CHANGE_FORBIDDEN);
    }
    if after.owner != before.owner
        && !who.any(&before.team, Role::team_wide)
        && !before.owner.is_empty()
        && before.owner != who.user_id
    {
        return refuse("owner", codes::OWNER_CHANGE_FORBIDDEN);
    }
    Ok(())
}

/// The people a record names, whom its hidden parts follow: its owner, its creator and whom its flow waits and
/// waited for. A part's `people` holds them (the server keeps the copy up to date; a device may only name some).
pub fn record_people(meta: &RecordMeta) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for u in [&meta.owner, &meta.created_by]
        .into_iter()
        .chain(&meta.staff)
    {
        if !u.is_empty() && !out.contains(u) {
            out.push(u.clone());
        }
    }
    out
}

/// Fields of a record that only the server writes: what assignment wrote on a lead, and the deadline, type and
/// escalation of a task the server opened (`created_by` empty). Devices may not set or change them.
pub fn server_fields(kind: DocKind, created_by: &str) -> &'static [&'static str] {
    match kind {
        DocKind::Lead => &[
            "assigned_rule",
            "assigned_rule_name",
            "assigned_at",
            "first_task",
            "duplicate_of",
        ],
        DocKind::Task if created_by.is_empty() => &[
            "task_type",
            "due_at",
            "escalated_at",
            "rule",
            "linked_kind",
            "linked_id",
        ],
        // A person's to-do stays a to-do.
        DocKind::Task => &["task_type"],
        DocKind::Record => &[
            "waiting_for",
            "involved",
            "due_at",
            "effects_done",
            "waiting_at",
            "waiting_since",
        ],
        _ => &[],
    }
}

/// The values of `keys` at the top of a document, to compare before and after a change.
pub fn top_values(
    doc: &automerge::AutoCommit,
    keys: &[&str],
) -> Vec<Option<automerge::ScalarValue>> {
    use automerge::ReadDoc;
    keys.iter()
        .map(|k| match doc.get(automerge::ROOT, *k) {
            Ok(Some((automerge::Value::Scalar(s), _))) => Some(s.into_owned()),
            _ => None,
        })
        .collect()
}

/// Whether a device-written record leaves the server's fields alone: unchanged on an edit (`before` the values
/// before the change), empty or zero on a new record. A device creates only to-dos (`task_type` `todo`).
pub fn check_server_fields(
    kind: DocKind,
    created_by: &str,
    before: Option<&[Option<automerge::ScalarValue>]>,
    after_doc: &automerge::AutoCommit,
) -> Result<(), Refusal> {
    use automerge::ScalarValue as S;
    // A field that is missing reads as empty: records stored before a field existed gain it as "" or 0 on their
    // next edit, which changes nothing.
    let norm = |v: Option<&Option<S>>| match v.cloned().flatten() {
        None | Some(S::Null) | Some(S::Int(0)) | Some(S::Uint(0)) => None,
        Some(S::Str(s)) if s.is_empty() => None,
        other => other,
    };
    let keys = server_fields(kind, created_by);
    let after = top_values(after_doc, keys);
    for (i, key) in keys.iter().enumerate() {
        let ok = match before {
            Some(b) => norm(b.get(i)) == norm(after.get(i)),
            // A new record: nothing the server writes is set (a to-do's type is checked below).
            None => norm(after.get(i)).is_none() || (kind == DocKind::Task && *key == "task_type"),
        };
        if !ok {
            return refuse(key, codes::SERVER_FIELD);
        }
    }
    if before.is_none() && kind == DocKind::Task {
        let t = top_values(after_doc, &["task_type"]);
        if !matches!(&t[0], Some(S::Str(s)) if s.as_str() == crate::task::TODO) {
            return refuse("task_type", codes::SERVER_FIELD);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn lead(team: &str, owner: &str, created_by: &str) -> RecordMeta {
        RecordMeta {
            kind: DocKind::Lead,
            team: team.into(),
            owner: owner.into(),
            created_by: created_by.into(),
            staff: vec![],
            readers: vec![],
        }
    }
    fn session(team: &str, staff: &[&str]) -> RecordMeta {
        RecordMeta {
            kind: DocKind::LiveSession,
            team: team.into(),
            owner: String::new(),
            created_by: "boss".into(),
            staff: staff.iter().map(|s| s.to_string()).collect(),
            readers: vec![],
        }
    }
    fn task(team: &str, assignee: &str, created_by: &str) -> RecordMeta {
        RecordMeta {
            kind: DocKind::Task,
            ..lead(team, assignee, created_by)
        }
    }
    fn rules(team: &str) -> RecordMeta {
        RecordMeta {
            kind: DocKind::AssignmentRules,
            ..lead(team, "", "boss")
        }
    }
    fn who(role: Role) -> Principal {
        Principal::new("me", "t1", &[role])
    }

    #[test]
    fn a_record_is_read_by_whom_its_flow_waits_for_and_made_by_those_who_work_buyers() {
        let order = |waiting: &[&str]| RecordMeta {
            kind: DocKind::Record,
            staff: waiting.iter().map(|s| s.to_string()).collect(),
            ..lead("t1", "rep", "rep")
        };
        let finance = Principal::new("fin", "t1", &[Role::Finance]);
        assert!(!finance.may_read(&order(&[])));
        assert!(finance.may_read(&order(&["fin"])));
        assert!(!finance.may_read(&order(&["wh"])));
        // At their step they may act on it; they may not make one.
        assert_eq!(
            check_write(&finance, Some(&order(&["fin"])), &order(&["fin"])),
            Ok(())
        );
        assert_eq!(
            check_write(&finance, Some(&order(&["wh"])), &order(&["wh"]))
                .unwrap_err()
                .code,
            codes::NOT_VISIBLE
        );
        let new = RecordMeta {
            created_by: "fin".into(),
            owner: "fin".into(),
            ..order(&[])
        };
        assert_eq!(
            check_write(&finance, None, &new).unwrap_err().code,
            codes::ROLE_FORBIDDEN
        );
        let rep = Principal::new("rep", "t1", &[Role::SalesRep]);
        let mine = RecordMeta {
            created_by: "rep".into(),
            ..order(&[])
        };
        assert_eq!(check_write(&rep, None, &mine), Ok(()));
        assert!(!Principal::new("rep2", "t1", &[Role::SalesRep]).may_read(&mine));
        assert!(Principal::new("boss", "t1", &[Role::Manager]).may_read(&mine));
    }

    #[test]
    fn a_records_hidden_part_reaches_only_its_reading_roles_where_the_record_reaches() {
        let part = |people: &[&str]| RecordMeta {
            kind: DocKind::RecordPart,
            staff: people.iter().map(|s| s.to_string()).collect(),
            readers: vec![Role::SalesLead, Role::Finance, Role::Manager],
            ..lead("t1", "", "lead")
        };
        let rep = Principal::new("rep", "t1", &[Role::SalesRep]);
        let finance = Principal::new("fin", "t1", &[Role::Finance]);
        let other_finance = Principal::new("fin2", "t1", &[Role::Finance]);
        let manager = Principal::new("boss", "t1", &[Role::Manager]);
        let elsewhere = Principal::new("boss2", "t2", &[Role::Manager]);
        let p = part(&["rep", "lead", "fin"]);
        // The rep owns the record, yet does not hold a role that reads the part.
        assert!(!rep.may_read(&p));
        // Finance reads it at their step only; a manager reads it across the team, in their own team only.
        assert!(finance.may_read(&p));
        assert!(!other_finance.may_read(&p));
        assert!(manager.may_read(&part(&[])));
        assert!(!elsewhere.may_read(&p));
        // A rep who also holds finance reads it where they are named.
        let both = Principal::new("rep", "t1", &[Role::SalesRep, Role::Finance]);
        assert!(both.may_read(&p));
        // Writing: only a reading role, where the part reaches; the readers never change.
        let new = |by: &str, people: &[&str]| RecordMeta {
            created_by: by.into(),
            ..part(people)
        };
        assert_eq!(check_write(&finance, None, &new("fin", &["fin"])), Ok(()));
        assert_eq!(
            check_write(&rep, None, &new("rep", &["rep"]))
                .unwrap_err()
                .code,
            codes::ROLE_FORBIDDEN
        );
        assert_eq!(
            check_write(&other_finance, None, &new("fin2", &["rep"]))
                .unwrap_err()
                .code,
            codes::ROLE_FORBIDDEN
        );
        let narrowed = RecordMeta {
            readers: vec![
                Role::SalesLead,
                Role::Finance,
                Role::Manager,
                Role::SalesRep,
            ],
            ..p.clone()
        };
        assert_eq!(
            check_write(&manager, Some(&p), &narrowed).unwrap_err().code,
            codes::READERS_CHANGE_FORBIDDEN
        );
        assert_eq!(
            record_people(&RecordMeta {
                kind: DocKind::Record,
                staff: vec!["fin".into(), "rep".into()],
                ..lead("t1", "rep", "lead")
            }),
            vec!["rep", "lead", "fin"]
        );
    }

    #[test]
    fn only_admins_publish_forms_and_flows_and_every_role_reads_them() {
        for kind in [DocKind::FormDef, DocKind::FlowDef] {
            let def = |by: &str| RecordMeta {
                kind,
                ..lead("t1", "", by)
            };
            for role in Role::ALL {
                let created = check_write(&who(role), None, &def("me"));
                let edited = check_write(&who(role), Some(&def("boss")), &def("boss"));
                if role == Role::Admin {
                    assert_eq!((created, edited), (Ok(()), Ok(())), "{role:?}");
                } else {
                    assert_eq!(
                        created.unwrap_err().code,
                        codes::ROLE_FORBIDDEN,
                        "{role:?} {kind:?}"
                    );
                    assert_eq!(
                        edited.unwrap_err().code,
                        codes::ROLE_FORBIDDEN,
                        "{role:?} {kind:?}"
                    );
                }
                assert!(who(role).may_read(&def("boss")), "{role:?} reads {kind:?}");
                assert!(
                    !Principal::new("me", "t2", &[role]).may_read(&def("boss")),
                    "{role:?} of another team"
                );
            }
        }
    }

    #[rstest]
    #[case::create_in_own_team(Role::SalesRep, None, lead("t1", "", "me"), None)]
    #[case::create_in_other_team(Role::Manager, None, lead("t2", "", "me"), Some(("team", codes::FOREIGN_TEAM)))]
    #[case::create_as_someone_else(Role::Assistant, None, lead("t1", "", "x"), Some(("created_by", codes::CREATOR_FORBIDDEN)))]
    #[case::finance_creates_lead(Role::Finance, None, lead("t1", "", "me"), Some(("kind", codes::ROLE_FORBIDDEN)))]
    #[case::rep_creates_session(Role::SalesRep, None, session("t1", &[]), Some(("kind", codes::ROLE_FORBIDDEN)))]
    #[case::manager_creates_session(Role::Manager, None, RecordMeta { created_by: "me".into(), ..session("t1", &[]) }, None)]
    #[case::edit_own(
        Role::SalesRep,
        Some(lead("t1", "me", "x")),
        lead("t1", "me", "x"),
        None
    )]
    #[case::edit_others(Role::SalesRep, Some(lead("t1", "x", "x")), lead("t1", "x", "x"), Some(("", codes::NOT_VISIBLE)))]
    #[case::lead_edits_team(
        Role::SalesLead,
        Some(lead("t1", "x", "x")),
        lead("t1", "y", "x"),
        None
    )]
    #[case::finance_edits(Role::Finance, Some(lead("t1", "x", "me")), lead("t1", "x", "me"), Some(("", codes::NOT_VISIBLE)))]
    #[case::hand_off_own(
        Role::SalesRep,
        Some(lead("t1", "me", "x")),
        lead("t1", "y", "x"),
        None
    )]
    #[case::take_from_owner(Role::Assistant, Some(lead("t1", "y", "me")), lead("t1", "me", "me"), Some(("owner", codes::OWNER_CHANGE_FORBIDDEN)))]
    #[case::assign_unowned(
        Role::Assistant,
        Some(lead("t1", "", "me")),
        lead("t1", "y", "me"),
        None
    )]
    #[case::rewrite_creator(Role::Manager, Some(lead("t1", "", "x")), lead("t1", "", "me"), Some(("created_by", codes::CREATOR_FORBIDDEN)))]
    #[case::move_to_other_team(Role::Manager, Some(lead("t1", "", "x")), lead("t2", "", "x"), Some(("team", codes::TEAM_CHANGE_FORBIDDEN)))]
    #[case::edit_other_teams_record(Role::Manager, Some(lead("t2", "", "x")), lead("t2", "", "x"), Some(("team", codes::FOREIGN_TEAM)))]
    #[case::change_kind(Role::Manager, Some(lead("t1", "", "x")), RecordMeta { kind: DocKind::LiveSession, ..lead("t1", "", "x") }, Some(("kind", codes::KIND_CHANGE_FORBIDDEN)))]
    #[case::finance_creates_task(Role::Finance, None, task("t1", "x", "me"), None)]
    #[case::finance_works_own_task(
        Role::Finance,
        Some(task("t1", "me", "x")),
        task("t1", "me", "x"),
        None
    )]
    #[case::rep_edits_others_task(Role::SalesRep, Some(task("t1", "x", "y")), task("t1", "x", "y"), Some(("", codes::NOT_VISIBLE)))]
    #[case::rep_gives_away_own_task(
        Role::SalesRep,
        Some(task("t1", "me", "y")),
        task("t1", "x", "y"),
        None
    )]
    #[case::rep_edits_rules(Role::SalesRep, Some(rules("t1")), rules("t1"), Some(("", codes::NOT_VISIBLE)))]
    #[case::lead_edits_rules(Role::SalesLead, Some(rules("t1")), rules("t1"), None)]
    #[case::assistant_creates_rules(Role::Assistant, None, RecordMeta { created_by: "me".into(), ..rules("t1") }, Some(("kind", codes::ROLE_FORBIDDEN)))]
    #[case::assistant_edits_worked_session(Role::Assistant, Some(session("t1", &["me"])), session("t1", &["me"]), Some(("kind", codes::ROLE_FORBIDDEN)))]
    fn write_rules(
        #[case] role: Role,
        #[case] before: Option<RecordMeta>,
        #[case] after: RecordMeta,
        #[case] refused: Option<(&str, &str)>,
    ) {
        let got = check_write(&who(role), before.as_ref(), &after)
            .err()
            .map(|r| (r.path, r.code));
        assert_eq!(got, refused.map(|(p, c)| (p.to_string(), c)));
    }

    #[rstest]
    #[case::assistant(Role::Assistant, [true, true, false, true, false, false])]
    #[case::rep(Role::SalesRep, [true, true, false, true, true, false])]
    #[case::lead(Role::SalesLead, [true, true, true, true, true, false])]
    #[case::manager(Role::Manager, [true, true, true, true, true, false])]
    #[case::admin(Role::Admin, [true, true, true, true, true, false])]
    #[case::finance(Role::Finance, [false; 6])]
    #[case::warehouse(Role::Warehouse, [false; 6])]
    fn read_rules(#[case] role: Role, #[case] expected: [bool; 6]) {
        let records = [
            lead("t1", "me", "x"),
            lead("t1", "", "me"),
            lead("t1", "x", "x"),
            session("t1", &["me"]),
            session("t1", &["x"]),
            lead("t2", "me", "me"),
        ];
        let got = records.map(|r| who(role).may_read(&r));
        assert_eq!(got, expected, "{role:?}");
    }

    #[test]
    fn tasks_reach_their_assignee_whatever_the_role_and_rules_only_the_team_wide() {
        for role in Role::ALL {
            assert!(who(role).may_read(&task("t1", "me", "x")), "{role:?}");
            assert_eq!(
                who(role).may_read(&rules("t1")),
                role.team_wide(),
                "{role:?}"
            );
        }
        assert!(!who(Role::SalesRep).may_read(&task("t1", "x", "y")));
        assert!(
            who(Role::SalesRep).may_read(&task("t1", "x", "me")),
            "the author follows it"
        );
        assert!(
            who(Role::Finance).may_read(&task("t1", "x", "me")),
            "whatever their role"
        );
        assert!(
            !who(Role::Finance).may_read(&lead("t1", "", "me")),
            "and no lead comes with it"
        );
        assert_eq!(
            buckets_for(&task("t1", "u2", "u1")),
            ["team:t1", "assignee:t1:u2", "author:t1:u1"]
        );
        assert_eq!(buckets_for(&rules("t1")), ["team:t1"]);
    }

    #[test]
    fn every_role_has_the_code_screens_list() {
        assert_eq!(Role::ALL.map(Role::code), liveline_types::ROLE_CODES);
        assert!(Role::ALL
            .iter()
            .all(|r| Role::from_code(r.code()) == Some(*r)));
    }

    #[test]
    fn roles_are_unioned_across_teams() {
        let p = Principal {
            user_id: "me".into(),
            memberships: vec![
                Membership {
                    team: "t1".into(),
                    roles: vec![Role::SalesRep],
                },
                Membership {
                    team: "t2".into(),
                    roles: vec![Role::Manager, Role::SalesRep],
                },
            ],
        };
        assert!(p.may_read(&lead("t2", "x", "x")));
        assert!(!p.may_read(&lead("t1", "x", "x")));
        assert!(p.subscriptions().contains(&"team:t2".to_string()));
        assert_eq!(
            Role::parse_list("manager, sales_rep,manager"),
            Ok(vec![Role::SalesRep, Role::Manager])
        );
        assert_eq!(Role::parse_list("boss"), Err("boss".into()));
    }

    #[test]
    fn a_record_is_placed_by_its_own_fields() {
        assert_eq!(
            buckets_for(&lead("t1", "u2", "u1")),
            ["team:t1", "owner:t1:u2", "creator:t1:u1"]
        );
        assert_eq!(
            buckets_for(&session("t1", &["a", "a", "b"])),
            [
                "team:t1",
                "kind:t1:live_session",
                "creator:t1:boss",
                "staff:t1:a",
                "staff:t1:b"
            ]
        );
    }
}
