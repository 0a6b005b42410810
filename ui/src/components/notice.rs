//! Announces status changes of the resident's reports as they arrive by sync: a bar in the
//! app (the shell also raises a system notification where the platform has one); and that
//! reports are being sent again because the city's gateway went back to a backup; and, once,
//! what was salvaged when this device's store was found damaged.

use citizen_core::i18n::Value;
use citizen_core::report::ReportStatus;
use citizen_core::views::Salvaged;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;

use crate::app::{Nav, Page};
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Debug, Clone, Deserialize)]
struct Notice {
    report_id: uuid::Uuid,
    tracking_code: String,
    status: ReportStatus,
}

/// A salinity alert the resident subscribed to.
#[derive(Debug, Clone, Deserialize)]
struct SalinityNotice {
    station_id: String,
    station_name: Option<citizen_core::Localized>,
    use_name: Option<citizen_core::Localized>,
    alert: citizen_core::salinity::Alert,
}

const POLL_MS: u64 = 2_000;

#[component]
pub fn NoticeBar() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let latest = RwSignal::new(None::<Notice>);
    let resent = RwSignal::new(0u32);
    let salvaged = RwSignal::new(None::<Salvaged>);
    let salinity = RwSignal::new(None::<SalinityNotice>);
    let dossier = RwSignal::new(None::<citizen_core::dossier::DossierNotice>);
    // How many salinity alerts this session has shown (each is shown once).
    let salinity_seen = RwSignal::new(0_usize);
    spawn_local(async move {
        if let Ok(Some(s)) = invoke::<_, Option<Salvaged>>("take_store_notice", &NoArgs {}).await {
            salvaged.set(Some(s));
        }
    });
    let poll = move || {
        spawn_local(async move {
            if let Ok(mut notices) = invoke::<_, Vec<Notice>>("take_notices", &NoArgs {}).await
                && let Some(last) = notices.pop()
            {
                latest.set(Some(last));
            }
            if let Ok(notices) =
                invoke::<_, Vec<SalinityNotice>>("take_salinity_notices", &NoArgs {}).await
                && !notices.is_empty()
            {
                salinity_seen.update(|n| *n += notices.len());
                salinity.set(notices.into_iter().last());
            }
            if let Ok(mut notices) = invoke::<_, Vec<citizen_core::dossier::DossierNotice>>(
                "take_dossier_notices",
                &NoArgs {},
            )
            .await
                && let Some(last) = notices.pop()
            {
                dossier.set(Some(last));
            }
            if let Ok(count) = invoke::<_, u32>("take_resent_notices", &NoArgs {}).await
                && count > 0
            {
                resent.set(count);
            }
        });
    };
    let _ = set_interval_with_handle(poll, std::time::Duration::from_millis(POLL_MS));
    view! {
        {move || salvaged.get().map(|s| {
            let lost = s.photos_lost;
            view! {
                <div id="notice-salvaged" class="notice" role="alert">
                    <p>
                        {move || locale.t_args("notice-salvaged", &[
                            ("reports", Value::from(s.unsent_reports + s.unsent_supports)),
                            ("applications", Value::from(s.unsent_applications)),
                            ("drafts", Value::from(s.drafts)),
                            ("photos", Value::from(s.photos + s.documents)),
                            ("file", Value::from(s.damaged_file.clone())),
                        ])}
                        {move || (lost > 0).then(|| format!(" {}", locale.t_args(
                            "notice-salvaged-lost", &[("lost", Value::from(lost))])))}
                    </p>
                    <button class="close" aria-label=move || locale.t("notice-close")
                        on:click=move |_| salvaged.set(None)>"×"</button>
                </div>
            }
        })}
        {move || (resent.get() > 0).then(|| view! {
            <div id="notice-resent" class="notice" role="status">
                <button class="link" on:click=move |_| { resent.set(0); nav.0.set(Page::Reports); }>
                    {move || locale.t_args("notice-resent", &[("count", Value::from(resent.get()))])}
                </button>
                <button class="close" aria-label=move || locale.t("notice-close") on:click=move |_| resent.set(0)>"×"</button>
            </div>
        })}
        {move || salinity.get().map(|n| {
            use citizen_core::salinity::Alert;
            let (code, key, value) = match n.alert {
                Alert::DoNotPump { value, .. } => ("do_not_pump", "alert-do-not-pump", value),
                Alert::SafeAgain { value, .. } => ("safe_again", "alert-safe-again", value),
                Alert::SuddenChange { change, .. } => ("sudden_change", "alert-sudden-change", change),
            };
            let station = n.station_id.clone();
            let (station_name, use_name) = (n.station_name.clone(), n.use_name.clone());
            let name = move |l: &Option<citizen_core::Localized>| {
                l.as_ref().map_or_else(String::new, |l| l.get(locale.lang()).to_owned())
            };
            view! {
                <div id="notice-salinity" class="notice" data-alert=code data-station=station
                    data-seen=move || salinity_seen.get().to_string() role="alert">
                    <button class="link" on:click=move |_| { salinity.set(None); nav.0.set(Page::Salinity); }>
                        {move || locale.t_args(key, &[
                            ("station", Value::from(name(&station_name))),
                            ("use", Value::from(name(&use_name))),
                            ("value", Value::from(crate::format::number(value, 2, locale.lang()))),
                        ])}
                    </button>
                    <button class="close" aria-label=move || locale.t("notice-close") on:click=move |_| salinity.set(None)>"×"</button>
                </div>
            }
        })}
        {move || dossier.get().map(|n| {
            let key = format!("dossier-step-{}", n.step.replace('_', "-"));
            let id = n.dossier_id;
            view! {
                <div id="notice-dossier" class="notice" data-status=n.status.code() data-step=n.step.clone() role="status">
                    <button class="link" on:click=move |_| { dossier.set(None); nav.0.set(Page::Dossier(id)); }>
                        {move || locale.t_args("notice-dossier", &[
                            ("code", Value::from(n.code.clone())),
                            ("step", Value::from(locale.t(&key))),
                        ])}
                    </button>
                    <button class="close" aria-label=move || locale.t("notice-close") on:click=move |_| dossier.set(None)>"×"</button>
                </div>
            }
        })}
        {move || latest.get().map(|n| {
            let key = n.status.message_key();
            let id = n.report_id;
            view! {
                <div id="notice" class="notice" data-status=n.status.code() role="status">
                    <button class="link" on:click=move |_| { latest.set(None); nav.0.set(Page::Report(id)); }>
                        {move || locale.t_args("notice-status", &[
                            ("code", Value::from(n.tracking_code.clone())),
                            ("status", Value::from(locale.t(key))),
                        ])}
                    </button>
                    <button class="close" aria-label=move || locale.t("notice-close") on:click=move |_| latest.set(None)>"×"</button>
                </div>
            }
        })}
    }
}
