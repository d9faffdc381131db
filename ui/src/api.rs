//! The bridge to the Tauri shell: one typed async function per command in `liveline_types::commands`.
//!
//! Calls go through `window.__TAURI__.core.invoke(cmd, args)` (the shell sets `withGlobalTauri`).
//! Arguments and answers cross as JSON; a rejected promise carries an `AppError` `{code, args}`.
//! This is the only module that invokes commands; components call these functions.

use js_sys::{Function, Promise, Reflect, JSON};
use liveline_types::{
    commands, AdminDeviceView, AdminUserView, AppError, AuditEntryView, AuditQuery, FieldError,
    InviteRequest, LeadInput, LeadPage, LeadQuery, LeadView, LiveSessionView, RefusedEditView,
    SaveOutcome, SessionView, SyncStatus,
};
use liveline_types::{
    AssignDecision, Notice, RulesConfig, TaskAction, TaskCounts, TaskInput, TaskQuery, TaskView,
    TeamTaskRow, TeamView, WebhookInput, WebhookView,
};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// UI-side code: the answer could not be understood.
pub const UNKNOWN: &str = "app.unknown";
/// UI-side code: there is no Tauri shell around the page (opened in a plain browser).
pub const NO_SHELL: &str = "app.no_shell";

fn invoke_function() -> Option<(JsValue, Function)> {
    let window: JsValue = web_sys::window()?.into();
    let tauri = Reflect::get(&window, &JsValue::from_str("__TAURI__")).ok()?;
    let core = Reflect::get(&tauri, &JsValue::from_str("core")).ok()?;
    let invoke = Reflect::get(&core, &JsValue::from_str("invoke")).ok()?;
    let invoke = invoke.dyn_into::<Function>().ok()?;
    Some((core, invoke))
}

fn unknown(detail: impl Into<String>) -> AppError {
    AppError::new(UNKNOWN).with("detail", detail)
}

/// Turns a rejection value into an `AppError`: an `{code, args}` object, or a JSON string of one,
/// and anything else becomes `app.unknown`.
fn to_app_error(value: JsValue) -> AppError {
    let parsed = if let Some(text) = value.as_string() {
        match serde_json::from_str::<AppError>(&text) {
            Ok(e) => Ok(e),
            Err(_) => return unknown(text),
        }
    } else {
        JSON::stringify(&value)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or(())
            .and_then(|s| serde_json::from_str::<AppError>(&s).map_err(|_| ()))
    };
    match parsed {
        Ok(e) if !e.code.is_empty() => e,
        _ => unknown(format!("{value:?}")),
    }
}

/// Calls one command and returns its raw JSON answer (`null` when the command returns nothing).
async fn invoke_json<A: Serialize>(cmd: &str, args: &A) -> Result<String, AppError> {
    let (core, invoke) = invoke_function().ok_or_else(|| AppError::new(NO_SHELL))?;
    let args = serde_json::to_string(args).map_err(|e| unknown(e.to_string()))?;
    let args = JSON::parse(&args).map_err(|_| unknown("arguments"))?;
    let promise = invoke
        .call2(&core, &JsValue::from_str(cmd), &args)
        .map_err(to_app_error)?;
    let promise = promise
        .dyn_into::<Promise>()
        .map_err(|_| unknown("invoke did not return a promise"))?;
    let answer = JsFuture::from(promise).await.map_err(to_app_error)?;
    if answer.is_undefined() {
        return Ok("null".to_string());
    }
    JSON::stringify(&answer)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| unknown("answer is not JSON"))
}

