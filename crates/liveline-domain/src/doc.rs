//! Records as automerge documents: ids, kinds, and the fields every record carries (`kind`, `team`).

use automerge::{AutoCommit, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};

/// A document id: a UUID in its hyphenated text form, chosen by the device that creates the record.
pub type DocId = String;

/// The kinds of record that travel as documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Lead,
    LiveSession,
    Task,
    AssignmentRules,
}

impl DocKind {
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Lead => "lead",
            DocKind::LiveSession => "live_session",
            DocKind::Task => "task",
            DocKind::AssignmentRules => "assignment_rules",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "lead" => Some(DocKind::Lead),
            "live_session" => Some(DocKind::LiveSession),
            "task" => Some(DocKind::Task),
            "assignment_rules" => Some(DocKind::AssignmentRules),
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
    /// The people who work a live session (host, assistants); empty for other kinds.
    pub staff: Vec<String>,
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

fn read_str(doc: &AutoCommit, key: &str) -> Option<String> {
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
            staff: read_str_list(doc, "staff"),
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
