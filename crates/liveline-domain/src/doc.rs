//! Records as automerge documents: ids, kinds, and the fields every record carries (`kind`, `team`).

use automerge::{AutoCommit, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};

/// A document id: a UUID in its hyphenated text form, chosen by the device that creates the record.
pub type DocId = String;

/// The id of a document a team has one of per `name` (its rules, each form's definition): the same on every
/// device and the server. A 128-bit FNV-1a of `prefix` and `name`, shaped as a UUID (version 8, RFC 4122 variant).
pub fn named_doc_id(prefix: &str, name: &str) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in prefix.bytes().chain(name.bytes()) {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let mut bytes = h.to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The id of a team's definition document for the form or flow `name`: one per team and name, so two admins who
/// publish the same form offline edit one document.
pub fn definition_doc_id(kind: DocKind, team: &str, name: &str) -> String {
    named_doc_id(&format!("liveline:{}:{team}:", kind.code()), name)
}

/// The top-level keys a document of `kind` may have, for the kinds whose content is one struct (a lead, a task, a
/// live session): the fields saving one writes. `None` for kinds whose keys their own checks judge.
pub fn allowed_keys(kind: DocKind) -> Option<&'static [String]> {
    use std::sync::OnceLock;
    fn keys_of<T: Default + autosurgeon::Reconcile>(
        cell: &'static OnceLock<Vec<String>>,
    ) -> &'static [String] {
        cell.get_or_init(|| {
            let mut doc = AutoCommit::new();
            autosurgeon::reconcile(&mut doc, &T::default()).expect("an empty record saves");
            doc.keys(ROOT).collect()
        })
    }
    static LEAD: OnceLock<Vec<String>> = OnceLock::new();
    static TASK: OnceLock<Vec<String>> = OnceLock::new();
    static SESSION: OnceLock<Vec<String>> = OnceLock::new();
    match kind {
        DocKind::Lead => Some(keys_of::<crate::Lead>(&LEAD)),
        DocKind::Task => Some(keys_of::<crate::Task>(&TASK)),
        DocKind::LiveSession => Some(keys_of::<crate::live_session::LiveSession>(&SESSION)),
        _ => None,
    }
}

/// The kinds of record that travel as documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Lead,
    LiveSession,
    Task,
    AssignmentRules,
    /// A form's definition (fields, formulas), published by an admin; read by the whole team.
    FormDef,
    /// An approval flow's definition, with every version published (records run the one they started with).
    FlowDef,
    /// A record made with a form (an order, a proposal): its values and its flow's decisions.
    Record,
    /// A custom dashboard a manager composed, shared with the team.
    Dashboard,
    /// The values of a record's fields that only some roles read (cost, margin), kept apart from the record so
    /// that a device whose user may not read them never receives them. One per record and set of reading roles.
    RecordPart,
}

impl DocKind {
    /// Definitions an admin publishes, read by every role of the team.
    pub fn is_definition(self) -> bool {
        matches!(self, DocKind::FormDef | DocKind::FlowDef)
    }
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Lead => "lead",
            DocKind::LiveSession => "live_session",
            DocKind::Task => "task",
            DocKind::AssignmentRules => "assignment_rules",
            DocKind::FormDef => "form_def",
            DocKind::FlowDef => "flow_def",
            DocKind::Record => "record",
            DocKind::Dashboard => "dashboard",
            DocKind::RecordPart => "record_part",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "lead" => Some(DocKind::Lead),
            "live_session" => Some(DocKind::LiveSession),
            "task" => Some(DocKind::Task),
            "assignment_rules" => Some(DocKind::AssignmentRules),
            "form_def" => Some(DocKind::FormDef),
            "flow_def" => Some(DocKind::FlowDef),
            "record" => Some(DocKind::Record),
            "dashboard" => Some(DocKind::Dashboard),
            "record_part" => Some(DocKind::RecordPart),
            _ => None,
        }
    }
}

/// The fields that decide where a record belongs, read from any record document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    pub kind: DocKind,
    pub team: String,
    /// Who the record is for: a lead's owner, a task's assignee.
    pub owner: String,
    pub created_by: String,
    /// The people who work a live session (host, assistants), or whom a record's flow waits for; else empty.
    /// For a record's part: the people its record names (owner, creator, approvers), as the server copied them.
    pub staff: Vec<String>,
    /// A record's part: the roles that read it (sorted, without repeats); else empty.
    pub readers: Vec<crate::policy::Role>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocError {
    #[error("the document has no valid `kind` field")]
    NoKind,
    #[error("the document has no `team` field")]
    NoTeam,
    #[error("the document's fields do not match its kind: {0}")]
    Shape(String),
}

/// A text field at the top of a document.
pub fn read_str(doc: &AutoCommit, key: &str) -> Option<String> {
    match doc.get(ROOT, key).ok()?? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn read_str_list(doc: &AutoCommit, key: &str) -> Vec<String> {
    let Ok(Some((automerge::Value::Object(automerge::ObjType::List), list))) = doc.get(ROOT, key)
    else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i).ok()?? {
            (automerge::Value::Scalar(s), _) => match s.as_ref() {
                automerge::ScalarValue::Str(s) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

impl RecordMeta {
    /// Reads the placement fields of a record document.
    pub fn read(doc: &AutoCommit) -> Result<Self, DocError> {
        let kind = read_str(doc, "kind")
            .and_then(|k| DocKind::from_code(&k))
            .ok_or(DocError::NoKind)?;
        let team = read_str(doc, "team")
            .filter(|t| !t.is_empty())
            .ok_or(DocError::NoTeam)?;
        let names = |key: &str| -> Vec<String> {
            let mut who: Vec<String> = Vec::new();
            for u in read_str(doc, key).unwrap_or_default().split(',') {
                if !u.is_empty() && !who.iter().any(|w| w == u) {
                    who.push(u.to_string());
                }
            }
            who
        };
        Ok(RecordMeta {
            kind,
            team,
            owner: read_str(
                doc,
                if kind == DocKind::Task {
                    "assignee"
                } else {
                    "owner"
                },
            )
            .unwrap_or_default(),
            created_by: read_str(doc, "created_by").unwrap_or_default(),
            // A record's flow names who it waits for and has waited for (the server alone writes those texts,
            // user ids joined by commas); they read the record from their step on.
            staff: match kind {
                DocKind::Record => {
                    let mut who = names("waiting_for");
                    for u in names("involved") {
                        if !who.contains(&u) {
                            who.push(u);
                        }
                    }
                    who
                }
                // A part follows its record to the people it names (the server copies them into `people`).
                DocKind::RecordPart => names("people"),
                _ => read_str_list(doc, "staff"),
            },
            readers: if kind == DocKind::RecordPart {
                let readers = read_str(doc, "readers").unwrap_or_default();
                let roles = crate::policy::Role::parse_list(&readers)
                    .map_err(|r| DocError::Shape(format!("readers: unknown role {r}")))?;
                if roles.is_empty() {
                    return Err(DocError::Shape("readers: none".into()));
                }
                roles
            } else {
                Vec::new()
            },
        })
    }
}

/// The automerge actor id of a device: the 16 bytes of its UUID. Every change a device makes carries it.
pub fn device_actor(device_id: &uuid_bytes::Uuid16) -> automerge::ActorId {
    automerge::ActorId::from(&device_id[..])
}

/// Tiny helper module so the domain does not need the uuid crate.
pub mod uuid_bytes {
    pub type Uuid16 = [u8; 16];

    /// Parses a hyphenated or plain hex UUID into its 16 bytes.
    pub fn parse(s: &str) -> Option<Uuid16> {
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
        }
        Some(out)
    }
}
