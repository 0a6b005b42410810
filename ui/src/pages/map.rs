//! The map: the city's places and free wifi on the offline basemap, with layer toggles, the
//! resident's position (set on the map, remembered), the line to a destination, and the
//! nearest points as a list under it — the list alone where no map can be drawn.

use citizen_core::Position;
use citizen_core::i18n::Value;
use citizen_core::report::PositionSource;
use citizen_core::views::{
    Found, FoundKind, MapGroup, Origin, Overview, StreetPackStatus, bearing_deg, compass_key,
    walking_minutes,
};
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

    // The map itself: drawn once the basemap and the city are known, and again when the
    // street pack arrives.
    let lang = locale.lang_untracked().code();
    let draw = move || {
        spawn_local(async move {
            if map.with_value(Option::is_some) {
                ready.set(false);
                map.set_value(None);
                if let Some(element) = document().get_element_by_id("city-map") {
                    let _ = element.remove_attribute("data-first-frame-ms");
                }
            }
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
        })
    };
    draw();

    // The street-level map: offered by the gateway, downloaded on request, drawn once here.
    let tick = crate::app::ticker(500);
    let asked = RwSignal::new(false);
    let streets = LocalResource::new(move || {
        tick.track();
        let refresh = !asked.get_untracked();
        asked.set(true);
        async move {
            invoke::<_, StreetPackStatus>("street_pack_status", &Refresh { refresh })
                .await
                .ok()
        }
    });
    let was_installed = StoredValue::new(None::<bool>);
    Effect::new(move |_| {
        let Some(Some(status)) = streets.get() else {
            return;
        };
        let before = was_installed.get_value();
        was_installed.set_value(Some(status.installed));
        if before == Some(false) && status.installed {
            draw();
        }
    });
    let download = move |_| {
        spawn_local(async move {
            let _ = invoke::<_, ()>("download_street_pack", &NoArgs {}).await;
        });
    };

    // The points of the layers turned on.
    Effect::new(move |_| {
        ready.track();
        let version = sync.version.get();
        let groups: Vec<&str> = shown.with(|s| s.iter().map(|g| g.code()).collect());
        map.with_value(|m| {
            if let Some(m) = m {
                m.show_points(&groups, version);
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

    // Phones ask their position service (Tauri's geolocation plugin), once, when asked.
    let phone = web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .is_some_and(|ua| ua.contains("Android") || ua.contains("iPhone") || ua.contains("iPad"));
    let locating = RwSignal::new(false);
    let no_fix = RwSignal::new(false);
    let locate = move |_| {
        locating.set(true);
        no_fix.set(false);
        spawn_local(async move {
            let fix = device_fix().await;
            locating.set(false);
            match fix {
                Some(at) => {
                    let args = SetPositionArgs {
                        position: Some(at),
                        source: Some(PositionSource::Device),
                    };
                    if invoke::<_, ()>("set_device_position", &args).await.is_ok() {
                        moved.update(|m| *m += 1);
                        map.with_value(|m| {
                            if let Some(m) = m {
                                m.ease_to(at, Some(15.0));
                            }
                        });
                    }
                }
                None => no_fix.set(true),
            }
        });
    };

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
                }).into_iter().collect::<Vec<_>>()}
            </div>
            <Show when=move || info.with(|i| i.as_ref().is_some_and(|i| i.coarse))>
                <p id="map-coarse" class="note">{move || locale.t("map-coarse")}</p>
            </Show>
            {move || streets.get().flatten().map(|s| street_pack_view(s, locale, download))}
            {move || route.0.get().map(|(to, name)| view! {
                <p id="route-note" class="note">
                    {move || {
                        let from = origin.get().and_then(Result::ok).flatten().map(|o| o.position);
                        match from {
                            Some(from) => {
                                let metres = citizen_core::geodesy::distance_m(from, to);
                                locale.t_args("map-route-to", &[
                                    ("name", Value::from(name.clone())),
                                    ("distance", Value::from(distance(metres, locale))),
                                    ("compass", Value::from(locale.t(compass_key(bearing_deg(from, to))))),
                                    ("minutes", Value::from(walking_minutes(metres))),
                                ])
                            }
                            None => name.clone(),
                        }
                    }}
                    " "
                    <button class="link" on:click=move |_| route.0.set(None)>{move || locale.t("map-route-clear")}</button>
                </p>
            })}
            <Show when=move || no_map.with(Option::is_none)
                fallback=move || view! { <p id="map-unavailable" class="note">{move || locale.t("map-unavailable")}</p> }>
                <div id="city-map" class="city-map" role="region" aria-label=move || locale.t("map-title")></div>
                <div class="map-tools">
                    <Show when=move || phone>
                        <button id="locate" disabled=move || locating.get() on:click=locate>
                            {move || locale.t("map-locate")}
                        </button>
                    </Show>
                    <Show when=move || no_fix.get()>
                        <span class="note" role="status">{move || locale.t("map-locate-failed")}</span>
                    </Show>
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixOptions {
    enable_high_accuracy: bool,
    timeout: u32,
    maximum_age: u32,
}

#[derive(Serialize)]
struct FixArgs {
    options: FixOptions,
}

#[derive(Deserialize)]
struct Fix {
    coords: FixCoords,
}

#[derive(Deserialize)]
struct FixCoords {
    latitude: f64,
    longitude: f64,
}

/// The device's position from the platform's position service (permission asked first), or
/// `None` when it is refused or finds none within 15 s.
async fn device_fix() -> Option<Position> {
    let _ =
        invoke::<_, serde_json::Value>("plugin:geolocation|request_permissions", &NoArgs {}).await;
    let args = FixArgs {
        options: FixOptions {
            enable_high_accuracy: true,
            timeout: 15_000,
            maximum_age: 60_000,
        },
    };
    let fix = invoke::<_, Fix>("plugin:geolocation|get_current_position", &args)
        .await
        .ok()?;
    Some(Position {
        lon: fix.coords.longitude,
        lat: fix.coords.latitude,
    })
}

#[derive(Serialize)]
struct Refresh {
    refresh: bool,
}

/// The street pack's line under the coarse-map note: the offer, the progress, the problem,
/// or that it is installed.
fn street_pack_view(
    status: StreetPackStatus,
    locale: Locale,
    download: impl Fn(leptos::ev::MouseEvent) + Copy + 'static,
) -> AnyView {
    if status.installed {
        return view! { <p id="street-installed" class="note">{move || locale.t("street-installed")}</p> }
            .into_any();
    }
    if status.downloading {
        let (done, total) = (status.done, status.total.max(1));
        let percent = done * 100 / total;
        return view! {
            <div class="street-pack">
                <label for="street-progress">{move || locale.t("street-downloading")}</label>
                <progress id="street-progress" max=total.to_string() value=done.to_string()></progress>
                <span class="note">{format!("{percent} %")}</span>
            </div>
        }
        .into_any();
    }
    let Some(offer) = status.offer else {
        return ().into_any();
    };
    let megabytes = format!("{:.1}", offer.bytes as f64 / 1_000_000.0);
    view! {
        <div class="street-pack">
            {status.problem.map(|key| view! { <p id="street-problem" class="note">{move || locale.t(&key)}</p> })}
            <button id="street-download" on:click=download>
                {move || locale.t_args("street-download", &[("megabytes", Value::from(megabytes.clone()))])}
            </button>
        </div>
    }
    .into_any()
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
