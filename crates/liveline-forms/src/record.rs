//! A record made with a form, as an automerge document: its values field by field (order lines cell by cell) and
//! its flow's append-only decision log, so edits and decisions made on several devices merge.
//!
//! Shape: `form`, `form_version` at the root; `values` a map from field key to the value as JSON text, except
//! sub-tables, which are lists of maps from column key to JSON text; `decisions` a list of JSON texts.

use crate::form::{Form, Values};
use automerge::transaction::Transactable;
use automerge::{hydrate, AutoCommit, ObjId, ObjType, ReadDoc, ROOT};
use liveline_types::forms::{Act, Decision, Edit, Value};
use liveline_types::{codes, AppError};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("the record's {0} is not what a record holds")]
    Shape(&'static str),
}

fn map(
    doc: &mut AutoCommit,
    parent: &ObjId,
    key: &str,
    kind: ObjType,
) -> Result<ObjId, RecordError> {
    match doc.get(parent, key)? {
        Some((automerge::Value::Object(k), id)) if k == kind => Ok(id),
        _ => Ok(doc.put_object(parent, key, kind)?),
    }
}

fn json(v: &Value) -> String {
    serde_json::to_string(v).expect("values serialize")
}

fn cell(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<Value> {
    match doc.get(obj, key).ok()?? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => serde_json::from_str(s).ok(),
            _ => None,
        },
        _ => None,
    }
}

fn hydrate_row(row: &BTreeMap<String, Value>) -> hydrate::Value {
    let cells: HashMap<String, hydrate::Value> = row
        .iter()
        .map(|(k, c)| (k.clone(), hydrate::Value::from(json(c).as_str())))
        .collect();
    hydrate::Map::from(cells).into()
}

fn hydrate_value(v: &Value) -> hydrate::Value {
    match v {
        Value::Rows(rows) => rows.iter().map(hydrate_row).collect::<Vec<_>>().into(),
        _ => hydrate::Value::from(json(v).as_str()),
    }
}

/// Writes the fields that changed from `before` to `after` (only those, so concurrent edits of other fields and
/// other cells merge), and the form version they were validated with. What is new (a record, a sub-table, added
/// rows) is created in one batch, which is several times faster than a put per cell.
pub fn write_values(
    doc: &mut AutoCommit,
    form: &str,
    form_version: u32,
    before: &Values,
    after: &Values,
) -> Result<(), RecordError> {
    doc.put(ROOT, "form", form)?;
    doc.put(ROOT, "form_version", i64::from(form_version))?;
    let values = match doc.get(ROOT, "values")? {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        _ => {
            let all: HashMap<String, hydrate::Value> = after
                .iter()
                .map(|(k, v)| (k.clone(), hydrate_value(v)))
                .collect();
            doc.batch_create_object(ROOT, "values", &hydrate::Map::from(all).into(), false)?;
            return Ok(());
        }
    };
    for key in before.keys().filter(|k| !after.contains_key(*k)) {
        doc.delete(&values, key.as_str())?;
    }
    for (key, v) in after {
        if before.get(key) == Some(v) {
            continue;
        }
        let (Value::Rows(rows), Some((automerge::Value::Object(ObjType::List), list))) =
            (v, doc.get(&values, key.as_str())?)
        else {
            match v {
                Value::Rows(_) => {
                    doc.batch_create_object(&values, key.as_str(), &hydrate_value(v), false)?;
                }
                _ => doc.put(&values, key.as_str(), json(v))?,
            }
            continue;
        };
        let old: &[BTreeMap<String, Value>] = match before.get(key) {
            Some(Value::Rows(r)) => r,
            _ => &[],
        };
        let len = doc.length(&list);
        if rows.len() < len {
            doc.splice(
                &list,
                rows.len(),
                (len - rows.len()) as isize,
                Vec::<hydrate::Value>::new(),
            )?;
        }
        for (i, row) in rows.iter().enumerate().take(len) {
            let obj = match doc.get(&list, i)? {
                Some((automerge::Value::Object(ObjType::Map), id)) => id,
                _ => doc.batch_create_object(&list, i, &hydrate_row(row), false)?,
            };
            let was = old.get(i);
            for k in was
                .into_iter()
                .flat_map(|w| w.keys())
                .filter(|k| !row.contains_key(*k))
            {
                doc.delete(&obj, k.as_str())?;
            }
            for (k, c) in row {
                if was.and_then(|w| w.get(k)) != Some(c) {
                    doc.put(&obj, k.as_str(), json(c))?;
                }
            }
        }
        if rows.len() > len {
            doc.splice(&list, len, 0, rows[len..].iter().map(hydrate_row))?;
        }
    }
    Ok(())
}

