//! Explore: the city's places by kind (sights, stays, food, markets, temples, tours, ferries).

use citizen_core::views::{FoundKind, Overview};
use citizen_core::{Place, PlaceKind};
use leptos::prelude::*;
use serde::Serialize;

use crate::app::{Nav, Page, Selected, Sync};
use crate::components::load_error::LoadError;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Serialize)]
struct PlacesArgs {
    kind: Option<PlaceKind>,
}

#[component]
pub fn Explore() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    let kind = RwSignal::new(PlaceKind::Attraction);
    let places = LocalResource::new(move || {
        sync.version.track();
        let kind = kind.get();
        async move { invoke::<_, Vec<Place>>("places", &PlacesArgs { kind: Some(kind) }).await }
    });
    // The places come largely from OpenStreetMap: its licence asks for the credit line.
    let attribution = LocalResource::new(move || async move {
        invoke::<_, Option<Overview>>("overview", &NoArgs {})
            .await
            .ok()
            .flatten()
            .map(|o| o.city.attribution)
    });
    view! {
        <main id="explore">
            <h2>{move || locale.t("explore-title")}</h2>
            // Toggle buttons that filter the list: a labelled group, not tabs.
            <div class="chips" role="group" aria-label=move || locale.t("explore-kinds")>
                {PlaceKind::ALL.map(|k| view! {
                    <button class="kind" data-kind=k.code()
                        aria-pressed=move || (kind.get() == k).to_string()
                        on:click=move |_| kind.set(k)>
                        {move || locale.t(k.message_key())}
                    </button>
                }).into_iter().collect::<Vec<_>>()}
            </div>
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || places.get().map(|answer| match answer {
                    Ok(list) if list.is_empty() => view! { <p class="note">{move || locale.t("explore-empty")}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul id="place-list" class="list">
                            {list.into_iter().map(|p| view! { <PlaceItem place=p /> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
            <p class="note attribution">{move || attribution.get().flatten()}</p>
        </main>
    }
}

#[component]
fn PlaceItem(place: Place) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let Place {
        id,
        name,
        description,
        address,
        ..
    } = place;
    let ward = match &address.ward_before_2025 {
        Some(old) => format!("{} ({old})", address.ward),
        None => address.ward.clone(),
    };
    let street = address.street.clone();
    let place_address = if street.is_empty() {
        ward
    } else {
        format!("{street}, {ward}")
    };
    let nav = expect_context::<Nav>();
    let selected = expect_context::<Selected>();
    let chosen = id.clone();
    // The whole card opens the place's details sheet.
    let open = move |_| {
        selected.0.set(Some((FoundKind::Place, chosen.clone())));
        nav.0.set(Page::Details);
    };
    view! {
        <li class="card place" data-id=id>
            <button class="link" on:click=open>
                <span class="name">{move || name.get(locale.lang()).to_owned()}</span>
                <span class="sub">{move || description.get(locale.lang()).to_owned()}</span>
                <span class="sub">{place_address}</span>
            </button>
        </li>
    }
}
