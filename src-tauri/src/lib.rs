//! The Tauri shell: owns the device's replica and sync client, and exposes them to the UI as commands.
//!
//! Commands are one-line wrappers over `liveline-replica`; every error reaches the UI as an `AppError` code.
//! No desktop-only call sits in a shared path, so the same library is the Android/iOS entry point.

mod commands;
mod shell;

use tauri::Manager;

/// Starts the app. `--data-dir DIR` (or `LIVELINE_DATA_DIR`) overrides the OS app-data folder, for a second
/// instance and for tests; `--server URL` (or `LIVELINE_SERVER`) sets the server the sign-in screen proposes.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIVELINE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    run_app(tauri::Builder::default());
}

pub fn run_app<R: tauri::Runtime>(builder: tauri::Builder<R>) {
    builder
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let data_dir = match setting("--data-dir", "LIVELINE_DATA_DIR") {
                Some(d) => std::path::PathBuf::from(d),
                None => app.path().app_data_dir()?,
            };
            let server = setting("--server", "LIVELINE_SERVER")
                .unwrap_or_else(|| "http://127.0.0.1:8787".into());
            let shell = shell::Shell::open(data_dir, server);
            let notifier = app.handle().clone();
            shell.set_notifier(Box::new(move |title, body| {
                use tauri_plugin_notification::NotificationExt;
                notifier
                    .notification()
                    .builder()
                    .title(title)
                    .body(body)
                    .show()
                    .map_err(|e| e.to_string())
            }));
            app.manage(shell);
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<shell::Shell>().start_sync().await;
            });
            #[cfg(desktop)]
            if let (Some(size), Some(window)) = (
                setting("--window-size", "LIVELINE_WINDOW_SIZE"),
                app.get_webview_window("main"),
            ) {
                if let Some((w, h)) = size
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                {
                    let _ = window.set_size(tauri::LogicalSize::<f64>::new(w, h));
                }
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::session,
            commands::sign_in,
            commands::sign_out,
            commands::save_lead,
            commands::validate_lead,
            commands::list_leads,
            commands::get_lead,
            commands::live_sessions,
            commands::current_live_session,
            commands::sync_status,
            commands::refused_edits,
            commands::dismiss_refused,
            commands::resync,
            commands::default_server,
            commands::my_teams,
            commands::switch_team,
            commands::admin_users,
            commands::admin_invite,
            commands::admin_set_roles,
            commands::admin_devices,
            commands::admin_revoke,
            commands::admin_webhooks,
            commands::admin_set_webhooks,
            commands::admin_audit,
            commands::admin_export_audit,
            commands::list_tasks,
            commands::get_task,
            commands::task_counts,
            commands::task_action,
            commands::create_task,
            commands::team_tasks,
            commands::log_contact,
            commands::get_rules,
            commands::save_rules,
            commands::dry_run_rules,
            commands::take_notices,
            commands::notify,
            commands::form_def,
            commands::form_defs,
            commands::publish_form,
            commands::flow_def,
            commands::flow_defs,
            commands::publish_flow,
            commands::list_records,
            commands::get_record,
            commands::save_record,
            commands::decide,
            commands::dashboard,
            commands::dashboard_response,
            commands::dashboard_approvals,
            commands::dashboard_drill,
            commands::dashboards_custom,
            commands::dashboard_edit,
            commands::import_open,
            commands::import_start,
            commands::import_status,
            commands::import_issues,
            commands::import_clear,
            commands::export_xlsx,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running the Liveline app");
}

/// A setting from the command line (`--name value` or `--name=value`), else from the environment.
fn setting(flag: &str, env: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    for (i, a) in args.iter().enumerate() {
        if a == flag {
            return args.get(i + 1).cloned();
        }
        if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
    }
    std::env::var(env).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    //! The window's grants stay exactly the app's commands: the handler list, the command constants the UI calls,
    //! and the capability file's permissions name the same commands; the content security policy forbids inline
    //! scripts and `eval`.
    use liveline_types::commands::ALL;

    fn file(path: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
            .unwrap()
    }

    #[test]
    fn the_handler_list_is_the_command_list() {
        let src = file("src/lib.rs");
        let list = &src[src.find("generate_handler![").unwrap()..];
        let list = &list[..list.find("])").unwrap()];
        let mut handled: Vec<&str> = list
            .split("commands::")
            .skip(1)
            .map(|s| s.split(',').next().unwrap().trim())
            .collect();
        let mut all = ALL.to_vec();
        handled.sort_unstable();
        all.sort_unstable();
        assert_eq!(handled, all);
    }

    #[test]
    fn the_main_window_is_granted_exactly_the_apps_commands() {
        let cap: serde_json::Value = serde_json::from_str(&file("capabilities/main.json")).unwrap();
        assert_eq!(cap["windows"], serde_json::json!(["main"]));
        let granted: Vec<String> = serde_json::from_value(cap["permissions"].clone()).unwrap();
        let wanted: Vec<String> = ALL
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        assert_eq!(granted, wanted);
    }

    #[test]
    fn the_content_security_policy_runs_no_inline_script() {
        let conf: serde_json::Value = serde_json::from_str(&file("../tauri.conf.json")).unwrap();
        let csp = &conf["app"]["security"]["csp"];
        let script = csp["script-src"].as_str().unwrap();
        assert!(
            !script.contains("unsafe-inline") && !script.contains("'unsafe-eval'"),
            "{script}"
        );
        assert_eq!(csp["default-src"], "'self'");
        assert_eq!(csp["object-src"], "'none'");
    }
}