/// Sends the file chosen in the file input `input_id` to a command as the raw request body, with its name in the
/// `x-file-name` header. `Ok(None)` when no file is chosen.
async fn invoke_file<R: DeserializeOwned>(
    cmd: &str,
    input_id: &str,
) -> Result<Option<R>, AppError> {
    let (core, invoke) = invoke_function().ok_or_else(|| AppError::new(NO_SHELL))?;
    let get =
        |v: &JsValue, k: &str| Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let Some(input) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(input_id))
    else {
        return Ok(None);
    };
    let file = get(&get(&input.into(), "files"), "0");
    if file.is_undefined() || file.is_null() {
        return Ok(None);
    }
    let name = get(&file, "name").as_string().unwrap_or_default();
    let read = get(&file, "arrayBuffer")
        .dyn_into::<Function>()
        .map_err(|_| unknown("file cannot be read"))?
        .call0(&file)
        .map_err(to_app_error)?;
    let buffer = JsFuture::from(
        read.dyn_into::<Promise>()
            .map_err(|_| unknown("arrayBuffer"))?,
    )
    .await
    .map_err(to_app_error)?;
    let bytes = js_sys::Uint8Array::new(&buffer);
    let headers = js_sys::Object::new();
    let _ = Reflect::set(
        &headers,
        &JsValue::from_str("x-file-name"),
        &js_sys::encode_uri_component(&name).into(),
    );
    let options = js_sys::Object::new();
    let _ = Reflect::set(&options, &JsValue::from_str("headers"), &headers);
    let promise = invoke
        .call3(&core, &JsValue::from_str(cmd), &bytes, &options)
        .map_err(to_app_error)?
        .dyn_into::<Promise>()
        .map_err(|_| unknown("invoke did not return a promise"))?;
    let answer = JsFuture::from(promise).await.map_err(to_app_error)?;
    let json = JSON::stringify(&answer)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| unknown("answer is not JSON"))?;
    serde_json::from_str(&json)
        .map(Some)
        .map_err(|e| unknown(format!("{cmd}: {e}")))
}

async fn invoke<A: Serialize, R: DeserializeOwned>(cmd: &str, args: &A) -> Result<R, AppError> {
    let json = invoke_json(cmd, args).await?;
    serde_json::from_str(&json).map_err(|e| unknown(format!("{cmd}: {e}")))
}

async fn invoke_unit<A: Serialize>(cmd: &str, args: &A) -> Result<(), AppError> {
    invoke_json(cmd, args).await.map(|_| ())
}

#[derive(Serialize)]
struct NoArgs {}

#[derive(Serialize)]
struct IdArg<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct NumIdArg {
    id: i64,
}

#[derive(Serialize)]
struct SignInArgs<'a> {
    server: &'a str,
    email: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct SignOutArgs {
    wipe: bool,
}

#[derive(Serialize)]
struct SaveArgs<'a> {
    id: Option<&'a str>,
    input: &'a LeadInput,
}

#[derive(Serialize)]
struct InputArg<'a> {
    input: &'a LeadInput,
}

/// `{query}`: the argument of every list and dashboard query.
#[derive(Serialize)]
struct QueryArg<'a, T> {
    query: &'a T,
}

/// Who is signed in on this device, if anyone.
pub async fn session() -> Result<Option<SessionView>, AppError> {
    invoke(commands::SESSION, &NoArgs {}).await
}

pub async fn sign_in(server: &str, email: &str, password: &str) -> Result<SessionView, AppError> {
    invoke(
        commands::SIGN_IN,
        &SignInArgs {
            server,
            email,
            password,
        },
    )
    .await
}

/// Signs out; with `wipe` the device's local data is erased too.
pub async fn sign_out(wipe: bool) -> Result<(), AppError> {
    invoke_unit(commands::SIGN_OUT, &SignOutArgs { wipe }).await
}

/// Creates (`id: None`) or updates a lead.
pub async fn save_lead(id: Option<String>, input: &LeadInput) -> Result<SaveOutcome, AppError> {
    invoke(
        commands::SAVE_LEAD,
        &SaveArgs {
            id: id.as_deref(),
            input,
        },
    )
    .await
}

/// Checks a form without saving it.
pub async fn validate_lead(input: &LeadInput) -> Result<Vec<FieldError>, AppError> {
    invoke(commands::VALIDATE_LEAD, &InputArg { input }).await
}

pub async fn list_leads(query: &LeadQuery) -> Result<LeadPage, AppError> {
    invoke(commands::LIST_LEADS, &QueryArg { query }).await
}

pub async fn get_lead(id: &str) -> Result<LeadView, AppError> {
    invoke(commands::GET_LEAD, &IdArg { id }).await
}

pub async fn live_sessions() -> Result<Vec<LiveSessionView>, AppError> {
    invoke(commands::LIVE_SESSIONS, &NoArgs {}).await
}

/// The live session in progress now, if any.
pub async fn current_live_session() -> Result<Option<LiveSessionView>, AppError> {
    invoke(commands::CURRENT_LIVE_SESSION, &NoArgs {}).await
}

