//! Tauri commands: parse, call the replica or sync client, map the error. No business rule lives here.

use liveline_replica::now_ms;
use liveline_types::{
    AdminDeviceView, AdminUserView, AppError, AuditEntryView, AuditQuery, FieldError,
    InviteRequest, LeadInput, LeadPage, LeadQuery, LeadView, LiveSessionView, RefusedEditView,
    SaveOutcome, SessionView, SyncStatus,
};
use liveline_types::{
    AssignDecision, Notice, RulesConfig, TaskAction, TaskCounts, TaskInput, TaskQuery, TaskView,
    TeamTaskRow,
};
use tauri::State;

use crate::shell::Shell;

type R<T> = Result<T, AppError>;

#[tauri::command]
pub async fn session(shell: State<'_, Shell>) -> R<Option<SessionView>> {
    shell.with(|r| r.session()).await
}

#[tauri::command]
pub async fn sign_in(
    shell: State<'_, Shell>,
    server: String,
    email: String,
    password: String,
) -> R<SessionView> {
    let device = std::env::var("HOSTNAME").unwrap_or_else(|_| "Liveline app".into());
    let creds = liveline_replica::sign_in(&server, &email, &password, &device).await?;
    shell.signed_in(creds).await?;
    // The Welcome fills in names and members; wait briefly so the first screen has them.
    for _ in 0..40 {
        let s = shell.with(|r| r.session()).await?;
        if let Some(s) = s.filter(|s| !s.members.is_empty()) {
            return Ok(s);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    shell
        .with(|r| r.session())
        .await?
        .ok_or_else(|| AppError::new(liveline_types::codes::NOT_SIGNED_IN))
}

#[tauri::command]
pub async fn sign_out(shell: State<'_, Shell>, wipe: bool) -> R<()> {
    shell.stop_sync().await;
    shell.with(move |r| r.sign_out(wipe)).await
}

#[tauri::command]
pub async fn save_lead(
    shell: State<'_, Shell>,
    id: Option<String>,
    input: LeadInput,
) -> R<SaveOutcome> {
    let out = shell
        .with(move |r| r.save_lead(id.as_deref(), &input, now_ms()))
        .await?;
    if matches!(out, SaveOutcome::Saved { .. }) {
        shell.nudge().await;
    }
    Ok(out)
}

#[tauri::command]
pub async fn validate_lead(shell: State<'_, Shell>, input: LeadInput) -> R<Vec<FieldError>> {
    shell.with(move |r| r.validate_lead(&input)).await
}

#[tauri::command]
pub async fn list_leads(shell: State<'_, Shell>, query: LeadQuery) -> R<LeadPage> {
    shell.with(move |r| r.list_leads(&query)).await
}

#[tauri::command]
pub async fn get_lead(shell: State<'_, Shell>, id: String) -> R<LeadView> {
    shell.with(move |r| r.get_lead(&id)).await
}

#[tauri::command]
pub async fn live_sessions(shell: State<'_, Shell>) -> R<Vec<LiveSessionView>> {
    shell.with(|r| r.live_sessions()).await
}

#[tauri::command]
pub async fn current_live_session(shell: State<'_, Shell>) -> R<Option<LiveSessionView>> {
    shell.with(|r| r.current_live_session(now_ms())).await
}

#[tauri::command]
pub async fn sync_status(shell: State<'_, Shell>) -> R<SyncStatus> {
    shell.status().await
}

#[tauri::command]
pub async fn refused_edits(shell: State<'_, Shell>) -> R<Vec<RefusedEditView>> {
    shell.with(|r| r.refused_edits()).await
}

#[tauri::command]
pub async fn dismiss_refused(shell: State<'_, Shell>, id: i64) -> R<()> {
    shell.with(move |r| r.dismiss_refused(id)).await
}

/// Drops the local replica and signs out; signing in again fetches everything from the server.
#[tauri::command]
pub async fn resync(shell: State<'_, Shell>) -> R<()> {
    shell.reset().await
}

#[tauri::command]
pub fn default_server(shell: State<'_, Shell>) -> String {
    shell.default_server.clone()
}

async fn admin(shell: &Shell) -> R<liveline_replica::Admin> {
    let creds = shell
        .with(|r| r.credentials())
        .await?
        .ok_or_else(|| AppError::new(liveline_types::codes::NOT_SIGNED_IN))?;
    Ok(liveline_replica::Admin::new(&creds))
}

#[tauri::command]
pub async fn admin_users(shell: State<'_, Shell>) -> R<Vec<AdminUserView>> {
    admin(&shell).await?.users().await
}

#[tauri::command]
pub async fn admin_invite(shell: State<'_, Shell>, request: InviteRequest) -> R<AdminUserView> {
    admin(&shell).await?.invite(&request).await
}

#[tauri::command]
pub async fn admin_set_roles(
    shell: State<'_, Shell>,
    user: String,
    roles: Vec<String>,
) -> R<AdminUserView> {
    admin(&shell).await?.set_roles(&user, &roles).await
}

#[tauri::command]
pub async fn admin_devices(shell: State<'_, Shell>) -> R<Vec<AdminDeviceView>> {
    admin(&shell).await?.devices().await
}

#[tauri::command]
pub async fn admin_webhooks(shell: State<'_, Shell>) -> R<Vec<liveline_types::WebhookView>> {
    admin(&shell).await?.webhooks().await
}

#[tauri::command]
pub async fn admin_set_webhooks(
    shell: State<'_, Shell>,
    hooks: Vec<liveline_types::WebhookInput>,
) -> R<()> {
    admin(&shell).await?.set_webhooks(&hooks).await
}

#[tauri::command]
pub async fn admin_revoke(shell: State<'_, Shell>, device: String) -> R<()> {
    admin(&shell).await?.revoke(&device).await
}

#[tauri::command]
pub async fn admin_audit(shell: State<'_, Shell>, query: AuditQuery) -> R<Vec<AuditEntryView>> {
    admin(&shell).await?.audit(&query).await
}

/// Saves the audit log as CSV in the user's Downloads folder (the app's data folder where there is none) and
/// returns the file's path.
#[tauri::command]
pub async fn admin_export_audit<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    shell: State<'_, Shell>,
    query: AuditQuery,
) -> Result<String, AppError> {
    use tauri::Manager;
    let bytes = admin(&shell).await?.audit_csv(&query).await?;
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().app_data_dir())
        .map_err(|_| AppError::new(liveline_types::codes::STORAGE))?;
    let path = dir.join(format!("liveline-audit-{}.csv", now_ms()));
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, bytes))
        .map_err(|e| AppError::new(liveline_types::codes::STORAGE).with("detail", e.to_string()))?;
    Ok(path.display().to_string())
}

