//! The boundary types: what crosses between the wasm UI, the Tauri shell and the sync server.
//!
//! Everything here is plain data with serde, compiles for wasm32 and native, and does no IO.
//! Domain logic (validation, documents, policy) lives in `liveline-domain`; it converts to these at the edge.

pub mod countries;
pub mod forms;
pub mod metrics;
pub mod sheets;
pub mod work;

pub use work::*;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a lead was captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    TiktokLive,
    AlibabaLive,
    Facebook,
    Youtube,
    Instagram,
    Other,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::TiktokLive,
        Channel::AlibabaLive,
        Channel::Facebook,
        Channel::Youtube,
        Channel::Instagram,
        Channel::Other,
    ];
    /// The stable code used in documents, SQL columns and message keys.
    pub fn code(self) -> &'static str {
        match self {
            Channel::TiktokLive => "tiktok_live",
            Channel::AlibabaLive => "alibaba_live",
            Channel::Facebook => "facebook",
            Channel::Youtube => "youtube",
            Channel::Instagram => "instagram",
            Channel::Other => "other",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// Follow-up status of a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Contacted,
    Qualified,
    Quoted,
    Won,
    Lost,
}

impl LeadStatus {
    /// The statuses of a lead still being worked: it counts towards its owner's load.
    pub const OPEN: [LeadStatus; 4] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Qualified,
        LeadStatus::Quoted,
    ];

    pub fn is_open_code(code: &str) -> bool {
        Self::OPEN.iter().any(|s| s.code() == code)
    }

    pub const ALL: [LeadStatus; 6] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Qualified,
        LeadStatus::Quoted,
        LeadStatus::Won,
        LeadStatus::Lost,
    ];
    pub fn code(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Quoted => "quoted",
            LeadStatus::Won => "won",
            LeadStatus::Lost => "lost",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// Kind of the buyer's messaging contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Whatsapp,
    Wechat,
    Other,
}

impl ContactKind {
    pub const ALL: [ContactKind; 3] = [
        ContactKind::Whatsapp,
        ContactKind::Wechat,
        ContactKind::Other,
    ];
    pub fn code(self) -> &'static str {
        match self {
            ContactKind::Whatsapp => "whatsapp",
            ContactKind::Wechat => "wechat",
            ContactKind::Other => "other",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// What the capture form sends: raw text as typed, validated by the domain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadInput {
    pub buyer_name: String,
    pub company: String,
    /// ISO 3166-1 alpha-2, for example `US`.
    pub country: String,
    /// As typed; stored as E.164 after validation.
    pub phone: String,
    pub email: String,
    /// `whatsapp`, `wechat` or `other`.
    pub contact_kind: String,
    pub contact: String,
    /// A [`Channel`] code.
    pub channel: String,
    /// Live session document id, or empty.
    pub live_session: String,
    pub product_interest: String,
    /// The buyer's language (a [`LANGUAGES`] code), or empty.
    #[serde(default)]
    pub language: String,
    /// Expected quantity as typed (a whole number, or empty).
    pub quantity: String,
    pub notes: String,
    /// A [`LeadStatus`] code.
    pub status: String,
    /// User id of the owner, or empty.
    pub owner: String,
    /// Fields an admin added to the lead form, by key, as typed.
    #[serde(default)]
    pub extra: BTreeMap<String, forms::FieldInput>,
}

/// A lead as lists and the detail screen show it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadView {
    pub id: String,
    pub team: String,
    pub buyer_name: String,
    pub company: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub contact_kind: String,
    pub contact: String,
    pub channel: String,
    pub live_session: String,
    pub live_session_title: String,
    pub product_interest: String,
    #[serde(default)]
    pub language: String,
    pub quantity: Option<i64>,
    pub notes: String,
    pub status: String,
    pub owner: String,
    pub owner_name: String,
    pub created_by: String,
    /// Milliseconds since the Unix epoch (UTC).
    pub created_at: i64,
    pub updated_at: i64,
    /// True while this lead has local changes the server has not confirmed.
    pub pending: bool,
    /// The assignment rule that gave the lead its owner (`fallback`, `duplicate`), or empty.
    #[serde(default)]
    pub assigned_rule: String,
    /// The rule's name as the manager wrote it, when the assignment was made.
    #[serde(default)]
    pub assigned_rule_name: String,
    #[serde(default)]
    pub assigned_at: i64,
    /// An earlier lead with the same phone or e-mail.
    #[serde(default)]
    pub duplicate_of: String,
    /// Contacts logged with the buyer, oldest first.
    #[serde(default)]
    pub contacts: Vec<ContactLogView>,
    /// Values of the fields an admin added to the lead form, by key, as the form shows them (date-times in the
    /// device's time zone).
    #[serde(default)]
    pub extra: BTreeMap<String, forms::FieldInput>,
}

