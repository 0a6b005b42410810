//! The commands of online public services: identification by phone, application drafts and
//! their documents, sending, the resident's dossiers and their moves, result documents. Each
//! is a thin call into `citizen_client`.

use citizen_client::Gateway;
use citizen_client::syncer::now_ms;
use citizen_core::civil::Date;
use citizen_core::dossier::{Action, ApplicationDraft, DossierNotice, MyDossier};
use citizen_core::form::{AttachmentRef, CheckContext, Form, FormSource, Wards, normalize_phone};
use citizen_core::identity::{CodeSent, Lookup, TokenRequest};
use citizen_core::{AppError, ErrorCode};
use serde::Serialize;
use serde_json::{Map, Value};
use tauri::State;
use uuid::Uuid;

use crate::commands::{Answer, Shell, storage};

/// What these commands need besides the store.
pub struct ServicesShell {
    pub gateway: Gateway,
    /// Where opened documents are saved (`CITIZEN_DOWNLOAD_DIR`, else the system's downloads).
    pub download_dir: std::path::PathBuf,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> AppError {
    AppError::new(ErrorCode::InvalidInput, format!("{field}: {message}"))
}

/// A gateway error as the UI shows it: offline, refused (with the gateway's field), or else.
fn gateway_error(e: citizen_client::gateway::GatewayError) -> AppError {
    use citizen_client::gateway::GatewayError;
    match e {
        GatewayError::Status { status: 429, .. } => {
            AppError::new(ErrorCode::RateLimited, e.to_string())
        }
        GatewayError::Status { status: 401, .. } => {
            AppError::new(ErrorCode::Unauthorized, e.to_string())
        }
        GatewayError::Status { status: 404, .. } => {
            AppError::new(ErrorCode::NotFound, e.to_string())
        }
        GatewayError::Status { status, .. } if (400..500).contains(&status) => {
            AppError::new(ErrorCode::InvalidInput, e.to_string())
        }
        _ => AppError::new(ErrorCode::Offline, e.to_string()),
    }
}

/// A refusal of the store names its field; anything else is a storage failure.
fn refused_or_storage(e: citizen_client::StoreError) -> AppError {
    match e {
        citizen_client::StoreError::Invalid(f) => invalid(&f.field, f.message),
        other => storage(other),
    }
}

fn today() -> Date {
    Date::from_days_since_epoch((now_ms() + 7 * 3_600_000).div_euclid(citizen_core::civil::DAY_MS))
}

#[tauri::command]
pub async fn forms(shell: State<'_, Shell>) -> Answer<Vec<FormSource>> {
    shell.store.forms().await.map_err(storage)
}

#[tauri::command]
pub async fn departments(shell: State<'_, Shell>) -> Answer<Vec<citizen_core::Department>> {
    shell.store.departments().await.map_err(storage)
}

#[tauri::command]
pub async fn admin_units(shell: State<'_, Shell>) -> Answer<Option<Wards>> {
    shell.store.admin_units().await.map_err(storage)
}

/// The phone number the resident identified with on this device.
#[tauri::command]
pub async fn identity(shell: State<'_, Shell>) -> Answer<Option<String>> {
    shell.store.identity().await.map_err(storage)
}

/// Asks the gateway to send a one-time code to `phone`.
#[tauri::command]
pub async fn request_code(services: State<'_, ServicesShell>, phone: String) -> Answer<CodeSent> {
    let phone =
        normalize_phone(&phone).ok_or_else(|| invalid("phone", "not a Vietnamese phone number"))?;
    services
        .gateway
        .request_code(&phone)
        .await
        .map_err(gateway_error)
}

/// Trades the code for a device token, kept in the app's private store; answers the number.
#[tauri::command]
pub async fn redeem_code(
    shell: State<'_, Shell>,
    services: State<'_, ServicesShell>,
    phone: String,
    code: String,
) -> Answer<String> {
    let phone =
        normalize_phone(&phone).ok_or_else(|| invalid("phone", "not a Vietnamese phone number"))?;
    let token = services
        .gateway
        .redeem_code(&TokenRequest {
            phone,
            code: code.trim().to_owned(),
            device: Some("citizen app".into()),
        })
        .await
        .map_err(gateway_error)?;
    shell
        .store
        .set_identity(&token.phone, &token.token)
        .await
        .map_err(storage)?;
    shell.sync.wake();
    Ok(token.phone)
}

#[tauri::command]
pub async fn application_drafts(shell: State<'_, Shell>) -> Answer<Vec<ApplicationDraft>> {
    shell.store.application_drafts().await.map_err(storage)
}

#[tauri::command]
pub async fn new_application(
    shell: State<'_, Shell>,
    procedure: String,
) -> Answer<ApplicationDraft> {
    shell
        .store
        .new_application(&procedure, now_ms())
        .await
        .map_err(storage)
}

#[tauri::command]
pub async fn application_draft(shell: State<'_, Shell>, id: Uuid) -> Answer<ApplicationDraft> {
    shell
        .store
        .application_draft(id)
        .await
        .map_err(storage)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("application draft {id}")))
}

