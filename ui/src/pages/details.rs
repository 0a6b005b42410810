//! The details sheet of a place or a hotspot: its names, kind, address in the post-2025
//! units, a hotspot's network and session limit, and how far it is on foot.

use citizen_core::i18n::Value;
use citizen_core::views::{Details as Sheet, FoundKind};
use leptos::prelude::*;
use serde::Serialize;

use crate::app::Selected;
use crate::components::load_error::LoadError;
use crate::format::number;
use crate::i18n::Locale;
use crate::ipc::invoke;

#[derive(Serialize)]
struct Args {
    kind: FoundKind,
    id: String,
}

#[component]
pub fn Details() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let selected = expect_context::<Selected>();
    let sheet = LocalResource::new(move || {
        let chosen = selected.0.get();
        async move {
            match chosen {
                Some((kind, id)) => invoke::<_, Option<Sheet>>("details", &Args { kind, id }).await,
                None => Ok(None),
            }
        }
    });
    view! {
        <main id="details">
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || sheet.get().map(|answer| match answer {
                    Ok(Some(d)) => {
                        let Sheet { name, kind_key, description, address, ssid, session_minutes, distance_m, walking_minutes, .. } = d;
                        let other = name.clone();
                        let ward = match &address.ward_before_2025 {
                            Some(old) => format!("{} ({old})", address.ward),
                            None => address.ward.clone(),
                        };
                        let place = [address.street.clone(), ward, address.province.clone()]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(", ");
                        view! {
                            <h2>{move || name.get(locale.lang()).to_owned()}</h2>
                            // The name in the other language, for a tourist asking the way.
                            <p class="sub" lang=move || match locale.lang() { citizen_core::Lang::Vi => "en", citizen_core::Lang::En => "vi" }>
                                {move || other.get(match locale.lang() { citizen_core::Lang::Vi => citizen_core::Lang::En, citizen_core::Lang::En => citizen_core::Lang::Vi }).to_owned()}
                            </p>
                            <p id="details-kind" class="note">{move || locale.t(&kind_key)}</p>
                            {description.map(|d| view! { <p>{move || d.get(locale.lang()).to_owned()}</p> })}
                            <p id="details-address">{place}</p>
                            {ssid.map(|ssid| view! {
                                <p id="details-ssid">{move || locale.t_args("details-ssid", &[("ssid", Value::from(ssid.clone()))])}</p>
                            })}
                            {session_minutes.map(|minutes| view! {
                                <p class="note">{move || locale.t_args("wifi-rules", &[("minutes", Value::from(minutes))])}</p>
                            })}
                            {distance_m.zip(walking_minutes).map(|(metres, minutes)| view! {
                                <p id="details-distance">{move || locale.t_args("details-distance", &[
                                    ("km", Value::from(number(metres / 1_000.0, 1, locale.lang()))),
                                    ("minutes", Value::from(minutes)),
                                ])}</p>
                            })}
                        }.into_any()
                    }
                    Ok(None) => view! { <p>{move || locale.t("error-not-found")}</p> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}
