//! The team's forms and flows on the device: read from their published documents (or the built-in ones until an
//! admin publishes a change), and published by an admin after the same checks the server makes.

use automerge::AutoCommit;
use liveline_domain::doc::{definition_doc_id, read_str};
use liveline_domain::{DocKind, RecordMeta};
use liveline_forms::{builtin, defs, Flow, Form, People};
use liveline_types::forms::{Act, FieldInput, FlowDef, FormDef};
use liveline_types::{codes, AppError, FieldError};
use rusqlite::OptionalExtension;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

use crate::replica::{commit_change, load_doc, Replica, ReplicaError, Result};

/// A form definition with its compiled checks.
type CompiledForm = std::sync::Arc<(FormDef, Form)>;

fn admin_only() -> Vec<FieldError> {
    vec![FieldError {
        field: String::new(),
        error: AppError::new(codes::DEF_ADMIN_ONLY),
    }]
}

impl Replica {
    fn published<T: DeserializeOwned>(&self, kind: DocKind, name: &str) -> Result<Option<T>> {
        let team = self.actor()?.1.team_id;
        let id = definition_doc_id(kind, &team, name);
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT bytes FROM docs WHERE id = ?1 AND kind = ?2",
                [&id, kind.code()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(bytes) = bytes else { return Ok(None) };
        let doc = AutoCommit::load(&bytes).map_err(|e| ReplicaError::Doc(id, e.to_string()))?;
        Ok(defs::published(kind, &team, name, |_| Some(doc)).and_then(|d| defs::read(&d)))
    }

    /// The form `id` as the team uses it now: the published version, else the built-in one.
    pub fn form(&self, id: &str) -> Result<FormDef> {
        if let Some(def) = self.published::<FormDef>(DocKind::FormDef, id)? {
            return Ok(def);
        }
        builtin::forms()
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(|| ReplicaError::NotFound(id.to_string()))
    }

    /// The flow `id` as the team uses it now: the published version, else the built-in one.
    pub fn flow(&self, id: &str) -> Result<FlowDef> {
        if let Some(def) = self.published::<FlowDef>(DocKind::FlowDef, id)? {
            return Ok(def);
        }
        builtin::flows()
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(|| ReplicaError::NotFound(id.to_string()))
    }

    fn is_admin(&self) -> Result<bool> {
        Ok(self.my_roles()?.iter().any(|r| r == "admin"))
    }

    /// Publishes a form as its next version. Every fault is named and nothing is saved while there is one.
    pub fn publish_form(&mut self, def: &FormDef) -> Result<Vec<FieldError>> {
        if !self.is_admin()? {
            return Ok(admin_only());
        }
        let mut def = def.clone();
        def.version = self.form(&def.id).map(|f| f.version).unwrap_or(0) + 1;
        if let Err(errors) = Form::compile(&def) {
            return Ok(errors);
        }
        self.publish(DocKind::FormDef, &def.id.clone(), def.version, &def)?;
        Ok(Vec::new())
    }

    /// Publishes a flow as its next version, checked against the form it runs on.
    pub fn publish_flow(&mut self, def: &FlowDef) -> Result<Vec<FieldError>> {
        if !self.is_admin()? {
            return Ok(admin_only());
        }
        let mut def = def.clone();
        def.version = self.flow(&def.id).map(|f| f.version).unwrap_or(0) + 1;
        let form = match self.form(&def.form) {
            Ok(f) => f,
            Err(ReplicaError::NotFound(_)) => {
                return Ok(vec![FieldError {
                    field: "form".into(),
                    error: AppError::new(codes::DEF_FLOW_FORM).with("form", def.form.clone()),
                }])
            }
            Err(e) => return Err(e),
        };
        let form = match Form::compile(&form) {
            Ok(f) => f,
            Err(errors) => return Ok(errors),
        };
        if let Err(errors) = Flow::compile(&def, &form) {
            return Ok(errors);
        }
        self.publish(DocKind::FlowDef, &def.id.clone(), def.version, &def)?;
        Ok(Vec::new())
    }

    fn publish<T: serde::Serialize>(
        &mut self,
        kind: DocKind,
        name: &str,
        version: u32,
        def: &T,
    ) -> Result<()> {
        let (actor, creds) = self.actor()?;
        let id = definition_doc_id(kind, &creds.team_id, name);
        let tx = self.conn.transaction()?;
        let mut doc = load_doc(&tx, &id)?.unwrap_or_default();
        doc.set_actor(actor);
        defs::write(
            &mut doc,
            kind,
            &creds.team_id,
            &creds.user_id,
            name,
            version,
            def,
        )
        .map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        commit_change(&tx, &id, kind, &mut doc)?;
        tx.commit()?;
        Ok(())
    }
}

/// A form record as the device holds it: its values and its flow's state, replayed from the merged decision log.
pub struct RecordState {
    pub form: String,
    pub values: liveline_forms::Values,
    pub flow: Option<liveline_forms::State>,
}

impl Replica {
    fn team_roles(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let session = self.session()?.ok_or(ReplicaError::NotSignedIn)?;
        Ok(session
            .members
            .iter()
            .map(|m| (m.id.clone(), role_codes(&m.role)))
            .collect())
    }

