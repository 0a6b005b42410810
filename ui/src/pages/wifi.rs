//! Wifi: the city's free hotspots, nearest first, with their distance and rules.

use citizen_core::i18n::Value;
use citizen_core::views::{FoundKind, HotspotNear, Origin, Overview};
use leptos::prelude::*;
use serde::Serialize;

use crate::app::{Nav, Page, Selected, Sync};
use crate::components::load_error::LoadError;
use crate::format::distance;
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
    let nav = expect_context::<Nav>();
    let data = LocalResource::new(move || {
        sync.version.track();
        async move {
            let overview = invoke::<_, Option<Overview>>("overview", &NoArgs {}).await?;
            let near =
                invoke::<_, Vec<HotspotNear>>("nearest_wifi", &NearestArgs { limit: 100 }).await?;
            let mine = invoke::<_, Option<Origin>>("origin", &NoArgs {})
                .await?
                .is_some_and(|o| o.mine);
            Ok::<_, citizen_core::AppError>((overview, near, mine))
        }
    });
    view! {
        <main id="wifi">
            <h2>{move || locale.t("wifi-title")}</h2>
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || data.get().map(|answer| match answer {
                    Ok((overview, near, mine)) => {
                        let city = overview.map(|o| o.city);
                        let minutes = city.as_ref().map_or(20, |c| c.wifi_session_minutes);
                        let city_name = city.map(|c| c.name);
                        view! {
                            {if mine {
                                view! { <p id="wifi-origin" class="note" data-mine="true">{move || locale.t("wifi-from-you")}</p> }.into_any()
                            } else {
                                view! {
                                    <p id="wifi-origin" class="note" data-mine="false">
                                        {move || locale.t_args("wifi-from-center", &[(
                                            "city",
                                            Value::from(city_name.as_ref().map(|n| n.get(locale.lang()).to_owned()).unwrap_or_default()),
                                        )])}
                                        " "
                                        <button class="link" on:click=move |_| nav.0.set(Page::Map)>{move || locale.t("wifi-set-position")}</button>
                                    </p>
                                }.into_any()
                            }}
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
    let distance = move || distance(distance_m, locale);
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
