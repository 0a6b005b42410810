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
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke_with(
        cmd: &str,
        args: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue>;
}

/// Arguments of a command that takes none.
#[derive(Serialize)]
pub struct NoArgs {}

/// Calls the shell's command `cmd` with `args` and decodes its answer.
pub async fn invoke<A: Serialize, O: DeserializeOwned>(cmd: &str, args: &A) -> Result<O, AppError> {
    let args = args
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("{cmd}: arguments: {e}")))?;
    answer(cmd, tauri_invoke(cmd, args).await)
}

/// Calls `cmd` with raw bytes as the body (no JSON in between) and string headers.
pub async fn invoke_bytes<O: DeserializeOwned>(
    cmd: &str,
    bytes: &js_sys::Uint8Array,
    headers: &[(&str, &str)],
) -> Result<O, AppError> {
    let head = js_sys::Object::new();
    for (k, v) in headers {
        let _ = js_sys::Reflect::set(&head, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &JsValue::from_str("headers"), &head);
    answer(
        cmd,
        tauri_invoke_with(cmd, bytes.into(), options.into()).await,
    )
}

fn answer<O: DeserializeOwned>(cmd: &str, result: Result<JsValue, JsValue>) -> Result<O, AppError> {
    match result {
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