    /// The flow a record of `form` runs: the version it was submitted under, else the current one.
    fn flow_for(&self, doc: &AutoCommit, form: &Form) -> Result<Option<Flow>> {
        let Some(flow_id) = read_str(doc, "flow") else {
            return Ok(None);
        };
        let version = match automerge::ReadDoc::get(doc, automerge::ROOT, "flow_version") {
            Ok(Some((automerge::Value::Scalar(s), _))) => s.as_i64(),
            _ => None,
        };
        let team = self.actor()?.1.team_id;
        let id = definition_doc_id(DocKind::FlowDef, &team, &flow_id);
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT bytes FROM docs WHERE id = ?1", [&id], |r| r.get(0))
            .optional()?;
        let found = bytes.and_then(|b| AutoCommit::load(&b).ok());
        let versions = match defs::published(DocKind::FlowDef, &team, &flow_id, |_| found) {
            Some(d) => defs::flow_versions(&d),
            None => builtin::flows()
                .into_iter()
                .filter(|f| f.id == flow_id)
                .collect(),
        };
        let def = versions
            .iter()
            .find(|f| Some(i64::from(f.version)) == version)
            .or(versions.last());
        Ok(def.and_then(|d| Flow::compile(d, form).ok()))
    }

    /// Saves a record of form `form_id` (`id: None` creates one): validated as the form is now, written field by
    /// field. Nothing is saved while a field is wrong; the errors name each field (and order line).
    pub fn save_record(
        &mut self,
        form_id: &str,
        id: Option<&str>,
        input: &std::collections::BTreeMap<String, liveline_types::forms::FieldInput>,
        tz: &str,
    ) -> Result<std::result::Result<String, Vec<FieldError>>> {
        let def = self.form(form_id)?;
        let form = match Form::compile(&def) {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors)),
        };
        let (roles, members) = self.saver()?;
        let tz = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
        let (actor, creds) = self.actor()?;
        let id = id
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let flow = match self.published_flow_for(form_id)? {
            Some(f) => Some(f),
            None => builtin::flows()
                .into_iter()
                .find(|f| f.form == form_id)
                .map(|f| f.id),
        };
        let tx = self.conn.transaction()?;
        let mut doc = load_doc(&tx, &id)?.unwrap_or_default();
        doc.set_actor(actor.clone());
        let mut parts = BTreeMap::new();
        for (readers, part_id) in liveline_forms::record::parts_of(&form, &id) {
            if let Some(part) = load_doc(&tx, &part_id)? {
                // Something else at the part's id (a document someone created there first) is never written
                // into: the hidden values would reach whoever holds it.
                if !liveline_forms::ids::holds(&part_id, &part, DocKind::RecordPart, &creds.team_id)
                {
                    return Ok(Err(vec![FieldError {
                        field: String::new(),
                        error: AppError::new(codes::DOC_RESERVED_ID),
                    }]));
                }
                parts.insert(readers, (part_id, part));
            }
        }
        let before =
            liveline_forms::record::values_with_parts(&form, &doc, parts.values().map(|p| &p.1));
        let after = match form.validate(
            input,
            &before,
            &liveline_forms::Ctx {
                roles: &roles,
                members: &members,
                tz: &tz,
            },
        ) {
            Ok(v) => v,
            Err(errors) => return Ok(Err(errors)),
        };
        if read_str(&doc, "kind").is_none() {
            use automerge::transaction::Transactable;
            let put = |doc: &mut AutoCommit, k: &str, v: &str| doc.put(automerge::ROOT, k, v);
            (|| {
                put(&mut doc, "kind", DocKind::Record.code())?;
                put(&mut doc, "team", &creds.team_id)?;
                put(&mut doc, "created_by", &creds.user_id)?;
                put(&mut doc, "owner", &creds.user_id)?;
                if let Some(f) = &flow {
                    put(&mut doc, "flow", f)?;
                }
                Ok::<_, automerge::AutomergeError>(())
            })()
            .map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        }
        // Hidden fields go to the record's part for their readers, written by a device whose user reads them.
        let (shown_before, hidden_before) = liveline_forms::record::split(&form, &before);
        let (shown_after, hidden_after) = liveline_forms::record::split(&form, &after);
        liveline_forms::record::write_values(
            &mut doc,
            form_id,
            def.version,
            &shown_before,
            &shown_after,
        )
        .map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        // The trail says who changed which values (computed ones follow from those).
        let computed = |path: &str| {
            let key = path.split('[').next().unwrap_or(path);
            let column = path.split_once("].").map(|(_, c)| c);
            def.fields.iter().any(|f| {
                f.key == key
                    && match (&f.kind, column) {
                        (liveline_types::forms::FieldKind::Formula { .. }, _) => true,
                        (liveline_types::forms::FieldKind::SubTable { columns }, Some(c)) => {
                            columns.iter().any(|x| {
                                x.key == c
                                    && matches!(
                                        x.kind,
                                        liveline_types::forms::FieldKind::Formula { .. }
                                    )
                            })
                        }
                        _ => false,
                    }
            })
        };
        let fields: Vec<String> = liveline_forms::record::changed_paths(&before, &after)
            .into_iter()
            .filter(|p| !computed(p))
            .collect();
        if !fields.is_empty() {
            let edit = liveline_types::forms::Edit {
                id: uuid::Uuid::now_v7().to_string(),
                user: creds.user_id.clone(),
                device: creds.device_id.clone(),
                at_ms: crate::now_ms(),
                fields,
            };
            liveline_forms::record::append_edit(&mut doc, &edit)
                .map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        }
        commit_change(&tx, &id, DocKind::Record, &mut doc)?;
        let people = RecordMeta::read(&doc)
            .map(|m| liveline_domain::policy::record_people(&m))
            .unwrap_or_default();
        for (readers, after) in hidden_after {
            let before = hidden_before.get(&readers).cloned().unwrap_or_default();
            // A part this user does not read is not theirs to write: its formulas were worked out here without
            // the hidden values, and are worked out again wherever the part is read.
            let mine = readers.split(',').any(|r| roles.iter().any(|m| m == r));
            if before == after || !mine {
                continue;
            }
            let fail = |e: liveline_forms::record::RecordError| {
                ReplicaError::Doc(id.clone(), e.to_string())
            };
            let (part_id, mut part) = match parts.remove(&readers) {
                Some((part_id, mut part)) => {
                    part.set_actor(actor.clone());
                    (part_id, part)
                }
                None => {
                    // One change holds the whole new part (its placement and first values), under this device.
                    let mut part = AutoCommit::new().with_actor(actor.clone());
                    liveline_forms::record::start_part(
                        &mut part,
                        &id,
                        &creds.team_id,
                        &readers,
                        &creds.user_id,
                        &people,
                    )
                    .map_err(fail)?;
                    (liveline_forms::record::part_id(&id, &readers), part)
                }
            };
            liveline_forms::record::write_values(&mut part, form_id, def.version, &before, &after)
                .map_err(fail)?;
            commit_change(&tx, &part_id, DocKind::RecordPart, &mut part)?;
        }
        tx.commit()?;
        Ok(Ok(id))
    }

    /// The id of a published flow that runs on `form_id`, if an admin published one.
    fn published_flow_for(&self, form_id: &str) -> Result<Option<String>> {
        let mut st = self
            .conn
            .prepare("SELECT id, bytes FROM docs WHERE kind = 'flow_def'")?;
        let team = self.actor()?.1.team_id;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        for row in rows {
            let (id, bytes) = row?;
            if let Some(def) = AutoCommit::load(&bytes)
                .ok()
                .filter(|d| liveline_forms::ids::holds(&id, d, DocKind::FlowDef, &team))
                .and_then(|d| defs::read::<FlowDef>(&d))
            {
                if def.form == form_id {
                    return Ok(Some(def.id));
                }
            }
        }
        Ok(None)
    }

    /// A record's values with those of its hidden parts this device holds (none where its user may not read them).
    fn values_of(&self, id: &str, doc: &AutoCommit, form: &Form) -> Result<liveline_forms::Values> {
        liveline_forms::record::values_loading_parts(form, id, doc, |part_id| {
            load_doc(&self.conn, part_id)
        })
    }

    fn record_doc(&self, id: &str) -> Result<AutoCommit> {
        let bytes: Vec<u8> = self
            .conn
            .query_row(
                "SELECT bytes FROM docs WHERE id = ?1 AND kind = 'record'",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| ReplicaError::NotFound(id.to_string()))?;
        AutoCommit::load(&bytes).map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))
    }

    /// A record with its flow's state, as this device has it.
    pub fn record(&self, id: &str) -> Result<RecordState> {
        let doc = self.record_doc(id)?;
        let form_id = read_str(&doc, "form").unwrap_or_default();
        let form = Form::compile(&self.form(&form_id)?).ok();
        let values = match &form {
            Some(f) => self.values_of(id, &doc, f)?,
            None => liveline_forms::record::read_values(&doc),
        };
        let flow = match &form {
            Some(f) => self.flow_for(&doc, f)?,
            None => None,
        };
        let roles = self.team_roles()?;
        let state = flow.map(|fl| {
            fl.replay(
                &liveline_forms::record::decisions(&doc),
                &People { roles: &roles },
                &values,
            )
        });
        Ok(RecordState {
            form: form_id,
            values,
            flow: state,
        })
    }

    /// Takes an approval action on a record: checked against the flow's state on this device, then appended to
    /// the record's decision log (a decision taken offline merges with others; the flow's replay settles conflicts).
    pub fn decide(
        &mut self,
        id: &str,
        act: Act,
        comment: &str,
        now: i64,
    ) -> Result<std::result::Result<(), AppError>> {
        let (actor, creds) = self.actor()?;
        let mut doc = self.record_doc(id)?;
        let form_id = read_str(&doc, "form").unwrap_or_default();
        let form = match Form::compile(&self.form(&form_id)?) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e[0].error.clone())),
        };
        let Some(flow) = self.flow_for(&doc, &form)? else {
            return Ok(Err(AppError::new(codes::FLOW_NOT_PENDING)));
        };
        let roles = self.team_roles()?;
        let people = People { roles: &roles };
        let values = self.values_of(id, &doc, &form)?;
        let state = flow.replay(&liveline_forms::record::decisions(&doc), &people, &values);
        let submit = act == Act::Submit;
        let decision_id = uuid::Uuid::now_v7().to_string();
        let d = match flow.decide(
            &form,
            &state,
            &values,
            &creds.user_id,
            act,
            (&decision_id, &creds.device_id, now),
            comment,
        ) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        let tx = self.conn.transaction()?;
        doc.set_actor(actor);
        if submit {
            use automerge::transaction::Transactable;
            doc.put(automerge::ROOT, "flow_version", i64::from(flow.def.version))
                .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
        }
        liveline_forms::record::append_decision(&mut doc, &d)
            .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
        commit_change(&tx, id, DocKind::Record, &mut doc)?;
        tx.commit()?;
        Ok(Ok(()))
    }
}