impl LeadView {
    /// The form's starting values when editing this lead.
    pub fn to_input(&self) -> LeadInput {
        LeadInput {
            buyer_name: self.buyer_name.clone(),
            company: self.company.clone(),
            country: self.country.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            contact_kind: self.contact_kind.clone(),
            contact: self.contact.clone(),
            channel: self.channel.clone(),
            live_session: self.live_session.clone(),
            product_interest: self.product_interest.clone(),
            language: self.language.clone(),
            quantity: self.quantity.map(|q| q.to_string()).unwrap_or_default(),
            notes: self.notes.clone(),
            status: self.status.clone(),
            owner: self.owner.clone(),
            extra: self.extra.clone(),
        }
    }
}

/// Search and filters for the lead list. Empty strings mean "any".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadQuery {
    pub search: String,
    pub status: String,
    pub channel: String,
    pub live_session: String,
    pub owner: String,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadPage {
    pub leads: Vec<LeadView>,
    pub total: u64,
}

/// A live stream session of the team.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveSessionView {
    pub id: String,
    pub title: String,
    pub platform: String,
    pub host: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// A member of the signed-in user's team.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    /// Role codes held in the team, comma-separated.
    pub role: String,
}

/// A team the signed-in user belongs to, as `/v1/me` lists them: the device works in one at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    /// Role codes held there, comma-separated.
    pub role: String,
    /// The team this device works in now.
    pub current: bool,
}

/// The body of `PUT /v1/me/team`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchTeamRequest {
    pub team_id: String,
}

/// The languages a buyer may be marked with (ISO 639-1), in the order the capture form lists them.
pub const LANGUAGES: [&str; 16] = [
    "en", "es", "pt", "fr", "de", "ar", "ru", "zh", "ja", "ko", "vi", "id", "th", "tr", "hi", "it",
];

/// The role codes, in the order screens list them (`liveline_domain::policy::Role` has one variant per code).
pub const ROLE_CODES: [&str; 7] = [
    "assistant",
    "sales_rep",
    "sales_lead",
    "finance",
    "warehouse",
    "manager",
    "admin",
];

/// A user of a team, as an admin manages them (`GET /v1/admin/users`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub active_devices: u32,
}

/// A signed-in device (`GET /v1/admin/devices`). Times are milliseconds since the Unix epoch (UTC).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminDeviceView {
    pub id: String,
    pub user_id: String,
    pub user_name: String,
    pub name: String,
    pub created_at: i64,
    pub last_seen: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// `POST /v1/admin/users`: a new member of the admin's team with a first password they change later.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRequest {
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub password: String,
}

/// `PUT /v1/admin/users/{id}/roles`: the user's roles in the admin's team; none removes them from it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRolesRequest {
    pub roles: Vec<String>,
}

/// `GET /v1/admin/audit`: filters, all optional. Newest first; page with `before_id`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    /// One record's history.
    pub doc: String,
    /// One user's changes.
    pub user: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub before_id: Option<i64>,
    pub limit: u32,
    /// `json` (default) or `csv`.
    pub format: String,
}

/// One accepted push of one record: who, from which device, when, and which fields it changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: i64,
    pub doc_id: String,
    pub kind: String,
    pub user_id: String,
    pub user_name: String,
    pub device_id: String,
    /// `created` or `edited`.
    pub action: String,
    pub fields: Vec<String>,
    pub changes: i64,
}

/// Who is signed in on this device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub server: String,
    pub user_id: String,
    pub user_name: String,
    pub email: String,
    pub role: String,
    pub team_id: String,
    pub team_name: String,
    pub device_id: String,
    pub members: Vec<MemberView>,
    /// Where the device keeps its token: `keychain` (the OS keychain) or `encrypted_file`.
    #[serde(default)]
    pub vault: String,
}

impl SessionView {
    /// Whether the user reads the whole team here (sales lead, manager or admin): the task center's team table and
    /// the dashboards are theirs.
    pub fn reads_team(&self) -> bool {
        self.role
            .split(',')
            .any(|r| matches!(r.trim(), "sales_lead" | "manager" | "admin"))
    }
}

/// The connection state shown at all times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Not signed in: nothing to sync.
    SignedOut,
    /// No connection to the server; local saves still work.
    Offline,
    /// Connected and exchanging changes.
    Syncing,
    /// Connected and nothing pending in either direction.
    Synced,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub state: SyncState,
    /// Local changes not yet confirmed by the server.
    pub pending: u64,
    /// Refused edits in the inbox.
    pub refused: u64,
    /// Documents received so far during a first sync (bootstrap), for progress.
    pub received: u64,
    /// Remote entries applied on this connection so far: when it moves, local data changed.
    #[serde(default)]
    pub applied: u64,
    /// Last connection error, if any, as a code.
    pub last_error: Option<AppError>,
}

