//! The button that switches between Vietnamese and English and remembers the choice.

use citizen_core::Lang;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::i18n::Locale;
use crate::ipc::invoke;

#[derive(Serialize)]
struct SetLang {
    lang: Lang,
}

#[component]
pub fn LangSwitch() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let switch = move |_| {
        let lang = match locale.lang() {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        };
        locale.0.set(lang);
        spawn_local(async move {
            if let Err(e) = invoke::<_, ()>("set_lang", &SetLang { lang }).await {
                leptos::logging::error!("language not saved: {e}");
            }
        });
    };
    view! {
        // Its label names the other language in that language, and says so (WCAG 3.1.2).
        <button id="lang-switch" title=move || locale.t("lang-switch-label") on:click=switch>
            <span lang=move || match locale.lang() { Lang::Vi => "en", Lang::En => "vi" }>
                {move || locale.t("lang-switch")}
            </span>
        </button>
    }
}