/// The lead form's fields the foundation's lead document holds as its own (validated by `liveline-domain`); every
/// other field of the published lead form is an added one, kept in the lead's `extra` map.
/// The built-in lead form's keys, made once (an import asks for them on every row).
fn foundation_keys() -> &'static [String] {
    static KEYS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        builtin::lead_form()
            .fields
            .into_iter()
            .map(|f| f.key)
            .collect()
    })
}

impl Replica {
    /// The team's lead form, compiled once per published version.
    fn lead_form_compiled(&self) -> Result<std::result::Result<CompiledForm, Vec<FieldError>>> {
        let team = self.actor()?.1.team_id;
        let id = definition_doc_id(DocKind::FormDef, &team, "lead");
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT bytes FROM docs WHERE id = ?1")?
            .query_row([&id], |r| r.get(0))
            .optional()?;
        let mut cache = self.lead_form.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((b, compiled)) = cache.as_ref() {
            if *b == bytes {
                return Ok(Ok(compiled.clone()));
            }
        }
        let def = self.form("lead")?;
        let form = match Form::compile(&def) {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors)),
        };
        let compiled = std::sync::Arc::new((def, form));
        *cache = Some((bytes, compiled.clone()));
        Ok(Ok(compiled))
    }

    /// Checks a lead against the team's lead form as an admin last published it: the foundation's fields must be
    /// filled where the form now requires them, and the fields an admin added are validated like any form field.
    /// Returns the added fields' values to store (JSON by key), or every fault.
    pub(crate) fn lead_extras(
        &self,
        input: &liveline_types::LeadInput,
        stored: &BTreeMap<String, String>,
    ) -> Result<std::result::Result<BTreeMap<String, String>, Vec<FieldError>>> {
        let compiled = match self.lead_form_compiled()? {
            Ok(x) => x,
            Err(errors) => return Ok(Err(errors)),
        };
        let (roles, members) = self.saver()?;
        Ok(lead_extras_with(&compiled, &roles, &members, input, stored))
    }

    /// What checking leads against the team's lead form needs, read once (an import checks many rows with it).
    #[cfg(feature = "sheets")]
    pub(crate) fn lead_checker(&self) -> Result<LeadChecker> {
        let form = self.lead_form_compiled()?;
        let dates = match &form {
            Ok(c) => {
                c.0.fields
                    .iter()
                    .filter_map(|f| match f.kind {
                        liveline_types::forms::FieldKind::Date => Some((f.key.clone(), false)),
                        liveline_types::forms::FieldKind::DateTime => Some((f.key.clone(), true)),
                        _ => None,
                    })
                    .collect()
            }
            Err(_) => Default::default(),
        };
        Ok(LeadChecker {
            form,
            saver: self.saver()?,
            dates,
        })
    }
}