pub async fn sync_status() -> Result<SyncStatus, AppError> {
    invoke(commands::SYNC_STATUS, &NoArgs {}).await
}

pub async fn refused_edits() -> Result<Vec<RefusedEditView>, AppError> {
    invoke(commands::REFUSED_EDITS, &NoArgs {}).await
}

pub async fn dismiss_refused(id: i64) -> Result<(), AppError> {
    invoke_unit(commands::DISMISS_REFUSED, &NumIdArg { id }).await
}

/// Drops the local replica and downloads everything again.
pub async fn resync() -> Result<(), AppError> {
    invoke_unit(commands::RESYNC, &NoArgs {}).await
}

/// The server address to prefill on the sign-in screen.
pub async fn default_server() -> Result<String, AppError> {
    invoke(commands::DEFAULT_SERVER, &NoArgs {}).await
}

#[derive(Serialize)]
struct InviteArgs<'a> {
    request: &'a InviteRequest,
}

#[derive(Serialize)]
struct RolesArgs<'a> {
    user: &'a str,
    roles: &'a [String],
}

#[derive(Serialize)]
struct DeviceArg<'a> {
    device: &'a str,
}

#[derive(Serialize)]
struct AuditArg<'a> {
    query: &'a AuditQuery,
}

/// The team's members with their roles (admin only; needs the server).
pub async fn my_teams() -> Result<Vec<TeamView>, AppError> {
    invoke(commands::MY_TEAMS, &NoArgs {}).await
}

#[derive(Serialize)]
struct TeamArg<'a> {
    team: &'a str,
}

pub async fn switch_team(team: &str) -> Result<SessionView, AppError> {
    invoke(commands::SWITCH_TEAM, &TeamArg { team }).await
}

pub async fn admin_users() -> Result<Vec<AdminUserView>, AppError> {
    invoke(commands::ADMIN_USERS, &NoArgs {}).await
}

pub async fn admin_invite(request: &InviteRequest) -> Result<AdminUserView, AppError> {
    invoke(commands::ADMIN_INVITE, &InviteArgs { request }).await
}

pub async fn admin_set_roles(user: &str, roles: &[String]) -> Result<AdminUserView, AppError> {
    invoke(commands::ADMIN_SET_ROLES, &RolesArgs { user, roles }).await
}

pub async fn admin_devices() -> Result<Vec<AdminDeviceView>, AppError> {
    invoke(commands::ADMIN_DEVICES, &NoArgs {}).await
}

pub async fn admin_revoke(device: &str) -> Result<(), AppError> {
    invoke_unit(commands::ADMIN_REVOKE, &DeviceArg { device }).await
}

pub async fn admin_audit(query: &AuditQuery) -> Result<Vec<AuditEntryView>, AppError> {
    invoke(commands::ADMIN_AUDIT, &AuditArg { query }).await
}

/// Saves the audit log as CSV; answers the file's path.
pub async fn admin_export_audit(query: &AuditQuery) -> Result<String, AppError> {
    invoke(commands::ADMIN_EXPORT_AUDIT, &AuditArg { query }).await
}

// ---- tasks and assignment ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct OffsetArg {
    offset: i32,
}

#[derive(Serialize)]
struct TaskActionArgs<'a> {
    id: &'a str,
    action: &'a TaskAction,
}

#[derive(Serialize)]
struct TaskInputArg<'a> {
    input: &'a TaskInput,
}

#[derive(Serialize)]
struct ContactArgs<'a> {
    id: &'a str,
    kind: &'a str,
    note: &'a str,
}

#[derive(Serialize)]
struct RulesArg<'a> {
    config: &'a RulesConfig,
}

#[derive(Serialize)]
struct DryRunArgs<'a> {
    config: &'a RulesConfig,
    sample: &'a LeadInput,
}

pub async fn list_tasks(query: &TaskQuery) -> Result<Vec<TaskView>, AppError> {
    invoke(commands::LIST_TASKS, &QueryArg { query }).await
}

pub async fn get_task(id: &str) -> Result<TaskView, AppError> {
    invoke(commands::GET_TASK, &IdArg { id }).await
}

/// The signed-in user's task counts; `offset` is the viewer's UTC offset in minutes.
pub async fn task_counts(offset: i32) -> Result<TaskCounts, AppError> {
    invoke(commands::TASK_COUNTS, &OffsetArg { offset }).await
}

