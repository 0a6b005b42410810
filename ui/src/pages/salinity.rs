//! Salinity: each station on the Tiền river with its latest values, their age, and a warning
//! when they are too old to trust.

use citizen_core::i18n::Value;
use citizen_core::views::{Age, Freshness, LatestValue, StationStatus};
use leptos::prelude::*;

use crate::app::Sync;
use crate::components::load_error::LoadError;
use crate::format::{now_ms, number};
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[component]
pub fn Salinity() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    let stations = LocalResource::new(move || {
        sync.version.track();
        async move { invoke::<_, Vec<StationStatus>>("stations", &NoArgs {}).await }
    });
    view! {
        <main id="salinity">
            <h2>{move || locale.t("salinity-title")}</h2>
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || stations.get().map(|answer| match answer {
                    Ok(list) => list.into_iter().map(|s| view! { <StationCard status=s /> }).collect_view().into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[component]
fn StationCard(status: StationStatus) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    // Ages are measured against the gateway's clock: the phone's may be days off.
    let now = sync
        .status
        .get_untracked()
        .map_or_else(now_ms, |s| s.gateway_now(now_ms()));
    let newest = status
        .latest
        .iter()
        .filter_map(|v| v.reading.as_ref())
        .max_by_key(|r| r.observed_at_ms)
        .cloned();
    let freshness = newest.as_ref().map(|r| status.freshness(r, now));
    let stale = freshness == Some(Freshness::Stale);
    let future = freshness == Some(Freshness::FromTheFuture);
    let simulated = newest.as_ref().is_some_and(|r| r.simulated);
    let name = status.station.name.clone();
    let km = status.station.km_from_mouth;
    let age = newest
        .filter(|_| !future)
        .map(|r| Age::between(r.observed_at_ms, now));
    view! {
        <section class="card station" data-id=status.station.id.clone() data-stale=(stale || future).to_string()>
            <div class="row">
                <span class="name">{move || name.get(locale.lang()).to_owned()}</span>
                <span class="sub age">{move || match age {
                    Some(a) => age_text(locale, a),
                    None if future => locale.t("salinity-age-unknown"),
                    None => locale.t("salinity-no-reading"),
                }}</span>
            </div>
            <div class="sub">{move || locale.t_args("salinity-km", &[("km", Value::from(number(km, 0, locale.lang())))])}</div>
            <div class="readings">
                {status.latest.into_iter().map(|v| view! { <ReadingTile value=v /> }).collect_view()}
            </div>
            <Show when=move || stale><p class="stale">{move || locale.t("salinity-stale")}</p></Show>
            <Show when=move || future><p class="stale">{move || locale.t("salinity-clock")}</p></Show>
            <Show when=move || simulated><p class="note">{move || locale.t("salinity-simulated")}</p></Show>
        </section>
    }
}

#[component]
fn ReadingTile(value: LatestValue) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let LatestValue { parameter, reading } = value;
    let decimals = if parameter.code == "salinity" { 2 } else { 1 };
    let unit = parameter.unit.clone();
    let name = parameter.name.clone();
    view! {
        <div class="reading" data-parameter=parameter.code.clone()>
            <div class="value">{move || reading.as_ref().map_or_else(|| "—".to_owned(), |r| format!("{} {unit}", number(r.value, decimals, locale.lang())).trim().to_owned())}</div>
            <div class="sub">{move || name.get(locale.lang()).to_owned()}</div>
        </div>
    }
}

fn age_text(locale: Locale, age: Age) -> String {
    match age {
        Age::JustNow => locale.t("age-just-now"),
        Age::Minutes(m) => locale.t_args("age-minutes", &[("minutes", Value::from(m))]),
        Age::Hours(h) => locale.t_args("age-hours", &[("hours", Value::from(h))]),
        Age::Days(d) => locale.t_args("age-days", &[("days", Value::from(d))]),
    }
}
