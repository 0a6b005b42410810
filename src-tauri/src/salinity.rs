//! The salinity screen's commands: the verdict, trend and forecast for a station and a use,
//! the resident's choice of both, alert subscriptions and their notifications, whether
//! updates arrive live, and last year's reading (asked of the gateway, when reachable).

use citizen_client::live::LiveState;
use citizen_core::salinity::{Alert, Change, SalinityGuide, SalinityView, Subscription};
use serde::{Deserialize, Serialize};
use tauri::State;

use crate::commands::{Answer, Shell, storage};

/// What the salinity screen needs besides the store: the configured stale limit, the live
/// state, and the gateway for last year's reading.
pub struct SalinityShell {
    pub stale_after_ms: Option<i64>,
    pub live: tokio::sync::watch::Receiver<LiveState>,
    pub gateway: citizen_client::Gateway,
}

/// The time on the gateway's clock as this device best knows it.
async fn gateway_now(shell: &Shell) -> i64 {
    let device = citizen_client::syncer::now_ms();
    match shell.sync.status().await {
        Ok(status) => status.gateway_now(device),
        Err(_) => device,
    }
}

/// The city's uses of water with their limits and sources.
#[tauri::command]
pub async fn salinity_guide(shell: State<'_, Shell>) -> Answer<Option<SalinityGuide>> {
    shell.store.salinity_guide().await.map_err(storage)
}

/// The screen for `station_id` and `use_id`.
#[tauri::command]
pub async fn salinity(
    shell: State<'_, Shell>,
    extra: State<'_, SalinityShell>,
    station_id: String,
    use_id: String,
) -> Answer<Option<SalinityView>> {
    let now = gateway_now(&shell).await;
    shell
        .store
        .salinity_view(&station_id, &use_id, now, extra.stale_after_ms)
        .await
        .map_err(storage)
}

/// The station and use the resident last chose.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Choice {
    pub station_id: Option<String>,
    pub use_id: Option<String>,
}

const CHOICE_KEY: &str = "salinity_choice";

#[tauri::command]
pub async fn salinity_choice(shell: State<'_, Shell>) -> Answer<Choice> {
    let value = shell.store.setting(CHOICE_KEY).await.map_err(storage)?;
    Ok(value
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

#[tauri::command]
pub async fn set_salinity_choice(shell: State<'_, Shell>, choice: Choice) -> Answer<()> {
    let text = serde_json::to_string(&choice).unwrap_or_default();
    shell
        .store
        .set_setting(CHOICE_KEY, Some(&text))
        .await
        .map_err(storage)
}

/// Subscribes to (or leaves) the alerts of a station and a use.
#[tauri::command]
pub async fn set_salinity_alert(
    shell: State<'_, Shell>,
    station_id: String,
    use_id: String,
    on: bool,
) -> Answer<()> {
    let now = gateway_now(&shell).await;
    shell
        .store
        .set_subscription(&station_id, &use_id, on, now)
        .await
        .map_err(storage)
}

#[tauri::command]
pub async fn salinity_alerts(shell: State<'_, Shell>) -> Answer<Vec<Subscription>> {
    shell.store.subscriptions().await.map_err(storage)
}

/// An alert to announce once.
#[derive(Debug, Serialize)]
pub struct SalinityNotice {
    pub station_id: String,
    pub use_id: String,
    pub station_name: Option<citizen_core::Localized>,
    pub use_name: Option<citizen_core::Localized>,
    pub alert: Alert,
}

/// Salinity alerts not announced yet; each is also raised as a system notification where
/// the platform has a notification service.
#[tauri::command]
pub async fn take_salinity_notices(
    app: tauri::AppHandle,
    shell: State<'_, Shell>,
) -> Answer<Vec<SalinityNotice>> {
    use tauri_plugin_notification::NotificationExt as _;
    let taken = shell.store.take_salinity_notices().await.map_err(storage)?;
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let lang = shell.store.lang().await.map_err(storage)?;
    let stations = shell.store.stations().await.map_err(storage)?;
    let guide = shell.store.salinity_guide().await.map_err(storage)?;
    let notices: Vec<SalinityNotice> = taken
        .into_iter()
        .map(|(station_id, use_id, alert)| SalinityNotice {
            station_name: stations
                .iter()
                .find(|s| s.id == station_id)
                .map(|s| s.name.clone()),
            use_name: guide
                .as_ref()
                .and_then(|g| g.use_by_id(&use_id))
                .map(|u| u.name.clone()),
            station_id,
            use_id,
            alert,
        })
        .collect();
    // Made after the last await: a translator stays on one thread.
    let tr = citizen_core::i18n::Translator::new(lang);
    for n in &notices {
        let station = n
            .station_name
            .as_ref()
            .map_or(n.station_id.clone(), |s| s.get(lang).to_owned());
        let usage = n
            .use_name
            .as_ref()
            .map_or(n.use_id.clone(), |u| u.get(lang).to_owned());
        let (key, value) = match n.alert {
            Alert::DoNotPump { value, .. } => ("alert-do-not-pump", value),
            Alert::SafeAgain { value, .. } => ("alert-safe-again", value),
            Alert::SuddenChange { change, .. } => ("alert-sudden-change", change),
        };
        let body = tr.t_args(
            key,
            &[
                ("station", station.into()),
                ("use", usage.into()),
                (
                    "value",
                    citizen_core::i18n::Value::from(format!("{value:.2}")),
                ),
            ],
        );
        if let Err(error) = app
            .notification()
            .builder()
            .title(tr.t("salinity-title"))
            .body(body)
            .show()
        {
            tracing::info!(%error, "no system notification");
        }
    }
    Ok(notices)
}

/// Whether updates arrive live, or with the regular pull.
#[tauri::command]
pub async fn live_state(extra: State<'_, SalinityShell>) -> Answer<LiveState> {
    Ok(*extra.live.borrow())
}

/// The change against the gateway's reading a year before the newest one (within an hour),
/// when the gateway is reachable and has it.
#[tauri::command]
pub async fn salinity_last_year(
    shell: State<'_, Shell>,
    extra: State<'_, SalinityShell>,
    station_id: String,
) -> Answer<Option<Change>> {
    let now = gateway_now(&shell).await;
    let latest = shell
        .store
        .series(&station_id, "salinity", now - 86_400_000, now + 300_000)
        .await
        .map_err(storage)?
        .pop();
    let Some(latest) = latest else {
        return Ok(None);
    };
    let year_ms = 365 * 86_400_000;
    match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        extra
            .gateway
            .reading_near(&station_id, "salinity", latest.at_ms - year_ms),
    )
    .await
    {
        Ok(Ok(Some(then))) => Ok(Some(Change {
            then,
            change: latest.value - then.value,
        })),
        Ok(Ok(None)) => Ok(None),
        Ok(Err(error)) => {
            tracing::info!(%error, "last year's reading: gateway not reached");
            Ok(None)
        }
        Err(_) => Ok(None),
    }
}
