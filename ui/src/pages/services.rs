//! Services: the catalogue of online public-service procedures with fee, time and level.

use citizen_core::Procedure;
use citizen_core::i18n::Value;
use leptos::prelude::*;

use crate::app::Sync;
use crate::components::load_error::LoadError;
use crate::format::number;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[component]
pub fn Services() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    let procedures = LocalResource::new(move || {
        sync.version.track();
        async move { invoke::<_, Vec<Procedure>>("procedures", &NoArgs {}).await }
    });
    view! {
        <main id="services">
            <h2>{move || locale.t("services-title")}</h2>
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || procedures.get().map(|answer| match answer {
                    Ok(list) => view! {
                        <ul id="procedure-list" class="list">
                            {list.into_iter().map(|p| view! { <ProcedureItem procedure=p /> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[component]
fn ProcedureItem(procedure: Procedure) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let Procedure {
        id,
        name,
        field,
        fee_vnd,
        processing_days,
        online_level,
        ..
    } = procedure;
    let fee = move || {
        if fee_vnd == 0 {
            locale.t("services-fee-free")
        } else {
            locale.t_args(
                "services-fee",
                &[("fee", Value::from(number(fee_vnd as f64, 0, locale.lang())))],
            )
        }
    };
    let days = move || {
        if processing_days == 0 {
            locale.t("services-days-same")
        } else {
            locale.t_args("services-days", &[("days", Value::from(processing_days))])
        }
    };
    let level_class = match online_level {
        citizen_core::OnlineLevel::Full => "badge",
        citizen_core::OnlineLevel::Partial => "badge partial",
    };
    view! {
        <li class="card procedure" data-id=id>
            <div class="row">
                <span class="name">{move || name.get(locale.lang()).to_owned()}</span>
                <span class=level_class>{move || locale.t(online_level.message_key())}</span>
            </div>
            <div class="sub">{move || field.get(locale.lang()).to_owned()}</div>
            <div class="sub">{fee} " · " {days}</div>
        </li>
    }
}