#[tauri::command]
pub async fn save_application(
    shell: State<'_, Shell>,
    id: Uuid,
    answers: Map<String, Value>,
) -> Answer<()> {
    shell
        .store
        .save_application(id, &answers, now_ms())
        .await
        .map_err(storage)
}

#[tauri::command]
pub async fn delete_application(shell: State<'_, Shell>, id: Uuid) -> Answer<()> {
    shell.store.delete_application(id).await.map_err(storage)
}

/// Keeps a picked document: the raw bytes as the body, its file name percent-encoded in a
/// `file-name` header. A PDF is kept as it is; a photo or scan upright as JPEG without metadata.
#[tauri::command]
pub async fn attach_document(
    shell: State<'_, Shell>,
    request: tauri::ipc::Request<'_>,
) -> Answer<AttachmentRef> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(invalid("body", "send the file's bytes"));
    };
    let name = request
        .headers()
        .get("file-name")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    shell
        .store
        .attach_document(&name, bytes, now_ms())
        .await
        .map_err(refused_or_storage)
}

/// Sends a draft: checked with its form, stored and queued at once, then the sync loop is
/// woken to deliver it.
#[tauri::command]
pub async fn submit_application(shell: State<'_, Shell>, id: Uuid) -> Answer<MyDossier> {
    let draft = shell
        .store
        .application_draft(id)
        .await
        .map_err(storage)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("application draft {id}")))?;
    let source = shell
        .store
        .forms()
        .await
        .map_err(storage)?
        .into_iter()
        .find(|f| f.procedure == draft.procedure)
        .ok_or_else(|| invalid("procedure", "no form for this procedure"))?;
    let form = Form::compile(&source).map_err(|e| invalid("form", e))?;
    let wards = shell
        .store
        .admin_units()
        .await
        .map_err(storage)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no wards stored"))?;
    let ctx = CheckContext {
        today: today(),
        wards: &wards,
    };
    let sent = shell
        .store
        .submit_application(id, &form, &ctx, now_ms())
        .await
        .map_err(refused_or_storage)?;
    shell.sync.wake();
    Ok(sent)
}

#[tauri::command]
pub async fn my_dossiers(shell: State<'_, Shell>) -> Answer<Vec<MyDossier>> {
    shell.store.my_dossiers().await.map_err(storage)
}

#[tauri::command]
pub async fn my_dossier(shell: State<'_, Shell>, id: Uuid) -> Answer<MyDossier> {
    shell
        .store
        .my_dossier(id)
        .await
        .map_err(storage)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("dossier {id}")))
}

/// Queues a supplement or a rating, then wakes the sync loop.
#[tauri::command]
pub async fn dossier_action(shell: State<'_, Shell>, id: Uuid, action: Action) -> Answer<()> {
    shell
        .store
        .queue_dossier_op(id, action, now_ms())
        .await
        .map_err(refused_or_storage)?;
    shell.sync.wake();
    Ok(())
}

