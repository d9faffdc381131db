//! Who may read and write which record: access buckets computed from a document, and the server's write check.
//!
//! The server alone runs these on what it holds; a client's claims are never trusted. Buckets are coarse scopes:
//! every record is in its team's bucket, its owner's and its creator's. Which buckets a user subscribes to is the
//! server's decision from its membership tables ([`Principal::subscriptions`]).

use crate::doc::RecordMeta;
use liveline_types::codes;
use serde::{Deserialize, Serialize};

/// Roles a user may hold within a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
        [
            Role::Assistant,
            Role::SalesRep,
            Role::SalesLead,
            Role::Finance,
            Role::Warehouse,
            Role::Manager,
            Role::Admin,
        ]
        .into_iter()
        .find(|r| r.code() == s)
    }
}

/// An access scope, as a stable string: `team:<team>`, `owner:<team>:<user>`, `creator:<team>:<user>`.
pub type Bucket = String;

/// The authenticated author of a change or reader of a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub team_id: String,
    pub role: Role,
}

impl Principal {
    /// The buckets this user's devices receive. Every role reads its team's bucket for now; per-owner and
    /// per-role reading narrows this list without changing how documents are placed.
    pub fn subscriptions(&self) -> Vec<Bucket> {
        vec![team_bucket(&self.team_id)]
    }
}

pub fn team_bucket(team: &str) -> Bucket {
    format!("team:{team}")
}

/// The buckets a record belongs to, computed from its own fields.
pub fn buckets_for(meta: &RecordMeta) -> Vec<Bucket> {
    let mut out = vec![team_bucket(&meta.team)];
    if !meta.owner.is_empty() {
        out.push(format!("owner:{}:{}", meta.team, meta.owner));
    }
    if !meta.created_by.is_empty() && meta.created_by != meta.owner {
        out.push(format!("creator:{}:{}", meta.team, meta.created_by));
    }
    out
}

/// Why a change was refused: the field it is about and a stable code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub path: String,
    pub code: &'static str,
}

/// Judges a change by what the document was before (`None`: the change creates it) and what it would be after.
pub fn check_write(
    who: &Principal,
    before: Option<&RecordMeta>,
    after: &RecordMeta,
) -> Result<(), Refusal> {
    match before {
        None => {
            if after.team != who.team_id {
                return Err(Refusal {
                    path: "team".into(),
                    code: codes::FOREIGN_TEAM,
                });
            }
        }
        Some(before) => {
            if before.team != who.team_id {
                return Err(Refusal {
                    path: "team".into(),
                    code: codes::FOREIGN_TEAM,
                });
            }
            if after.kind != before.kind {
                return Err(Refusal {
                    path: "kind".into(),
                    code: codes::KIND_CHANGE_FORBIDDEN,
                });
            }
            if after.team != before.team {
                return Err(Refusal {
                    path: "team".into(),
                    code: codes::TEAM_CHANGE_FORBIDDEN,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::DocKind;
    use rstest::rstest;

    fn meta(team: &str) -> RecordMeta {
        RecordMeta {
            kind: DocKind::Lead,
            team: team.into(),
            owner: "u2".into(),
            created_by: "u1".into(),
        }
    }
    fn rep() -> Principal {
        Principal {
            user_id: "u1".into(),
            team_id: "t1".into(),
            role: Role::SalesRep,
        }
    }

    #[rstest]
    #[case::create_in_own_team(None, meta("t1"), None)]
    #[case::create_in_other_team(None, meta("t2"), Some(("team", codes::FOREIGN_TEAM)))]
    #[case::edit_in_team(Some(meta("t1")), meta("t1"), None)]
    #[case::move_to_other_team(Some(meta("t1")), meta("t2"), Some(("team", codes::TEAM_CHANGE_FORBIDDEN)))]
    #[case::edit_other_teams_record(Some(meta("t2")), meta("t2"), Some(("team", codes::FOREIGN_TEAM)))]
    #[case::change_kind(Some(meta("t1")), RecordMeta { kind: DocKind::LiveSession, ..meta("t1") }, Some(("kind", codes::KIND_CHANGE_FORBIDDEN)))]
    fn write_rules(
        #[case] before: Option<RecordMeta>,
        #[case] after: RecordMeta,
        #[case] refused: Option<(&str, &str)>,
    ) {
        let got = check_write(&rep(), before.as_ref(), &after)
            .err()
            .map(|r| (r.path, r.code));
        assert_eq!(got, refused.map(|(p, c)| (p.to_string(), c)));
    }

    #[test]
    fn a_record_is_in_its_team_owner_and_creator_buckets() {
        assert_eq!(
            buckets_for(&meta("t1")),
            ["team:t1", "owner:t1:u2", "creator:t1:u1"]
        );
        assert!(rep()
            .subscriptions()
            .iter()
            .all(|b| b.starts_with("team:t1")));
    }
}