/// An edit the server refused, kept so the user can see and copy it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RefusedEditView {
    pub id: i64,
    pub doc_id: String,
    /// A short title of the record (for a lead, the buyer's name).
    pub title: String,
    /// The field the refusal is about, for example `team`.
    pub path: String,
    pub error: AppError,
    /// What the refused edit wrote, as readable text to copy.
    pub content: String,
    pub at: i64,
}

/// One error as it reaches a user: a stable code and its arguments, turned into text by the UI's catalogue.
///
/// Codes are dotted and stable (`lead.phone.invalid`); see [`codes`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub code: String,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

impl AppError {
    pub fn new(code: &str) -> Self {
        Self {
            code: code.to_string(),
            args: BTreeMap::new(),
        }
    }
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.args.insert(key.to_string(), value.into());
        self
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code)?;
        for (k, v) in &self.args {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

/// A field-level validation failure on a form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The [`LeadInput`] field name, for example `phone`.
    pub field: String,
    pub error: AppError,
}

/// What `save_lead` answers: the saved lead, or the fields to fix (nothing is saved then, and the form keeps what was typed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SaveOutcome {
    Saved { lead: LeadView },
    Invalid { errors: Vec<FieldError> },
}

/// Stable error codes. The UI's message catalogue has one entry per code.
pub mod codes {
    pub const REQUIRED: &str = "field.required";
    pub const TOO_LONG: &str = "field.too_long";
    pub const COUNTRY_UNKNOWN: &str = "lead.country.unknown";
    pub const PHONE_INVALID: &str = "lead.phone.invalid";
    pub const PHONE_NEEDS_COUNTRY: &str = "lead.phone.needs_country";
    pub const EMAIL_INVALID: &str = "lead.email.invalid";
    pub const CONTACT_REQUIRED: &str = "lead.contact.required";
    pub const CHANNEL_UNKNOWN: &str = "lead.channel.unknown";
    pub const STATUS_UNKNOWN: &str = "lead.status.unknown";
    pub const QUANTITY_INVALID: &str = "lead.quantity.invalid";
    pub const OWNER_UNKNOWN: &str = "lead.owner.unknown";
    pub const SESSION_UNKNOWN: &str = "lead.live_session.unknown";
    pub const LANGUAGE_UNKNOWN: &str = "lead.language.unknown";
    /// A rule's field condition names an unknown field or operator, or compares a number with text.
    pub const RULE_CONDITION_INVALID: &str = "rules.condition_invalid";
    /// A lead may not move to another team.
    pub const TEAM_CHANGE_FORBIDDEN: &str = "policy.team_change";
    /// A record may only be created in the author's own team.
    pub const FOREIGN_TEAM: &str = "policy.foreign_team";
    pub const KIND_CHANGE_FORBIDDEN: &str = "policy.kind_change";
    /// None of the author's roles may create or edit this kind of record.
    pub const ROLE_FORBIDDEN: &str = "policy.role_forbidden";
    /// The record is outside what the author may read, so they may not change it either.
    pub const NOT_VISIBLE: &str = "policy.not_visible";
    /// Only a team-wide role or the current owner may give a record to someone else.
    pub const OWNER_CHANGE_FORBIDDEN: &str = "policy.owner_change";
    /// `created_by` is the author, set once.
    pub const CREATOR_FORBIDDEN: &str = "policy.created_by";
    /// The roles that read a part of a record (its hidden fields) are set when it is made and never change.
    pub const READERS_CHANGE_FORBIDDEN: &str = "policy.readers_change";
    /// A field hidden from some roles is kept apart from the record; a value for it written into the record
    /// itself is refused (`field` names it).
    pub const FIELD_RESTRICTED: &str = "field.restricted";
    /// A field only the server writes (a lead's assignment, a server task's deadline and type); `path` names it.
    pub const SERVER_FIELD: &str = "policy.server_field";
    /// The user is not a member of the team named (switching the device to it).
    pub const NOT_MEMBER: &str = "policy.not_member";
    /// The request needs an admin of the team.
    pub const ADMIN_ONLY: &str = "admin.only";
    /// A role code the server does not know; args: `role`.
    pub const ROLE_UNKNOWN: &str = "admin.role_unknown";
    /// The e-mail address already has an account.
    pub const EMAIL_TAKEN: &str = "admin.email_taken";
    /// The person with that e-mail address is already a member of the team.
    pub const ALREADY_MEMBER: &str = "admin.already_member";
    /// A new password is too short; args: `min`.
    pub const PASSWORD_SHORT: &str = "admin.password_short";
    /// No such user in the admin's team.
    pub const USER_UNKNOWN: &str = "admin.user_unknown";
    /// The admin would remove the last admin of the team.
    pub const LAST_ADMIN: &str = "admin.last_admin";
    pub const NOT_A_RECORD: &str = "policy.not_a_record";
    /// A document id that is not a UUID in its canonical form (lowercase, hyphenated); args: `doc`.
    pub const DOC_BAD_ID: &str = "doc.bad_id";
    /// A document at an id reserved for another (a team's form, flow or rules, a record's part) that is not it.
    pub const DOC_RESERVED_ID: &str = "doc.reserved_id";
    pub const ACTOR_MISMATCH: &str = "sync.actor_mismatch";
    pub const MISSING_DEPENDENCY: &str = "sync.missing_dependency";
    pub const BAD_CHANGE: &str = "sync.bad_change";
    pub const BAD_MESSAGE: &str = "sync.bad_message";
    pub const TOO_LARGE: &str = "sync.too_large";
    /// A change sent deflated: the server does not inflate what a device sends (the app never deflates).
    pub const COMPRESSED_CHANGE: &str = "sync.compressed_change";
    /// A change with more bytes, operations or a larger value than one change may hold.
    pub const CHANGE_TOO_LARGE: &str = "sync.change_too_large";
    /// The record would grow past what a device can receive.
    pub const DOC_TOO_LARGE: &str = "sync.doc_too_large";
    pub const VERSION: &str = "sync.version";
    pub const UNAUTHENTICATED: &str = "auth.unauthenticated";
    pub const BAD_CREDENTIALS: &str = "auth.bad_credentials";
    pub const DEVICE_REVOKED: &str = "auth.device_revoked";
    pub const SERVER_UNREACHABLE: &str = "net.unreachable";
    pub const SERVER_ERROR: &str = "server.error";
    pub const NOT_SIGNED_IN: &str = "app.not_signed_in";
    pub const NOT_FOUND: &str = "app.not_found";
    pub const STORAGE: &str = "storage.error";
    /// The device could not keep its sign-in in the keychain or its encrypted file; args: `detail`.
    pub const VAULT: &str = "storage.vault";
    pub const STORAGE_CORRUPT: &str = "storage.corrupt";
    /// The device's disk is full: nothing was saved, what was typed stays on the form.
    pub const STORAGE_FULL: &str = "storage.full";
    /// The device's data folder cannot be written (a read-only disk or folder).
    pub const STORAGE_READ_ONLY: &str = "storage.read_only";
    /// The server could not store what was sent (its disk may be full); the device keeps it and sends it again.
    pub const SERVER_STORAGE: &str = "server.storage";
    pub const RATE_LIMITED: &str = "server.rate_limited";
    /// The UI could not read the shell's answer.
    pub const UNKNOWN: &str = "app.unknown";
    /// The page runs outside the app (no Tauri around it).
    pub const NO_SHELL: &str = "app.no_shell";
    /// A task action the task does not allow (for example completing a cancelled task).
    pub const TASK_STATE: &str = "task.state";
    pub const TASK_TEXT_REQUIRED: &str = "task.text_required";
    pub const TASK_ASSIGNEE_UNKNOWN: &str = "task.assignee_unknown";
    /// Assignment rules that refer to something that is not there; `rule` names the rule, `user`/`group` the thing.
    pub const RULE_USER_UNKNOWN: &str = "rules.user_unknown";
    pub const RULE_GROUP_UNKNOWN: &str = "rules.group_unknown";
    pub const RULE_NO_TARGET: &str = "rules.no_target";
    pub const RULE_STRATEGY_UNKNOWN: &str = "rules.strategy_unknown";
    pub const RULE_TIME_ZONE_UNKNOWN: &str = "rules.time_zone_unknown";
    pub const RULE_HOURS_INVALID: &str = "rules.hours_invalid";
    pub const RULE_SLA_INVALID: &str = "rules.sla_invalid";
    pub const RULE_GROUP_EMPTY: &str = "rules.group_empty";
    pub const RULE_WEIGHT_INVALID: &str = "rules.weight_invalid";
    /// Only managers, sales leads and admins edit the team's assignment rules.
    pub const RULES_FORBIDDEN: &str = "rules.forbidden";
    pub const RULES_MISSING: &str = "rules.missing";
    pub const WEBHOOK_URL_INVALID: &str = "webhook.url_invalid";
    pub const WEBHOOK_KIND_UNKNOWN: &str = "webhook.kind_unknown";
    pub const WEBHOOK_DUPLICATE: &str = "webhook.duplicate";
    /// The hook's host resolves to an address inside the operator's network (loopback, private, link-local…);
    /// args: `index`. The operator can allow a host by name (`--webhook-allow-host`).
    pub const WEBHOOK_ADDRESS_FORBIDDEN: &str = "webhook.address_forbidden";
    /// The hook's host has no address; args: `index`.
    pub const WEBHOOK_HOST_UNKNOWN: &str = "webhook.host_unknown";
    /// A plain-JSON hook needs a secret to sign its requests with; args: `index`.
    pub const WEBHOOK_SECRET_REQUIRED: &str = "webhook.secret_required";

