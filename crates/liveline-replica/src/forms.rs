//! The team's forms and flows on the device: read from their published documents (or the built-in ones until an
//! admin publishes a change), and published by an admin after the same checks the server makes.

use automerge::AutoCommit;
use liveline_domain::doc::definition_doc_id;
use liveline_domain::DocKind;
use liveline_forms::{builtin, defs, Flow, Form};
use liveline_types::forms::{FlowDef, FormDef};
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