/// A changed value's name as the form gives it: `Unit price (line 1)` for `lines[0].unit_price`.
fn path_label(def: &FormDef, path: &str) -> liveline_types::forms::Text {
    use liveline_types::forms::{FieldKind, Text};
    let key = path.split('[').next().unwrap_or(path);
    let Some(f) = def.fields.iter().find(|f| f.key == key) else {
        return Text::new(path, path);
    };
    let row = path
        .split_once('[')
        .and_then(|(_, r)| r.split_once(']'))
        .and_then(|(n, _)| n.parse::<usize>().ok());
    let column = path.split_once("].").map(|(_, c)| c);
    match (&f.kind, row, column) {
        (FieldKind::SubTable { columns }, Some(n), Some(c)) => {
            let label = columns
                .iter()
                .find(|x| x.key == c)
                .map(|x| x.label.clone())
                .unwrap_or_else(|| Text::new(c, c));
            Text {
                en: format!("{} (line {})", label.en, n + 1),
                zh: format!("{}（第 {} 行）", label.zh, n + 1),
            }
        }
        _ => f.label.clone(),
    }
}

/// The role codes of a session's comma-separated `role`.
fn role_codes(role: &str) -> Vec<String> {
    role.split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

fn status_code(s: &liveline_forms::Status) -> &'static str {
    use liveline_forms::Status;
    match s {
        Status::Draft => "draft",
        Status::Running => "running",
        Status::Returned => "returned",
        Status::Withdrawn => "withdrawn",
        Status::Approved => "approved",
    }
}