// ---- tasks and assignment -------------------------------------------------------------------------------------

#[tauri::command]
pub async fn list_tasks(shell: State<'_, Shell>, query: TaskQuery) -> R<Vec<TaskView>> {
    shell.with(move |r| r.list_tasks(&query, now_ms())).await
}

#[tauri::command]
pub async fn get_task(shell: State<'_, Shell>, id: String) -> R<TaskView> {
    shell.with(move |r| r.get_task(&id)).await
}

/// `offset`: the viewer's UTC offset in minutes, for "today".
#[tauri::command]
pub async fn task_counts(shell: State<'_, Shell>, offset: i32) -> R<TaskCounts> {
    shell.with(move |r| r.task_counts(now_ms(), offset)).await
}

#[tauri::command]
pub async fn task_action(shell: State<'_, Shell>, id: String, action: TaskAction) -> R<TaskView> {
    let out = shell
        .with(move |r| r.task_action(&id, &action, now_ms()))
        .await??;
    shell.nudge().await;
    Ok(out)
}

#[tauri::command]
pub async fn create_task(shell: State<'_, Shell>, input: TaskInput) -> R<TaskView> {
    let out = shell
        .with(move |r| r.create_task(&input, now_ms()))
        .await??;
    shell.nudge().await;
    Ok(out)
}

#[tauri::command]
pub async fn team_tasks(shell: State<'_, Shell>, offset: i32) -> R<Vec<TeamTaskRow>> {
    shell.with(move |r| r.team_tasks(now_ms(), offset)).await
}

#[tauri::command]
pub async fn log_contact(
    shell: State<'_, Shell>,
    id: String,
    kind: String,
    note: String,
) -> R<LeadView> {
    let out = shell
        .with(move |r| r.log_contact(&id, &kind, &note, now_ms()))
        .await??;
    shell.nudge().await;
    Ok(out)
}

#[tauri::command]
pub async fn get_rules(shell: State<'_, Shell>) -> R<Option<RulesConfig>> {
    shell.with(|r| r.rules()).await
}

/// Publishes the rules; the answer lists every fault (empty: published).
#[tauri::command]
pub async fn save_rules(shell: State<'_, Shell>, config: RulesConfig) -> R<Vec<AppError>> {
    let out = shell.with(move |r| r.save_rules(&config, now_ms())).await?;
    if out.is_empty() {
        shell.nudge().await;
    }
    Ok(out)
}

#[tauri::command]
pub async fn dry_run_rules(
    shell: State<'_, Shell>,
    config: RulesConfig,
    sample: LeadInput,
) -> R<AssignDecision> {
    shell
        .with(move |r| r.dry_run(&config, &sample, now_ms()))
        .await
}

#[tauri::command]
pub async fn take_notices(shell: State<'_, Shell>) -> R<Vec<Notice>> {
    shell.with(|r| r.take_notices()).await
}

