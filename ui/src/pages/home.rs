//! The home screen: the city, and a tile for each thing the app offers.

use citizen_core::i18n::Value;
use citizen_core::views::{Found, FoundKind, Overview};
use leptos::prelude::*;
use serde::Serialize;

use crate::app::{Nav, Page, Sync};
use crate::components::load_error::LoadError;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Serialize)]
struct Query {
    query: String,
}

/// The screen that lists what a search result is.
fn screen_of(kind: FoundKind) -> Page {
    match kind {
        FoundKind::Place => Page::Explore,
        FoundKind::Hotspot => Page::Wifi,
        FoundKind::Station => Page::Salinity,
        FoundKind::Procedure => Page::Services,
        FoundKind::Category => Page::Reports,
    }
}

/// One search box over everything the app lists, offline; results as the user types.
#[component]
fn SearchBox() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let selected = expect_context::<crate::app::Selected>();
    let query = RwSignal::new(String::new());
    let results = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.trim().is_empty() {
                return Ok(Vec::new());
            }
            invoke::<_, Vec<Found>>("search", &Query { query: q }).await
        }
    });
    view! {
        <form class="search" role="search" on:submit=|ev| ev.prevent_default()>
            <label for="search">{move || locale.t("search-label")}</label>
            <input id="search" type="search" autocomplete="off"
                on:input=move |ev| query.set(event_target_value(&ev)) />
        </form>
        <Transition fallback=|| ()>
            {move || results.get().map(|answer| match answer {
                Ok(_) if query.with(|q| q.trim().is_empty()) => ().into_any(),
                Ok(found) => {
                    let count = found.len();
                    view! {
                        // A live region: the number of results is announced as one types.
                        <p id="search-count" class="note" role="status">
                            {move || locale.t_args("search-count", &[("count", Value::from(count))])}
                        </p>
                        <ul id="search-results" class="list">
                            {found.into_iter().map(|f| {
                                let name = f.name.clone();
                                let page = screen_of(f.kind);
                                let chosen = (f.kind, f.id.clone());
                                let open = move |_| {
                                    // A place or a hotspot opens its details sheet.
                                    if matches!(chosen.0, FoundKind::Place | FoundKind::Hotspot) {
                                        selected.0.set(Some(chosen.clone()));
                                        nav.0.set(Page::Details);
                                    } else {
                                        nav.0.set(page);
                                    }
                                };
                                view! {
                                    <li class="card found" data-kind=f.kind.code() data-id=f.id.clone()>
                                        <button class="link" on:click=open>
                                            <span class="name">{move || name.get(locale.lang()).to_owned()}</span>
                                            <span class="sub">{move || locale.t(f.kind.message_key())}</span>
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
pub fn Home() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let sync = expect_context::<Sync>();
    let overview = LocalResource::new(move || {
        sync.version.track();
        async move { invoke::<_, Option<Overview>>("overview", &NoArgs {}).await }
    });
    let tile =
        move |id: &'static str, page: Page, title: &'static str, sub: &'static str, count: u32| {
            view! {
                <button id=id class="tile" on:click=move |_| nav.0.set(page)>
                    <strong>{move || locale.t(title)}</strong>
                    <span>{move || locale.t_args(sub, &[("count", Value::from(count))])}</span>
                </button>
            }
        };
    view! {
        <main id="home">
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || overview.get().map(|answer| match answer {
                    Ok(Some(o)) => {
                        let name = o.city.name.clone();
                        let attribution = o.city.attribution.clone();
                        let province = o.city.province.clone();
                        view! {
                        <h2 class="city-name">{move || name.get(locale.lang()).to_owned()}</h2>
                        <p class="province">{
                            move || format!("{} · {}", province.get(locale.lang()), locale.t("home-welcome"))
                        }</p>
                        <SearchBox />
                        <div class="tiles">
                            <button id="go-map" class="tile" on:click=move |_| nav.0.set(Page::Map)>
                                <strong>{move || locale.t("home-map")}</strong>
                                <span>{move || locale.t("home-map-sub")}</span>
                            </button>
                            {tile("go-explore", Page::Explore, "home-explore", "home-explore-sub", o.places)}
                            {tile("go-wifi", Page::Wifi, "home-wifi", "home-wifi-sub", o.hotspots)}
                            {tile("go-salinity", Page::Salinity, "home-salinity", "home-salinity-sub", o.stations)}
                            {tile("go-services", Page::Services, "home-services", "home-services-sub", o.procedures)}
                            <button id="go-reports" class="tile" on:click=move |_| nav.0.set(Page::Reports)>
                                <strong>{move || locale.t("home-reports")}</strong>
                                <span>{move || locale.t("home-reports-sub")}</span>
                            </button>
                        </div>
                        <p class="note attribution">{attribution}</p>
                    }.into_any()
                    }
                    Ok(None) => view! { <p>{move || locale.t("loading")}</p> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}