/// Reads a record's values; a value this version cannot read is left out rather than failing the record.
pub fn read_values(doc: &AutoCommit) -> Values {
    let mut out = Values::new();
    let Ok(Some((automerge::Value::Object(ObjType::Map), values))) = doc.get(ROOT, "values") else {
        return out;
    };
    for key in doc.keys(&values) {
        match doc.get(&values, key.as_str()) {
            Ok(Some((automerge::Value::Object(ObjType::List), list))) => {
                let rows = (0..doc.length(&list))
                    .filter_map(|i| match doc.get(&list, i) {
                        Ok(Some((automerge::Value::Object(ObjType::Map), row))) => Some(
                            doc.keys(&row)
                                .filter_map(|k| cell(doc, &row, &k).map(|v| (k, v)))
                                .collect::<BTreeMap<_, _>>(),
                        ),
                        _ => None,
                    })
                    .collect();
                out.insert(key, Value::Rows(rows));
            }
            _ => {
                if let Some(v) = cell(doc, &values, &key) {
                    out.insert(key, v);
                }
            }
        }
    }
    out
}

/// Appends `entry` as JSON to the record's append-only list `key`.
fn append_json<T: serde::Serialize>(
    doc: &mut AutoCommit,
    key: &str,
    entry: &T,
) -> Result<(), RecordError> {
    let list = map(doc, &ROOT, key, ObjType::List)?;
    let at = doc.length(&list);
    doc.insert(
        &list,
        at,
        serde_json::to_string(entry).expect("log entries serialize"),
    )?;
    Ok(())
}

/// The entries of the record's list `key`, in list order; unreadable entries are skipped.
fn json_list<T: serde::de::DeserializeOwned>(doc: &AutoCommit, key: &str) -> Vec<T> {
    let Ok(Some((automerge::Value::Object(ObjType::List), list))) = doc.get(ROOT, key) else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i) {
            Ok(Some((automerge::Value::Scalar(s), _))) => match s.as_ref() {
                automerge::ScalarValue::Str(s) => serde_json::from_str(s).ok(),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Appends a decision to the record's log.
pub fn append_decision(doc: &mut AutoCommit, d: &Decision) -> Result<(), RecordError> {
    append_json(doc, "decisions", d)
}

/// The record's decisions, in list order (replay does not depend on it); unreadable entries are skipped.
pub fn decisions(doc: &AutoCommit) -> Vec<Decision> {
    json_list(doc, "decisions")
}

/// The server's judgement of a person's change to a record's decision log: what was there stays as it was, and
/// what is new was decided by `user` (the server alone records reminders, escalations and auto-approvals).
pub fn check_decisions(
    before: &[Decision],
    after: &[Decision],
    user: &str,
) -> Result<(), (String, AppError)> {
    let refuse = |code: &str| Err(("decisions".to_string(), AppError::new(code)));
    for d in before {
        if !after.iter().any(|a| a == d) {
            return refuse(codes::FLOW_LOG_CHANGED);
        }
    }
    for d in after
        .iter()
        .filter(|a| !before.iter().any(|b| b.id == a.id))
    {
        let system = matches!(d.act, Act::Remind | Act::Escalate { .. } | Act::AutoApprove);
        if d.actor != user || system {
            return refuse(codes::FLOW_ACTOR);
        }
    }
    Ok(())
}

/// The values that differ between `before` and `after`: field keys, and table cells as `lines[0].unit_price`
/// (a line added or removed names each of its cells).
pub fn changed_paths(before: &Values, after: &Values) -> Vec<String> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let (b, a) = (before.get(key), after.get(key));
        if b == a {
            continue;
        }
        match (b, a) {
            (Some(Value::Rows(_)) | None, Some(Value::Rows(_)) | None) => {
                let rows = |v: Option<&Value>| match v {
                    Some(Value::Rows(r)) => r.clone(),
                    _ => Vec::new(),
                };
                let (rb, ra) = (rows(b), rows(a));
                for i in 0..rb.len().max(ra.len()) {
                    let (cb, ca) = (rb.get(i), ra.get(i));
                    let cols: std::collections::BTreeSet<&String> = cb
                        .into_iter()
                        .flat_map(|r| r.keys())
                        .chain(ca.into_iter().flat_map(|r| r.keys()))
                        .collect();
                    for c in cols {
                        if cb.and_then(|r| r.get(c)) != ca.and_then(|r| r.get(c)) {
                            out.push(format!("{key}[{i}].{c}"));
                        }
                    }
                }
            }
            _ => out.push(key.clone()),
        }
    }
    out
}