/// Shows an OS notification with text the UI wrote in the user's language.
#[tauri::command]
pub async fn notify(shell: State<'_, Shell>, title: String, body: String) -> R<()> {
    shell.notify(title, body).await;
    Ok(())
}

// Forms, flows and their records (orders, proposals).

use liveline_types::forms::{
    Act, FieldInput, FlowDef, FormDef, RecordSaved, RecordSummary, RecordView,
};
use std::collections::BTreeMap;

#[tauri::command]
pub async fn form_def(shell: State<'_, Shell>, id: String) -> R<FormDef> {
    shell.with(move |r| r.form(&id)).await
}

#[tauri::command]
pub async fn form_defs(shell: State<'_, Shell>) -> R<Vec<FormDef>> {
    shell.with(|r| r.form_defs()).await
}

#[tauri::command]
pub async fn publish_form(shell: State<'_, Shell>, def: FormDef) -> R<Vec<FieldError>> {
    let errors = shell.with(move |r| r.publish_form(&def)).await?;
    if errors.is_empty() {
        shell.nudge().await;
    }
    Ok(errors)
}

#[tauri::command]
pub async fn flow_def(shell: State<'_, Shell>, id: String) -> R<FlowDef> {
    shell.with(move |r| r.flow(&id)).await
}

#[tauri::command]
pub async fn flow_defs(shell: State<'_, Shell>) -> R<Vec<FlowDef>> {
    shell.with(|r| r.flow_defs()).await
}

#[tauri::command]
pub async fn publish_flow(shell: State<'_, Shell>, def: FlowDef) -> R<Vec<FieldError>> {
    let errors = shell.with(move |r| r.publish_flow(&def)).await?;
    if errors.is_empty() {
        shell.nudge().await;
    }
    Ok(errors)
}

#[tauri::command]
pub async fn list_records(shell: State<'_, Shell>, form: String) -> R<Vec<RecordSummary>> {
    shell.with(move |r| r.list_records(&form)).await
}

#[tauri::command]
pub async fn get_record(shell: State<'_, Shell>, id: String) -> R<RecordView> {
    shell.with(move |r| r.record_view(&id)).await
}

#[tauri::command]
pub async fn save_record(
    shell: State<'_, Shell>,
    form: String,
    id: Option<String>,
    input: BTreeMap<String, FieldInput>,
) -> R<RecordSaved> {
    let tz = jiff::tz::TimeZone::system()
        .iana_name()
        .unwrap_or("UTC")
        .to_string();
    let out = shell
        .with(move |r| r.save_record(&form, id.as_deref(), &input, &tz))
        .await?;
    Ok(match out {
        Ok(id) => {
            shell.nudge().await;
            RecordSaved::Saved { id }
        }
        Err(errors) => RecordSaved::Invalid { errors },
    })
}

#[tauri::command]
pub async fn decide(
    shell: State<'_, Shell>,
    id: String,
    act: Act,
    comment: String,
) -> R<RecordView> {
    let record = id.clone();
    let out = shell
        .with(move |r| r.decide(&record, act, &comment, now_ms()))
        .await?;
    out?;
    shell.nudge().await;
    shell.with(move |r| r.record_view(&id)).await
}

/// A period without a time zone is read in this device's.
fn with_tz(mut p: liveline_types::metrics::PeriodSpec) -> liveline_types::metrics::PeriodSpec {
    if p.tz.trim().is_empty() {
        p.tz = jiff::tz::TimeZone::system()
            .iana_name()
            .unwrap_or("UTC")
            .to_string();
    }
    p
}

#[tauri::command]
pub async fn dashboard(
    shell: State<'_, Shell>,
    mut query: liveline_types::metrics::DashboardQuery,
) -> R<liveline_types::metrics::FunnelTable> {
    query.period = with_tz(query.period);
    shell.with(move |r| r.funnel_board(&query, now_ms())).await
}

#[tauri::command]
pub async fn dashboard_response(
    shell: State<'_, Shell>,
) -> R<liveline_types::metrics::ResponseBoard> {
    shell.with(|r| r.response_board(now_ms())).await
}

#[tauri::command]
pub async fn dashboard_approvals(
    shell: State<'_, Shell>,
    period: liveline_types::metrics::PeriodSpec,
) -> R<Vec<liveline_types::metrics::StepRow>> {
    let period = with_tz(period);
    shell
        .with(move |r| r.approval_board(&period, now_ms()))
        .await
}

#[tauri::command]
pub async fn dashboard_drill(
    shell: State<'_, Shell>,
    mut query: liveline_types::metrics::DrillQuery,
) -> R<Vec<LeadView>> {
    query.period = with_tz(query.period);
    shell.with(move |r| r.drill(&query, now_ms())).await
}
