//! The commands of field issue reports: drafts, photos, sending, the resident's reports and
//! nearby open reports. Each is a thin call into `citizen_client`.

use base64::Engine as _;
use citizen_client::photo;
use citizen_client::syncer::now_ms;
use citizen_core::locality::{Locality, WardChoice};
use citizen_core::photo::PhotoFileError;
use citizen_core::report::{
    MyReport, NEARBY_RADIUS_M, PhotoInfo, ReportDraft, ReportView, nearby_open,
};
use citizen_core::{AppError, ErrorCode, Position, ReportCategory};
use serde::Serialize;
use tauri::State;
use uuid::Uuid;

use crate::commands::{Answer, Shell, storage};

fn invalid(field: &str, message: impl std::fmt::Display) -> AppError {
    AppError::new(ErrorCode::InvalidInput, format!("{field}: {message}"))
}

#[tauri::command]
pub async fn report_categories(shell: State<'_, Shell>) -> Answer<Vec<ReportCategory>> {
    shell.store.categories().await.map_err(storage)
}

#[tauri::command]
pub async fn drafts(shell: State<'_, Shell>) -> Answer<Vec<ReportDraft>> {
    shell.store.drafts().await.map_err(storage)
}

#[tauri::command]
pub async fn new_draft(shell: State<'_, Shell>) -> Answer<ReportDraft> {
    shell.store.new_draft(now_ms()).await.map_err(storage)
}

#[tauri::command]
pub async fn draft(shell: State<'_, Shell>, id: Uuid) -> Answer<ReportDraft> {
    shell
        .store
        .draft(id)
        .await
        .map_err(storage)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("draft {id}")))
}

#[tauri::command]
pub async fn save_draft(shell: State<'_, Shell>, draft: ReportDraft) -> Answer<()> {
    let draft = ReportDraft {
        updated_at_ms: now_ms(),
        ..draft
    };
    shell.store.save_draft(&draft).await.map_err(storage)
}

#[tauri::command]
pub async fn delete_draft(shell: State<'_, Shell>, id: Uuid) -> Answer<()> {
    shell.store.delete_draft(id).await.map_err(storage)
}

/// Adds a photo to a draft: the raw bytes as the body, the draft's id in a `draft-id` header.
/// The photo is processed (upright, ≤ 1 920 px, no metadata) before it is stored.
#[tauri::command]
pub async fn add_photo(
    shell: State<'_, Shell>,
    request: tauri::ipc::Request<'_>,
) -> Answer<PhotoInfo> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(invalid("body", "send the photo's bytes"));
    };
    let draft_id = request
        .headers()
        .get("draft-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or_else(|| invalid("draft-id", "missing or not a UUID"))?;
    let bytes = bytes.clone();
    let processed = tauri::async_runtime::spawn_blocking(move || photo::process(&bytes))
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| match e {
            photo::PhotoError::File(PhotoFileError::Unsupported { .. }) => {
                AppError::new(ErrorCode::UnsupportedFormat, e.to_string())
            }
            e => invalid("photo", e),
        })?;
    shell
        .store
        .add_photo(draft_id, &processed, now_ms())
        .await
        .map_err(storage)
}

#[tauri::command]
pub async fn remove_photo(shell: State<'_, Shell>, draft_id: Uuid, photo_id: Uuid) -> Answer<()> {
    shell
        .store
        .remove_photo(draft_id, photo_id)
        .await
        .map_err(storage)
}

/// A small preview of a photo on this device, as a `data:` URL.
#[tauri::command]
pub async fn photo_preview(shell: State<'_, Shell>, id: Uuid) -> Answer<String> {
    let data = shell
        .store
        .photo_data(id)
        .await
        .map_err(storage)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("photo {id}")))?;
    let small = tauri::async_runtime::spawn_blocking(move || photo::thumbnail(&data, 320))
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| invalid("photo", e))?;
    Ok(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(small)
    ))
}

/// Sends a draft: stored and queued at once, then the sync loop is woken to deliver it.
#[tauri::command]
pub async fn submit_draft(shell: State<'_, Shell>, id: Uuid) -> Answer<MyReport> {
    let city = shell
        .store
        .city()
        .await
        .map_err(storage)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no city data stored"))?;
    let categories = shell.store.categories().await.map_err(storage)?;
    let report = shell
        .store
        .submit_draft(
            id,
            &city,
            |c| categories.iter().any(|k| k.code == c),
            now_ms(),
        )
        .await
        .map_err(|e| match e {
            citizen_client::StoreError::Invalid(f) => invalid(&f.field, f.message),
            other => storage(other),
        })?;
    shell.sync.wake();
    Ok(report)
}

