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
        "search",
        "details",
        "sync_now",
        "get_lang",
        "set_lang",
        "report_categories",
        "drafts",
        "new_draft",
        "draft",
        "save_draft",
        "delete_draft",
        "add_photo",
        "remove_photo",
        "photo_preview",
        "submit_draft",
        "my_reports",
        "nearby_reports",
        "support_report",
        "wards",
        "locate",
        "take_notices",
        "take_resent_notices",
        "take_store_notice",
        "map_info",
        "origin",
        "device_position",
        "set_device_position",
        "nearby",
        "street_pack_status",
        "download_street_pack",
        "salinity_guide",
        "salinity",
        "salinity_choice",
        "set_salinity_choice",
        "set_salinity_alert",
        "salinity_alerts",
        "take_salinity_notices",
        "live_state",
        "salinity_last_year",
        "forms",
        "departments",
        "admin_units",
        "identity",
        "request_code",
        "redeem_code",
        "application_drafts",
        "new_application",
        "application_draft",
        "save_application",
        "delete_application",
        "attach_document",
        "submit_application",
        "my_dossiers",
        "my_dossier",
        "dossier_action",
        "take_dossier_notices",
        "lookup_dossier",
        "open_document",
    ];
}
