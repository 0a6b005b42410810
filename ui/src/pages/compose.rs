//! Writing a report: category, description, photos, the place (from the photo, a pin on the
//! map, or a ward from a list where no map can be drawn), an optional contact, open reports
//! of the same kind nearby to join instead, and send. Every change is saved at once, so the
//! draft survives the app closing.

use citizen_core::i18n::Value;
use citizen_core::locality::{Locality, WardChoice};
use citizen_core::report::{MyReport, PhotoInfo, PositionSource, ReportDraft, ReportView};
use citizen_core::views::{MapGroup, MapPoint, Overview};
use citizen_core::{AppError, Place, Position, ReportCategory};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::{Nav, Page};
use crate::components::files::{bytes_of, take_files};
use crate::components::load_error::LoadError;
use crate::components::photo_preview::PhotoPreview;
use crate::format::number;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke, invoke_bytes};
use crate::map::{CityMap, Tap};

#[derive(Serialize)]
struct IdArgs {
    id: Uuid,
}

#[derive(Serialize)]
struct DraftArgs<'a> {
    draft: &'a ReportDraft,
}

#[derive(Serialize)]
struct PositionArgs {
    position: Position,
}

#[derive(Serialize)]
struct NearbyArgs {
    category: String,
    position: Position,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RemovePhotoArgs {
    draft_id: Uuid,
    photo_id: Uuid,
}

#[derive(Debug, Clone, Deserialize)]
struct NearbyReport {
    report: ReportView,
    distance_m: f64,
    supported: bool,
}

/// What the screen needs besides the draft.
#[derive(Clone)]
struct Context {
    categories: Vec<ReportCategory>,
    overview: Option<Overview>,
    places: Vec<Place>,
    wards: Vec<WardChoice>,
}

#[component]
pub fn Compose(id: Uuid) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let data = LocalResource::new(move || async move {
        let draft = invoke::<_, ReportDraft>("draft", &IdArgs { id }).await?;
        let categories = invoke::<_, Vec<ReportCategory>>("report_categories", &NoArgs {}).await?;
        let overview = invoke::<_, Option<Overview>>("overview", &NoArgs {}).await?;
        let places = invoke::<_, Vec<Place>>("places", &AllPlaces { kind: None }).await?;
        let wards = invoke::<_, Vec<WardChoice>>("wards", &NoArgs {}).await?;
        Ok::<_, AppError>((
            draft,
            Context {
                categories,
                overview,
                places,
                wards,
            },
        ))
    });
    view! {
        <main id="compose">
            <h2>{move || locale.t("report-new")}</h2>
            <Suspense fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || data.get().map(|answer| match answer {
                    Ok((draft, context)) => view! { <Form draft context /> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

/// Places of every kind.
#[derive(Serialize)]
struct AllPlaces {
    kind: Option<String>,
}

#[component]
fn Form(draft: ReportDraft, context: Context) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let draft = RwSignal::new(draft);
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let id = draft.get_untracked().id;

    // Every change is saved at once; the store keeps the photo list itself.
    let save = move || {
        let current = draft.get_untracked();
        spawn_local(async move {
            if let Err(e) = invoke::<_, ()>("save_draft", &DraftArgs { draft: &current }).await {
                error.set(Some(e));
            }
        });
    };
    let edit = move |change: Box<dyn FnOnce(&mut ReportDraft)>| {
        draft.update(|d| change(d));
        save();
    };
    let reload = move || {
        spawn_local(async move {
            match invoke::<_, ReportDraft>("draft", &IdArgs { id }).await {
                Ok(d) => draft.set(d),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    // Placing the report: a pin on the map, or a ward from the list.
    let place_at = move |at: Position, source: PositionSource| {
        spawn_local(async move {
            let found = invoke::<_, Option<Locality>>("locate", &PositionArgs { position: at })
                .await
                .ok()
                .flatten();
            draft.update(|d| {
                d.position = Some(at);
                d.position_source = Some(source);
                if let Some(l) = &found {
                    d.ward = Some(l.ward.clone());
                    if d.address.as_deref().is_none_or(|a| a.trim().is_empty()) {
                        d.address = Some(l.street.clone());
                    }
                }
            });
            save();
        });
    };
    let map = StoredValue::new_local(None::<CityMap>);
    let no_map = RwSignal::new(false);
    let bbox = context.overview.as_ref().map(|o| o.city.bbox);
    let center = context.overview.as_ref().map(|o| o.city.center());
    let points: Vec<MapPoint> = context
        .places
        .iter()
        .map(|p| MapPoint {
            kind: citizen_core::views::FoundKind::Place,
            id: p.id.clone(),
            group: MapGroup::of(p.kind),
            name: p.name.clone(),
            position: p.position,
        })
        .collect();
    let lang = locale.lang_untracked().code();
    spawn_local(async move {
        let Some(center) = center else {
            no_map.set(true);
            return;
        };
        let view = crate::map::View {
            center,
            zoom: 14.0,
            bounds: bbox,
        };
        // Any tap places the pin, on a point of the map or between them.
        let drawn = CityMap::new("report-map", view, lang, move |tap| match tap {
            Tap::Point { at, .. } | Tap::Ground(at) => place_at(at, PositionSource::Map),
            Tap::Cluster => {}
        })
        .await;
        match drawn {
            Ok(city_map) => {
                city_map.set_points(&citizen_core::views::points_geojson(&points));
                city_map.set_pin(draft.with_untracked(|d| d.position));
                map.set_value(Some(city_map));
            }
            Err(reason) => {
                leptos::logging::log!("no map here ({reason:?}): the ward list stands in");
                no_map.set(true);
            }
        }
    });
    Effect::new(move |_| {
        let at = draft.with(|d| d.position);
        map.with_value(|m| {
            if let Some(m) = m.as_ref() {
                m.set_pin(at);
                if let Some(at) = at {
                    m.ease_to(at, None);
                }
            }
        });
    });

    let on_files = move |ev: leptos::ev::Event| {
        let files = take_files(&ev);
        busy.set(true);
        spawn_local(async move {
            for file in files {
                let Some(bytes) = bytes_of(&file).await else {
                    continue;
                };
                let id_text = id.to_string();
                if let Err(e) =
                    invoke_bytes::<PhotoInfo>("add_photo", &bytes, &[("draft-id", &id_text)]).await
                {
                    error.set(Some(e));
                }
            }
            busy.set(false);
            reload();
        });
    };
    let remove_photo = move |photo_id: Uuid| {
        spawn_local(async move {
            let args = RemovePhotoArgs {
                draft_id: id,
                photo_id,
            };
            if let Err(e) = invoke::<_, ()>("remove_photo", &args).await {
                error.set(Some(e));
            }
            reload();
        });
    };

    // Open reports of the same kind within 50 m: join one instead of repeating it.
    let nearby = LocalResource::new(move || {
        let (category, position) = draft.with(|d| (d.category.clone(), d.position));
        async move {
            match (category, position) {
                (Some(category), Some(position)) => invoke::<_, Vec<NearbyReport>>(
                    "nearby_reports",
                    &NearbyArgs { category, position },
                )
                .await
                .unwrap_or_default(),
                _ => Vec::new(),
            }
        }
    });
    let me_too = move |report_id: Uuid| {
        spawn_local(async move {
            if let Err(e) = invoke::<_, ()>("support_report", &IdArgs { id: report_id }).await {
                error.set(Some(e));
            }
            nearby.refetch();
        });
    };

    let send = move |_| {
        busy.set(true);
        spawn_local(async move {
            let current = draft.get_untracked();
            let saved = invoke::<_, ()>("save_draft", &DraftArgs { draft: &current }).await;
            let sent = match saved {
                Ok(()) => invoke::<_, MyReport>("submit_draft", &IdArgs { id })
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            busy.set(false);
            match sent {
                Ok(()) => nav.0.set(Page::Reports),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let discard = move |_| {
        spawn_local(async move {
            let _ = invoke::<_, ()>("delete_draft", &IdArgs { id }).await;
            nav.0.set(Page::Reports);
        });
    };

    let categories = context.categories.clone();
    let wards = context.wards.clone();
    let place_text = move || {
        draft.with(|d| match (d.position, d.position_source) {
            (Some(_), Some(source)) => {
                let how = locale.t(match source {
                    PositionSource::Device => "report-place-device",
                    PositionSource::Photo => "report-place-photo",
                    PositionSource::Map => "report-place-map",
                    PositionSource::Ward => "report-place-ward",
                });
                match &d.ward {
                    Some(w) => format!("{w} · {how}"),
                    None => how,
                }
            }
            _ => locale.t("report-place-none"),
        })
    };
    view! {
        <div class="form" data-draft=id.to_string()>
            <label for="report-category">{move || locale.t("report-category")}</label>
            <select id="report-category" on:change=move |ev| {
                let value = event_target_value(&ev);
                edit(Box::new(move |d| d.category = (!value.is_empty()).then_some(value)));
            }>
                <option value="" selected=move || draft.with(|d| d.category.is_none())>{move || locale.t("report-category-choose")}</option>
                {categories.into_iter().map(|c| {
                    let code = c.code.clone();
                    let selected = {
                        let code = code.clone();
                        move || draft.with(|d| d.category.as_deref() == Some(code.as_str()))
                    };
                    view! { <option value=code selected=selected>{move || c.name.get(locale.lang()).to_owned()}</option> }
                }).collect_view()}
            </select>

            <label for="report-description">{move || locale.t("report-description")}</label>
            <textarea id="report-description" rows="4"
                prop:value=move || draft.with(|d| d.description.clone())
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    edit(Box::new(move |d| d.description = value));
                }></textarea>

            <label for="report-photos">{move || locale.t("report-photos")}</label>
            <input id="report-photos" type="file" accept="image/*" capture="environment" multiple
                on:change=on_files />
            <div id="photo-list" class="photos">
                {move || draft.with(|d| d.photos.clone()).into_iter().enumerate().map(|(n, photo_id)| view! {
                    <span class="photo-item" data-id=photo_id.to_string()>
                        <PhotoPreview id=photo_id alt=Signal::derive(move || locale.t_args(
                            "photo-alt-draft", &[("n", Value::from(n + 1))])) />
                        <button class="remove" on:click=move |_| remove_photo(photo_id)>{move || locale.t("report-photo-remove")}</button>
                    </span>
                }).collect_view()}
            </div>

            <label>{move || locale.t("report-place")}</label>
            <p id="report-place" class="note">{place_text}</p>
            <Show when=move || !no_map.get()>
                <p class="note">{move || locale.t("report-map-hint")}</p>
            </Show>
            <div id="report-map" class="map" class:hidden=move || no_map.get()></div>
            <Show when=move || no_map.get()>
                <p class="note">{move || locale.t("report-no-map")}</p>
            </Show>
            // The place can always be chosen without the map too (a screen reader, a keyboard).
            <label for="report-ward">{move || locale.t("report-ward")}</label>
            <select id="report-ward" on:change={
                    let wards = wards.clone();
                    move |ev| {
                        let name = event_target_value(&ev);
                        if let Some(w) = wards.iter().find(|w| w.name == name) {
                            let at = w.position;
                            draft.update(|d| d.ward = Some(name.clone()));
                            place_at(at, PositionSource::Ward);
                        }
                    }
                }>
                    <option value="">{move || locale.t("report-ward-choose")}</option>
                    {wards.clone().into_iter().map(|w| view! { <option value=w.name.clone()>{w.name.clone()}</option> }).collect_view()}
            </select>
            <label for="report-address">{move || locale.t("report-address")}</label>
            <input id="report-address" type="text"
                prop:value=move || draft.with(|d| d.address.clone().unwrap_or_default())
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    edit(Box::new(move |d| d.address = Some(value)));
                } />

            <Suspense fallback=|| ()>
                {move || nearby.get().filter(|n| !n.is_empty()).map(|list| {
                    let count = list.len();
                    view! {
                    <div id="nearby" class="nearby">
                        <h3>{move || locale.t_args("report-nearby", &[("count", Value::from(count))])}</h3>
                        <ul class="list">
                            {list.clone().into_iter().map(|n| {
                                let report_id = n.report.id;
                                let meters = number(n.distance_m.round(), 0, locale.lang());
                                view! {
                                    <li class="card nearby-report" data-id=report_id.to_string()>
                                        <span class="name">{n.report.tracking_code.clone()}</span>
                                        <span class="sub">{n.report.description.clone()}</span>
                                        <span class="sub">{move || locale.t_args("report-distance", &[("meters", Value::from(meters.clone()))])}
                                            " · " {move || locale.t_args("report-supporters", &[("count", Value::from(n.report.supporters))])}</span>
                                        {if n.supported {
                                            view! { <span class="done">{move || locale.t("report-me-too-done")}</span> }.into_any()
                                        } else {
                                            view! { <button class="me-too" on:click=move |_| me_too(report_id)>{move || locale.t("report-me-too")}</button> }.into_any()
                                        }}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                }})}
            </Suspense>

            <details class="contact">
                <summary>{move || locale.t("report-contact")}</summary>
                <p class="note">{move || locale.t("report-contact-note")}</p>
                <label for="report-name">{move || locale.t("report-name")}</label>
                <input id="report-name" type="text" autocomplete="name"
                    prop:value=move || draft.with(|d| d.contact.name.clone().unwrap_or_default())
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        edit(Box::new(move |d| d.contact.name = (!value.trim().is_empty()).then_some(value)));
                    } />
                <label for="report-phone">{move || locale.t("report-phone")}</label>
                <input id="report-phone" type="tel" autocomplete="tel"
                    prop:value=move || draft.with(|d| d.contact.phone.clone().unwrap_or_default())
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        edit(Box::new(move |d| d.contact.phone = (!value.trim().is_empty()).then_some(value)));
                    } />
                <label class="check">
                    <input id="report-anonymous" type="checkbox"
                        prop:checked=move || draft.with(|d| d.contact.anonymous)
                        on:change=move |ev| {
                            let checked = event_target_checked(&ev);
                            edit(Box::new(move |d| d.contact.anonymous = checked));
                        } />
                    {move || locale.t("report-anonymous")}
                </label>
            </details>

            {move || error.get().map(|e| view! {
                <p id="compose-error" class="error">{
                    let key = e.code.message_key();
                    let message = e.message.clone();
                    move || format!("{} {}", locale.t(key), message)
                }</p>
            })}
            <div class="actions">
                <button id="send-report" class="primary" disabled=move || busy.get() on:click=send>
                    {move || locale.t("report-send")}
                </button>
                <button id="delete-draft" class="secondary" on:click=discard>{move || locale.t("report-delete")}</button>
            </div>
        </div>
    }
}
