//! One of the resident's dossiers: its code to read out on the phone, where it stands, when it
//! is due (or that the clock waits for the resident), a late dossier's apology, what the
//! department asks for and the answer with documents, the result to open, the rating, and the
//! whole timeline.

use citizen_core::dossier::{Action, DossierStatus, MyDossier};
use citizen_core::form::AttachmentRef;
use citizen_core::i18n::Value;
use citizen_core::{AppError, Procedure};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::ticker;
use crate::components::files::{attach_document, take_files};
use crate::components::load_error::LoadError;
use crate::components::timeline::Timeline;
use crate::format::{date_time, now_ms};
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Serialize)]
struct IdArgs {
    id: Uuid,
}

#[derive(Serialize)]
struct ActionArgs {
    id: Uuid,
    action: Action,
}

#[derive(Serialize)]
struct OpenArgs {
    dossier: Uuid,
    document: Uuid,
}

#[derive(Debug, Clone, Deserialize)]
struct OpenedDocument {
    path: String,
    opened: bool,
}

#[component]
pub fn DossierPage(id: Uuid) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let tick = ticker(2_000);
    let data = LocalResource::new(move || {
        tick.track();
        async move {
            let mine = invoke::<_, MyDossier>("my_dossier", &IdArgs { id }).await?;
            let procedures = invoke::<_, Vec<Procedure>>("procedures", &NoArgs {}).await?;
            let procedure = procedures.into_iter().find(|p| p.id == mine.procedure);
            Ok::<_, AppError>((mine, procedure))
        }
    });
    view! {
        <main id="dossier">
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || data.get().map(|answer| match answer {
                    Ok((mine, procedure)) => view! { <DossierView mine procedure /> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[component]
fn DossierView(mine: MyDossier, procedure: Option<Procedure>) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let id = mine.id;
    let status = mine.status();
    let code = mine.code().map(str::to_owned);
    let dossier = mine.dossier.clone();
    let due = dossier
        .as_ref()
        .and_then(|d| d.due_at_ms)
        .or(mine.receipt.as_ref().and_then(|r| r.due_at_ms));
    let overdue = dossier.as_ref().is_some_and(|d| d.is_overdue(now_ms()));
    let paused = status == Some(DossierStatus::SupplementRequested);
    let delay = dossier.as_ref().and_then(|d| {
        d.timeline.iter().rev().find_map(|t| match &t.action {
            Some(Action::RecordDelay {
                reason,
                new_due_date,
            }) => Some((reason.clone(), new_due_date.clone())),
            _ => None,
        })
    });
    let waiting_supplement = mine
        .waiting
        .iter()
        .any(|a| matches!(a, Action::Supplement { .. }));
    let waiting_rating = mine
        .waiting
        .iter()
        .any(|a| matches!(a, Action::Rate { .. }));
    let rateable = matches!(
        status,
        Some(DossierStatus::ResultReady | DossierStatus::Done | DossierStatus::Rejected)
    ) && dossier.as_ref().is_some_and(|d| d.rating.is_none())
        && !waiting_rating;
    let result = dossier.as_ref().and_then(|d| d.result.clone());
    let rating = dossier.as_ref().and_then(|d| d.rating.clone());
    let title = procedure.map(|p| p.name);
    view! {
        <h2>{move || title.as_ref().map_or_else(String::new, |t| t.get(locale.lang()).to_owned())}</h2>
        <div class="card dossier-head">
            {match code {
                Some(code) => view! {
                    <p>{move || locale.t("dossier-code")} " " <strong id="dossier-code" class="code big">{code.clone()}</strong></p>
                }.into_any(),
                None => view! { <p id="dossier-waiting" class="note" role="status">{move || locale.t("dossier-waiting-long")}</p> }.into_any(),
            }}
            <p id="dossier-status" data-status=status.map_or("waiting", |s| s.code())>
                {move || status.map_or_else(|| locale.t("dossier-waiting"), |s| locale.t(s.message_key()))}
            </p>
            {if paused {
                view! { <p id="dossier-paused" class="note">{move || locale.t("dossier-paused")}</p> }.into_any()
            } else {
                due.map(|due| view! {
                    <p id="dossier-due">{move || locale.t_args("dossier-due", &[("at", Value::from(date_time(due)))])}</p>
                }).into_any()
            }}
            {overdue.then(|| view! { <p id="dossier-overdue" class="overdue" role="alert">{move || locale.t("dossier-overdue-long")}</p> })}
            {delay.map(|(reason, date)| {
                let date = citizen_core::form::screen_date(&date);
                view! {
                    <p id="dossier-delay" class="delay">{move || locale.t_args("dossier-delay", &[("date", Value::from(date.clone()))])} " " {reason}</p>
                }
            })}
            {mine.problem.map(|p| view! { <p class="error">{move || locale.t(p.message_key())}</p> })}
        </div>
        {(status == Some(DossierStatus::SupplementRequested)).then(|| {
            let items = dossier.as_ref().and_then(|d| d.supplement.clone()).unwrap_or_default();
            view! { <Supplement id items waiting=waiting_supplement /> }
        })}
        {result.map(|doc| view! { <ResultDocument id doc /> })}
        {rating.map(|r| view! {
            <p id="dossier-rating" class="note">{move || locale.t("dossier-rated")} " " {"★".repeat(usize::from(r.stars))}</p>
        })}
        {waiting_rating.then(|| view! { <p class="note" role="status">{move || locale.t("dossier-rating-waiting")}</p> })}
        {rateable.then(|| view! { <Rate id /> })}
        <h3>{move || locale.t("dossier-timeline")}</h3>
        {dossier.map(|d| view! { <Timeline dossier=d /> })}
    }
}

/// What the department asks for, and the resident's answer with documents.
#[component]
fn Supplement(
    id: Uuid,
    items: Vec<citizen_core::dossier::SupplementItem>,
    waiting: bool,
) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let answer = RwSignal::new(String::new());
    let documents = RwSignal::new(Vec::<AttachmentRef>::new());
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let on_files = move |ev: leptos::ev::Event| {
        let picked = take_files(&ev);
        busy.set(true);
        spawn_local(async move {
            for file in picked {
                match attach_document(&file).await {
                    Some(Ok(doc)) => documents.update(|d| d.push(doc)),
                    Some(Err(e)) => error.set(Some(e)),
                    None => {}
                }
            }
            busy.set(false);
        });
    };
    let send = move |_| {
        let action = Action::Supplement {
            answer: answer.get_untracked(),
            documents: documents.get_untracked(),
        };
        busy.set(true);
        spawn_local(async move {
            if let Err(e) = invoke::<_, ()>("dossier_action", &ActionArgs { id, action }).await {
                error.set(Some(e));
            }
            busy.set(false);
        });
    };
    view! {
        <section id="supplement" class="card">
            <h3>{move || locale.t("supplement-title")}</h3>
            <ul id="supplement-items" class="bullets">
                {items.into_iter().map(|i| view! { <li><strong>{i.item}</strong> ": " {i.reason}</li> }).collect_view()}
            </ul>
            {if waiting {
                view! { <p id="supplement-waiting" class="note" role="status">{move || locale.t("supplement-waiting")}</p> }.into_any()
            } else {
                view! {
                    <label for="supplement-answer">{move || locale.t("supplement-answer")}</label>
                    <textarea id="supplement-answer" rows="3" on:input=move |ev| answer.set(event_target_value(&ev))></textarea>
                    <label for="supplement-files">{move || locale.t("supplement-files")}</label>
                    <input id="supplement-files" type="file" accept="application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png" multiple on:change=on_files />
                    <ul class="files">
                        {move || documents.get().into_iter().map(|d| view! { <li class="file">{d.name}</li> }).collect_view()}
                    </ul>
                    <button id="supplement-send" class="primary" disabled=move || busy.get() || answer.get().trim().is_empty()
                        on:click=send>{move || locale.t("supplement-send")}</button>
                }.into_any()
            }}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{move || format!("{} {}", locale.t(e.code.message_key()), e.message)}</p> })}
        </section>
    }
}

