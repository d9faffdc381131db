//! The team's forms and flows on the device: read from their published documents (or the built-in ones until an
//! admin publishes a change), and published by an admin after the same checks the server makes.

use automerge::AutoCommit;
use liveline_domain::doc::{definition_doc_id, read_str};
use liveline_domain::DocKind;
use liveline_forms::{builtin, defs, Flow, Form, People};
use liveline_types::forms::{Act, FlowDef, FormDef};
use liveline_types::{codes, AppError, FieldError};
use rusqlite::OptionalExtension;
use serde::de::DeserializeOwned;

use crate::replica::{commit_change, load_doc, Replica, ReplicaError, Result};

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
        Ok(defs::read(&doc))
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
        let session = self.session()?.ok_or(ReplicaError::NotSignedIn)?;
        Ok(session.role.split(',').any(|r| r.trim() == "admin"))
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
            .map(|m| {
                (
                    m.id.clone(),
                    m.role
                        .split(',')
                        .map(|r| r.trim().to_string())
                        .filter(|r| !r.is_empty())
                        .collect(),
                )
            })
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
        let versions = match bytes.and_then(|b| AutoCommit::load(&b).ok()) {
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
        let session = self.session()?.ok_or(ReplicaError::NotSignedIn)?;
        let roles: Vec<String> = session
            .role
            .split(',')
            .map(|r| r.trim().to_string())
            .collect();
        let members: Vec<String> = session.members.iter().map(|m| m.id.clone()).collect();
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
        doc.set_actor(actor);
        let before = liveline_forms::record::read_values(&doc);
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
        liveline_forms::record::write_values(&mut doc, form_id, def.version, &before, &after)
            .map_err(|e| ReplicaError::Doc(id.clone(), e.to_string()))?;
        commit_change(&tx, &id, DocKind::Record, &mut doc)?;
        tx.commit()?;
        Ok(Ok(id))
    }

    /// The id of a published flow that runs on `form_id`, if an admin published one.
    fn published_flow_for(&self, form_id: &str) -> Result<Option<String>> {
        let mut st = self
            .conn
            .prepare("SELECT bytes FROM docs WHERE kind = 'flow_def'")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        for bytes in rows {
            if let Some(def) = AutoCommit::load(&bytes?)
                .ok()
                .and_then(|d| defs::read::<FlowDef>(&d))
            {
                if def.form == form_id {
                    return Ok(Some(def.id));
                }
            }
        }
        Ok(None)
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
        let values = liveline_forms::record::read_values(&doc);
        let form = Form::compile(&self.form(&form_id)?).ok();
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
        let values = liveline_forms::record::read_values(&doc);
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
