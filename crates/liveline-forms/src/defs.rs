//! Published definitions as documents: one per team and form (or flow), holding the definition as JSON text and
//! its version; a flow document also keeps every version it had, since a record runs the flow it started with.
//!
//! `check_document` is the server's judgement of a pushed definition: it must read, and it must compile (a form)
//! or hold together (a flow: its checks against the form run on the publishing device). A refusal names the fault.

use crate::flow::Flow;
use crate::form::Form;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, ROOT};
use liveline_domain::doc::read_str;
use liveline_domain::DocKind;
use liveline_types::forms::{FlowDef, FormDef};
use liveline_types::{codes, AppError, FieldError};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Writes a definition as the new published version. `created_by` is set when the document is new.
pub fn write<T: Serialize>(
    doc: &mut AutoCommit,
    kind: DocKind,
    team: &str,
    user: &str,
    name: &str,
    version: u32,
    def: &T,
) -> Result<(), automerge::AutomergeError> {
    let json = serde_json::to_string(def).expect("definitions serialize");
    if read_str(doc, "kind").is_none() {
        doc.put(ROOT, "kind", kind.code())?;
        doc.put(ROOT, "team", team)?;
        doc.put(ROOT, "created_by", user)?;
        doc.put(ROOT, "name", name)?;
    }
    doc.put(ROOT, "version", i64::from(version))?;
    doc.put(ROOT, "definition", json.as_str())?;
    if kind == DocKind::FlowDef {
        let history = match doc.get(ROOT, "history")? {
            Some((automerge::Value::Object(ObjType::List), id)) => id,
            _ => doc.put_object(ROOT, "history", ObjType::List)?,
        };
        let at = doc.length(&history);
        doc.insert(&history, at, json.as_str())?;
    }
    Ok(())
}

/// The team's published definition document of `kind` named `name`, read through `load` (by id), if the document
/// at its id is that definition: anything else found there (a task a rep created first, another team's copy) is
/// treated as absent, so the built-in definition applies.
pub fn published(
    kind: DocKind,
    team: &str,
    name: &str,
    load: impl FnOnce(&str) -> Option<AutoCommit>,
) -> Option<AutoCommit> {
    let id = liveline_domain::doc::definition_doc_id(kind, team, name);
    crate::ids::verified(&id, load(&id), kind, team)
}

/// The definition a document holds now.
pub fn read<T: DeserializeOwned>(doc: &AutoCommit) -> Option<T> {
    serde_json::from_str(&read_str(doc, "definition")?).ok()
}

/// Every version a flow document has held, oldest first (unreadable entries skipped).
pub fn flow_versions(doc: &AutoCommit) -> Vec<FlowDef> {
    let Ok(Some((automerge::Value::Object(ObjType::List), list))) = doc.get(ROOT, "history") else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i).ok()?? {
            (automerge::Value::Scalar(s), _) => match s.as_ref() {
                automerge::ScalarValue::Str(s) => serde_json::from_str(s).ok(),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn unreadable(path: &str) -> (String, AppError) {
    (path.to_string(), AppError::new(codes::DEF_UNREADABLE))
}

/// The first fault of a definition, as a refusal on `definition` whose arguments name the field or node.
fn first(errors: Vec<FieldError>) -> (String, AppError) {
    let e = errors.into_iter().next().expect("at least one fault");
    ("definition".to_string(), e.error.with("field", e.field))
}

/// The server's judgement of a definition document after a change: what it holds must read and must be sound.
pub fn check_document(kind: DocKind, doc: &AutoCommit) -> Result<(), (String, AppError)> {
    if !kind.is_definition() {
        return Ok(());
    }
    let name = read_str(doc, "name").ok_or_else(|| unreadable("name"))?;
    let version = match doc.get(ROOT, "version") {
        Ok(Some((automerge::Value::Scalar(s), _))) => s.as_i64(),
        _ => None,
    };
    // What the document holds: its id, version and faults.
    let (id, held, errors) = match kind {
        DocKind::FormDef => {
            let def: FormDef = read(doc).ok_or_else(|| unreadable("definition"))?;
            let errors = Form::compile(&def).err().unwrap_or_default();
            (def.id, def.version, errors)
        }
        _ => {
            let def: FlowDef = read(doc).ok_or_else(|| unreadable("definition"))?;
            let errors = Flow::check_structure(&def);
            (def.id, def.version, errors)
        }
    };
    if id != name || version != Some(i64::from(held)) {
        return Err(unreadable("definition"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(first(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    #[test]
    fn only_definitions_are_judged_and_a_sound_one_passes() {
        let mut lead = AutoCommit::new();
        lead.put(ROOT, "kind", "lead").unwrap();
        assert_eq!(check_document(DocKind::Lead, &lead), Ok(()));
        let mut doc = AutoCommit::new();
        write(
            &mut doc,
            DocKind::FormDef,
            "t1",
            "boss",
            "live_order",
            1,
            &builtin::order_form(),
        )
        .unwrap();
        assert_eq!(check_document(DocKind::FormDef, &doc), Ok(()));
        assert_eq!(read::<FormDef>(&doc), Some(builtin::order_form()));
        let mut flow = AutoCommit::new();
        write(
            &mut flow,
            DocKind::FlowDef,
            "t1",
            "boss",
            "live_order",
            1,
            &builtin::order_flow(),
        )
        .unwrap();
        let mut v2 = builtin::order_flow();
        v2.version = 2;
        v2.nodes[0].next.push(liveline_types::forms::Edge {
            when: None,
            to: "sales".into(),
        });
        write(
            &mut flow,
            DocKind::FlowDef,
            "t1",
            "boss",
            "live_order",
            2,
            &v2,
        )
        .unwrap();
        // Version 2 loops back to its own start: refused, naming the cycle; both versions kept in the history.
        let (path, err) = check_document(DocKind::FlowDef, &flow).unwrap_err();
        assert_eq!(
            (path.as_str(), err.code.as_str()),
            ("definition", codes::DEF_FLOW_CYCLE)
        );
        assert_eq!(err.args["cycle"], "sales → sales");
        assert_eq!(flow_versions(&flow).len(), 2);
        // A version that disagrees with what the document says is unreadable.
        doc.put(ROOT, "version", 7_i64).unwrap();
        assert_eq!(
            check_document(DocKind::FormDef, &doc).unwrap_err().1.code,
            codes::DEF_UNREADABLE
        );
    }
}
