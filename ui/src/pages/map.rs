//! The map: the city's places and free wifi on the offline basemap, with layer toggles, the
//! resident's position (set on the map, remembered), the line to a destination, and the
//! nearest points as a list under it — the list alone where no map can be drawn.

use citizen_core::Position;
use citizen_core::i18n::Value;
use citizen_core::report::PositionSource;
use citizen_core::views::{Found, FoundKind, MapGroup, MapPoint, Origin, Overview};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use crate::app::{Nav, Page, Route, Selected, Sync};
use crate::components::load_error::LoadError;
use crate::format::distance;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};
use crate::map::{CityMap, NoMap, Tap, View};

/// What the shell says of the basemap.
#[derive(Debug, Clone, Deserialize)]
struct MapInfo {
    coarse: bool,
    bounds: [f64; 4],
}

#[derive(Serialize)]
struct NearbyArgs {
    groups: Vec<MapGroup>,
    limit: usize,
}

#[derive(Serialize)]
struct SetPositionArgs {
    position: Option<Position>,
    source: Option<PositionSource>,
}

/// How many of the nearest points the list under the map shows.
const NEAR_LIST: usize = 10;

#[component]
pub fn MapScreen() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let selected = expect_context::<Selected>();
    let route = expect_context::<Route>();
    let sync = expect_context::<Sync>();
    let shown = RwSignal::new(MapGroup::ALL.to_vec());
    let setting = RwSignal::new(false);
    let moved = RwSignal::new(0_u32);
    let no_map = RwSignal::new(None::<NoMap>);
    let info = RwSignal::new(None::<MapInfo>);
    let map = StoredValue::new_local(None::<CityMap>);
    // Moves once the map exists, so the effects below draw on it.
    let ready = RwSignal::new(false);

    let origin = LocalResource::new(move || {
        moved.track();
        async move { invoke::<_, Option<Origin>>("origin", &NoArgs {}).await }
    });
    let points = LocalResource::new(move || {
        sync.version.track();
        async move { invoke::<_, Vec<MapPoint>>("map_points", &NoArgs {}).await }
    });
    let nearby = LocalResource::new(move || {
        moved.track();
        sync.version.track();
        let groups = shown.get();
        async move {
            invoke::<_, Vec<Found>>(
                "nearby",
                &NearbyArgs {
                    groups,
                    limit: NEAR_LIST,
                },
            )
            .await
        }
    });

    let set_position = move |at: Position| {
        spawn_local(async move {
            let args = SetPositionArgs {
                position: Some(at),
                source: Some(PositionSource::Map),
            };
            if invoke::<_, ()>("set_device_position", &args).await.is_ok() {
                setting.set(false);
                moved.update(|m| *m += 1);
            }
        });
    };

    // The map itself: drawn once the basemap and the city are known.
    let lang = locale.lang_untracked().code();
    spawn_local(async move {
        let map_info = match invoke::<_, MapInfo>("map_info", &NoArgs {}).await {
            Ok(i) => i,
            Err(e) => {
                no_map.set(Some(NoMap::NoBasemap(e.message)));
                return;
            }
        };
        let start = invoke::<_, Option<Origin>>("origin", &NoArgs {})
            .await
            .ok()
            .flatten();
        let city = invoke::<_, Option<Overview>>("overview", &NoArgs {})
            .await
            .ok()
            .flatten();
        let center = start
            .map(|o| o.position)
            .or(city.as_ref().map(|o| o.city.center()));
        let Some(center) = center else {
            no_map.set(Some(NoMap::Failed("no city data".into())));
            return;
        };
        let view = View {
            center,
            zoom: 13.0,
            bounds: Some(map_info.bounds),
        };
        info.set(Some(map_info));
        let drawn = CityMap::new("city-map", view, lang, move |tap| match tap {
            Tap::Ground(at) if setting.get_untracked() => set_position(at),
            Tap::Point { kind, id, at } => {
                if setting.get_untracked() {
                    set_position(at);
                    return;
                }
                let kind = match kind.as_str() {
                    "hotspot" => FoundKind::Hotspot,
                    _ => FoundKind::Place,
                };
                selected.0.set(Some((kind, id)));
                nav.0.set(Page::Details);
            }
            Tap::Ground(_) | Tap::Cluster => {}
        })
        .await;
        match drawn {
            Ok(m) => {
                map.set_value(Some(m));
                ready.set(true);
            }
            Err(reason) => {
                leptos::logging::log!("no map ({reason:?}): the list stands in");
                no_map.set(Some(reason));
            }
        }
    });

    // The points of the layers turned on.
    Effect::new(move |_| {
        ready.track();
        let groups = shown.get();
        let Some(Ok(all)) = points.get() else { return };
        let visible = all.iter().filter(|p| groups.contains(&p.group));
        let collection = crate::map::points_collection(visible);
        map.with_value(|m| {
            if let Some(m) = m {
                m.set_points(&collection);
            }
        });
    });
    // The resident's position and the line to the destination.
    Effect::new(move |_| {
        ready.track();
        let from = origin.get().and_then(Result::ok).flatten();
        let mine = from.filter(|o| o.mine).map(|o| o.position);
        let target = route.0.get();
        map.with_value(|m| {
            if let Some(m) = m {
                m.set_me(mine);
                m.set_route(from.zip(target).map(|(o, (to, _))| (o.position, to)));
            }
        });
    });
    Effect::new(move |_| {
        ready.track();
        let lang = locale.lang().code();
        map.with_value(|m| {
            if let Some(m) = m {
                m.set_lang(lang);
            }
        });
    });

    let use_centre = move |_| {
        let centre = map.with_value(|m| m.as_ref().map(CityMap::center));
        if let Some(at) = centre {
            set_position(at);
        }
    };

    view! {
        <main id="map">
            <h2>{move || locale.t("map-title")}</h2>
            <div class="chips" role="group" aria-label=move || locale.t("map-layers")>
                {MapGroup::ALL.map(|g| view! {
                    <button class="layer" data-group=g.code()
                        aria-pressed=move || shown.with(|s| s.contains(&g)).to_string()
                        on:click=move |_| shown.update(|s| {
                            if let Some(i) = s.iter().position(|x| *x == g) { s.remove(i); } else { s.push(g); }
                        })>
                        <span class="swatch" data-group=g.code() aria-hidden="true"></span>
                        {move || locale.t(g.message_key())}
                    </button>
                }).to_vec()}
            </div>
            <Show when=move || info.with(|i| i.as_ref().is_some_and(|i| i.coarse))>
                <p id="map-coarse" class="note">{move || locale.t("map-coarse")}</p>
            </Show>
            {move || route.0.get().map(|(_, name)| view! {
                <p id="route-note" class="note">
                    {move || locale.t_args("map-route-to", &[("name", Value::from(name.clone()))])}
                    " "
                    <button class="link" on:click=move |_| route.0.set(None)>{move || locale.t("map-route-clear")}</button>
                </p>
            })}
            <Show when=move || no_map.with(Option::is_none)
                fallback=move || view! { <p id="map-unavailable" class="note">{move || locale.t("map-unavailable")}</p> }>
                <div id="city-map" class="city-map" role="region" aria-label=move || locale.t("map-title")></div>
                <div class="map-tools">
                    <button id="set-position" aria-pressed=move || setting.get().to_string()
                        on:click=move |_| setting.update(|s| *s = !*s)>
                        {move || locale.t("map-set-position")}
                    </button>
                    <Show when=move || setting.get()>
                        <span class="note">{move || locale.t("map-set-position-help")}</span>
                        <button id="use-centre" on:click=use_centre>{move || locale.t("map-use-centre")}</button>
                    </Show>
                </div>
            </Show>
            <p id="position-note" class="note">{move || match origin.get().and_then(Result::ok).flatten() {
                Some(Origin { position, mine: true }) => locale.t_args("map-position-mine", &[
                    ("lat", Value::from(format!("{:.5}", position.lat))),
                    ("lon", Value::from(format!("{:.5}", position.lon))),
                ]),
                Some(_) => locale.t("map-position-none"),
                None => String::new(),
            }}</p>
            <h3>{move || locale.t("map-near")}</h3>
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || nearby.get().map(|answer| match answer {
                    Ok(list) => view! {
                        <ol id="near-list" class="list">
                            {list.into_iter().map(|f| view! { <NearItem found=f /> }).collect_view()}
                        </ol>
                    }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[component]
fn NearItem(found: Found) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let selected = expect_context::<Selected>();
    let Found {
        kind,
        id,
        name,
        distance_m,
    } = found;
    let chosen = id.clone();
    view! {
        <li class="card found" data-kind=kind.code() data-id=id.clone()>
            <button class="link"
                on:click=move |_| {
                    selected.0.set(Some((kind, chosen.clone())));
                    nav.0.set(Page::Details);
                }>
                <span class="row">
                    <span class="name">{move || name.get(locale.lang()).to_owned()}</span>
                    <span class="distance">{move || distance_m.map(|m| distance(m, locale)).unwrap_or_default()}</span>
                </span>
                <span class="sub">{move || locale.t(kind.message_key())}</span>
            </button>
        </li>
    }
}
