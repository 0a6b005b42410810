//! The details sheet of a place or a hotspot: its names, kind, address in the post-2025
//! units, a hotspot's network and session limit, and how far it is on foot.

use citizen_core::i18n::Value;
use citizen_core::views::{Details as Sheet, FoundKind};
use leptos::prelude::*;
use serde::Serialize;

use citizen_core::views::{Origin, bearing_deg, compass_key, directions_link};

use crate::app::{Nav, Page, Route, Selected};
use crate::components::load_error::LoadError;
use crate::format::distance;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Serialize)]
struct Args {
    kind: FoundKind,
    id: String,
}

#[derive(Serialize)]
struct OpenArgs {
    url: String,
}

#[component]
pub fn Details() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let selected = expect_context::<Selected>();
    let nav = expect_context::<Nav>();
    let route = expect_context::<Route>();
    let sheet = LocalResource::new(move || {
        let chosen = selected.0.get();
        async move {
            let origin = invoke::<_, Option<Origin>>("origin", &NoArgs {}).await?;
            match chosen {
                Some((kind, id)) => invoke::<_, Option<Sheet>>("details", &Args { kind, id })
                    .await
                    .map(|d| d.map(|d| (d, origin))),
                None => Ok(None),
            }
        }
    });
    view! {
        <main id="details">
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || sheet.get().map(|answer| match answer {
                    Ok(Some((d, origin))) => {
                        let Sheet { name, kind_key, description, address, ssid, session_minutes, opening_hours, phone, distance_m, walking_minutes, position, .. } = d;
                        let from = origin.map(|o| o.position);
                        let mine = origin.is_some_and(|o| o.mine);
                        let compass = from.map_or("compass-n", |f| compass_key(bearing_deg(f, position)));
                        let android = web_sys::window()
                            .and_then(|w| w.navigator().user_agent().ok())
                            .is_some_and(|ua| ua.contains("Android"));
                        let link = directions_link(origin.filter(|o| o.mine).map(|o| o.position), position, android);
                        let destination = name.clone();
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
                            {opening_hours.map(|hours| view! {
                                <p id="details-hours">{move || locale.t_args("details-hours", &[("hours", Value::from(hours.clone()))])}</p>
                            })}
                            {phone.map(|phone| {
                                let call = format!("tel:{}", phone.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect::<String>());
                                view! {
                                    <p id="details-phone">{move || locale.t("details-phone")} " " <a href=call>{phone.clone()}</a></p>
                                }
                            })}
                            {session_minutes.map(|minutes| view! {
                                <p class="note">{move || locale.t_args("wifi-rules", &[("minutes", Value::from(minutes))])}</p>
                            })}
                            {distance_m.zip(walking_minutes).map(|(metres, minutes)| view! {
                                <p id="details-distance" data-distance-m=format!("{metres:.1}")>{move || locale.t_args(
                                    if mine { "details-distance-mine" } else { "details-distance-centre" },
                                    &[
                                        ("distance", Value::from(distance(metres, locale))),
                                        ("compass", Value::from(locale.t(compass))),
                                        ("minutes", Value::from(minutes)),
                                    ],
                                )}</p>
                            })}
                            <div class="actions">
                                <button id="details-directions" on:click=move |_| {
                                    route.0.set(Some((position, destination.get(locale.lang()).to_owned())));
                                    nav.0.set(Page::Map);
                                }>{move || locale.t("details-directions")}</button>
                                <button id="details-open-maps" data-url=link.clone() on:click=move |_| {
                                    let url = link.clone();
                                    leptos::task::spawn_local(async move {
                                        if let Err(e) = invoke::<_, ()>("plugin:opener|open_url", &OpenArgs { url }).await {
                                            leptos::logging::log!("cannot open the maps app: {e}");
                                        }
                                    });
                                }>{move || locale.t("details-open-maps")}</button>
                            </div>
                        }.into_any()
                    }
                    Ok(None) => view! { <p>{move || locale.t("error-not-found")}</p> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}
