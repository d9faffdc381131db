//! Tasks, the task center and assignment rules as they cross between the UI, the shell and the server.

use serde::{Deserialize, Serialize};

/// A to-do as the task center shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    pub id: String,
    pub team: String,
    pub title: String,
    /// `first_contact`, `overdue`, `duplicate` or `todo`.
    pub task_type: String,
    pub assignee: String,
    pub assignee_name: String,
    pub created_by: String,
    /// `lead` (later `customer`, `order`), or empty.
    pub linked_kind: String,
    pub linked_id: String,
    pub linked_title: String,
    /// Milliseconds since the Unix epoch (UTC); 0 when there is no deadline.
    pub due_at: i64,
    /// `open`, `done` or `cancelled`.
    pub status: String,
    /// `normal`, `high` or `urgent`.
    pub priority: String,
    pub snoozed_until: i64,
    pub closed_at: i64,
    pub closed_by: String,
    pub escalated_at: i64,
    /// The assignment rule that opened it, if any.
    pub rule: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub comments: Vec<TaskComment>,
    pub checklist: Vec<ChecklistItem>,
    /// True while this task has local changes the server has not confirmed.
    pub pending: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskComment {
    pub by: String,
    pub by_name: String,
    pub at: i64,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub text: String,
    pub done: bool,
}

/// Which tasks the task center lists. Empty strings mean "any".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskQuery {
    /// `mine` (default) or `team` (everything this device holds).
    pub scope: String,
    /// `overdue`, `today`, `upcoming`, `done`, or empty for every open task.
    pub when: String,
    pub task_type: String,
    pub linked_id: String,
    /// The viewer's UTC offset in minutes east of UTC, for "today".
    pub utc_offset_minutes: i32,
    pub limit: u32,
}

/// The counts on the task center's tabs and badge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCounts {
    pub open: u64,
    pub overdue: u64,
    pub today: u64,
    pub upcoming: u64,
    pub done: u64,
}

/// What a user does to a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TaskAction {
    Complete,
    Reopen,
    /// Hide until this time (ms since the epoch).
    Snooze {
        until: i64,
    },
    Reassign {
        to: String,
    },
    Comment {
        text: String,
    },
    ToggleCheck {
        index: u32,
    },
    AddCheck {
        text: String,
    },
}

/// One person's load, for a manager's team view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamTaskRow {
    pub user: String,
    pub name: String,
    pub open: u64,
    pub overdue: u64,
    pub done_today: u64,
    /// Age of the oldest open task, in milliseconds (0 when none is open).
    pub oldest_open_ms: i64,
}

/// A contact with the buyer, logged on a lead. Logging one closes the lead's first-contact task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactLogView {
    pub at: i64,
    pub by: String,
    pub by_name: String,
    /// A [`crate::ContactKind`] code or `phone`, `email`.
    pub kind: String,
    pub note: String,
}

/// How the team's leads are given to sales reps: ordered rules, groups, schedules and a fallback. Edited by a
/// manager; the server runs it the moment a lead arrives.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RulesConfig {
    pub rules: Vec<AssignRule>,
    pub groups: Vec<RepGroup>,
    pub schedules: Vec<RepSchedule>,
    /// Who gets a lead no rule takes (or whose reps are all away); empty leaves it unassigned.
    pub fallback_owner: String,
    /// Minutes to first contact when no rule says otherwise.
    pub default_sla_minutes: i64,
    /// Give an overdue lead to the next rep of its rule as well as telling the team lead.
    pub reassign_when_overdue: bool,
}

