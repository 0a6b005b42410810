//! Identification by phone: the resident's number, a one-time code sent to it, and the device
//! token the shell keeps privately; shown where an action needs it (sending an application).

use citizen_core::AppError;
use citizen_core::i18n::Value;
use citizen_core::identity::CodeSent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::format::clock;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Serialize)]
struct PhoneArgs {
    phone: String,
}

#[derive(Serialize)]
struct RedeemArgs {
    phone: String,
    code: String,
}

#[component]
pub fn Identify() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let identity = RwSignal::new(None::<String>);
    let phone = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let sent = RwSignal::new(None::<CodeSent>);
    let error = RwSignal::new(None::<AppError>);
    spawn_local(async move {
        if let Ok(known) = invoke::<_, Option<String>>("identity", &NoArgs {}).await {
            identity.set(known);
        }
    });
    let send_code = move |_| {
        let args = PhoneArgs {
            phone: phone.get_untracked(),
        };
        error.set(None);
        spawn_local(async move {
            match invoke::<_, CodeSent>("request_code", &args).await {
                Ok(s) => sent.set(Some(s)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let confirm = move |_| {
        let args = RedeemArgs {
            phone: phone.get_untracked(),
            code: code.get_untracked(),
        };
        error.set(None);
        spawn_local(async move {
            match invoke::<_, String>("redeem_code", &args).await {
                Ok(number) => identity.set(Some(number)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section id="identify" class="identify" data-identified=move || identity.get().is_some().to_string()>
            {move || match identity.get() {
                Some(number) => view! {
                    <p id="identified" class="note">{move || locale.t_args("identify-done", &[("phone", Value::from(number.clone()))])}</p>
                }.into_any(),
                None => view! {
                    <h3>{move || locale.t("identify-title")}</h3>
                    <p class="note">{move || locale.t("identify-why")}</p>
                    <label for="identify-phone">{move || locale.t("identify-phone")}</label>
                    <input id="identify-phone" type="tel" inputmode="tel" autocomplete="tel"
                        on:input=move |ev| phone.set(event_target_value(&ev)) />
                    <button id="identify-send" class="secondary" on:click=send_code>{move || locale.t("identify-send")}</button>
                    {move || sent.get().map(|s| view! {
                        <p class="note" role="status">{move || locale.t_args("identify-sent", &[
                            ("phone", Value::from(s.phone.clone())),
                            ("until", Value::from(clock(s.expires_at_ms))),
                        ])}</p>
                        <label for="identify-code">{move || locale.t("identify-code")}</label>
                        <input id="identify-code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6"
                            on:input=move |ev| code.set(event_target_value(&ev)) />
                        <button id="identify-confirm" class="primary" on:click=confirm>{move || locale.t("identify-confirm")}</button>
                    })}
                }.into_any(),
            }}
            {move || error.get().map(|e| view! {
                <p id="identify-error" class="error" role="alert">{
                    let key = match e.code {
                        citizen_core::ErrorCode::Unauthorized => "identify-wrong-code",
                        other => other.message_key(),
                    };
                    move || locale.t(key)
                }</p>
            })}
        </section>
    }
}
