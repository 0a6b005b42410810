//! How a screen says its data could not be loaded: the error code's translated text.

use citizen_core::AppError;
use leptos::prelude::*;

use crate::i18n::Locale;

#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let key = error.code.message_key();
    view! { <p class="error" title=error.message.clone()>{move || locale.t(key)}</p> }
}