    // Records made with a form definition (args: `field`, and what each names).
    /// Not a number; or more decimals than the field takes (`scale`).
    pub const NUMBER_INVALID: &str = "field.number.invalid";
    pub const NUMBER_SCALE: &str = "field.number.scale";
    /// Below `min` or above `max`.
    pub const NUMBER_RANGE: &str = "field.number.range";
    /// Not an ISO 4217 currency; args: `currency`.
    pub const CURRENCY_UNKNOWN: &str = "field.currency.unknown";
    /// More decimals than the currency has (`scale`).
    pub const MONEY_SCALE: &str = "field.money.scale";
    /// Not one of the field's options; args: `option`.
    pub const OPTION_UNKNOWN: &str = "field.option.unknown";
    /// Not a date (`YYYY-MM-DD`), or not a date and time.
    pub const DATE_INVALID: &str = "field.date.invalid";
    pub const DATETIME_INVALID: &str = "field.datetime.invalid";
    /// Not a member of the record's team; args: `user`.
    pub const USER_NOT_MEMBER: &str = "field.user.unknown";
    /// The form has no such field.
    pub const FIELD_UNKNOWN: &str = "field.unknown";
    /// A computed field, or one the user's roles may not write.
    pub const FIELD_READ_ONLY: &str = "field.read_only";
    /// A formula failed on these values; args: `detail`.
    pub const FORMULA_FAILED: &str = "field.formula.failed";
    /// Money of different currencies in one formula; args: `currency`, `other`.
    pub const CURRENCY_MIXED: &str = "field.currency.mixed";
    /// The value does not fit the field (a list for a text field); a client fault.
    pub const VALUE_SHAPE: &str = "field.value.shape";

