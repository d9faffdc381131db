//! The task record: one to-do with an assignee, a deadline and a linked record; the actions a user takes on it.
//!
//! Comments and checklist items are lists in the document, so items added offline on two devices both survive.

use automerge::AutoCommit;
use autosurgeon::{hydrate, reconcile, Hydrate, Reconcile};
use liveline_types::{codes, AppError, ChecklistItem, TaskAction, TaskComment, TaskView};

use crate::doc::DocError;

pub const OPEN: &str = "open";
pub const DONE: &str = "done";
pub const CANCELLED: &str = "cancelled";

/// Task types the server opens; a person's own to-dos are `todo`.
pub const FIRST_CONTACT: &str = "first_contact";
pub const OVERDUE: &str = "overdue";
pub const DUPLICATE: &str = "duplicate";
pub const TODO: &str = "todo";

#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Comment {
    pub by: String,
    pub at: i64,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Check {
    pub text: String,
    pub done: bool,
}

/// A task document's content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hydrate, Reconcile)]
pub struct Task {
    pub kind: String,
    pub team: String,
    pub title: String,
    pub task_type: String,
    pub assignee: String,
    pub created_by: String,
    pub linked_kind: String,
    pub linked_id: String,
    pub linked_title: String,
    pub due_at: i64,
    pub status: String,
    pub priority: String,
    pub snoozed_until: i64,
    pub closed_at: i64,
    pub closed_by: String,
    pub escalated_at: i64,
    pub rule: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub comments: Vec<Comment>,
    pub checklist: Vec<Check>,
}