/// A list's title and amount: the first filled text or link field, and the first money value.
fn headline(
    def: &FormDef,
    values: &liveline_forms::Values,
) -> (String, Option<liveline_types::forms::Money>) {
    use liveline_types::forms::{FieldKind, Value};
    let live = || def.fields.iter().filter(|f| !f.removed);
    let title = live()
        .filter(|f| {
            matches!(
                f.kind,
                FieldKind::Text | FieldKind::Link { .. } | FieldKind::LongText
            )
        })
        .find_map(|f| match values.get(&f.key) {
            Some(Value::Text(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let money = live().find_map(|f| match values.get(&f.key) {
        Some(Value::Money(m)) => Some(m.clone()),
        _ => None,
    });
    (title, money)
}

impl Replica {
    /// Every form the team uses: the built-in ones (as published, if an admin changed them), then added ones.
    pub fn form_defs(&self) -> Result<Vec<FormDef>> {
        let builtin = builtin::forms().into_iter().map(|f| f.id);
        self.defs_in_use(builtin, DocKind::FormDef, |r, id| r.form(id), |f| &f.id)
    }

    /// Every flow the team uses, like [`Replica::form_defs`].
    pub fn flow_defs(&self) -> Result<Vec<FlowDef>> {
        let builtin = builtin::flows().into_iter().map(|f| f.id);
        self.defs_in_use(builtin, DocKind::FlowDef, |r, id| r.flow(id), |f| &f.id)
    }

    fn defs_in_use<T: DeserializeOwned>(
        &self,
        builtin: impl Iterator<Item = String>,
        kind: DocKind,
        current: impl Fn(&Self, &str) -> Result<T>,
        id_of: impl Fn(&T) -> &String,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for id in builtin {
            out.push(current(self, &id)?);
        }
        for def in self.published_all::<T>(kind)? {
            if !out.iter().any(|f| id_of(f) == id_of(&def)) {
                out.push(def);
            }
        }
        Ok(out)
    }

    fn published_all<T: DeserializeOwned>(&self, kind: DocKind) -> Result<Vec<T>> {
        let mut st = self
            .conn
            .prepare("SELECT bytes FROM docs WHERE kind = ?1 ORDER BY id")?;
        let rows = st.query_map([kind.code()], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for bytes in rows {
            if let Some(def) = AutoCommit::load(&bytes?)
                .ok()
                .and_then(|d| defs::read::<T>(&d))
            {
                out.push(def);
            }
        }
        Ok(out)
    }

    fn my_roles(&self) -> Result<Vec<String>> {
        let session = self.session()?.ok_or(ReplicaError::NotSignedIn)?;
        Ok(role_codes(&session.role))
    }

    /// What validating a save needs to know of the saver: their role codes, and the team's member ids.
    fn saver(&self) -> Result<(Vec<String>, Vec<String>)> {
        let session = self.session()?.ok_or(ReplicaError::NotSignedIn)?;
        let members = session.members.iter().map(|m| m.id.clone()).collect();
        Ok((role_codes(&session.role), members))
    }

    fn member_names(&self) -> Result<BTreeMap<String, String>> {
        let session = self.session()?.ok_or(ReplicaError::NotSignedIn)?;
        Ok(session
            .members
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect())
    }

    /// Every stay of every record this device holds at an approval step, with the forms' and steps' names: what
    /// the approvals dashboard measures.
    pub(crate) fn step_visits(
        &self,
    ) -> Result<(
        Vec<liveline_metrics::StepVisit>,
        BTreeMap<(String, String), (liveline_types::forms::Text, liveline_types::forms::Text)>,
    )> {
        use liveline_types::forms::NodeKind;
        let roles = self.team_roles()?;
        let people = People { roles: &roles };
        let mut forms: BTreeMap<String, Option<(FormDef, Form)>> = BTreeMap::new();
        let mut visits = Vec::new();
        let mut labels = BTreeMap::new();
        let mut st = self
            .conn
            .prepare("SELECT bytes FROM docs WHERE kind = 'record'")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        for bytes in rows {
            let Ok(doc) = AutoCommit::load(&bytes?) else {
                continue;
            };
            let Some(form_id) = read_str(&doc, "form") else {
                continue;
            };
            if !forms.contains_key(&form_id) {
                let compiled = self
                    .form(&form_id)
                    .ok()
                    .and_then(|d| Form::compile(&d).ok().map(|f| (d, f)));
                forms.insert(form_id.clone(), compiled);
            }
            let Some((def, form)) = forms.get(&form_id).and_then(|f| f.as_ref()) else {
                continue;
            };
            let Some(flow) = self.flow_for(&doc, form)? else {
                continue;
            };
            let values = liveline_forms::record::read_values(&doc);
            let state = flow.replay(&liveline_forms::record::decisions(&doc), &people, &values);
            for v in state.visits {
                let Some(node) = flow.def.nodes.iter().find(|n| n.id == v.node) else {
                    continue;
                };
                if !matches!(node.kind, NodeKind::Approve { .. }) {
                    continue;
                }
                labels
                    .entry((form_id.clone(), v.node.clone()))
                    .or_insert_with(|| (def.name.clone(), node.label.clone()));
                visits.push(liveline_metrics::StepVisit {
                    form: form_id.clone(),
                    node: v.node,
                    entered_at: v.entered_ms,
                    left_at: v.left_ms,
                });
            }
        }
        Ok((visits, labels))
    }

    /// The records of form `form_id` this device holds, those waiting for the signed-in user first, then newest.
    pub fn list_records(&self, form_id: &str) -> Result<Vec<liveline_types::forms::RecordSummary>> {
        let def = self.form(form_id)?;
        let Ok(form) = Form::compile(&def) else {
            return Ok(Vec::new());
        };
        let me = self.actor()?.1.user_id;
        let names = self.member_names()?;
        let roles = self.team_roles()?;
        let people = People { roles: &roles };
        let mut st = self.conn.prepare(
            "SELECT d.id, d.bytes, EXISTS (SELECT 1 FROM pending p WHERE p.doc_id = d.id)
             FROM docs d WHERE d.kind = 'record'",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, bytes, pending) = row?;
            let Ok(doc) = AutoCommit::load(&bytes) else {
                continue;
            };
            if read_str(&doc, "form").as_deref() != Some(form_id) {
                continue;
            }
            let values = self.values_of(&id, &doc, &form)?;
            let decisions = liveline_forms::record::decisions(&doc);
            let state = self
                .flow_for(&doc, &form)?
                .map(|fl| (fl.replay(&decisions, &people, &values), fl));
            let (title, money) = headline(&def, &values);
            let created_by = read_str(&doc, "created_by").unwrap_or_default();
            let waiting = state.as_ref().and_then(|(s, _)| s.waiting.clone());
            out.push(liveline_types::forms::RecordSummary {
                id,
                form: form_id.to_string(),
                title,
                money,
                status: state
                    .as_ref()
                    .map(|(s, _)| status_code(&s.status).to_string())
                    .unwrap_or_default(),
                node_label: waiting.as_ref().and_then(|w| {
                    state
                        .as_ref()
                        .and_then(|(_, fl)| fl.def.nodes.iter().find(|n| n.id == w.node))
                        .map(|n| n.label.clone())
                }),
                mine: waiting.is_some_and(|w| w.approvers.contains(&me)),
                created_by_name: names.get(&created_by).cloned().unwrap_or(created_by),
                updated_at: decisions.iter().map(|d| d.at_ms).max().unwrap_or(0),
                pending,
            });
        }
        out.sort_by_key(|r| std::cmp::Reverse((r.mine, r.updated_at)));
        Ok(out)
    }

    /// A record for its screen: the fields the user's roles may read, the flow's state and trail, and the
    /// actions the user may take now (each tried against the flow as this device has it).
    pub fn record_view(&self, id: &str) -> Result<liveline_types::forms::RecordView> {
        use liveline_types::forms::{ActKind, FlowView, TrailEntry};
        let doc = self.record_doc(id)?;
        let form_id = read_str(&doc, "form").unwrap_or_default();
        let def = self.form(&form_id)?;
        let form = Form::compile(&def).map_err(|e| {
            ReplicaError::Doc(
                id.to_string(),
                format!("form {form_id}: {}", e[0].error.code),
            )
        })?;
        let my_roles = self.my_roles()?;
        let (_, creds) = self.actor()?;
        let names = self.member_names()?;
        let name = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_string());
        let values = self.values_of(id, &doc, &form)?;
        let readable = form.readable(&my_roles);
        let tz = jiff::tz::TimeZone::system();
        let shown = values
            .iter()
            .filter(|(k, _)| readable.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), liveline_forms::form::as_input(v, &tz)))
            .collect();
        let roles = self.team_roles()?;
        let people = People { roles: &roles };
        let decisions = liveline_forms::record::decisions(&doc);
        let mut can = Vec::new();
        let flow = match self.flow_for(&doc, &form)? {
            None => None,
            Some(fl) => {
                let st = fl.replay(&decisions, &people, &values);
                let tries = [
                    (ActKind::Submit, Act::Submit),
                    (ActKind::Approve, Act::Approve),
                    (ActKind::Reject, Act::Reject { to: None }),
                    (ActKind::Comment, Act::Comment),
                    (ActKind::Withdraw, Act::Withdraw),
                ];
                for (kind, act) in tries {
                    let ok = fl
                        .decide(&form, &st, &values, &creds.user_id, act, ("", "", 0), "")
                        .is_ok();
                    // Approving may still be refused for a missing field: a waiting approver may act anyway.
                    let waiting_for_me = st
                        .waiting
                        .as_ref()
                        .is_some_and(|w| w.approvers.contains(&creds.user_id));
                    if ok || (kind == ActKind::Approve && waiting_for_me) {
                        can.push(kind);
                    }
                }
                if can.contains(&ActKind::Approve) {
                    can.extend([ActKind::Transfer, ActKind::AddApprover]);
                }
                let waiting = st.waiting.clone();
                Some(FlowView {
                    status: status_code(&st.status).to_string(),
                    node: waiting.as_ref().map(|w| w.node.clone()),
                    waiting: waiting
                        .as_ref()
                        .map(|w| w.approvers.iter().map(|u| name(u)).collect())
                        .unwrap_or_default(),
                    approved: waiting
                        .as_ref()
                        .map(|w| w.approved.iter().map(|u| name(u)).collect())
                        .unwrap_or_default(),
                    due_ms: waiting.as_ref().and_then(|w| w.due_ms),
                    visited: st.visits.iter().map(|v| v.node.clone()).collect(),
                    trail: {
                        let mut trail: Vec<TrailEntry> = st
                            .log
                            .iter()
                            .map(|e| TrailEntry {
                                actor: e.decision.actor.clone(),
                                actor_name: name(&e.decision.actor),
                                device: e.decision.device.clone(),
                                at_ms: e.decision.at_ms,
                                act: Some(e.decision.act.clone()),
                                changed: Vec::new(),
                                node: e.decision.node.clone(),
                                comment: e.decision.comment.clone(),
                                superseded: match &e.outcome {
                                    liveline_forms::flow::Outcome::Applied => None,
                                    liveline_forms::flow::Outcome::Superseded(c) => {
                                        Some(c.to_string())
                                    }
                                },
                            })
                            .collect();
                        // Edits go between the decisions by time; decisions keep their replay order.
                        for e in liveline_forms::record::edits(&doc) {
                            let entry = TrailEntry {
                                actor: e.user.clone(),
                                actor_name: name(&e.user),
                                device: e.device.clone(),
                                at_ms: e.at_ms,
                                act: None,
                                changed: e.fields.iter().map(|p| path_label(&def, p)).collect(),
                                node: String::new(),
                                comment: String::new(),
                                superseded: None,
                            };
                            let at = trail
                                .iter()
                                .position(|t| t.at_ms > e.at_ms)
                                .unwrap_or(trail.len());
                            trail.insert(at, entry);
                        }
                        trail
                    },
                    flow: fl.def.clone(),
                })
            }
        };
        let pending: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM pending WHERE doc_id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        let created_by = read_str(&doc, "created_by").unwrap_or_default();
        Ok(liveline_types::forms::RecordView {
            id: id.to_string(),
            writable: form.writable(&my_roles),
            form: def,
            values: shown,
            flow,
            can,
            created_by_name: name(&created_by),
            created_by,
            pending,
        })
    }
}

/// The values of the fields an admin added to the lead form, checked by the form (`stored`: what the lead holds).
pub(crate) fn lead_extras_with(
    compiled: &(FormDef, Form),
    roles: &[String],
    members: &[String],
    input: &liveline_types::LeadInput,
    stored: &BTreeMap<String, String>,
) -> std::result::Result<BTreeMap<String, String>, Vec<FieldError>> {
    use liveline_types::forms::Value;
    let (def, form) = (&compiled.0, &compiled.1);
    let foundation = foundation_keys();
    // The foundation's values stand as already saved, so the form reads them (a phone by the country, a
    // condition or formula over them) without parsing them a second time.
    let typed = serde_json::to_value(input).unwrap_or_default();
    let mut previous: liveline_forms::Values = foundation
        .iter()
        .filter_map(|k| {
            let text = typed.get(k)?.as_str()?.trim().to_string();
            (!text.is_empty()).then(|| {
                let v = match (k.as_str(), text.parse::<rust_decimal::Decimal>()) {
                    ("quantity", Ok(n)) => Value::Number(n),
                    _ => Value::Text(text),
                };
                (k.clone(), v)
            })
        })
        .collect();
    for (k, json) in stored {
        if let Ok(v) = serde_json::from_str::<Value>(json) {
            previous.insert(k.clone(), v);
        }
    }
    let added: BTreeMap<String, FieldInput> = input
        .extra
        .iter()
        .filter(|(k, _)| !foundation.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let tz = jiff::tz::TimeZone::system();
    let values = match form.validate(
        &added,
        &previous,
        &liveline_forms::Ctx {
            roles,
            members,
            tz: &tz,
        },
    ) {
        Ok(v) => v,
        Err(errors) => return Err(errors),
    };
    let mut out = stored.clone();
    for f in def.fields.iter().filter(|f| !foundation.contains(&f.key)) {
        match values.get(&f.key) {
            Some(v) => {
                out.insert(f.key.clone(), serde_json::to_string(v).unwrap_or_default());
            }
            // A removed field keeps its data; a live one left empty is cleared.
            None if !f.removed => {
                out.remove(&f.key);
            }
            None => {}
        }
    }
    Ok(out)
}

/// The team's lead form compiled (or why it cannot be), and the saver's roles and the team's members.
#[cfg(feature = "sheets")]
pub(crate) struct LeadChecker {
    pub form: std::result::Result<CompiledForm, Vec<FieldError>>,
    pub saver: (Vec<String>, Vec<String>),
    /// The form's date fields (true: with a time), whose text an import reads year first.
    pub dates: std::collections::HashMap<String, bool>,
}

#[cfg(feature = "sheets")]
impl LeadChecker {
    pub(crate) fn extras(
        &self,
        input: &liveline_types::LeadInput,
    ) -> std::result::Result<BTreeMap<String, String>, Vec<FieldError>> {
        match &self.form {
            Ok(c) => lead_extras_with(c, &self.saver.0, &self.saver.1, input, &BTreeMap::new()),
            Err(e) => Err(e.clone()),
        }
    }
}