#[tauri::command]
pub async fn my_reports(shell: State<'_, Shell>) -> Answer<Vec<MyReport>> {
    shell.store.my_reports().await.map_err(storage)
}

/// An open report of the same category near the draft's place.
#[derive(Debug, Serialize)]
pub struct NearbyReport {
    pub report: ReportView,
    pub distance_m: f64,
    pub supported: bool,
}

#[tauri::command]
pub async fn nearby_reports(
    shell: State<'_, Shell>,
    category: String,
    position: Position,
) -> Answer<Vec<NearbyReport>> {
    let views = shell.store.report_views().await.map_err(storage)?;
    let supported = shell.store.supported().await.map_err(storage)?;
    Ok(nearby_open(&views, &category, position, NEARBY_RADIUS_M)
        .into_iter()
        .map(|(r, d)| NearbyReport {
            supported: supported.contains(&r.id),
            report: r.clone(),
            distance_m: d,
        })
        .collect())
}

/// "Me too" on a report; queued, then sent by the sync loop.
#[tauri::command]
pub async fn support_report(shell: State<'_, Shell>, id: Uuid) -> Answer<()> {
    shell.store.support(id, now_ms()).await.map_err(storage)?;
    shell.sync.wake();
    Ok(())
}

#[tauri::command]
pub async fn wards(shell: State<'_, Shell>) -> Answer<Vec<WardChoice>> {
    let places = shell.store.places(None).await.map_err(storage)?;
    Ok(citizen_core::locality::wards(&places))
}

#[tauri::command]
pub async fn locate(shell: State<'_, Shell>, position: Position) -> Answer<Option<Locality>> {
    let places = shell.store.places(None).await.map_err(storage)?;
    Ok(citizen_core::locality::locate(&places, position))
}

/// A status change of one of the resident's reports, to announce once.
#[derive(Debug, Serialize)]
pub struct Notice {
    pub report_id: Uuid,
    pub tracking_code: String,
    pub status: citizen_core::report::ReportStatus,
}

/// Status changes of the resident's reports not announced yet. Each is also raised as a
/// system notification where the platform has a notification service.
#[tauri::command]
pub async fn take_notices(app: tauri::AppHandle, shell: State<'_, Shell>) -> Answer<Vec<Notice>> {
    use tauri_plugin_notification::NotificationExt as _;
    let notices = shell.store.take_notices().await.map_err(storage)?;
    let notices: Vec<Notice> = notices
        .into_iter()
        .map(|(view, status)| Notice {
            report_id: view.id,
            tracking_code: view.tracking_code,
            status,
        })
        .collect();
    if !notices.is_empty() {
        let lang = shell.store.lang().await.map_err(storage)?;
        let tr = citizen_core::i18n::Translator::new(lang);
        for notice in &notices {
            let status = tr.t(notice.status.message_key());
            let body = tr.t_args(
                "notice-status",
                &[
                    ("code", notice.tracking_code.clone().into()),
                    ("status", status.into()),
                ],
            );
            if let Err(error) = app
                .notification()
                .builder()
                .title(tr.t("app-title"))
                .body(body)
                .show()
            {
                // No notification service (a bare X session, a test): the in-app bar remains.
                tracing::info!(%error, "no system notification");
            }
        }
    }
    Ok(notices)
}

/// How many of the resident's reports the gateway had lost (it went back to a backup) and
/// are being sent again, not announced yet.
#[tauri::command]
pub async fn take_resent_notices(shell: State<'_, Shell>) -> Answer<u32> {
    let resent = shell.store.take_resent_notices().await.map_err(storage)?;
    Ok(u32::try_from(resent.len()).unwrap_or(u32::MAX))
}

/// What was salvaged when the store was found damaged at start, if the resident has not been
/// told yet (told once).
#[tauri::command]
pub async fn take_store_notice(
    shell: State<'_, Shell>,
) -> Answer<Option<citizen_core::views::Salvaged>> {
    shell.store.take_salvage().await.map_err(storage)
}
