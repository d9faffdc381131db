//! A custom dashboard: widgets a manager composes and arranges, shared with the team as one synced document.
//!
//! Widgets sit in a map by id, each with its own `order` (a number between its neighbours' when moved), so two
//! people who add, edit or move different widgets offline merge without losing either's work; two who move the
//! same widget end with the later move.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{hydrate, reconcile, Hydrate, Reconcile};
use liveline_types::metrics::{
    ChartKind, DashboardEdit, DashboardView, Dim, Filter, Measure, Stage, WidgetSpec,
    MAX_TITLE_CHARS, MAX_WIDGETS,
};
use liveline_types::{codes, AppError};

use crate::doc::DocError;

#[derive(Clone, Debug, Default, PartialEq, Hydrate, Reconcile)]
pub struct Dashboard {
    pub kind: String,
    pub team: String,
    pub title: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// A deleted dashboard stays a document (others may still edit it offline) and is no longer listed.
    #[autosurgeon(missing = "Default::default")]
    pub deleted: bool,
    pub widgets: BTreeMap<String, Widget>,
}

/// A widget as stored: codes as text, so a device that does not know a newer code still reads the rest.
#[derive(Clone, Debug, Default, PartialEq, Hydrate, Reconcile)]
pub struct Widget {
    pub title: String,
    pub measure: String,
    pub stage: String,
    pub dim: String,
    pub chart: String,
    /// Dimension code → key.
    pub filters: BTreeMap<String, String>,
    /// Widgets are shown by `order`, then id.
    pub order: f64,
}