/// The server's judgement of a person's change to a record's values: every field (and table cell) whose value
/// changed must be one the person's roles may write in the form as the team uses it now. Computed fields are not
/// judged (each device computes them); a field the form does not have, or has removed, may not be written.
///
/// `part` is `None` for the record itself, or a part's `readers` text: a document holds only its own fields (a
/// hidden field written into the record, or into another part, is refused as `field.restricted`).
pub fn check_writes(
    form: &Form,
    part: Option<&str>,
    before: &Values,
    after: &Values,
    roles: &[String],
) -> Result<(), (String, AppError)> {
    let part = part.map(str::to_string);
    use liveline_types::forms::FieldKind;
    let live = |fields: &'_ [liveline_types::forms::FieldDef], k: &str| {
        fields.iter().find(|f| f.key == k && !f.removed).cloned()
    };
    for path in changed_paths(before, after) {
        let refuse = || Err((path.clone(), AppError::new(codes::FIELD_READ_ONLY)));
        let (key, column) = match path.split_once('[') {
            Some((k, rest)) => (k, rest.split_once("].").map(|(_, c)| c)),
            None => (path.as_str(), None),
        };
        let Some(f) = live(&form.def.fields, key) else {
            return refuse();
        };
        // A hidden field's values live in the record's part for its readers, never in the record itself.
        if form.part_of(key) != part {
            return Err((path.clone(), AppError::new(codes::FIELD_RESTRICTED)));
        }
        if matches!(f.kind, FieldKind::Formula { .. }) {
            continue;
        }
        if !crate::form::may_write(&f, roles) {
            return refuse();
        }
        if let (FieldKind::SubTable { columns }, Some(c)) = (&f.kind, column) {
            match live(columns, c) {
                Some(x) if matches!(x.kind, FieldKind::Formula { .. }) => {}
                Some(x) if crate::form::may_write(&x, roles) => {}
                _ => return refuse(),
            }
        }
    }
    Ok(())
}

/// Appends an edit to the record's edit log.
pub fn append_edit(doc: &mut AutoCommit, e: &Edit) -> Result<(), RecordError> {
    append_json(doc, "edits", e)
}

/// The record's edit log; unreadable entries are skipped.
pub fn edits(doc: &AutoCommit) -> Vec<Edit> {
    json_list(doc, "edits")
}

