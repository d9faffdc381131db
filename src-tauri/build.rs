//! Tauri's build step: reads the root `tauri.conf.json` and embeds the built UI from `ui/dist`.
fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
        .expect("tauri build step (is ui/dist built? run scripts/build-ui.sh)");
}