    // Definitions an admin publishes (args: `field` or `node`, and what each names).
    /// A published definition the server cannot read, or whose `name` or `version` disagree with what it holds.
    pub const DEF_UNREADABLE: &str = "def.unreadable";
    /// Publishing needs an admin of the team.
    pub const DEF_ADMIN_ONLY: &str = "def.admin_only";
    /// A key that is not `[a-z][a-z0-9_]*` (at most 40) or used twice.
    pub const DEF_KEY_INVALID: &str = "def.key.invalid";
    /// A dashboard's period: an unknown time zone (`time_zone`), a date not `YYYY-MM-DD` (`value`), a range that
    /// ends before it starts, an unknown preset (`value`).
    pub const PERIOD_TIME_ZONE: &str = "period.time_zone";
    pub const PERIOD_DATE: &str = "period.date";
    pub const PERIOD_RANGE: &str = "period.range";
    pub const PERIOD_PRESET: &str = "period.preset";
    /// A custom dashboard: a title empty or longer than `max` characters; more than `max` widgets; a widget
    /// whose measure, stage, dimension, chart or filter the app does not know (`widget` names it); only sales
    /// leads, managers and admins compose dashboards; a dashboard or widget that is not there (`id`).
    pub const DASHBOARD_TITLE: &str = "dashboard.title";
    pub const DASHBOARD_TOO_MANY: &str = "dashboard.too_many";
    pub const DASHBOARD_WIDGET: &str = "dashboard.widget";
    pub const DASHBOARD_FORBIDDEN: &str = "dashboard.forbidden";
    pub const DASHBOARD_MISSING: &str = "dashboard.missing";
    /// An import file: larger than the limit (`max_mb`), not a workbook or CSV the app reads (`detail`), a first
    /// sheet with no rows; a cell holding a formula (`cell`, as `C7`), which is refused rather than guessed at; a
    /// mapping that leaves out a required field (`field`) or names an unknown one; an unknown import job.
    pub const IMPORT_TOO_LARGE: &str = "import.too_large";
    pub const IMPORT_UNREADABLE: &str = "import.unreadable";
    pub const IMPORT_EMPTY: &str = "import.empty";
    pub const IMPORT_FORMULA: &str = "import.formula";
    pub const IMPORT_UNMAPPED: &str = "import.unmapped";
    pub const IMPORT_DUPLICATE: &str = "import.duplicate";
    pub const DEF_KEY_DUPLICATE: &str = "def.key.duplicate";
    /// A select field with no options, or an option code used twice; args: `option`.
    pub const DEF_OPTIONS: &str = "def.options";
    /// An expression names a field the form does not have; args: `name`.
    pub const DEF_EXPR_UNKNOWN_FIELD: &str = "def.expr.unknown_field";
    /// An expression does not parse; args: `detail`.
    pub const DEF_EXPR_SYNTAX: &str = "def.expr.syntax";
    /// Formulas that read each other in a circle; args: `cycle` (the fields, joined by " → ").
    pub const DEF_FORMULA_CYCLE: &str = "def.formula.cycle";
    /// A formula or a condition that reads a field hidden from some roles, while it is shown to more of them
    /// (it would give the hidden value away); args: `name` (the hidden field).
    pub const DEF_HIDDEN_INPUT: &str = "def.formula.hidden_input";
    /// A money formula's `currency_of` is not a money field; args: `name`.
    pub const DEF_CURRENCY_OF: &str = "def.formula.currency_of";
    /// A sub-table inside a sub-table, or with no columns.
    pub const DEF_SUBTABLE: &str = "def.subtable";
    /// A sub-table column with its own `read` list: a column cannot be hidden on its own (hide the whole table, or
    /// keep the value in a field of its own).
    pub const DEF_COLUMN_READ: &str = "def.subtable.column_read";
    /// A role code that does not exist; args: `role`.
    pub const DEF_ROLE_UNKNOWN: &str = "def.role.unknown";
    /// `min` above `max`.
    pub const DEF_BOUNDS: &str = "def.bounds";
    /// A default value the field itself would refuse; args: `detail` (that refusal's code).
    pub const DEF_DEFAULT: &str = "def.default";
    /// A flow node id used twice, or an edge or start to a node that does not exist; args: `node`, `to`.
    pub const DEF_NODE_DUPLICATE: &str = "def.node.duplicate";
    pub const DEF_NODE_UNKNOWN: &str = "def.node.unknown";
    /// Nodes that lead back to themselves; args: `cycle`.
    pub const DEF_FLOW_CYCLE: &str = "def.flow.cycle";
    /// An approval node with nobody to approve.
    pub const DEF_NO_APPROVER: &str = "def.node.no_approver";
    /// A node no path from the start reaches.
    pub const DEF_NODE_UNREACHABLE: &str = "def.node.unreachable";
    /// The flow's form does not match the form given; args: `form`.
    pub const DEF_FLOW_FORM: &str = "def.flow.form";
    /// A field a flow node names that is not on the form, or not a user field; args: `name`.
    pub const DEF_FLOW_FIELD: &str = "def.flow.field";

