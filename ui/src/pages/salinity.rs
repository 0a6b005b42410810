//! Salinity: "can I pump now, and if not, when?" for a station and a use of the water — the
//! verdict with the reading it rests on and its age, the fresh-water windows expected, the
//! last 24 hours and 7 days, and alerts; then every station with its latest values.

use citizen_core::i18n::Value;
use citizen_core::salinity::{
    Change, Confidence, Reason, SalinityGuide, SalinityView, Sample, Verdict,
};
use citizen_core::views::{Age, Freshness, LatestValue, StationStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use crate::app::{Sync, ticker};
use crate::components::load_error::LoadError;
use crate::format::{clock, day, now_ms, number};
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

/// The station and use chosen, kept by the shell across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Choice {
    station_id: Option<String>,
    use_id: Option<String>,
}

#[derive(Serialize)]
struct ViewArgs {
    #[serde(rename = "stationId")]
    station_id: String,
    #[serde(rename = "useId")]
    use_id: String,
}

#[derive(Serialize)]
struct AlertArgs {
    #[serde(rename = "stationId")]
    station_id: String,
    #[serde(rename = "useId")]
    use_id: String,
    on: bool,
}

#[derive(Serialize)]
struct ChoiceArgs {
    choice: Choice,
}

#[derive(Serialize)]
struct StationArgs {
    #[serde(rename = "stationId")]
    station_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LiveState {
    Connecting,
    Live,
    Polling,
}

#[component]
pub fn Salinity() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    // Ages move on while the screen is open, and data may come live.
    let tick = ticker(5_000);
    let stations = LocalResource::new(move || {
        sync.version.track();
        async move { invoke::<_, Vec<StationStatus>>("stations", &NoArgs {}).await }
    });
    let guide = LocalResource::new(move || {
        sync.version.track();
        async move { invoke::<_, Option<SalinityGuide>>("salinity_guide", &NoArgs {}).await }
    });
    let choice = RwSignal::new(Choice::default());
    spawn_local(async move {
        if let Ok(c) = invoke::<_, Choice>("salinity_choice", &NoArgs {}).await {
            choice.set(c);
        }
    });
    // The chosen station and use, defaulting to the first of each.
    let station_id = Memo::new(move |_| {
        choice.get().station_id.or_else(|| {
            stations
                .get()
                .and_then(|r| r.ok())
                .and_then(|l| l.first().map(|s| s.station.id.clone()))
        })
    });
    let use_id = Memo::new(move |_| {
        choice.get().use_id.or_else(|| {
            guide
                .get()
                .and_then(|r| r.ok())
                .flatten()
                .and_then(|g| g.uses.first().map(|u| u.id.clone()))
        })
    });
    let alert_version = RwSignal::new(0_u32);
    let view_data = LocalResource::new(move || {
        sync.version.track();
        tick.track();
        alert_version.track();
        let (s, u) = (station_id.get(), use_id.get());
        async move {
            match (s, u) {
                (Some(station_id), Some(use_id)) => {
                    invoke::<_, Option<SalinityView>>("salinity", &ViewArgs { station_id, use_id })
                        .await
                }
                _ => Ok(None),
            }
        }
    });
    let last_year = LocalResource::new(move || {
        let s = station_id.get();
        async move {
            match s {
                Some(station_id) => {
                    invoke::<_, Option<Change>>("salinity_last_year", &StationArgs { station_id })
                        .await
                        .ok()
                        .flatten()
                }
                None => None,
            }
        }
    });
    let live = LocalResource::new(move || {
        tick.track();
        async move { invoke::<_, LiveState>("live_state", &NoArgs {}).await.ok() }
    });
    let choose = move |c: Choice| {
        choice.set(c.clone());
        spawn_local(async move {
            let _ = invoke::<_, ()>("set_salinity_choice", &ChoiceArgs { choice: c }).await;
        });
    };
    view! {
        <main id="salinity">
            <h2>{move || locale.t("salinity-title")}</h2>
            <p class="sub live" data-live=move || format!("{:?}", live.get().flatten().unwrap_or(LiveState::Connecting)).to_lowercase()>
                {move || match live.get().flatten() {
                    Some(LiveState::Live) => locale.t("salinity-live"),
                    _ => locale.t("salinity-polling"),
                }}
            </p>
            <div class="pickers">
                <label>
                    <span>{move || locale.t("salinity-pick-station")}</span>
                    <select id="salinity-station" on:change=move |ev| {
                        let mut c = choice.get_untracked();
                        c.station_id = Some(event_target_value(&ev));
                        c.use_id = use_id.get_untracked();
                        choose(c);
                    }>
                        {move || stations.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|s| {
                            let id = s.station.id.clone();
                            let selected = station_id.get().as_deref() == Some(id.as_str());
                            let name = s.station.name.clone();
                            view! { <option value=id selected=selected>{move || name.get(locale.lang()).to_owned()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    <span>{move || locale.t("salinity-pick-use")}</span>
                    <select id="salinity-use" on:change=move |ev| {
                        let mut c = choice.get_untracked();
                        c.use_id = Some(event_target_value(&ev));
                        c.station_id = station_id.get_untracked();
                        choose(c);
                    }>
                        {move || guide.get().and_then(|r| r.ok()).flatten().map(|g| g.uses).unwrap_or_default().into_iter().map(|u| {
                            let id = u.id.clone();
                            let selected = use_id.get().as_deref() == Some(id.as_str());
                            let name = u.name.clone();
                            view! { <option value=id selected=selected>{move || name.get(locale.lang()).to_owned()}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || view_data.get().map(|answer| match answer {
                    Ok(Some(v)) => view! {
                        <VerdictCard view=v.clone() />
                        <ForecastCard view=v.clone() />
                        <TrendCard view=v.clone() last_year=Signal::derive(move || last_year.get().flatten()) />
                        <AlertCard view=v alert_version />
                    }.into_any(),
                    Ok(None) => view! { <p class="sub">{move || locale.t("salinity-no-guide")}</p> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
            <h3>{move || locale.t("salinity-all-stations")}</h3>
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || stations.get().map(|answer| match answer {
                    Ok(list) => {
                        let stale_after = view_data
                            .get()
                            .and_then(|r| r.ok())
                            .flatten()
                            .map_or(30 * 60_000, |v| v.stale_after_ms);
                        list.into_iter().map(|s| view! { <StationCard status=s stale_after /> }).collect_view().into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

fn g_l(value: f64, locale: Locale) -> String {
    locale.t_args(
        "salinity-g-l",
        &[("value", Value::from(number(value, 2, locale.lang())))],
    )
}

/// "Safe to pump" / "Caution" / "Do not pump" / "No current reading", with the reading, its
/// age and why.
#[component]
fn VerdictCard(view: SalinityView) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let a = view.assessment.clone();
    let verdict = a.verdict;
    let code = match verdict {
        Verdict::Safe => "safe",
        Verdict::Caution => "caution",
        Verdict::DoNotPump => "do_not_pump",
        Verdict::Unknown => "unknown",
    };
    let reading = a.reading;
    let age = reading
        .filter(|r| view.now_ms - r.at_ms >= -citizen_core::salinity::FUTURE_TOLERANCE_MS)
        .map(|r| Age::between(r.at_ms, view.now_ms));
    let stale = a.reasons.iter().any(|r| matches!(r, Reason::Stale { .. }));
    let future = a.reasons.iter().any(|r| matches!(r, Reason::FromTheFuture));
    let reasons = a.reasons.clone();
    let advice = view.salinity_use.advice.clone();
    let sources = view.salinity_use.sources.clone();
    let simulated = view.simulated;
    let stale_minutes = view.stale_after_ms as f64 / 60_000.0;
    view! {
        <section class="card verdict" id="salinity-verdict" data-verdict=code aria-live="polite"
            data-reading-at=reading.map(|r| r.at_ms.to_string()).unwrap_or_default()>
            <div class="verdict-word">{move || locale.t(verdict.message_key())}</div>
            <div class="based-on">
                {move || match reading {
                    Some(r) => {
                        let when = match age {
                            Some(a) => age_text(locale, a),
                            None => locale.t("salinity-age-unknown"),
                        };
                        locale.t_args("salinity-based-on", &[
                            ("value", Value::from(g_l(r.value, locale))),
                            ("age", Value::from(when)),
                            ("time", Value::from(clock(r.at_ms))),
                        ])
                    }
                    None => locale.t("salinity-no-reading"),
                }}
            </div>
            <Show when=move || stale>
                <p class="stale">{move || locale.t_args("salinity-stale-verdict", &[("minutes", Value::from(number(stale_minutes, 0, locale.lang())))])}</p>
            </Show>
            <Show when=move || future><p class="stale">{move || locale.t("salinity-clock")}</p></Show>
            <ul class="reasons">
                {reasons.into_iter().filter(|r| !reason_text(locale, r).is_empty()).map(|r| {
                    view! { <li>{move || reason_text(locale, &r)}</li> }
                }).collect_view()}
            </ul>
            <p class="advice">{move || advice.get(locale.lang()).to_owned()}</p>
            <Show when=move || simulated><p class="note simulated">{move || locale.t("salinity-simulated")}</p></Show>
            <details class="sources">
                <summary>{move || locale.t("salinity-sources")}</summary>
                <ul>
                    {sources.into_iter().map(|s| {
                        let says = s.says.clone();
                        view! { <li>{move || says.get(locale.lang()).to_owned()}" — "<cite>{s.reference.clone()}</cite></li> }
                    }).collect_view()}
                </ul>
            </details>
        </section>
    }
}

fn reason_text(locale: Locale, r: &Reason) -> String {
    let v = |x: f64| Value::from(g_l(x, locale));
    match r {
        Reason::WithinSafe { high, .. } => {
            locale.t_args("reason-within-safe", &[("limit", v(*high))])
        }
        Reason::Caution { high, .. } => locale.t_args("reason-caution", &[("limit", v(*high))]),
        Reason::TooSalty { limit } => locale.t_args("reason-too-salty", &[("limit", v(*limit))]),
        Reason::TooFresh { limit } => locale.t_args("reason-too-fresh", &[("limit", v(*limit))]),
        Reason::SuddenChange { change, .. } => {
            locale.t_args("reason-sudden-change", &[("change", v(*change))])
        }
        Reason::Stale { .. } | Reason::FromTheFuture | Reason::NoReading => String::new(),
    }
}

/// The fresh-water windows expected in the next 48 hours, said plainly to be an estimate.
#[component]
fn ForecastCard(view: SalinityView) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let forecast = view.forecast.clone();
    let today = day(view.now_ms);
    view! {
        <section class="card forecast" id="salinity-forecast">
            <h3>{move || locale.t("forecast-title")}</h3>
            {match forecast {
                None => view! { <p class="sub">{move || locale.t("forecast-none")}</p> }.into_any(),
                Some(f) if f.windows.is_empty() => view! {
                    <p>{move || locale.t("forecast-no-window")}</p>
                    <p class="note">{move || locale.t("forecast-estimate")}</p>
                }.into_any(),
                Some(f) => {
                    let rms = f.rms_error;
                    view! {
                        <ul class="windows">
                            {f.windows.into_iter().map(|w| {
                                let start_day = day(w.start_ms);
                                let when = if start_day == today { None } else { Some(start_day) };
                                let confidence = match w.confidence {
                                    Confidence::High => ("high", "confidence-high"),
                                    Confidence::Medium => ("medium", "confidence-medium"),
                                    Confidence::Low => ("low", "confidence-low"),
                                };
                                view! {
                                    <li class="window" data-confidence=confidence.0>
                                        {move || locale.t_args("forecast-window", &[
                                            ("day", Value::from(when.clone().unwrap_or_else(|| locale.t("forecast-today")))),
                                            ("from", Value::from(clock(w.start_ms))),
                                            ("to", Value::from(clock(w.end_ms + 10 * 60_000))),
                                            ("confidence", Value::from(locale.t(confidence.1))),
                                        ])}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <p class="note">{move || locale.t_args("forecast-estimate-rms", &[("rms", Value::from(g_l(rms, locale)))])}</p>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// The last 24 hours and 7 days as charts, with the use's limits and the gaps, and the
/// figures: the change since yesterday and since last year, the daily maxima.
#[component]
fn TrendCard(view: SalinityView, last_year: Signal<Option<Change>>) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let since = view.since_yesterday;
    let maxima = view.daily_max.clone();
    let change_text = move |c: Option<Change>| match c {
        Some(c) => locale.t_args(
            "trend-change",
            &[
                (
                    "change",
                    Value::from(format!(
                        "{}{}",
                        if c.change > 0.0 { "+" } else { "" },
                        g_l(c.change, locale)
                    )),
                ),
                ("then", Value::from(g_l(c.then.value, locale))),
            ],
        ),
        None => locale.t("trend-no-data"),
    };
    view! {
        <section class="card trend" id="salinity-trend">
            <h3>{move || locale.t("trend-24h")}</h3>
            <Chart view=view.clone() span_ms=86_400_000 id="chart-24h" />
            <h3>{move || locale.t("trend-7d")}</h3>
            <Chart view=view.clone() span_ms=7 * 86_400_000 id="chart-7d" />
            <dl class="figures">
                <dt>{move || locale.t("trend-since-yesterday")}</dt>
                <dd id="since-yesterday">{move || change_text(since)}</dd>
                <dt>{move || locale.t("trend-since-last-year")}</dt>
                <dd id="since-last-year">{move || change_text(last_year.get())}</dd>
                <dt>{move || locale.t("trend-daily-max")}</dt>
                <dd>
                    <ul class="maxima">
                        {maxima.into_iter().rev().map(|(d, max)| view! {
                            <li>{day(d)}": "{move || g_l(max, locale)}</li>
                        }).collect_view()}
                    </ul>
                </dd>
            </dl>
        </section>
    }
}

/// A line chart of salinity over the last `span_ms`, drawn as SVG: readings as a line broken
/// at gaps (shaded), the use's limits as lines. Sized by its viewBox to the screen's width.
#[component]
fn Chart(view: SalinityView, span_ms: i64, id: &'static str) -> impl IntoView {
    let locale = expect_context::<Locale>();
    const W: f64 = 360.0;
    const H: f64 = 160.0;
    const LEFT: f64 = 34.0;
    const BOTTOM: f64 = 18.0;
    let from = view.now_ms - span_ms;
    let to = view.now_ms;
    let points: Vec<Sample> = view
        .week
        .iter()
        .filter(|s| s.at_ms >= from)
        .copied()
        .collect();
    let u = &view.salinity_use;
    let limits = [u.safe[1], u.caution[1]];
    let top = points
        .iter()
        .map(|s| s.value)
        .chain(limits.iter().copied().filter(|l| *l < 50.0))
        .fold(0.5_f64, f64::max)
        * 1.15;
    let x = move |t: i64| LEFT + (t - from) as f64 / (to - from) as f64 * (W - LEFT - 4.0);
    let y = move |v: f64| (H - BOTTOM) - v / top * (H - BOTTOM - 6.0);
    // The line, broken wherever readings are further apart than the stale limit.
    let mut paths: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut last_t: Option<i64> = None;
    for s in &points {
        let broken = last_t.is_some_and(|t| s.at_ms - t > view.gap_ms);
        if broken || current.is_empty() {
            if !current.is_empty() {
                paths.push(std::mem::take(&mut current));
            }
            current.push_str(&format!("M{:.1},{:.1}", x(s.at_ms), y(s.value)));
        } else {
            current.push_str(&format!(" L{:.1},{:.1}", x(s.at_ms), y(s.value)));
        }
        last_t = Some(s.at_ms);
    }
    if !current.is_empty() {
        paths.push(current);
    }
    let gaps: Vec<(f64, f64)> = view
        .gaps
        .iter()
        .filter(|(a, b)| *b > from && *a < to)
        .map(|(a, b)| (x((*a).max(from)), x((*b).min(to))))
        .collect();
    let gap_count = gaps.len().to_string();
    let point_count = points.len().to_string();
    let label_every = if span_ms <= 86_400_000 { 6 } else { 1 };
    // Labels under the axis: the first starts at its tick, the last ends at it, the others
    // are centred, so none is cut at the edges.
    let ticks: Vec<(f64, String, &'static str)> = (0..=4)
        .filter(|i| i % 2 == 0 || label_every == 1)
        .map(|i| {
            let t = from + (to - from) * i / 4;
            let anchor = match i {
                0 => "start",
                4 => "end",
                _ => "middle",
            };
            let label = if span_ms <= 86_400_000 {
                clock(t)
            } else {
                day(t)
            };
            (x(t), label, anchor)
        })
        .collect();
    let aria = locale.t(if span_ms <= 86_400_000 {
        "trend-24h"
    } else {
        "trend-7d"
    });
    view! {
        <svg class="chart" id=id viewBox=format!("0 0 {W} {H}") role="img" aria-label=aria
            data-points=point_count data-gaps=gap_count>
            {gaps.into_iter().map(|(a, b)| view! {
                <rect class="gap" x=format!("{a:.1}") y="0" width=format!("{:.1}", (b - a).max(1.0)) height=format!("{:.1}", H - BOTTOM) />
            }).collect_view()}
            <line class="axis" x1=LEFT y1=H - BOTTOM x2=W - 4.0 y2=H - BOTTOM />
            <line class="axis" x1=LEFT y1="0" x2=LEFT y2=H - BOTTOM />
            {[(limits[0], "limit-safe"), (limits[1], "limit-do-not")].into_iter().filter(|(l, _)| *l <= top).map(|(l, class)| view! {
                <line class=class x1=LEFT y1=format!("{:.1}", y(l)) x2=W - 4.0 y2=format!("{:.1}", y(l)) />
                <text class="tick" x="2" y=format!("{:.1}", y(l) + 3.0)>{number(l, 1, locale.lang())}</text>
            }).collect_view()}
            {paths.into_iter().map(|d| view! { <path class="series" d=d /> }).collect_view()}
            {ticks.into_iter().map(|(tx, label, anchor)| view! {
                <text class="tick" x=format!("{tx:.1}") y=format!("{:.1}", H - 4.0) text-anchor=anchor>{label}</text>
            }).collect_view()}
        </svg>
    }
}

/// Subscribe to alerts for this station and use.
#[component]
fn AlertCard(view: SalinityView, alert_version: RwSignal<u32>) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let subscribed = view.subscribed;
    let station_id = view.station_id.clone();
    let use_id = view.salinity_use.id.clone();
    let name = view.salinity_use.name.clone();
    view! {
        <section class="card alerts">
            <label class="toggle">
                <input type="checkbox" id="salinity-alert" checked=subscribed on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    let (station_id, use_id) = (station_id.clone(), use_id.clone());
                    spawn_local(async move {
                        let _ = invoke::<_, ()>("set_salinity_alert", &AlertArgs { station_id, use_id, on }).await;
                        alert_version.update(|v| *v += 1);
                    });
                } />
                <span>{move || locale.t_args("alert-subscribe", &[("use", Value::from(name.get(locale.lang()).to_owned()))])}</span>
            </label>
            <p class="sub">{move || locale.t("alert-explain")}</p>
        </section>
    }
}

#[component]
fn StationCard(status: StationStatus, stale_after: i64) -> impl IntoView {
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
    let freshness = newest
        .as_ref()
        .map(|r| StationStatus::freshness(r, now, stale_after));
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
