//! The home screen: the city, and a tile for each thing the app offers.

use citizen_core::i18n::Value;
use citizen_core::views::Overview;
use leptos::prelude::*;

use crate::app::{Nav, Page, Sync};
use crate::components::load_error::LoadError;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

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
                        <div class="tiles">
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