    // Approval actions (args: `node`).
    /// The flow is not at a step where this can be done (already decided, not started, finished).
    pub const FLOW_NOT_PENDING: &str = "flow.not_pending";
    /// The user is not an approver of the current node.
    pub const FLOW_NOT_APPROVER: &str = "flow.not_approver";
    /// Only the submitter may submit again or withdraw, and withdraw only before the first decision.
    pub const FLOW_NOT_SUBMITTER: &str = "flow.not_submitter";
    pub const FLOW_ALREADY_DECIDED: &str = "flow.already_decided";
    /// A reject to a node the flow has not passed in this run; args: `to`.
    pub const FLOW_REJECT_TARGET: &str = "flow.reject_target";
    /// Fields to fill before approving this node; args: `fields`.
    pub const FLOW_REQUIRES: &str = "flow.requires";
    /// A device removed or altered a decision already in a record's log (it is append-only).
    pub const FLOW_LOG_CHANGED: &str = "flow.log_changed";
    /// A decision in someone else's name, or one only the server takes (reminders, escalations, auto-approvals).
    pub const FLOW_ACTOR: &str = "flow.actor";
    /// No rule of the record's flow applies, or a flow condition failed on the record; args: `detail`.
    pub const FLOW_ROUTE: &str = "flow.route";
    /// A decision whose route, step or node is not what the record's flow gives on the values its author saw
    /// (a submit with no route, an approval that skips a step); the server works every decision out again.
    pub const FLOW_ROUTE_MISMATCH: &str = "flow.route_mismatch";
    /// A decision dated after the server's clock (beyond a few minutes of skew).
    pub const FLOW_TIME: &str = "flow.time";
}

