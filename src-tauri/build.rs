fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .codegen(tauri_build::CodegenContext::new())
        .app_manifest(tauri_build::AppManifest::new().commands(citizen_app_commands::ALL));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}

/// The commands the UI may call; each gets an `allow-<name>` permission that
/// `capabilities/main.json` grants to the main window.
mod citizen_app_commands {
    pub const ALL: &[&str] = &[
        "overview",
        "places",
        "nearest_wifi",
        "stations",
        "procedures",
        "sync_status",
        "sync_now",
        "get_lang",
        "set_lang",
    ];
}
