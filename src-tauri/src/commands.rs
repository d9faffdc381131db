//! Tauri commands: parse, call the replica or sync client, map the error. No business rule lives here.

use liveline_replica::now_ms;
use liveline_types::{
    AdminDeviceView, AdminUserView, AppError, AuditEntryView, AuditQuery, FieldError,
    InviteRequest, LeadInput, LeadPage, LeadQuery, LeadView, LiveSessionView, RefusedEditView,
    SaveOutcome, SessionView, SyncStatus, TeamView,
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
    session_with_members(&shell).await
}

/// The session once a `Welcome` filled in the team's members, or as it is after two seconds.
async fn session_with_members(shell: &Shell) -> R<SessionView> {
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

/// The user's teams, from the server when it answers (kept for later), else as last listed.
#[tauri::command]
pub async fn my_teams(shell: State<'_, Shell>) -> R<Vec<TeamView>> {
    match admin(&shell).await?.teams().await {
        Ok(teams) => {
            let kept = teams.clone();
            shell.with(move |r| r.set_teams(&kept)).await?;
            Ok(teams)
        }
        Err(e) if e.code == liveline_types::codes::SERVER_UNREACHABLE => {
            shell.with(|r| r.teams()).await
        }
        Err(e) => Err(e),
    }
}

/// Moves this device to another of the user's teams (online only: the server decides what the device holds).
#[tauri::command]
pub async fn switch_team(shell: State<'_, Shell>, team: String) -> R<SessionView> {
    let view = admin(&shell).await?.switch_team(&team).await?;
    shell.with(move |r| r.set_team(&view)).await?;
    // The server tells the open connection; its Welcome brings the new team's members. Wait briefly for them.
    session_with_members(&shell).await
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
    let tz = device_tz();
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

/// This device's IANA time zone (UTC when the system names none).
fn device_tz() -> String {
    jiff::tz::TimeZone::system()
        .iana_name()
        .unwrap_or("UTC")
        .to_string()
}

/// A file the app could not write, with why.
fn write_failed(e: std::io::Error) -> AppError {
    AppError::new(liveline_types::codes::STORAGE_READ_ONLY).with("detail", e.to_string())
}

/// A period without a time zone is read in this device's.
fn with_tz(mut p: liveline_types::metrics::PeriodSpec) -> liveline_types::metrics::PeriodSpec {
    if p.tz.trim().is_empty() {
        p.tz = device_tz();
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
pub async fn dashboards_custom(
    shell: State<'_, Shell>,
) -> R<Vec<liveline_types::metrics::DashboardView>> {
    shell.with(|r| r.custom_dashboards()).await
}

/// One edit of a custom dashboard (`id` None creates one); the team receives it by sync.
#[tauri::command]
pub async fn dashboard_edit(
    shell: State<'_, Shell>,
    id: Option<String>,
    edit: liveline_types::metrics::DashboardEdit,
) -> R<liveline_types::metrics::DashboardView> {
    let out = shell
        .with(move |r| r.dashboard_edit(id.as_deref(), &edit, now_ms()))
        .await?;
    shell.nudge().await;
    Ok(out)
}

#[tauri::command]
pub async fn dashboard_drill(
    shell: State<'_, Shell>,
    mut query: liveline_types::metrics::DrillQuery,
) -> R<liveline_types::metrics::DrillPage> {
    query.period = with_tz(query.period);
    shell.with(move |r| r.drill(&query, now_ms())).await
}

/// `import_open` receives the file's bytes as the request body and its name in the `x-file-name` header
/// (percent-encoded): the file is kept in the data folder, so an import cut short can resume.
#[tauri::command]
pub async fn import_open(
    shell: State<'_, Shell>,
    request: tauri::ipc::Request<'_>,
) -> R<liveline_types::sheets::ImportPreview> {
    use liveline_replica::sheets::MAX_IMPORT_BYTES;
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(
            AppError::new(liveline_types::codes::IMPORT_UNREADABLE).with("detail", "no file")
        );
    };
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(AppError::new(liveline_types::codes::IMPORT_TOO_LARGE)
            .with("max_mb", (MAX_IMPORT_BYTES >> 20).to_string()));
    }
    let name = request
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .to_string()
        })
        .unwrap_or_else(|| "import.xlsx".into());
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or("xlsx")
        .to_ascii_lowercase();
    let dir = shell.imports_dir();
    let path = dir.join(format!("{}.{ext}", uuid::Uuid::now_v7()));
    let bytes = bytes.clone();
    {
        let path = path.clone();
        tauri::async_runtime::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(&path, bytes)
        })
        .await
        .map_err(|_| AppError::new(liveline_types::codes::STORAGE))?
        .map_err(write_failed)?;
    }
    let kept = path.clone();
    let out = shell
        .with(move |r| r.import_open(&kept, &name, now_ms()))
        .await;
    if out.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    out
}