/// One rule: every non-empty condition must hold; the first enabled rule that holds (and has someone available)
/// takes the lead.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssignRule {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// ISO country codes; empty means any.
    pub countries: Vec<String>,
    /// Channel codes; empty means any.
    pub channels: Vec<String>,
    /// Live session ids; empty means any.
    pub live_sessions: Vec<String>,
    /// Words looked for in the product interest (case-insensitive); empty means any.
    pub product_keywords: Vec<String>,
    /// Buyer languages ([`crate::LANGUAGES`] codes); empty means any.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Further conditions on the lead's fields, all of which must hold.
    #[serde(default)]
    pub conditions: Vec<FieldCondition>,
    /// A user id, or empty when the target is a group.
    pub target_user: String,
    /// A group id, or empty when the target is a user.
    pub target_group: String,
    /// `round_robin`, `least_loaded` or `weighted`.
    pub strategy: String,
    /// Minutes to first contact; 0 uses the default.
    pub sla_minutes: i64,
}

/// A condition on one field of a lead: `field` `op` `value`, for example `quantity` `gte` `500`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCondition {
    /// One of [`CONDITION_FIELDS`].
    pub field: String,
    /// One of [`CONDITION_OPS`]: `eq`, `contains`, `gte`, `lte` (numbers), `empty`, `not_empty`.
    pub op: String,
    pub value: String,
}

/// The lead fields a rule's condition may look at.
pub const CONDITION_FIELDS: [&str; 9] = [
    "company",
    "quantity",
    "status",
    "email",
    "phone",
    "contact_kind",
    "notes",
    "product_interest",
    "created_by",
];

pub const CONDITION_OPS: [&str; 6] = ["eq", "contains", "gte", "lte", "empty", "not_empty"];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RepGroup {
    pub id: String,
    pub name: String,
    pub members: Vec<GroupMember>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupMember {
    pub user: String,
    /// Share for the `weighted` strategy (1 or more).
    pub weight: i64,
}

/// When a rep takes leads: working hours in their own time zone, and an absence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RepSchedule {
    pub user: String,
    /// IANA name, for example `Asia/Shanghai`.
    pub time_zone: String,
    /// Minutes after local midnight, for example 540 for 09:00.
    pub work_start: i64,
    pub work_end: i64,
    /// ISO weekdays worked, 1 = Monday … 7 = Sunday.
    pub work_days: Vec<i64>,
    /// An absence: no leads from `away_from` until `away_until` (ms since the epoch; 0 = none).
    pub away_from: i64,
    pub away_until: i64,
}

/// What the rules would do with a lead: a dry run, or the record of what they did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssignDecision {
    /// The user who gets the lead, or empty when nobody does.
    pub owner: String,
    /// The rule that fired, `fallback`, `duplicate`, or empty.
    pub rule: String,
    pub rule_name: String,
    pub sla_minutes: i64,
    /// The earlier lead with the same phone or e-mail, when this one is a duplicate.
    pub duplicate_of: String,
    /// Why, as a code the UI turns into text (`assign.rule`, `assign.fallback`, `assign.duplicate`,
    /// `assign.nobody`), with the rules skipped because nobody in them was available.
    pub reason: String,
    pub skipped: Vec<String>,
}

/// A new to-do typed by a user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskInput {
    pub title: String,
    /// User id; empty means the author.
    pub assignee: String,
    pub due_at: i64,
    pub priority: String,
    pub linked_kind: String,
    pub linked_id: String,
}

/// Something that arrived for this user and deserves a notification: a task assigned to them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub task_id: String,
    pub task_type: String,
    pub title: String,
    pub linked_title: String,
    pub due_at: i64,
}

/// A team's group-bot webhook as the admin API shows it (the secret is never sent back).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: String,
    /// `wecom`, `dingtalk`, `feishu` or `generic`.
    pub kind: String,
    pub url: String,
    pub has_secret: bool,
    /// The last delivery: when, and why it failed (empty when it went through).
    pub last_at: i64,
    pub last_error: String,
}

/// A webhook as an admin sets it. An empty `secret` on an existing `id` keeps the stored one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookInput {
    #[serde(default)]
    pub id: String,
    pub kind: String,
    pub url: String,
    #[serde(default)]
    pub secret: String,
}
