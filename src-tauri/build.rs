//! Tauri's build step: reads the root `tauri.conf.json`, embeds the built UI from `ui/dist`, and declares the app's
//! commands (`liveline_types::commands::ALL`), so the main window may call only those its capability file grants.
fn main() {
    let manifest = tauri_build::AppManifest::new().commands(liveline_types::commands::ALL);
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .config_path("../tauri.conf.json")
            .app_manifest(manifest),
    )
    .expect("tauri build step (is ui/dist built? run scripts/build-ui.sh)");
}
