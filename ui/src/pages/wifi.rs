//! Wifi: the city's free hotspots, nearest first, with their distance and rules.

use citizen_core::i18n::Value;
use citizen_core::views::{FoundKind, HotspotNear, Overview};
use leptos::prelude::*;
use serde::Serialize;

use crate::app::{Nav, Page, Selected, Sync};
use crate::components::load_error::LoadError;
use crate::format::number;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Serialize)]
struct NearestArgs {
    limit: usize,
}

#[component]
pub fn Wifi() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    let data = LocalResource::new(move || {
        sync.version.track();
        async move {
            let overview = invoke::<_, Option<Overview>>("overview", &NoArgs {}).await?;
            let near =
                invoke::<_, Vec<HotspotNear>>("nearest_wifi", &NearestArgs { limit: 100 }).await?;
            Ok::<_, citizen_core::AppError>((overview, near))
        }
    });
    view! {
        <main id="wifi">
            <h2>{move || locale.t("wifi-title")}</h2>
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || data.get().map(|answer| match answer {
                    Ok((overview, near)) => {
                        let city = overview.map(|o| o.city);
                        let minutes = city.as_ref().map_or(20, |c| c.wifi_session_minutes);
                        let city_name = city.map(|c| c.name);
                        view! {
                            <p class="note">{move || locale.t_args("wifi-from-center", &[(
                                "city",
                                Value::from(city_name.as_ref().map(|n| n.get(locale.lang()).to_owned()).unwrap_or_default()),
                            )])}</p>
                            <p class="note">{move || locale.t_args("wifi-rules", &[("minutes", Value::from(minutes))])}</p>
                            <ol id="wifi-list" class="list">
                                {near.into_iter().map(|h| view! { <HotspotItem near=h /> }).collect_view()}
                            </ol>
                        }.into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[component]
fn HotspotItem(near: HotspotNear) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let HotspotNear {
        hotspot,
        distance_m,
    } = near;
    let site = hotspot.site_kind.message_key();
    let name = hotspot.name.clone();
    let distance = move || {
        if distance_m < 1_000.0 {
            locale.t_args(
                "wifi-distance-m",
                &[(
                    "meters",
                    Value::from(number((distance_m / 10.0).round() * 10.0, 0, locale.lang())),
                )],
            )
        } else {
            locale.t_args(
                "wifi-distance-km",
                &[(
                    "km",
                    Value::from(number(distance_m / 1_000.0, 1, locale.lang())),
                )],
            )
        }
    };
    let nav = expect_context::<Nav>();
    let selected = expect_context::<Selected>();
    let chosen = hotspot.id.clone();
    // The whole card opens the hotspot's details sheet.
    let open = move |_| {
        selected.0.set(Some((FoundKind::Hotspot, chosen.clone())));
        nav.0.set(Page::Details);
    };
    view! {
        <li class="card hotspot" data-id=hotspot.id.clone() data-distance-m=format!("{distance_m:.1}")>
            <button class="link" on:click=open>
                <span class="row">
                    <span class="name">{move || name.get(locale.lang()).to_owned()}</span>
                    <span class="distance">{distance}</span>
                </span>
                <span class="sub">{move || locale.t(site)} " · " {hotspot.ssid.clone()} " · " {hotspot.address.ward.clone()}</span>
            </button>
        </li>
    }
}