pub async fn task_action(id: &str, action: &TaskAction) -> Result<TaskView, AppError> {
    invoke(commands::TASK_ACTION, &TaskActionArgs { id, action }).await
}

pub async fn create_task(input: &TaskInput) -> Result<TaskView, AppError> {
    invoke(commands::CREATE_TASK, &TaskInputArg { input }).await
}

pub async fn team_tasks(offset: i32) -> Result<Vec<TeamTaskRow>, AppError> {
    invoke(commands::TEAM_TASKS, &OffsetArg { offset }).await
}

/// Logs a contact with the buyer on a lead; the server then closes the lead's first-contact task.
pub async fn log_contact(id: &str, kind: &str, note: &str) -> Result<LeadView, AppError> {
    invoke(commands::LOG_CONTACT, &ContactArgs { id, kind, note }).await
}

pub async fn get_rules() -> Result<Option<RulesConfig>, AppError> {
    invoke(commands::GET_RULES, &NoArgs {}).await
}

/// Publishes the rules; answers every fault (empty: published).
pub async fn save_rules(config: &RulesConfig) -> Result<Vec<AppError>, AppError> {
    invoke(commands::SAVE_RULES, &RulesArg { config }).await
}

pub async fn dry_run_rules(
    config: &RulesConfig,
    sample: &LeadInput,
) -> Result<AssignDecision, AppError> {
    invoke(commands::DRY_RUN_RULES, &DryRunArgs { config, sample }).await
}

/// Tasks that arrived for this user since the last call.
pub async fn take_notices() -> Result<Vec<Notice>, AppError> {
    invoke(commands::TAKE_NOTICES, &NoArgs {}).await
}

#[derive(Serialize)]
struct HooksArg<'a> {
    hooks: &'a [WebhookInput],
}

/// The team's group-bot webhooks (admin only; needs the server).
pub async fn admin_webhooks() -> Result<Vec<WebhookView>, AppError> {
    invoke(commands::ADMIN_WEBHOOKS, &NoArgs {}).await
}

pub async fn admin_set_webhooks(hooks: &[WebhookInput]) -> Result<(), AppError> {
    invoke_unit(commands::ADMIN_SET_WEBHOOKS, &HooksArg { hooks }).await
}

#[derive(Serialize)]
struct NotifyArgs<'a> {
    title: &'a str,
    body: &'a str,
}

/// Shows an OS notification (text already in the user's language).
pub async fn notify(title: &str, body: &str) -> Result<(), AppError> {
    invoke_unit(commands::NOTIFY, &NotifyArgs { title, body }).await
}

// Forms, flows and their records.

use liveline_types::forms::{
    Act, FieldInput, FlowDef, FormDef, RecordSaved, RecordSummary, RecordView,
};
use std::collections::BTreeMap;

#[derive(Serialize)]
struct FormDefArg<'a> {
    def: &'a FormDef,
}

#[derive(Serialize)]
struct FlowDefArg<'a> {
    def: &'a FlowDef,
}

#[derive(Serialize)]
struct FormArg<'a> {
    form: &'a str,
}

#[derive(Serialize)]
struct SaveRecordArgs<'a> {
    form: &'a str,
    id: Option<&'a str>,
    input: &'a BTreeMap<String, FieldInput>,
}

#[derive(Serialize)]
struct DecideArgs<'a> {
    id: &'a str,
    act: &'a Act,
    comment: &'a str,
}

pub async fn form_def(id: &str) -> Result<FormDef, AppError> {
    invoke(commands::FORM_DEF, &IdArg { id }).await
}

pub async fn form_defs() -> Result<Vec<FormDef>, AppError> {
    invoke(commands::FORM_DEFS, &NoArgs {}).await
}

/// Empty: published.
pub async fn publish_form(def: &FormDef) -> Result<Vec<FieldError>, AppError> {
    invoke(commands::PUBLISH_FORM, &FormDefArg { def }).await
}

pub async fn flow_defs() -> Result<Vec<FlowDef>, AppError> {
    invoke(commands::FLOW_DEFS, &NoArgs {}).await
}

pub async fn publish_flow(def: &FlowDef) -> Result<Vec<FieldError>, AppError> {
    invoke(commands::PUBLISH_FLOW, &FlowDefArg { def }).await
}