impl Task {
    /// A new open task.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        team: &str,
        task_type: &str,
        title: &str,
        assignee: &str,
        created_by: &str,
        due_at: i64,
        now: i64,
    ) -> Self {
        Task {
            kind: "task".into(),
            team: team.into(),
            title: title.into(),
            task_type: task_type.into(),
            assignee: assignee.into(),
            created_by: created_by.into(),
            due_at,
            status: OPEN.into(),
            priority: "normal".into(),
            created_at: now,
            updated_at: now,
            ..Default::default()
        }
    }

    pub fn link(mut self, kind: &str, id: &str, title: &str) -> Self {
        self.linked_kind = kind.into();
        self.linked_id = id.into();
        self.linked_title = title.into();
        self
    }

    pub fn load(doc: &AutoCommit) -> Result<Self, DocError> {
        hydrate(doc).map_err(|e| DocError::Shape(e.to_string()))
    }

    pub fn save_into(&self, doc: &mut AutoCommit) -> Result<(), DocError> {
        reconcile(doc, self).map_err(|e| DocError::Shape(e.to_string()))
    }

    pub fn is_open(&self) -> bool {
        self.status == OPEN
    }

    /// Open, past its deadline at `now`, and not snoozed.
    pub fn is_overdue(&self, now: i64) -> bool {
        self.is_open() && self.due_at > 0 && self.due_at <= now && self.snoozed_until <= now
    }

    /// Carries out what `user` asked. `members` are the team's user ids (a reassignment must name one of them).
    pub fn act(
        &mut self,
        action: &TaskAction,
        user: &str,
        members: &[String],
        now: i64,
    ) -> Result<(), AppError> {
        match action {
            TaskAction::Complete => {
                if !self.is_open() {
                    return Err(AppError::new(codes::TASK_STATE).with("status", &self.status));
                }
                self.close(DONE, user, now);
            }
            TaskAction::Reopen => {
                if self.is_open() {
                    return Err(AppError::new(codes::TASK_STATE).with("status", &self.status));
                }
                self.status = OPEN.into();
                self.closed_at = 0;
                self.closed_by.clear();
            }
            TaskAction::Snooze { until } => {
                if !self.is_open() {
                    return Err(AppError::new(codes::TASK_STATE).with("status", &self.status));
                }
                self.snoozed_until = *until;
            }
            TaskAction::Reassign { to } => {
                if !members.iter().any(|m| m == to) {
                    return Err(AppError::new(codes::TASK_ASSIGNEE_UNKNOWN).with("user", to));
                }
                self.assignee = to.clone();
            }
            TaskAction::Comment { text } => {
                let text = text.trim();
                if text.is_empty() {
                    return Err(AppError::new(codes::TASK_TEXT_REQUIRED));
                }
                if text.chars().count() > 5000 {
                    return Err(AppError::new(codes::TOO_LONG).with("max", "5000"));
                }
                self.comments.push(Comment {
                    by: user.into(),
                    at: now,
                    text: text.into(),
                });
            }
            TaskAction::ToggleCheck { index } => {
                let Some(item) = self.checklist.get_mut(*index as usize) else {
                    return Err(AppError::new(codes::NOT_FOUND).with("id", index.to_string()));
                };
                item.done = !item.done;
            }
            TaskAction::AddCheck { text } => {
                let text = text.trim();
                if text.is_empty() {
                    return Err(AppError::new(codes::TASK_TEXT_REQUIRED));
                }
                self.checklist.push(Check {
                    text: text.chars().take(200).collect(),
                    done: false,
                });
            }
        }
        self.updated_at = now;
        Ok(())
    }

    pub fn close(&mut self, status: &str, by: &str, now: i64) {
        self.status = status.into();
        self.closed_at = now;
        self.closed_by = by.into();
        self.updated_at = now;
    }

    pub fn view(&self, id: &str) -> TaskView {
        TaskView {
            id: id.into(),
            team: self.team.clone(),
            title: self.title.clone(),
            task_type: self.task_type.clone(),
            assignee: self.assignee.clone(),
            created_by: self.created_by.clone(),
            linked_kind: self.linked_kind.clone(),
            linked_id: self.linked_id.clone(),
            linked_title: self.linked_title.clone(),
            due_at: self.due_at,
            status: self.status.clone(),
            priority: self.priority.clone(),
            snoozed_until: self.snoozed_until,
            closed_at: self.closed_at,
            closed_by: self.closed_by.clone(),
            escalated_at: self.escalated_at,
            rule: self.rule.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            comments: self
                .comments
                .iter()
                .map(|c| TaskComment {
                    by: c.by.clone(),
                    at: c.at,
                    text: c.text.clone(),
                    ..Default::default()
                })
                .collect(),
            checklist: self
                .checklist
                .iter()
                .map(|c| ChecklistItem {
                    text: c.text.clone(),
                    done: c.done,
                })
                .collect(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        Task::new("t", FIRST_CONTACT, "Call Ann", "u1", "", 1_000, 0)
    }

    #[test]
    fn comments_added_offline_on_two_devices_both_survive() {
        let mut a = AutoCommit::new();
        task().save_into(&mut a).unwrap();
        a.commit();
        let mut b = a.fork();
        let members = ["u1".to_string(), "u2".to_string()];
        for (doc, who) in [(&mut a, "u1"), (&mut b, "u2")] {
            let mut t = Task::load(doc).unwrap();
            t.act(
                &TaskAction::Comment {
                    text: format!("note from {who}"),
                },
                who,
                &members,
                5,
            )
            .unwrap();
            t.save_into(doc).unwrap();
            doc.commit();
        }
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (ta, tb) = (Task::load(&a).unwrap(), Task::load(&b).unwrap());
        assert_eq!(ta, tb);
        let mut by: Vec<_> = ta.comments.iter().map(|c| c.by.as_str()).collect();
        by.sort();
        assert_eq!(by, ["u1", "u2"]);
    }

    #[test]
    fn actions_check_the_state_and_the_input() {
        let members = ["u1".to_string(), "u2".to_string()];
        let mut t = task();
        assert!(t.is_overdue(1_000));
        t.act(&TaskAction::Snooze { until: 2_000 }, "u1", &members, 10)
            .unwrap();
        assert!(!t.is_overdue(1_500), "snoozed");
        assert!(t.is_overdue(2_000));
        let e = t
            .act(
                &TaskAction::Reassign { to: "u9".into() },
                "u1",
                &members,
                10,
            )
            .unwrap_err();
        assert_eq!(e.code, codes::TASK_ASSIGNEE_UNKNOWN);
        assert_eq!(
            t.act(
                &TaskAction::Comment { text: "  ".into() },
                "u1",
                &members,
                10
            )
            .unwrap_err()
            .code,
            codes::TASK_TEXT_REQUIRED
        );
        t.act(&TaskAction::Complete, "u1", &members, 20).unwrap();
        assert_eq!((t.status.as_str(), t.closed_by.as_str()), (DONE, "u1"));
        assert!(!t.is_overdue(5_000));
        assert_eq!(
            t.act(&TaskAction::Complete, "u1", &members, 30)
                .unwrap_err()
                .code,
            codes::TASK_STATE
        );
        t.act(&TaskAction::Reopen, "u2", &members, 40).unwrap();
        assert!(t.is_open() && t.closed_at == 0);
    }
}
