//! Files picked with a file input: taken from the input (which is emptied, so the same file
//! can be picked again), read, and handed to the shell as raw bytes.

use citizen_core::AppError;
use citizen_core::form::AttachmentRef;
use wasm_bindgen::JsCast as _;

use crate::ipc::invoke_bytes;

/// The files the input that fired `ev` holds; the input is emptied.
pub fn take_files(ev: &leptos::ev::Event) -> Vec<web_sys::File> {
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return Vec::new();
    };
    let files = input
        .files()
        .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
        .unwrap_or_default();
    input.set_value("");
    files
}

/// The bytes of a picked file; `None` when the system cannot read it.
pub async fn bytes_of(file: &web_sys::File) -> Option<js_sys::Uint8Array> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buffer))
}

/// Keeps a picked document on the device (a PDF as it is, an image upright as JPEG without
/// metadata); the reference an answer keeps. `None` when the file cannot be read.
pub async fn attach_document(file: &web_sys::File) -> Option<Result<AttachmentRef, AppError>> {
    let bytes = bytes_of(file).await?;
    let name = String::from(js_sys::encode_uri_component(&file.name()));
    Some(invoke_bytes::<AttachmentRef>("attach_document", &bytes, &[("file-name", &name)]).await)
}
