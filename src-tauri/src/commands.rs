//! The commands the UI calls: each is one call into `citizen_client`.

use citizen_client::{Store, StoreError, SyncerHandle};
use citizen_core::views::{HotspotNear, Overview, StationStatus, SyncStatus};
use citizen_core::{AppError, ErrorCode, Lang, Place, PlaceKind, Procedure};
use tauri::State;

pub struct Shell {
    pub store: Store,
    pub sync: SyncerHandle,
}

pub type Answer<T> = Result<T, AppError>;

pub fn storage(e: StoreError) -> AppError {
    tracing::error!(error = %e, "store");
    if e.is_full() {
        return AppError::new(ErrorCode::StorageFull, e.to_string());
    }
    AppError::new(ErrorCode::Storage, e.to_string())
}

#[tauri::command]
pub async fn overview(shell: State<'_, Shell>) -> Answer<Option<Overview>> {
    shell.store.overview().await.map_err(storage)
}

#[tauri::command]
pub async fn places(shell: State<'_, Shell>, kind: Option<PlaceKind>) -> Answer<Vec<Place>> {
    shell.store.places(kind).await.map_err(storage)
}

/// Hotspots nearest the resident (the city centre while no position is set), nearest first.
#[tauri::command]
pub async fn nearest_wifi(shell: State<'_, Shell>, limit: usize) -> Answer<Vec<HotspotNear>> {
    let Some(from) = origin(&shell).await? else {
        return Err(AppError::new(ErrorCode::NotFound, "no city data stored"));
    };
    shell
        .store
        .nearest_hotspots(from, limit.min(500))
        .await
        .map_err(storage)
}

#[tauri::command]
pub async fn stations(shell: State<'_, Shell>) -> Answer<Vec<StationStatus>> {
    shell.store.station_statuses().await.map_err(storage)
}

#[tauri::command]
pub async fn procedures(shell: State<'_, Shell>) -> Answer<Vec<Procedure>> {
    shell.store.procedures().await.map_err(storage)
}

#[tauri::command]
pub async fn sync_status(shell: State<'_, Shell>) -> Answer<SyncStatus> {
    shell.sync.status().await.map_err(storage)
}

#[tauri::command]
pub fn sync_now(shell: State<'_, Shell>) {
    shell.sync.wake();
}

#[tauri::command]
pub async fn get_lang(shell: State<'_, Shell>) -> Answer<Lang> {
    shell.store.lang().await.map_err(storage)
}

#[tauri::command]
pub async fn set_lang(shell: State<'_, Shell>, lang: Lang) -> Answer<()> {
    shell.store.set_lang(lang).await.map_err(storage)
}

/// Everything the app lists, found by `query` as people type it; equal matches nearest the
/// resident first (the city centre while no position is set).
#[tauri::command]
pub async fn search(
    shell: State<'_, Shell>,
    query: String,
) -> Answer<Vec<citizen_core::views::Found>> {
    let from = origin(&shell).await?;
    shell.store.search(&query, from, 30).await.map_err(storage)
}

/// The details sheet of a place or a hotspot, measured from the resident (the city centre
/// while no position is set).
#[tauri::command]
pub async fn details(
    shell: State<'_, Shell>,
    kind: citizen_core::views::FoundKind,
    id: String,
) -> Answer<Option<citizen_core::views::Details>> {
    let from = origin(&shell).await?;
    shell.store.details(kind, &id, from).await.map_err(storage)
}

/// Where searches and sheets measure from: the resident's position, else the city centre.
async fn origin(shell: &State<'_, Shell>) -> Answer<Option<citizen_core::Position>> {
    Ok(shell
        .store
        .origin()
        .await
        .map_err(storage)?
        .map(|o| o.position))
}
