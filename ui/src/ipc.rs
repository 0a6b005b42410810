//! The one way the UI talks to the app shell: `invoke<Args, Out>()`, typed on both ends by
//! `citizen_core`'s structs.

use citizen_core::{AppError, ErrorCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Arguments of a command that takes none.
#[derive(Serialize)]
pub struct NoArgs {}

/// Calls the shell's command `cmd` with `args` and decodes its answer.
pub async fn invoke<A: Serialize, O: DeserializeOwned>(cmd: &str, args: &A) -> Result<O, AppError> {
    let args = args
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("{cmd}: arguments: {e}")))?;
    match tauri_invoke(cmd, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| AppError::new(ErrorCode::Internal, format!("{cmd}: answer: {e}"))),
        Err(error) => Err(
            serde_wasm_bindgen::from_value(error.clone()).unwrap_or_else(|_| {
                AppError::new(
                    ErrorCode::Internal,
                    format!("{cmd}: {}", error.as_string().unwrap_or_default()),
                )
            }),
        ),
    }
}