pub async fn list_records(form: &str) -> Result<Vec<RecordSummary>, AppError> {
    invoke(commands::LIST_RECORDS, &FormArg { form }).await
}

pub async fn get_record(id: &str) -> Result<RecordView, AppError> {
    invoke(commands::GET_RECORD, &IdArg { id }).await
}

pub async fn save_record(
    form: &str,
    id: Option<&str>,
    input: &BTreeMap<String, FieldInput>,
) -> Result<RecordSaved, AppError> {
    invoke(commands::SAVE_RECORD, &SaveRecordArgs { form, id, input }).await
}

pub async fn decide(id: &str, act: &Act, comment: &str) -> Result<RecordView, AppError> {
    invoke(commands::DECIDE, &DecideArgs { id, act, comment }).await
}

#[derive(Serialize)]
struct PeriodArg<'a> {
    period: &'a liveline_types::metrics::PeriodSpec,
}

pub async fn dashboard(
    query: &liveline_types::metrics::DashboardQuery,
) -> Result<liveline_types::metrics::FunnelTable, AppError> {
    invoke(commands::DASHBOARD, &QueryArg { query }).await
}

pub async fn dashboard_response() -> Result<liveline_types::metrics::ResponseBoard, AppError> {
    invoke(commands::DASHBOARD_RESPONSE, &NoArgs {}).await
}

pub async fn dashboard_approvals(
    period: &liveline_types::metrics::PeriodSpec,
) -> Result<Vec<liveline_types::metrics::StepRow>, AppError> {
    invoke(commands::DASHBOARD_APPROVALS, &PeriodArg { period }).await
}

pub async fn dashboard_drill(
    query: &liveline_types::metrics::DrillQuery,
) -> Result<liveline_types::metrics::DrillPage, AppError> {
    invoke(commands::DASHBOARD_DRILL, &QueryArg { query }).await
}

pub async fn dashboards_custom() -> Result<Vec<liveline_types::metrics::DashboardView>, AppError> {
    invoke(commands::DASHBOARDS_CUSTOM, &NoArgs {}).await
}

#[derive(Serialize)]
struct DashboardEditArgs<'a> {
    id: Option<&'a str>,
    edit: &'a liveline_types::metrics::DashboardEdit,
}

pub async fn dashboard_edit(
    id: Option<&str>,
    edit: &liveline_types::metrics::DashboardEdit,
) -> Result<liveline_types::metrics::DashboardView, AppError> {
    invoke(commands::DASHBOARD_EDIT, &DashboardEditArgs { id, edit }).await
}

pub async fn import_open(
    input_id: &str,
) -> Result<Option<liveline_types::sheets::ImportPreview>, AppError> {
    invoke_file(commands::IMPORT_OPEN, input_id).await
}

#[derive(Serialize)]
struct ImportStartArgs<'a> {
    job: &'a str,
    mapping: &'a [String],
}

/// Starts the import with `mapping`, or resumes it with the mapping it had when `mapping` is empty.
pub async fn import_start(
    job: &str,
    mapping: &[String],
) -> Result<liveline_types::sheets::ImportProgress, AppError> {
    invoke(commands::IMPORT_START, &ImportStartArgs { job, mapping }).await
}

pub async fn import_status() -> Result<Option<liveline_types::sheets::ImportProgress>, AppError> {
    invoke(commands::IMPORT_STATUS, &NoArgs {}).await
}

#[derive(Serialize)]
struct JobArg<'a> {
    job: &'a str,
}

pub async fn import_issues(
    job: &str,
) -> Result<Vec<liveline_types::sheets::ImportIssue>, AppError> {
    invoke(commands::IMPORT_ISSUES, &JobArg { job }).await
}

pub async fn import_clear(job: &str) -> Result<(), AppError> {
    invoke_unit(commands::IMPORT_CLEAR, &JobArg { job }).await
}

#[derive(Serialize)]
struct TableArg<'a> {
    table: &'a liveline_types::sheets::ExportTable,
}

/// Writes the table to an `.xlsx` file; returns where it was saved.
pub async fn export_xlsx(table: &liveline_types::sheets::ExportTable) -> Result<String, AppError> {
    invoke(commands::EXPORT_XLSX, &TableArg { table }).await
}