/// Changes of the resident's dossiers not announced yet, each also raised as a system
/// notification where the platform has a notification service.
#[tauri::command]
pub async fn take_dossier_notices(
    app: tauri::AppHandle,
    shell: State<'_, Shell>,
) -> Answer<Vec<DossierNotice>> {
    use tauri_plugin_notification::NotificationExt as _;
    let notices = shell.store.take_dossier_notices().await.map_err(storage)?;
    if !notices.is_empty() {
        let lang = shell.store.lang().await.map_err(storage)?;
        let tr = citizen_core::i18n::Translator::new(lang);
        for notice in &notices {
            let step = tr.t(&format!("dossier-step-{}", notice.step.replace('_', "-")));
            let body = tr.t_args(
                "notice-dossier",
                &[("code", notice.code.clone().into()), ("step", step.into())],
            );
            if let Err(error) = app
                .notification()
                .builder()
                .title(tr.t("app-title"))
                .body(body)
                .show()
            {
                tracing::info!(%error, "no system notification");
            }
        }
    }
    Ok(notices)
}

/// Looks a dossier up by its code and phone number (a dossier applied for elsewhere).
#[tauri::command]
pub async fn lookup_dossier(
    services: State<'_, ServicesShell>,
    code: String,
    phone: String,
) -> Answer<citizen_core::dossier::Dossier> {
    services
        .gateway
        .lookup_dossier(&Lookup { code, phone })
        .await
        .map_err(gateway_error)
}

/// Where an opened document was saved, and whether the system opened it.
#[derive(Debug, Serialize)]
pub struct OpenedDocument {
    pub path: String,
    pub opened: bool,
}

/// Opens a document of one of the resident's dossiers: from this device when it is here, else
/// downloaded from the gateway and kept (so it opens offline next time); a copy is saved in
/// the downloads folder and handed to the system's viewer.
#[tauri::command]
pub async fn open_document(
    app: tauri::AppHandle,
    shell: State<'_, Shell>,
    services: State<'_, ServicesShell>,
    dossier: Uuid,
    document: Uuid,
) -> Answer<OpenedDocument> {
    let mine = shell
        .store
        .my_dossier(dossier)
        .await
        .map_err(storage)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("dossier {dossier}")))?;
    let reference = mine
        .dossier
        .as_ref()
        .and_then(|d| d.documents.iter().find(|x| x.id == document).cloned())
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("document {document}")))?;
    let data = match shell.store.document_data(document).await.map_err(storage)? {
        Some((_, data)) => data,
        None => {
            let token = shell
                .store
                .resident_token()
                .await
                .map_err(storage)?
                .ok_or_else(|| AppError::new(ErrorCode::Unauthorized, "identify first"))?;
            let (_, data) = services
                .gateway
                .dossier_document(dossier, document, &token)
                .await
                .map_err(gateway_error)?;
            shell
                .store
                .keep_document(&reference, &data, now_ms())
                .await
                .map_err(storage)?;
            data
        }
    };
    let dir = &services.download_dir;
    std::fs::create_dir_all(dir).map_err(|e| AppError::new(ErrorCode::Storage, e.to_string()))?;
    let path = free_path(dir, &reference.name);
    std::fs::write(&path, &data).map_err(|e| AppError::new(ErrorCode::Storage, e.to_string()))?;
    use tauri_plugin_opener::OpenerExt as _;
    let opened = app
        .opener()
        .open_path(path.display().to_string(), None::<&str>)
        .inspect_err(|e| tracing::info!(error = %e, "no viewer opened the document"))
        .is_ok();
    Ok(OpenedDocument {
        path: path.display().to_string(),
        opened,
    })
}

/// `dir/name`, or `dir/stem (2).ext` … when taken; the name cut to what is safe in a path.
fn free_path(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let safe = if safe.is_empty() { "document" } else { safe };
    let (stem, ext) = safe.rsplit_once('.').unwrap_or((safe, ""));
    let mut path = dir.join(safe);
    let mut n = 2;
    while path.exists() {
        path = dir.join(if ext.is_empty() {
            format!("{stem} ({n})")
        } else {
            format!("{stem} ({n}).{ext}")
        });
        n += 1;
    }
    path
}
