//! The citizen app's shell: opens the offline store, starts the background sync and exposes
//! one-line commands over `citizen_client` to the UI.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod map;
mod reports;
mod salinity;
mod services;

use citizen_client::instance::Claim;
use citizen_client::{AppConfig, Gateway, Syncer};
use citizen_core::CityPack;
use tauri::Manager;

fn main() {
    // Logs go to stderr, coloured only on a terminal; stdout is left for what scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        // Hands directions to the platform's maps app; the capability allows two kinds of URL.
        .plugin(tauri_plugin_opener::init())
        .register_asynchronous_uri_scheme_protocol("map", map::protocol)
        .setup(|app| {
            // The device's position service, on phones; desktops set a position on the map
            // (the plugin's desktop side has no real position to give).
            #[cfg(mobile)]
            app.handle().plugin(tauri_plugin_geolocation::init())?;
            let default_dir = app.path().app_data_dir()?;
            let config = AppConfig::load(&default_dir, |k| std::env::var(k).ok())?;
            std::fs::create_dir_all(&config.data_dir)?;
            // One app per data directory: a second start shows the first and ends.
            match citizen_client::instance::claim(&config.data_dir)? {
                Claim::HandedOver => {
                    tracing::info!(data = %config.data_dir.display(), "the app already runs on this data directory: handed over to it");
                    std::process::exit(0);
                }
                Claim::First(first) => {
                    let handle = app.handle().clone();
                    first.on_hand_over(move || {
                        if let Some(window) = handle.get_webview_window("main") {
                            let _ = window.unminimize();
                            let _ = window.show();
                            let _ = window.set_focus();
                        }
                    });
                }
            }
            tracing::info!(gateway = %config.gateway_url, data = %config.data_dir.display(), "starting");
            let store = tauri::async_runtime::block_on(async {
                let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
                // A damaged store is kept aside and what can be read is salvaged.
                let (store, _) = citizen_client::salvage::open_or_salvage(
                    &config.database_path(),
                    &pack,
                    citizen_client::syncer::now_ms(),
                )
                .await?;
                Ok::<_, Box<dyn std::error::Error>>(store)
            })?;
            let stale_after_ms = config
                .salinity_stale_after
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            let syncer =
                Syncer::new(store.clone(), Gateway::new(&config.gateway_url), config.sync_interval)
                    .with_stale_after(stale_after_ms);
            let (sync, run) = syncer.start();
            tauri::async_runtime::spawn(run);
            // New data is pulled as soon as the gateway says the feed moved.
            let (live, listen) = citizen_client::live::start(&config.gateway_url, sync.clone());
            tauri::async_runtime::spawn(listen);
            // Alerts look at what was synced while the app was closed.
            {
                let store = store.clone();
                tauri::async_runtime::spawn(async move {
                    let now = citizen_client::syncer::now_ms();
                    let offset = store.sync_record().await.ok().and_then(|r| r.clock_offset_ms).unwrap_or(0);
                    if let Err(error) = store.evaluate_alerts(now + offset, stale_after_ms).await {
                        tracing::error!(%error, "salinity alerts not evaluated at start");
                    }
                });
            }
            app.manage(salinity::SalinityShell {
                stale_after_ms,
                live,
                gateway: Gateway::new(&config.gateway_url),
            });
            let tile_source = tauri::async_runtime::block_on(store.city())
                .ok()
                .flatten()
                .and_then(|c| c.tile_source);
            app.manage(services::ServicesShell {
                gateway: Gateway::new(&config.gateway_url),
                download_dir: std::env::var_os("CITIZEN_DOWNLOAD_DIR")
                    .map(std::path::PathBuf::from)
                    .or_else(|| app.path().download_dir().ok())
                    .unwrap_or_else(|| config.data_dir.join("downloads")),
            });
            app.manage(commands::Shell { store, sync });
            let basemap = open_basemap(app);
            app.manage(map::StreetPacks::start(
                &config.data_dir.join("maps"),
                &config.gateway_url,
                basemap.clone(),
                tile_source,
                config.tile_cache_bytes,
            ));
            app.manage(map::MapFiles(basemap));
            Ok(())
        })
        // The window takes the keyboard once its page is shown, so the focus shows at once.
        .on_page_load(|webview, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                let _ = webview.window().set_focus();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::overview,
            commands::places,
            commands::nearest_wifi,
            commands::stations,
            commands::procedures,
            commands::sync_status,
            commands::search,
            commands::details,
            commands::sync_now,
            map::map_info,
            map::origin,
            map::device_position,
            map::set_device_position,
            map::nearby,
            map::street_pack_status,
            map::download_street_pack,
            commands::get_lang,
            commands::set_lang,
            reports::report_categories,
            reports::drafts,
            reports::new_draft,
            reports::draft,
            reports::save_draft,
            reports::delete_draft,
            reports::add_photo,
            reports::remove_photo,
            reports::photo_preview,
            reports::submit_draft,
            reports::my_reports,
            reports::nearby_reports,
            reports::support_report,
            reports::wards,
            reports::locate,
            reports::take_notices,
            reports::take_resent_notices,
            reports::take_store_notice,
            salinity::salinity_guide,
            salinity::salinity,
            salinity::salinity_choice,
            salinity::set_salinity_choice,
            salinity::set_salinity_alert,
            salinity::salinity_alerts,
            salinity::take_salinity_notices,
            salinity::live_state,
            salinity::salinity_last_year,
            services::forms,
            services::departments,
            services::admin_units,
            services::identity,
            services::request_code,
            services::redeem_code,
            services::application_drafts,
            services::new_application,
            services::application_draft,
            services::save_application,
            services::delete_application,
            services::attach_document,
            services::submit_application,
            services::my_dossiers,
            services::my_dossier,
            services::dossier_action,
            services::take_dossier_notices,
            services::lookup_dossier,
            services::open_document,
        ])
        .run(tauri::tauri_build_context!());
    if let Err(error) = result {
        tracing::error!(%error, "the app stopped with an error");
        std::process::exit(1);
    }
}

/// Opens the basemap bundled with the app (`CITIZEN_BASEMAP_DIR` overrides where it is);
/// without it the map screen lists places instead, and the log says why.
fn open_basemap(app: &tauri::App) -> Option<std::sync::Arc<citizen_client::basemap::Basemap>> {
    let dir = match std::env::var_os("CITIZEN_BASEMAP_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => app.path().resource_dir().ok()?.join("basemap"),
    };
    match tauri::async_runtime::block_on(citizen_client::basemap::Basemap::open(&dir)) {
        Ok(map) => Some(std::sync::Arc::new(map)),
        Err(error) => {
            tracing::error!(%error, dir = %dir.display(), "no basemap: the map screen shows lists");
            None
        }
    }
}