/// Names of the Tauri commands the UI calls, with their argument and answer types in the comment.
pub mod commands {
    /// `{}` -> `Option<SessionView>`
    pub const SESSION: &str = "session";
    /// `{server, email, password}` -> `SessionView`
    pub const SIGN_IN: &str = "sign_in";
    /// `{wipe: bool}` -> `()`
    pub const SIGN_OUT: &str = "sign_out";
    /// `{id: Option<String>, input: LeadInput}` -> `SaveOutcome`
    pub const SAVE_LEAD: &str = "save_lead";
    /// `{input: LeadInput}` -> `Vec<FieldError>` (checks only, saves nothing)
    pub const VALIDATE_LEAD: &str = "validate_lead";
    /// `{query: LeadQuery}` -> `LeadPage`
    pub const LIST_LEADS: &str = "list_leads";
    /// `{id}` -> `LeadView`
    pub const GET_LEAD: &str = "get_lead";
    /// `{}` -> `Vec<LiveSessionView>`
    pub const LIVE_SESSIONS: &str = "live_sessions";
    /// `{}` -> `Option<LiveSessionView>` (the session in progress now)
    pub const CURRENT_LIVE_SESSION: &str = "current_live_session";
    /// `{}` -> `SyncStatus`
    pub const SYNC_STATUS: &str = "sync_status";
    /// `{}` -> `Vec<RefusedEditView>`
    pub const REFUSED_EDITS: &str = "refused_edits";
    /// `{id}` -> `()`
    pub const DISMISS_REFUSED: &str = "dismiss_refused";
    /// `{}` -> `()` drop the local replica and fetch everything again from the server
    pub const RESYNC: &str = "resync";
    /// `{}` -> `String` the default server address shown on the sign-in screen
    pub const DEFAULT_SERVER: &str = "default_server";
    /// `{}` -> `Vec<TeamView>` the user's teams (from the server, or as last listed when offline)
    pub const MY_TEAMS: &str = "my_teams";
    /// `{team}` -> `SessionView` this device works in another of the user's teams from now on (online)
    pub const SWITCH_TEAM: &str = "switch_team";
    /// `{}` -> `Vec<AdminUserView>` the team's members (admin only, online)
    pub const ADMIN_USERS: &str = "admin_users";
    /// `{request: InviteRequest}` -> `AdminUserView`
    pub const ADMIN_INVITE: &str = "admin_invite";
    /// `{user, roles: Vec<String>}` -> `AdminUserView`
    pub const ADMIN_SET_ROLES: &str = "admin_set_roles";
    /// `{}` -> `Vec<AdminDeviceView>`
    pub const ADMIN_DEVICES: &str = "admin_devices";
    /// `{device}` -> `()`
    pub const ADMIN_REVOKE: &str = "admin_revoke";
    /// `{query: AuditQuery}` -> `Vec<AuditEntryView>`
    pub const ADMIN_AUDIT: &str = "admin_audit";
    /// `{query: AuditQuery}` -> `String` the path of the saved CSV file
    pub const ADMIN_EXPORT_AUDIT: &str = "admin_export_audit";
    pub const LIST_TASKS: &str = "list_tasks";
    pub const GET_TASK: &str = "get_task";
    pub const TASK_COUNTS: &str = "task_counts";
    pub const TASK_ACTION: &str = "task_action";
    pub const CREATE_TASK: &str = "create_task";
    pub const TEAM_TASKS: &str = "team_tasks";
    pub const LOG_CONTACT: &str = "log_contact";
    pub const GET_RULES: &str = "get_rules";
    pub const SAVE_RULES: &str = "save_rules";
    pub const DRY_RUN_RULES: &str = "dry_run_rules";
    pub const TAKE_NOTICES: &str = "take_notices";
    pub const NOTIFY: &str = "notify";
    pub const ADMIN_WEBHOOKS: &str = "admin_webhooks";
    pub const ADMIN_SET_WEBHOOKS: &str = "admin_set_webhooks";
    /// `{id}` -> `FormDef` the team's form as it is now (published, else built in)
    pub const FORM_DEF: &str = "form_def";
    /// `{}` -> `Vec<FormDef>` every form the team uses
    pub const FORM_DEFS: &str = "form_defs";
    /// `{def: FormDef}` -> `Vec<FieldError>` (empty: published)
    pub const PUBLISH_FORM: &str = "publish_form";
    /// `{id}` -> `FlowDef`
    pub const FLOW_DEF: &str = "flow_def";
    /// `{}` -> `Vec<FlowDef>`
    pub const FLOW_DEFS: &str = "flow_defs";
    /// `{def: FlowDef}` -> `Vec<FieldError>`
    pub const PUBLISH_FLOW: &str = "publish_flow";
    /// `{form}` -> `Vec<RecordSummary>`
    pub const LIST_RECORDS: &str = "list_records";
    /// `{id}` -> `RecordView`
    pub const GET_RECORD: &str = "get_record";
    /// `{form, id: Option<String>, input: BTreeMap<String, FieldInput>}` -> `RecordSaved`
    pub const SAVE_RECORD: &str = "save_record";
    /// `{id, act: Act, comment}` -> `RecordView`
    pub const DECIDE: &str = "decide";
    /// `{query: DashboardQuery}` -> `FunnelTable` (a period with no `tz` is read in the device's time zone)
    pub const DASHBOARD: &str = "dashboard";
    /// `{}` -> `Vec<DashboardView>` the team's custom dashboards, by title
    pub const DASHBOARDS_CUSTOM: &str = "dashboards_custom";
    /// `{id: Option<String>, edit: DashboardEdit}` -> `DashboardView` (None with `Create`)
    pub const DASHBOARD_EDIT: &str = "dashboard_edit";
    /// `{}` -> `ResponseBoard`
    pub const DASHBOARD_RESPONSE: &str = "dashboard_response";
    /// `{period: PeriodSpec}` -> `Vec<StepRow>`
    pub const DASHBOARD_APPROVALS: &str = "dashboard_approvals";
    /// `{query: DrillQuery}` -> `Vec<LeadView>`
    pub const DASHBOARD_DRILL: &str = "dashboard_drill";
    /// body: the file's bytes; header `x-file-name` (percent-encoded) -> `ImportPreview`
    pub const IMPORT_OPEN: &str = "import_open";
    /// `{job, mapping: Vec<String>}` -> `ImportProgress` (the import then runs in the background)
    pub const IMPORT_START: &str = "import_start";
    /// `{}` -> `Option<ImportProgress>` the latest import not cleared
    pub const IMPORT_STATUS: &str = "import_status";
    /// `{job}` -> `Vec<ImportIssue>`
    pub const IMPORT_ISSUES: &str = "import_issues";
    /// `{job}` -> `()`
    pub const IMPORT_CLEAR: &str = "import_clear";
    /// `{table: ExportTable}` -> the written file's path
    pub const EXPORT_XLSX: &str = "export_xlsx";
    /// Every command, in one list: the shell's app manifest grants exactly these to the main window (its
    /// capability file names one permission each), and a test holds them equal to the shell's handler list.
    pub const ALL: &[&str] = &[
        SESSION,
        SIGN_IN,
        SIGN_OUT,
        SAVE_LEAD,
        VALIDATE_LEAD,
        LIST_LEADS,
        GET_LEAD,
        LIVE_SESSIONS,
        CURRENT_LIVE_SESSION,
        SYNC_STATUS,
        REFUSED_EDITS,
        DISMISS_REFUSED,
        RESYNC,
        DEFAULT_SERVER,
        MY_TEAMS,
        SWITCH_TEAM,
        ADMIN_USERS,
        ADMIN_INVITE,
        ADMIN_SET_ROLES,
        ADMIN_DEVICES,
        ADMIN_REVOKE,
        ADMIN_AUDIT,
        ADMIN_EXPORT_AUDIT,
        LIST_TASKS,
        GET_TASK,
        TASK_COUNTS,
        TASK_ACTION,
        CREATE_TASK,
        TEAM_TASKS,
        LOG_CONTACT,
        GET_RULES,
        SAVE_RULES,
        DRY_RUN_RULES,
        TAKE_NOTICES,
        NOTIFY,
        ADMIN_WEBHOOKS,
        ADMIN_SET_WEBHOOKS,
        FORM_DEF,
        FORM_DEFS,
        PUBLISH_FORM,
        FLOW_DEF,
        FLOW_DEFS,
        PUBLISH_FLOW,
        LIST_RECORDS,
        GET_RECORD,
        SAVE_RECORD,
        DECIDE,
        DASHBOARD,
        DASHBOARDS_CUSTOM,
        DASHBOARD_EDIT,
        DASHBOARD_RESPONSE,
        DASHBOARD_APPROVALS,
        DASHBOARD_DRILL,
        IMPORT_OPEN,
        IMPORT_START,
        IMPORT_STATUS,
        IMPORT_ISSUES,
        IMPORT_CLEAR,
        EXPORT_XLSX,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::from_code(c.code()), Some(c));
        }
        for s in LeadStatus::ALL {
            assert_eq!(LeadStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(Channel::from_code("myspace"), None);
    }

    #[test]
    fn save_outcome_is_tagged() {
        let json = serde_json::to_string(&SaveOutcome::Invalid {
            errors: vec![FieldError {
                field: "phone".into(),
                error: AppError::new(codes::PHONE_INVALID),
            }],
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"outcome":"invalid","errors":[{"field":"phone","error":{"code":"lead.phone.invalid","args":{}}}]}"#
        );
    }

    #[test]
    fn countries_are_sorted_and_named_in_both_languages() {
        assert!(countries::COUNTRIES.len() > 240);
        assert!(countries::COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(countries::COUNTRIES
            .iter()
            .all(|c| !c.1.is_empty() && !c.2.is_empty()));
    }
}
