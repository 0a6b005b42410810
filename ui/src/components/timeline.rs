//! A dossier's timeline: every step in order, with who took it, when, and what they said
//! (the items a supplement asks for and why, a rejection's reason, a delay's reason and new
//! date, a rating).

use citizen_core::dossier::{Action, Actor, Dossier};
use citizen_core::i18n::Value;
use leptos::prelude::*;

use crate::format::date_time;
use crate::i18n::Locale;

#[component]
pub fn Timeline(dossier: Dossier) -> impl IntoView {
    let locale = expect_context::<Locale>();
    view! {
        <ol class="timeline">
            {dossier.timeline.into_iter().map(|entry| {
                let step = entry.action.as_ref().map_or("submitted", Action::code);
                let key = format!("dossier-step-{}", step.replace('_', "-"));
                let who = match entry.actor {
                    Actor::Resident => "dossier-by-resident",
                    Actor::Staff => "dossier-by-staff",
                };
                let detail = entry.action.clone().map(|action| detail(action, locale));
                view! {
                    <li data-status=entry.status.code() data-step=step>
                        <span class="when sub">{date_time(entry.at_ms)} " · " {move || locale.t(who)}</span>
                        <span class="what">{move || locale.t(&key)}</span>
                        {detail}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

fn detail(action: Action, locale: Locale) -> AnyView {
    match action {
        Action::RequestSupplement { items } => view! {
            <ul class="items">
                {items.into_iter().map(|i| view! {
                    <li><strong>{i.item}</strong> ": " {i.reason}</li>
                }).collect_view()}
            </ul>
        }
        .into_any(),
        Action::Supplement { answer, documents } => view! {
            <p class="note">{answer} {(!documents.is_empty()).then(|| format!(" ({})", documents.iter().map(|d| d.name.clone()).collect::<Vec<_>>().join(", ")))}</p>
        }
        .into_any(),
        Action::Reject { reason } => view! { <p class="note reason">{reason}</p> }.into_any(),
        Action::Approve { note: Some(note) } | Action::UploadResult { note: Some(note), .. } => {
            view! { <p class="note">{note}</p> }.into_any()
        }
        Action::RecordDelay { reason, new_due_date } => {
            let date = citizen_core::form::screen_date(&new_due_date);
            view! {
                <p class="note delay">{move || locale.t_args("dossier-delay-detail", &[
                    ("date", Value::from(date.clone())),
                ])} " " {reason}</p>
            }
            .into_any()
        }
        Action::Rate { stars, comment } => view! {
            <p class="note">{"★".repeat(usize::from(stars))} " " {comment.unwrap_or_default()}</p>
        }
        .into_any(),
        _ => ().into_any(),
    }
}
