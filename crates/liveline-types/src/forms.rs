//! Form and approval-flow definitions, record values and flow decisions: the data an admin edits in the app.
//!
//! Plain data only. Checking a definition, validating a record, evaluating formulas and replaying a flow's
//! decisions live in `liveline-forms`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A text in both languages the app speaks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

impl Text {
    pub fn new(en: &str, zh: &str) -> Self {
        Self {
            en: en.to_string(),
            zh: zh.to_string(),
        }
    }
}

/// One choice of a select field: a stable code and its label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub code: String,
    pub label: Text,
}

/// The kind of record a link field points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkTarget {
    Customer,
    Product,
    LiveSession,
    Order,
}

/// What a formula yields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FormulaResult {
    /// A plain number, rounded to `scale` decimals.
    Number { scale: u32 },
    /// A percentage, rounded to `scale` decimals (the formula computes the percentage itself, e.g. `a / b * 100`).
    Percent { scale: u32 },
    /// An amount in the currency of the money field named by `currency_of` (rounded to that currency's minor unit).
    Money { currency_of: String },
}

/// The type of a field, with what that type needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    /// A decimal number with at most `scale` decimals.
    Number {
        scale: u32,
    },
    /// An amount and its ISO 4217 currency.
    Money,
    /// Stored as E.164; read with the record's `country` field when it has one.
    Phone,
    Email,
    Select {
        options: Vec<Choice>,
    },
    MultiSelect {
        options: Vec<Choice>,
    },
    /// An ISO 3166 alpha-2 code.
    Country,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An instant, stored as UTC milliseconds; shown in the viewer's time zone.
    DateTime,
    /// A user id of the record's team.
    User,
    /// The id of another record.
    Link {
        to: LinkTarget,
    },
    /// Rows of the columns given (order lines). Columns are never sub-tables themselves.
    SubTable {
        columns: Vec<FieldDef>,
    },
    /// Computed, read-only. Inside a sub-table a formula sees its row's columns and the record's fields;
    /// outside, `sum(lines, "line_total")` adds a sub-table's column.
    Formula {
        expr: String,
        result: FormulaResult,
    },
    /// The id of a stored file.
    Attachment,
}

/// One field of a form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Stable key, `[a-z][a-z0-9_]*`; the record stores the value under it.
    pub key: String,
    pub label: Text,
    #[serde(default)]
    pub help: Text,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Bounds for numbers and money amounts; for text, `max` is the longest length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Decimal>,
    /// Shown (and validated) only while this expression over the record's fields is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<String>,
    /// Role codes that may read / write the field; empty means every role of the team.
    #[serde(default)]
    pub read: Vec<String>,
    #[serde(default)]
    pub write: Vec<String>,
    /// Removed by an admin: hidden and never validated, but records keep its data.
    #[serde(default)]
    pub removed: bool,
}

impl FieldDef {
    pub fn new(key: &str, label: Text, kind: FieldKind) -> Self {
        Self {
            key: key.to_string(),
            label,
            help: Text::default(),
            kind,
            required: false,
            default: None,
            min: None,
            max: None,
            visible_if: None,
            read: Vec::new(),
            write: Vec::new(),
            removed: false,
        }
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// A form: what a record of one kind holds. A synced document; `version` rises at each publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormDef {
    pub id: String,
    pub name: Text,
    pub version: u32,
    pub fields: Vec<FieldDef>,
}

/// A money amount. The amount is exact; it is never a float.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: String,
}

/// A validated value as a record stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Value {
    Text(String),
    Number(Decimal),
    Money(Money),
    /// Several codes (multi select).
    List(Vec<String>),
    /// `YYYY-MM-DD`.
    Date(String),
    /// UTC milliseconds.
    DateTime(i64),
    Rows(Vec<BTreeMap<String, Value>>),
}

/// What a form sends for one field, as typed: numbers, dates and instants as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldInput {
    Text(String),
    Money { amount: String, currency: String },
    Many(Vec<String>),
    Rows(Vec<BTreeMap<String, FieldInput>>),
}

/// Who approves at a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "of", rename_all = "snake_case")]
pub enum Approver {
    User(String),
    /// Everyone of the record's team holding this role code.
    Role(String),
    /// The submitter's team lead(s).
    TeamLead,
    /// The user named by this field of the record.
    FieldUser(String),
}

/// How a node with several approvers decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    /// Countersign: every approver must approve.
    All,
    /// Or-sign: the first approval decides.
    Any,
}

/// What happens when a node's time limit passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    #[default]
    Nothing,
    Remind,
    /// The submitter's team lead joins the node's approvers.
    Escalate,
    AutoApprove,
}

/// An automatic action a flow node carries out when the flow reaches it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FlowAction {
    SetField {
        field: String,
        value: Value,
    },
    CreateTask {
        title: Text,
        assignee: Approver,
        due_minutes: u32,
    },
    /// Calls the team's webhook of this name.
    Webhook {
        hook: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    Approve {
        approvers: Vec<Approver>,
        sign: Sign,
        /// Fields that must be filled before this node can be approved (a tracking number to ship).
        #[serde(default)]
        requires: Vec<String>,
        /// Someone other than the submitter decides this step (a proposal's category lead): the submitter is never
        /// among its approvers, even when a user field names them.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        others_decide: bool,
    },
    /// Copies the people named; the flow goes straight on.
    Cc { to: Vec<Approver> },
    /// Carries out the action; the flow goes straight on.
    Action { action: FlowAction },
}

