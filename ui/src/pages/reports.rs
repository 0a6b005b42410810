//! My reports: drafts to finish, reports waiting to send or sent with their tracking code and
//! status, and a button to start a new one.

use citizen_core::i18n::Value;
use citizen_core::report::{Delivery, MyReport, ReportDraft};
use citizen_core::views::SyncProblem;
use citizen_core::{AppError, ReportCategory};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{Nav, Page, Sync, ticker};
use crate::components::load_error::LoadError;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

/// How often the list looks again: sending happens in the background.
const REFRESH_MS: u64 = 1_000;

/// The category's name in the current language, or its code.
pub fn category_name(categories: &[ReportCategory], code: &str, locale: Locale) -> String {
    categories
        .iter()
        .find(|c| c.code == code)
        .map_or_else(|| code.to_owned(), |c| c.name.get(locale.lang()).to_owned())
}

#[component]
pub fn Reports() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let sync = expect_context::<Sync>();
    let tick = ticker(REFRESH_MS);
    let data = LocalResource::new(move || {
        sync.version.track();
        tick.track();
        async move {
            let mine = invoke::<_, Vec<MyReport>>("my_reports", &NoArgs {}).await?;
            let drafts = invoke::<_, Vec<ReportDraft>>("drafts", &NoArgs {}).await?;
            let categories =
                invoke::<_, Vec<ReportCategory>>("report_categories", &NoArgs {}).await?;
            Ok::<_, AppError>((mine, drafts, categories))
        }
    });
    let error = RwSignal::new(None::<AppError>);
    let new_report = move |_| {
        spawn_local(async move {
            match invoke::<_, ReportDraft>("new_draft", &NoArgs {}).await {
                Ok(draft) => nav.0.set(Page::Compose(draft.id)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <main id="reports">
            <h2>{move || locale.t("report-title")}</h2>
            <p class="note">{move || locale.t("report-intro")}</p>
            <button id="new-report" class="primary" on:click=new_report>{move || locale.t("report-new")}</button>
            {move || error.get().map(|error| view! { <LoadError error /> })}
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || data.get().map(|answer| match answer {
                    Ok((mine, drafts, categories)) => view! {
                        <Show when={let has = !drafts.is_empty(); move || has}>
                            <h3>{move || locale.t("report-drafts")}</h3>
                        </Show>
                        <ul id="drafts" class="list">
                            {drafts.into_iter().map(|d| {
                                let id = d.id;
                                let label = if d.description.trim().is_empty() { None } else { Some(d.description.clone()) };
                                view! {
                                    <li class="card draft" data-id=id.to_string()>
                                        <button class="link" on:click=move |_| nav.0.set(Page::Compose(id))>
                                            {move || label.clone().unwrap_or_else(|| locale.t("report-untitled"))}
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <h3>{move || locale.t("report-mine")}</h3>
                        <Show when={let none = mine.is_empty(); move || none}>
                            <p class="note">{move || locale.t("report-none")}</p>
                        </Show>
                        <ul id="my-reports" class="list">
                            {mine.into_iter().map(|r| view! { <MyReportItem report=r categories=categories.clone() /> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

/// One line of "my reports": what, where it stands, and what keeps it if it is stuck.
#[component]
fn MyReportItem(report: MyReport, categories: Vec<ReportCategory>) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let id = report.submission.id;
    let category = category_name(&categories, &report.submission.category, locale);
    let status = report.view.as_ref().map(|v| v.status);
    let (delivery, line) = match &report.delivery {
        Delivery::Waiting {
            last_error,
            problem,
            uploaded_bytes,
            total_bytes,
            ..
        } => {
            let percent = if *total_bytes == 0 {
                0
            } else {
                uploaded_bytes * 100 / total_bytes
            };
            // An attempt failed: what it means for the resident, in their language (an error
            // recorded before problems were named reads as the server's).
            let problem = last_error
                .as_ref()
                .map(|_| problem.unwrap_or(SyncProblem::Gateway));
            let line = move || {
                let mut text = locale.t("report-waiting");
                if percent > 0 {
                    text.push_str(" · ");
                    text.push_str(
                        &locale.t_args("report-uploaded", &[("percent", Value::from(percent))]),
                    );
                }
                if let Some(problem) = problem {
                    text.push_str(" · ");
                    text.push_str(&locale.t(problem.delivery_key()));
                }
                text
            };
            ("waiting", line.into_any())
        }
        Delivery::Sent { receipt } => {
            let code = receipt.tracking_code.clone();
            let status = status.unwrap_or(receipt.status);
            let line = move || {
                format!(
                    "{} · {}",
                    locale.t_args("report-sent", &[("code", Value::from(code.clone()))]),
                    locale.t(status.message_key())
                )
            };
            ("sent", line.into_any())
        }
    };
    view! {
        <li class="card my-report" data-id=id.to_string() data-delivery=delivery
            data-status=status.map(|s| s.code()).unwrap_or("")>
            <button class="link" on:click=move |_| nav.0.set(Page::Report(id))>
                <span class="name">{category}</span>
                // A live region: "waiting to send" turning into a tracking code is announced.
                <span class="sub delivery" role="status">{line}</span>
                <span class="sub">{report.submission.description.clone()}</span>
            </button>
        </li>
    }
}
