//! The citizen app's user interface: Leptos, rendered in the app's webview, talking only to the
//! app shell through typed IPC.

mod app;
mod components;
mod format;
mod i18n;
mod ipc;
mod map;
mod pages;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