/// Where a flow goes after a node: the first edge whose condition holds (or that has none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowNode {
    pub id: String,
    pub label: Text,
    pub kind: NodeKind,
    /// No edge that applies: the flow ends, approved.
    #[serde(default)]
    pub next: Vec<Edge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_minutes: Option<u32>,
    #[serde(default)]
    pub on_timeout: OnTimeout,
}

/// An approval flow. A record runs the version it was submitted under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowDef {
    pub id: String,
    pub name: Text,
    pub version: u32,
    /// The form whose records this flow runs on.
    pub form: String,
    /// Runs only on records for which this holds (none: every record of the form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_when: Option<String>,
    pub start: String,
    pub nodes: Vec<FlowNode>,
}

/// What a person (or the server, for time limits) did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Act {
    /// Starts the flow, or starts it again after a rejection to the submitter or a withdrawal.
    Submit,
    Approve,
    /// Back to the submitter (`to: None`) or to an earlier node.
    Reject {
        #[serde(default)]
        to: Option<String>,
    },
    Transfer {
        to: String,
    },
    AddApprover {
        user: String,
    },
    Comment,
    /// By the submitter, before anyone decided.
    Withdraw,
    /// The server, when a node's time limit passed.
    Remind,
    Escalate {
        to: Vec<String>,
    },
    AutoApprove,
}

/// One entry of a record's append-only decision log. The flow's state is replayed from the whole log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Unique (a UUID); a decision merged twice counts once.
    pub id: String,
    /// How many nodes had been entered when the actor decided: what the actor saw.
    pub step: u32,
    /// The node decided on (empty for submit).
    pub node: String,
    pub actor: String,
    pub device: String,
    pub at_ms: i64,
    pub act: Act,
    #[serde(default)]
    pub comment: String,
    /// For a decision that moves the flow on: the nodes it passes (automatic ones, then the next node to
    /// decide), as the actor's device worked them out from the record. Empty: the flow ends.
    #[serde(default)]
    pub route: Vec<String>,
}

/// One save of a record's values, kept in the record's append-only edit log: who changed which fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub id: String,
    pub user: String,
    pub device: String,
    pub at_ms: i64,
    /// The values changed: field keys, and cells as `lines[0].unit_price`.
    pub fields: Vec<String>,
}

/// A record's flow as a screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowView {
    pub flow: FlowDef,
    /// `draft`, `running`, `returned`, `withdrawn` or `approved`.
    pub status: String,
    /// The node waiting for decisions, if any.
    #[serde(default)]
    pub node: Option<String>,
    /// Names of those who may decide now, and of those who approved already (countersign).
    #[serde(default)]
    pub waiting: Vec<String>,
    #[serde(default)]
    pub approved: Vec<String>,
    #[serde(default)]
    pub due_ms: Option<i64>,
    /// Node ids the flow has entered, in order (a node entered twice appears twice).
    #[serde(default)]
    pub visited: Vec<String>,
    /// The audit trail, in replay order.
    pub trail: Vec<TrailEntry>,
}

/// One entry of a record's trail: a decision or an edit; who did it, when, from which device, and whether it
/// counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailEntry {
    pub actor: String,
    pub actor_name: String,
    pub device: String,
    pub at_ms: i64,
    /// The decision; `None` for an edit of the values.
    pub act: Option<Act>,
    /// For an edit: the fields changed, named as the form names them.
    #[serde(default)]
    pub changed: Vec<Text>,
    /// The node decided on (empty for a submission).
    pub node: String,
    pub comment: String,
    /// Kept without effect; the code says why (someone decided first, the flow had moved on).
    #[serde(default)]
    pub superseded: Option<String>,
}

/// Approval actions the signed-in user may take on a record now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActKind {
    Submit,
    Approve,
    Reject,
    Transfer,
    AddApprover,
    Comment,
    Withdraw,
}

/// A form record (an order, a proposal) with its flow, for its screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    pub id: String,
    pub form: FormDef,
    /// The values as the form shows them (date-times in the device's time zone), for reading and editing.
    pub values: BTreeMap<String, FieldInput>,
    /// Fields this user's roles may write.
    pub writable: Vec<String>,
    pub flow: Option<FlowView>,
    pub can: Vec<ActKind>,
    pub created_by: String,
    pub created_by_name: String,
    /// True while the device holds changes the server has not confirmed.
    pub pending: bool,
}

/// One line of a record list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSummary {
    pub id: String,
    pub form: String,
    /// The values a list shows: the first text field, and the first money value.
    pub title: String,
    #[serde(default)]
    pub money: Option<Money>,
    /// The flow's status (see [`FlowView::status`]), or empty without a flow.
    pub status: String,
    /// The waiting node's label.
    #[serde(default)]
    pub node_label: Option<Text>,
    /// The signed-in user is among those who may decide now.
    pub mine: bool,
    pub created_by_name: String,
    /// When the last decision was made (or 0).
    pub updated_at: i64,
    pub pending: bool,
}

impl RecordSummary {
    /// The money value as a list shows it (`44.98 USD`), or empty.
    pub fn amount(&self) -> String {
        self.money
            .as_ref()
            .map(|m| format!("{} {}", m.amount, m.currency))
            .unwrap_or_default()
    }
}

/// What saving a record answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RecordSaved {
    Saved { id: String },
    Invalid { errors: Vec<crate::FieldError> },
}
