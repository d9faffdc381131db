//! Document ids: the canonical form every id must have, and the documents that live at ids anyone can compute (a
//! team's form and flow definitions and its assignment rules, a record's hidden parts).
//!
//! Whoever writes first at a computable id would own it: a rep's task at the id of the team's lead form would be
//! read as the form, and the category lead's device would write the hidden cost into the rep's document at a part's
//! id. So a document found at such an id counts only if its own fields give that id ([`holds`]), and a device may
//! create a document at a reserved id shape only if it is the document its fields say ([`check`]).

use automerge::AutoCommit;
use liveline_domain::doc::{definition_doc_id, read_str};
use liveline_domain::policy::Role;
use liveline_domain::{DocKind, RecordMeta};
use liveline_types::{codes, AppError};

/// The id in its canonical form (lowercase, hyphenated), if it is a UUID written that way.
pub fn canonical(id: &str) -> Option<uuid::Uuid> {
    if id.len() != 36 {
        return None;
    }
    let u = uuid::Uuid::try_parse(id).ok()?;
    let mut buf = uuid::Uuid::encode_buffer();
    (u.hyphenated().encode_lower(&mut buf) == id).then_some(u)
}

/// The id a document's own fields give it, for the kinds that live at a computed id (`None` for any other kind,
/// or when the fields are missing).
pub fn computed_id(doc: &AutoCommit) -> Option<String> {
    let meta = RecordMeta::read(doc).ok()?;
    match meta.kind {
        DocKind::FormDef | DocKind::FlowDef => Some(definition_doc_id(
            meta.kind,
            &meta.team,
            &read_str(doc, "name")?,
        )),
        DocKind::AssignmentRules => Some(liveline_domain::assign::rules_doc_id(&meta.team)),
        DocKind::RecordPart => Some(crate::record::part_id(
            &read_str(doc, "record")?,
            &Role::join(&meta.readers),
        )),
        _ => None,
    }
}

/// Whether `doc`, found at `id`, is the document of `kind` in `team` that lives there. Anything else found at a
/// computed id (a task, another team's copy) is treated as absent by whoever loads it.
pub fn holds(id: &str, doc: &AutoCommit, kind: DocKind, team: &str) -> bool {
    RecordMeta::read(doc).is_ok_and(|m| m.kind == kind && m.team == team)
        && computed_id(doc).as_deref() == Some(id)
}

/// [`holds`] on an optional document: the document, if it is the one that lives at `id`.
pub fn verified(
    id: &str,
    doc: Option<AutoCommit>,
    kind: DocKind,
    team: &str,
) -> Option<AutoCommit> {
    doc.filter(|d| holds(id, d, kind, team))
}

/// Whether a kind lives only at its computed id.
fn at_computed_id(kind: DocKind) -> bool {
    matches!(
        kind,
        DocKind::FormDef | DocKind::FlowDef | DocKind::AssignmentRules | DocKind::RecordPart
    )
}

/// The server's judgement of where a pushed document lives: its id is a canonical UUID (`doc.bad_id`); a kind that
/// lives at a computed id is at exactly that id, and a document of any other kind is not at a reserved id shape
/// (version 8: named documents; version 5: parts), so nobody takes those ids first (`doc.reserved_id`).
pub fn check(id: &str, doc: &AutoCommit) -> Result<(), (String, AppError)> {
    let Some(u) = canonical(id) else {
        return Err(bad_id(id));
    };
    let reserved = || Err(("id".to_string(), AppError::new(codes::DOC_RESERVED_ID)));
    let Ok(meta) = RecordMeta::read(doc) else {
        // Judged elsewhere (a document without a kind is not a record).
        return Ok(());
    };
    if at_computed_id(meta.kind) {
        if computed_id(doc).as_deref() != Some(id) {
            return reserved();
        }
    } else if matches!(u.get_version_num(), 5 | 8) {
        return reserved();
    }
    Ok(())
}

/// The refusal of an id that is not a canonical UUID, naming (the start of) what was sent.
pub fn bad_id(id: &str) -> (String, AppError) {
    (
        "id".to_string(),
        AppError::new(codes::DOC_BAD_ID).with("doc", id.chars().take(64).collect::<String>()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::ROOT;

    fn doc(fields: &[(&str, &str)]) -> AutoCommit {
        let mut d = AutoCommit::new();
        for (k, v) in fields {
            d.put(ROOT, *k, *v).unwrap();
        }
        d
    }

    #[test]
    fn only_the_canonical_form_of_a_uuid_is_an_id() {
        let id = "0192f1a2-7b3c-7d4e-8f60-1a2b3c4d5e6f";
        assert!(canonical(id).is_some());
        for bad in [
            "0192F1A2-7B3C-7D4E-8F60-1A2B3C4D5E6F",
            "0192f1a27b3c7d4e8f601a2b3c4d5e6f",
            "{0192f1a2-7b3c-7d4e-8f60-1a2b3c4d5e6f}",
            "urn:uuid:0192f1a2-7b3c-7d4e-8f60-1a2b3c4d5e6f",
            "0192f1a2-7b3c-7d4e-8f60-1a2b3c4d5e6g",
            "",
            "é192f1a2-7b3c-7d4e-8f60-1a2b3c4d5e6",
        ] {
            assert!(canonical(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_task_at_the_lead_forms_id_is_not_the_form_and_is_refused() {
        let form_id = definition_doc_id(DocKind::FormDef, "demo", "lead");
        let task = doc(&[("kind", "task"), ("team", "demo"), ("name", "lead")]);
        assert!(!holds(&form_id, &task, DocKind::FormDef, "demo"));
        assert_eq!(
            check(&form_id, &task).unwrap_err().1.code,
            codes::DOC_RESERVED_ID
        );

        let form = doc(&[("kind", "form_def"), ("team", "demo"), ("name", "lead")]);
        assert!(holds(&form_id, &form, DocKind::FormDef, "demo"));
        assert!(!holds(&form_id, &form, DocKind::FormDef, "other"));
        assert!(check(&form_id, &form).is_ok());
        // The same form at another id, or another team's form at this one.
        let elsewhere = "0192f1a2-7b3c-7d4e-8f60-1a2b3c4d5e6f";
        assert!(check(elsewhere, &form).is_err());
        let other = doc(&[("kind", "form_def"), ("team", "t2"), ("name", "lead")]);
        assert!(check(&form_id, &other).is_err());
    }

    #[test]
    fn a_part_lives_at_its_records_id_and_nothing_else_does() {
        let record = "0192f1a2-7b3c-7d4e-8f60-1a2b3c4d5e6f";
        let readers = "finance,manager";
        let pid = crate::record::part_id(record, readers);
        let part = doc(&[
            ("kind", "record_part"),
            ("team", "demo"),
            ("record", record),
            ("readers", readers),
        ]);
        assert!(holds(&pid, &part, DocKind::RecordPart, "demo"));
        assert!(check(&pid, &part).is_ok());
        let task = doc(&[("kind", "task"), ("team", "demo")]);
        assert!(check(&pid, &task).is_err());
        assert!(check(record, &task).is_ok());
        let for_another = doc(&[
            ("kind", "record_part"),
            ("team", "demo"),
            ("record", "0192f1a2-7b3c-7d4e-8f60-000000000000"),
            ("readers", readers),
        ]);
        assert!(!holds(&pid, &for_another, DocKind::RecordPart, "demo"));
        assert_eq!(
            check("NOT-AN-ID", &task).unwrap_err().1.code,
            codes::DOC_BAD_ID
        );
    }
}