impl Widget {
    fn spec(&self, id: &str) -> Option<WidgetSpec> {
        Some(WidgetSpec {
            id: id.to_string(),
            title: self.title.clone(),
            measure: Measure::from_code(&self.measure)?,
            stage: Stage::from_code(&self.stage)?,
            dim: Dim::from_code(&self.dim)?,
            chart: ChartKind::from_code(&self.chart)?,
            filters: self
                .filters
                .iter()
                .map(|(d, k)| {
                    Some(Filter {
                        dim: Dim::from_code(d)?,
                        key: k.clone(),
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        })
    }
}

impl Dashboard {
    pub fn new(team: &str, user: &str, title: &str, now_ms: i64) -> Self {
        Dashboard {
            kind: crate::DocKind::Dashboard.code().into(),
            team: team.into(),
            title: title.trim().into(),
            created_by: user.into(),
            created_at: now_ms,
            updated_at: now_ms,
            ..Default::default()
        }
    }

    pub fn load(doc: &AutoCommit) -> Result<Self, DocError> {
        hydrate(doc).map_err(|e| DocError::Shape(e.to_string()))
    }

    /// Writes only what differs, so concurrent edits of other widgets merge.
    pub fn save_into(&self, doc: &mut AutoCommit) -> Result<(), DocError> {
        reconcile(doc, self).map_err(|e| DocError::Shape(e.to_string()))
    }

    /// The widgets in their arranged order: by `order`, then id (two widgets moved to one place concurrently).
    pub fn arranged(&self) -> Vec<(&String, &Widget)> {
        let mut w: Vec<_> = self.widgets.iter().collect();
        w.sort_by(|a, b| a.1.order.total_cmp(&b.1.order).then(a.0.cmp(b.0)));
        w
    }

    /// What the UI shows. A widget with a code this app does not know is left out, not guessed at.
    pub fn view(&self, id: &str, created_by_name: &str) -> DashboardView {
        DashboardView {
            id: id.into(),
            title: self.title.clone(),
            created_by: self.created_by.clone(),
            created_by_name: created_by_name.into(),
            updated_at: self.updated_at,
            widgets: self
                .arranged()
                .into_iter()
                .filter_map(|(id, w)| w.spec(id))
                .collect(),
        }
    }

    /// Applies one edit. The dashboard is then checked whole; an edit that would leave it wrong is refused and
    /// the dashboard is left as it was.
    pub fn apply(&mut self, edit: &DashboardEdit, now_ms: i64) -> Result<(), AppError> {
        let before = self.clone();
        match edit {
            DashboardEdit::Create { title } | DashboardEdit::Rename { title } => {
                self.title = title.trim().to_string();
            }
            DashboardEdit::Delete => self.deleted = true,
            DashboardEdit::PutWidget { widget } => {
                let order = match self.widgets.get(&widget.id) {
                    Some(w) => w.order,
                    None => self
                        .arranged()
                        .last()
                        .map(|(_, w)| w.order + 1.0)
                        .unwrap_or(1.0),
                };
                self.widgets.insert(
                    widget.id.clone(),
                    Widget {
                        title: widget.title.trim().to_string(),
                        measure: widget.measure.code().into(),
                        stage: widget.stage.code().into(),
                        dim: widget.dim.code().into(),
                        chart: widget.chart.code().into(),
                        filters: widget
                            .filters
                            .iter()
                            .map(|f| (f.dim.code().to_string(), f.key.clone()))
                            .collect(),
                        order,
                    },
                );
            }
            DashboardEdit::RemoveWidget { id } => {
                if self.widgets.remove(id).is_none() {
                    return Err(AppError::new(codes::DASHBOARD_MISSING).with("id", id));
                }
            }
            DashboardEdit::MoveWidget { id, before } => {
                if !self.widgets.contains_key(id) {
                    return Err(AppError::new(codes::DASHBOARD_MISSING).with("id", id));
                }
                if let Some(b) = before.as_ref().filter(|b| !self.widgets.contains_key(*b)) {
                    return Err(AppError::new(codes::DASHBOARD_MISSING).with("id", b));
                }
                // Dropped on itself: it stays where it is.
                if before.as_ref() == Some(id) {
                    return Ok(());
                }
                for (id, order) in place(&self.arranged(), id, before.as_deref()) {
                    if let Some(w) = self.widgets.get_mut(&id) {
                        w.order = order;
                    }
                }
            }
        }
        if let Err(e) = check(self) {
            *self = before;
            return Err(e);
        }
        self.updated_at = now_ms;
        Ok(())
    }
}

/// The new `order` of each widget that moves when `moving` is placed just before `before` (or last): only the
/// moved one, between its new neighbours; every widget, renumbered, when two neighbours' orders leave no number
/// between them.
fn place(
    arranged: &[(&String, &Widget)],
    moving: &str,
    before: Option<&str>,
) -> Vec<(String, f64)> {
    let rest: Vec<(&str, f64)> = arranged
        .iter()
        .filter(|(id, _)| id.as_str() != moving)
        .map(|(id, w)| (id.as_str(), w.order))
        .collect();
    let at = before
        .and_then(|b| rest.iter().position(|(id, _)| *id == b))
        .unwrap_or(rest.len());
    let prev = at.checked_sub(1).map(|i| rest[i].1);
    let next = rest.get(at).map(|r| r.1);
    let order = match (prev, next) {
        (None, None) => 1.0,
        (Some(p), None) => p + 1.0,
        (None, Some(n)) => n - 1.0,
        (Some(p), Some(n)) => p + (n - p) / 2.0,
    };
    let squeezed = prev.is_some_and(|p| order <= p) || next.is_some_and(|n| order >= n);
    if !squeezed && order.is_finite() {
        return vec![(moving.to_string(), order)];
    }
    let mut ids: Vec<&str> = rest.iter().map(|(id, _)| *id).collect();
    ids.insert(at, moving);
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| (id.to_string(), (i + 1) as f64))
        .collect()
}

/// Whether a dashboard is one the app can show: a title, at most [`MAX_WIDGETS`] widgets, each with a title and
/// codes the app knows. The server checks every change with it, so a hand-made document is refused too.
pub fn check(d: &Dashboard) -> Result<(), AppError> {
    let title_ok = |t: &str| !t.trim().is_empty() && t.chars().count() <= MAX_TITLE_CHARS;
    if !title_ok(&d.title) {
        return Err(AppError::new(codes::DASHBOARD_TITLE).with("max", MAX_TITLE_CHARS.to_string()));
    }
    if d.widgets.len() > MAX_WIDGETS {
        return Err(AppError::new(codes::DASHBOARD_TOO_MANY).with("max", MAX_WIDGETS.to_string()));
    }
    for (id, w) in &d.widgets {
        if !title_ok(&w.title) {
            return Err(
                AppError::new(codes::DASHBOARD_TITLE).with("max", MAX_TITLE_CHARS.to_string())
            );
        }
        if w.spec(id).is_none() || !w.order.is_finite() || id.is_empty() || id.len() > 64 {
            return Err(AppError::new(codes::DASHBOARD_WIDGET).with("widget", &w.title));
        }
    }
    Ok(())
}

/// The server's check of a change to a dashboard document: it must still read as a dashboard the app can show.
pub fn check_document(doc: &AutoCommit) -> Result<(), (String, AppError)> {
    let d = Dashboard::load(doc).map_err(|_| {
        (
            "widgets".to_string(),
            AppError::new(codes::DASHBOARD_WIDGET).with("widget", ""),
        )
    })?;
    check(&d).map_err(|e| ("widgets".to_string(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget(id: &str, title: &str) -> WidgetSpec {
        WidgetSpec {
            id: id.into(),
            title: title.into(),
            measure: Measure::Conversion,
            stage: Stage::Won,
            dim: Dim::Team,
            chart: ChartKind::Bar,
            filters: vec![Filter {
                dim: Dim::Channel,
                key: "tiktok_live".into(),
            }],
        }
    }

    fn order(d: &Dashboard) -> Vec<String> {
        d.view("d", "").widgets.into_iter().map(|w| w.id).collect()
    }

    fn with(ids: &[&str]) -> Dashboard {
        let mut d = Dashboard::new("t", "u", "Weekly review", 1);
        for id in ids {
            d.apply(
                &DashboardEdit::PutWidget {
                    widget: widget(id, id),
                },
                2,
            )
            .unwrap();
        }
        d
    }

    fn mv(d: &mut Dashboard, id: &str, before: Option<&str>) {
        d.apply(
            &DashboardEdit::MoveWidget {
                id: id.into(),
                before: before.map(String::from),
            },
            3,
        )
        .unwrap();
    }

    #[test]
    fn widgets_are_added_last_and_moved_between_neighbours() {
        let mut d = with(&["a", "b", "c"]);
        assert_eq!(order(&d), ["a", "b", "c"]);
        mv(&mut d, "c", Some("a"));
        assert_eq!(order(&d), ["c", "a", "b"]);
        mv(&mut d, "c", None);
        assert_eq!(order(&d), ["a", "b", "c"]);
        mv(&mut d, "a", Some("c"));
        assert_eq!(order(&d), ["b", "a", "c"]);
        // A move writes one widget's order only, so a concurrent move of another widget merges.
        let before: Vec<f64> = ["b", "c"].iter().map(|k| d.widgets[*k].order).collect();
        mv(&mut d, "a", Some("b"));
        mv(&mut d, "b", Some("b"));
        let after: Vec<f64> = ["b", "c"].iter().map(|k| d.widgets[*k].order).collect();
        assert_eq!(before, after);
        assert_eq!(order(&d), ["a", "b", "c"]);
        assert_eq!(d.updated_at, 3);
    }

    #[test]
    fn a_gap_worn_thin_by_many_moves_is_renumbered() {
        let mut d = with(&["a", "b", "c"]);
        // Always between the first two: halves the same gap until no number is left between them.
        for i in 0..80 {
            let (x, y) = if i % 2 == 0 { ("c", "b") } else { ("b", "c") };
            mv(&mut d, x, Some(y));
            let o = order(&d);
            assert_eq!(o[0], "a", "move {i}: {o:?}");
        }
        let orders: Vec<f64> = d.arranged().iter().map(|(_, w)| w.order).collect();
        assert!(orders.windows(2).all(|p| p[0] < p[1]), "{orders:?}");
    }

    #[test]
    fn an_edit_that_leaves_the_dashboard_wrong_is_refused_and_changes_nothing() {
        let mut d = with(&["a"]);
        let kept = d.clone();
        let e = d
            .apply(&DashboardEdit::Rename { title: "  ".into() }, 9)
            .unwrap_err();
        assert_eq!(e.code, codes::DASHBOARD_TITLE);
        let e = d
            .apply(
                &DashboardEdit::PutWidget {
                    widget: widget("b", &"x".repeat(81)),
                },
                9,
            )
            .unwrap_err();
        assert_eq!(e.code, codes::DASHBOARD_TITLE);
        let e = d
            .apply(
                &DashboardEdit::MoveWidget {
                    id: "a".into(),
                    before: Some("zz".into()),
                },
                9,
            )
            .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.args["id"].as_str()),
            (codes::DASHBOARD_MISSING, "zz")
        );
        assert_eq!(d, kept);
        for i in 1..MAX_WIDGETS {
            d.apply(
                &DashboardEdit::PutWidget {
                    widget: widget(&format!("w{i}"), "w"),
                },
                9,
            )
            .unwrap();
        }
        let e = d
            .apply(
                &DashboardEdit::PutWidget {
                    widget: widget("one-more", "w"),
                },
                9,
            )
            .unwrap_err();
        assert_eq!(e.code, codes::DASHBOARD_TOO_MANY);
        assert_eq!(d.widgets.len(), MAX_WIDGETS);
    }

    #[test]
    fn a_stored_widget_with_an_unknown_code_is_refused_by_the_check_and_hidden_from_the_view() {
        let mut d = with(&["a", "b"]);
        d.widgets.get_mut("b").unwrap().measure = "revenue".into();
        assert_eq!(check(&d).unwrap_err().code, codes::DASHBOARD_WIDGET);
        assert_eq!(order(&d), ["a"]);
    }

    #[test]
    fn two_devices_editing_different_widgets_offline_merge() {
        let mut base = AutoCommit::new();
        let d = with(&["a", "b", "c"]);
        d.save_into(&mut base).unwrap();
        base.commit();
        let (mut x, mut y) = (base.fork(), base.fork());
        let mut dx = Dashboard::load(&x).unwrap();
        mv(&mut dx, "c", Some("a"));
        dx.save_into(&mut x).unwrap();
        let mut dy = Dashboard::load(&y).unwrap();
        let mut w = widget("b", "Won per team, TikTok");
        w.chart = ChartKind::Table;
        dy.apply(&DashboardEdit::PutWidget { widget: w }, 4)
            .unwrap();
        dy.apply(
            &DashboardEdit::PutWidget {
                widget: widget("d", "d"),
            },
            4,
        )
        .unwrap();
        dy.save_into(&mut y).unwrap();
        x.merge(&mut y).unwrap();
        let merged = Dashboard::load(&x).unwrap();
        assert_eq!(order(&merged), ["c", "a", "b", "d"]);
        let b = &merged.view("d", "").widgets[2];
        assert_eq!(
            (b.title.as_str(), b.chart),
            ("Won per team, TikTok", ChartKind::Table)
        );
    }
}