/// Starts or resumes an import; its chunks then run in the background, one lock of the replica each, so the app
/// stays responsive and the imported leads go to the server as they are written.
#[tauri::command]
pub async fn import_start<Rt: tauri::Runtime>(
    app: tauri::AppHandle<Rt>,
    shell: State<'_, Shell>,
    job: String,
    mapping: Vec<String>,
) -> R<liveline_types::sheets::ImportProgress> {
    use std::sync::atomic::Ordering;
    use tauri::Manager;
    let started = {
        let (job, mapping) = (job.clone(), mapping.clone());
        shell.with(move |r| r.import_start(&job, &mapping)).await?
    };
    if shell.importing.swap(true, Ordering::SeqCst) {
        return Ok(started);
    }
    tauri::async_runtime::spawn(async move {
        let shell = app.state::<Shell>();
        loop {
            let job = job.clone();
            let step = shell.with(move |r| r.import_step(&job, now_ms())).await;
            shell.nudge().await;
            match step {
                Ok(p) if p.status == "running" => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(code = %e.code, "import stopped");
                    break;
                }
            }
        }
        shell.importing.store(false, Ordering::SeqCst);
    });
    Ok(started)
}

#[tauri::command]
pub async fn import_status(
    shell: State<'_, Shell>,
) -> R<Option<liveline_types::sheets::ImportProgress>> {
    shell.with(|r| r.import_latest()).await
}

#[tauri::command]
pub async fn import_issues(
    shell: State<'_, Shell>,
    job: String,
) -> R<Vec<liveline_types::sheets::ImportIssue>> {
    shell.with(move |r| r.import_issues(&job)).await
}

#[tauri::command]
pub async fn import_clear(shell: State<'_, Shell>, job: String) -> R<()> {
    let file = shell.with(move |r| r.import_clear(&job)).await?;
    if let Some(f) = file {
        let _ = std::fs::remove_file(f);
    }
    Ok(())
}

/// Writes a table to an `.xlsx` file in the Downloads folder (else the app's data folder) and returns its path.
#[tauri::command]
pub async fn export_xlsx<Rt: tauri::Runtime>(
    app: tauri::AppHandle<Rt>,
    shell: State<'_, Shell>,
    mut table: liveline_types::sheets::ExportTable,
) -> R<String> {
    use tauri::Manager;
    if table.tz.trim().is_empty() {
        table.tz = device_tz();
    }
    let dir = std::env::var_os("LIVELINE_EXPORT_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| app.path().download_dir().ok().filter(|d| d.is_dir()))
        .unwrap_or_else(|| shell.imports_dir().with_file_name("exports"));
    tauri::async_runtime::spawn_blocking(move || {
        let bytes = liveline_replica::sheets::write_xlsx(&table).map_err(|e| e.to_app_error())?;
        std::fs::create_dir_all(&dir).map_err(write_failed)?;
        let base: String = table
            .title
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let stamp = jiff::Zoned::now().strftime("%Y%m%d-%H%M%S").to_string();
        let path = dir.join(format!("liveline-{base}-{stamp}.xlsx"));
        std::fs::write(&path, bytes).map_err(write_failed)?;
        Ok(path.to_string_lossy().to_string())
    })
    .await
    .map_err(|_| AppError::new(liveline_types::codes::STORAGE))?
}