/// The result document: kept on the device once opened, saved to the downloads folder.
#[component]
fn ResultDocument(id: Uuid, doc: AttachmentRef) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let opened = RwSignal::new(None::<Result<OpenedDocument, AppError>>);
    let document = doc.id;
    let open = move |_| {
        spawn_local(async move {
            opened.set(Some(
                invoke::<_, OpenedDocument>(
                    "open_document",
                    &OpenArgs {
                        dossier: id,
                        document,
                    },
                )
                .await,
            ));
        });
    };
    view! {
        <section id="result" class="card">
            <h3>{move || locale.t("result-title")}</h3>
            <p>{doc.name.clone()}</p>
            <button id="open-result" class="primary" on:click=open>{move || locale.t("result-open")}</button>
            {move || opened.get().map(|answer| match answer {
                Ok(o) => {
                    let path = o.path.clone();
                    view! {
                    <p id="result-saved" class="note" data-path=path role="status">
                        {move || locale.t_args(if o.opened { "result-saved-opened" } else { "result-saved" }, &[("path", Value::from(o.path.clone()))])}
                    </p>
                }.into_any()
                }
                Err(e) => view! { <p class="error" role="alert">{move || locale.t(e.code.message_key())}</p> }.into_any(),
            })}
        </section>
    }
}

/// 1 to 5 stars and a comment, once.
#[component]
fn Rate(id: Uuid) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let stars = RwSignal::new(0_u8);
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let send = move |_| {
        let action = Action::Rate {
            stars: stars.get_untracked(),
            comment: Some(comment.get_untracked()),
        };
        spawn_local(async move {
            if let Err(e) = invoke::<_, ()>("dossier_action", &ActionArgs { id, action }).await {
                error.set(Some(e));
            }
        });
    };
    view! {
        <section id="rate" class="card">
            <h3 id="rate-title">{move || locale.t("rate-title")}</h3>
            <div class="stars" role="group" aria-labelledby="rate-title">
                {(1..=5_u8).map(|n| view! {
                    <button class="star" data-stars=n.to_string() aria-pressed=move || (stars.get() >= n).to_string()
                        aria-label=move || locale.t_args("rate-stars", &[("count", Value::from(n))])
                        on:click=move |_| stars.set(n)>{move || if stars.get() >= n { "★" } else { "☆" }}</button>
                }).collect_view()}
            </div>
            <label for="rate-comment">{move || locale.t("rate-comment")}</label>
            <textarea id="rate-comment" rows="2" on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
            <button id="rate-send" class="primary" disabled=move || stars.get() == 0 on:click=send>{move || locale.t("rate-send")}</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{move || locale.t(e.code.message_key())}</p> })}
        </section>
    }
}