/// The server's judgement of a change to a record's edit log: it only grows, and only in its author's name.
pub fn check_edits(before: &[Edit], after: &[Edit], user: &str) -> Result<(), (String, AppError)> {
    let refuse = |code: &str| Err(("edits".to_string(), AppError::new(code)));
    if before.iter().any(|b| !after.contains(b)) {
        return refuse(codes::FLOW_LOG_CHANGED);
    }
    if after
        .iter()
        .filter(|a| !before.iter().any(|b| b.id == a.id))
        .any(|a| a.user != user)
    {
        return refuse(codes::FLOW_ACTOR);
    }
    Ok(())
}

/// The id of a record's part for a set of readers (`Form::hidden_parts` keys): the same on every device, so parts
/// written offline on two devices are one document.
pub fn part_id(record: &str, readers: &str) -> String {
    let ns = uuid::Uuid::parse_str(record).unwrap_or(uuid::Uuid::NAMESPACE_OID);
    uuid::Uuid::new_v5(&ns, format!("part:{readers}").as_bytes()).to_string()
}

/// A record's parts: for each set of readers its form hides fields from others, that part's id.
pub fn parts_of(form: &Form, record: &str) -> Vec<(String, String)> {
    form.hidden_parts()
        .into_keys()
        .map(|readers| {
            let id = part_id(record, &readers);
            (readers, id)
        })
        .collect()
}

/// A record's values with those of its hidden parts, each read through `load` by its computed id and counted only
/// if it is that record's part (`ids::verified`): the device and the server read a record this one way.
pub fn values_loading_parts<E>(
    form: &Form,
    id: &str,
    doc: &AutoCommit,
    mut load: impl FnMut(&str) -> Result<Option<AutoCommit>, E>,
) -> Result<Values, E> {
    let team = liveline_domain::doc::read_str(doc, "team").unwrap_or_default();
    let mut parts = Vec::new();
    for (_, part_id) in parts_of(form, id) {
        let part = load(&part_id)?;
        parts.extend(crate::ids::verified(
            &part_id,
            part,
            liveline_domain::DocKind::RecordPart,
            &team,
        ));
    }
    Ok(values_with_parts(form, doc, &parts))
}

/// A record's values together with those of the parts at hand (none where the reader may not read them), the
/// formulas worked out again over all of them: whoever last wrote a part may not have seen a later change to the
/// record (a rep changing the price cannot update the profit in a part they do not hold).
pub fn values_with_parts<'a>(
    form: &Form,
    doc: &AutoCommit,
    parts: impl IntoIterator<Item = &'a AutoCommit>,
) -> Values {
    let mut values = read_values(doc);
    let mut any = false;
    for p in parts {
        values.extend(read_values(p));
        any = true;
    }
    if any {
        form.compute(&mut values, &mut Vec::new());
    }
    values
}

/// Splits a record's values into what the record holds and what each of its parts holds (by `readers` text).
pub fn split(form: &Form, values: &Values) -> (Values, BTreeMap<String, Values>) {
    let mut record = Values::new();
    let mut parts: BTreeMap<String, Values> = form
        .hidden_parts()
        .into_keys()
        .map(|k| (k, Values::new()))
        .collect();
    for (k, v) in values {
        match form.part_of(k) {
            Some(p) => {
                parts.entry(p).or_default().insert(k.clone(), v.clone());
            }
            None => {
                record.insert(k.clone(), v.clone());
            }
        }
    }
    (record, parts)
}

/// Starts a record's part: its placement fields (the people it reaches, as the author's device knows them; the
/// server keeps them up to date). Its values are written with [`write_values`].
pub fn start_part(
    doc: &mut AutoCommit,
    record: &str,
    team: &str,
    readers: &str,
    created_by: &str,
    people: &[String],
) -> Result<(), RecordError> {
    doc.put(ROOT, "kind", liveline_domain::DocKind::RecordPart.code())?;
    doc.put(ROOT, "team", team)?;
    doc.put(ROOT, "record", record)?;
    doc.put(ROOT, "readers", readers)?;
    doc.put(ROOT, "created_by", created_by)?;
    doc.put(ROOT, "people", people.join(","))?;
    Ok(())
}
