//! Custom dashboards on the device: the team's dashboard documents, listed and edited. An edit is one automerge
//! change that touches only what it names, queued for the server like any other.

use crate::replica::{commit_change, load_doc, Replica, ReplicaError, Result};
use automerge::AutoCommit;
use liveline_domain::dashboard::Dashboard;
use liveline_domain::DocKind;
use liveline_types::metrics::{DashboardEdit, DashboardView, Dim};
use liveline_types::{codes, AppError};

impl Replica {
    /// The team's custom dashboards this device holds, by title (deleted ones left out).
    pub fn custom_dashboards(&self) -> Result<Vec<DashboardView>> {
        let names = self.labels(Dim::Rep)?;
        let mut st = self
            .conn
            .prepare_cached("SELECT id, bytes FROM docs WHERE kind = ?1")?;
        let rows = st.query_map([DocKind::Dashboard.code()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, bytes) = row?;
            // A document that does not read as a dashboard is skipped, not shown half.
            let Some(d) = AutoCommit::load(&bytes)
                .ok()
                .and_then(|doc| Dashboard::load(&doc).ok())
            else {
                continue;
            };
            if !d.deleted {
                let by = names.get(&d.created_by).cloned().unwrap_or_default();
                out.push(d.view(&id, &by));
            }
        }
        out.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Creates a dashboard (`id` None with [`DashboardEdit::Create`]) or edits one. A refusal (a role that may
    /// not compose dashboards, an empty title, an unknown widget) is `ReplicaError::Invalid`, and nothing is
    /// saved.
    pub fn dashboard_edit(
        &mut self,
        id: Option<&str>,
        edit: &DashboardEdit,
        now: i64,
    ) -> Result<DashboardView> {
        let session = self.session()?.ok_or(ReplicaError::NotSignedIn)?;
        let composes = session
            .role
            .split(',')
            .any(|r| matches!(r.trim(), "sales_lead" | "manager" | "admin"));
        if !composes {
            return Err(ReplicaError::Invalid(AppError::new(
                codes::DASHBOARD_FORBIDDEN,
            )));
        }
        let (actor, creds) = self.actor()?;
        let missing = |id: &str| {
            ReplicaError::Invalid(AppError::new(codes::DASHBOARD_MISSING).with("id", id))
        };
        let tx = self.conn.transaction()?;
        let (doc_id, mut doc, mut dash) = match (id, edit) {
            (None, DashboardEdit::Create { title }) => (
                uuid::Uuid::now_v7().to_string(),
                AutoCommit::new(),
                Dashboard::new(&creds.team_id, &creds.user_id, title, now),
            ),
            (None, _) => return Err(missing("")),
            (Some(id), _) => {
                let doc = load_doc(&tx, id)?.ok_or_else(|| missing(id))?;
                let dash = Dashboard::load(&doc)
                    .ok()
                    .filter(|d| !d.deleted)
                    .ok_or_else(|| missing(id))?;
                (id.to_string(), doc, dash)
            }
        };
        doc.set_actor(actor);
        dash.apply(edit, now).map_err(ReplicaError::Invalid)?;
        dash.save_into(&mut doc)
            .map_err(|e| ReplicaError::Doc(doc_id.clone(), e.to_string()))?;
        commit_change(&tx, &doc_id, DocKind::Dashboard, &mut doc)?;
        tx.commit()?;
        let by = self.labels(Dim::Rep)?.remove(&dash.created_by);
        Ok(dash.view(&doc_id, &by.unwrap_or_default()))
    }
}
