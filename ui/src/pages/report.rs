//! One of my reports: its tracking code, photos, and the city's handling as a timeline.

use citizen_core::i18n::Value;
use citizen_core::report::{Delivery, MyReport};
use citizen_core::{AppError, ReportCategory};
use leptos::prelude::*;
use uuid::Uuid;

use crate::app::{Sync, ticker};
use crate::components::load_error::LoadError;
use crate::components::photo_preview::PhotoPreview;
use crate::format::{clock, day};
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};
use crate::pages::reports::category_name;

#[component]
pub fn Report(id: Uuid) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    let tick = ticker(1_000);
    let data = LocalResource::new(move || {
        sync.version.track();
        tick.track();
        async move {
            let mine = invoke::<_, Vec<MyReport>>("my_reports", &NoArgs {}).await?;
            let categories =
                invoke::<_, Vec<ReportCategory>>("report_categories", &NoArgs {}).await?;
            Ok::<_, AppError>((mine.into_iter().find(|r| r.submission.id == id), categories))
        }
    });
    view! {
        <main id="report">
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || data.get().map(|answer| match answer {
                    Ok((Some(report), categories)) => {
                        let category = category_name(&categories, &report.submission.category, locale);
                        let code = match &report.delivery {
                            Delivery::Sent { receipt } => Some(receipt.tracking_code.clone()),
                            Delivery::Waiting { .. } => None,
                        };
                        let history = report.view.as_ref().map(|v| v.history.clone()).unwrap_or_default();
                        view! {
                            <h2>{category.clone()}</h2>
                            <p id="report-code" class="code">{move || match &code {
                                Some(c) => locale.t_args("report-sent", &[("code", Value::from(c.clone()))]),
                                None => locale.t("report-waiting"),
                            }}</p>
                            <p>{report.submission.description.clone()}</p>
                            <div class="photos">
                                {report.submission.photos.iter().enumerate().map(|(n, p)| {
                                    let what = category.clone();
                                    let place = report.submission.address.clone()
                                        .or_else(|| report.submission.ward.clone())
                                        .unwrap_or_else(|| format!("{:.5}, {:.5}", report.submission.position.lat, report.submission.position.lon));
                                    let alt = Signal::derive(move || locale.t_args("photo-alt", &[
                                        ("n", Value::from(n + 1)),
                                        ("what", Value::from(what.clone())),
                                        ("place", Value::from(place.clone())),
                                    ]));
                                    view! { <PhotoPreview id=p.id alt /> }
                                }).collect_view()}
                            </div>
                            <h3>{move || locale.t("report-timeline")}</h3>
                            <ol id="timeline" class="timeline">
                                {history.into_iter().map(|h| {
                                    let key = h.status.message_key();
                                    view! {
                                        <li data-status=h.status.code()>
                                            <strong>{move || locale.t(key)}</strong>
                                            <span class="sub">{format!("{} {}", day(h.at_ms), clock(h.at_ms))}</span>
                                            {h.note.clone().map(|n| view! { <p class="reply">{n}</p> })}
                                            {h.photo.map(|_| view! { <p class="sub">{move || locale.t("report-fix-photo")}</p> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }.into_any()
                    }
                    Ok((None, _)) => view! { <p>{move || locale.t("error-not-found")}</p> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}
