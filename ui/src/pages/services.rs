//! Services: the catalogue of online public-service procedures, searchable without
//! diacritics and grouped by field; the resident's dossiers and application drafts; and a
//! dossier looked up by its code and phone number.

use citizen_core::dossier::{ApplicationDraft, Dossier, MyDossier};
use citizen_core::i18n::Value;
use citizen_core::search::{Entry, search};
use citizen_core::{AppError, Procedure};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::app::{Nav, Page, SelectedProcedure, Sync, ticker};
use crate::components::load_error::LoadError;
use crate::components::timeline::Timeline;
use crate::format::{date_time, number};
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Serialize)]
struct LookupArgs {
    code: String,
    phone: String,
}

/// The procedures' fields in the order the catalogue shows them (the pack's own order).
fn fields(list: &[Procedure]) -> Vec<citizen_core::Localized> {
    let mut out: Vec<citizen_core::Localized> = Vec::new();
    for p in list {
        if !out.iter().any(|f| f.vi == p.field.vi) {
            out.push(p.field.clone());
        }
    }
    out
}

#[component]
pub fn Services() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    let query = RwSignal::new(String::new());
    let procedures = LocalResource::new(move || {
        sync.version.track();
        async move { invoke::<_, Vec<Procedure>>("procedures", &NoArgs {}).await }
    });
    let with_form = LocalResource::new(move || {
        sync.version.track();
        async move {
            invoke::<_, Vec<citizen_core::form::FormSource>>("forms", &NoArgs {})
                .await
                .map(|forms| forms.into_iter().map(|f| f.procedure).collect::<Vec<_>>())
                .unwrap_or_default()
        }
    });
    view! {
        <main id="services">
            <h2>{move || locale.t("services-title")}</h2>
            <MyDossiers />
            <label for="services-search">{move || locale.t("services-search")}</label>
            <input id="services-search" type="search" autocomplete="off"
                placeholder=move || locale.t("services-search-hint")
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev)) />
            <Transition fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || procedures.get().map(|answer| match answer {
                    Ok(list) => {
                        let online: Vec<String> = with_form.get().unwrap_or_default();
                        view! { <Catalogue list online query /> }.into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Transition>
            <Lookup />
        </main>
    }
}

/// The procedures matching the query (all when it is empty), grouped by field.
#[component]
fn Catalogue(list: Vec<Procedure>, online: Vec<String>, query: RwSignal<String>) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let entries: Vec<Entry<usize>> = list
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Entry::new(
                i,
                [
                    p.name.vi.as_str(),
                    p.name.en.as_str(),
                    p.field.vi.as_str(),
                    p.field.en.as_str(),
                ],
                None,
            )
        })
        .collect();
    let groups = fields(&list);
    let count = list.len();
    let shown = move || -> Vec<usize> {
        let q = query.get();
        if q.trim().is_empty() {
            (0..count).collect()
        } else {
            search(&entries, &q, None, count)
                .into_iter()
                .map(|hit| hit.entry.key)
                .collect()
        }
    };
    let list = StoredValue::new(list);
    let online = StoredValue::new(online);
    view! {
        <div id="catalogue">
            {move || {
                let shown = shown();
                if shown.is_empty() {
                    return view! { <p id="services-none" class="note">{move || locale.t("services-none")}</p> }.into_any();
                }
                groups.iter().filter_map(|field| {
                    let items: Vec<Procedure> = shown
                        .iter()
                        .filter_map(|&i| list.with_value(|l| l.get(i).cloned()))
                        .filter(|p| p.field.vi == field.vi)
                        .collect();
                    (!items.is_empty()).then(|| {
                        let field = field.clone();
                        let en = field.en.clone();
                        view! {
                            <section class="field-group" data-field=en>
                                <h3>{move || field.get(locale.lang()).to_owned()}</h3>
                                <ul class="list procedure-list">
                                    {items.into_iter().map(|p| {
                                        let applies = online.with_value(|o| o.contains(&p.id));
                                        view! { <ProcedureItem procedure=p applies /> }
                                    }).collect_view()}
                                </ul>
                            </section>
                        }
                    })
                }).collect_view().into_any()
            }}
        </div>
    }
}

#[component]
fn ProcedureItem(procedure: Procedure, applies: bool) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let selected = expect_context::<SelectedProcedure>();
    let id = procedure.id.clone();
    let open_id = id.clone();
    view! {
        <li class="card procedure" data-id=id>
            <button class="link name" on:click=move |_| {
                selected.0.set(Some(open_id.clone()));
                nav.0.set(Page::Procedure);
            }>{
                let name = procedure.name.clone();
                move || name.get(locale.lang()).to_owned()
            }</button>
            <ProcedureFacts procedure=procedure.clone() />
            {applies.then(|| view! { <span class="badge apply">{move || locale.t("services-apply-here")}</span> })}
        </li>
    }
}

/// Fee, processing time and how far online a procedure goes.
#[component]
pub fn ProcedureFacts(procedure: Procedure) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let Procedure {
        fee_vnd,
        processing_days,
        online_level,
        ..
    } = procedure;
    let fee = move || {
        if fee_vnd == 0 {
            locale.t("services-fee-free")
        } else {
            locale.t_args(
                "services-fee",
                &[("fee", Value::from(number(fee_vnd as f64, 0, locale.lang())))],
            )
        }
    };
    let days = move || {
        if processing_days == 0 {
            locale.t("services-days-same")
        } else {
            locale.t_args("services-days", &[("days", Value::from(processing_days))])
        }
    };
    let level_class = match online_level {
        citizen_core::OnlineLevel::Full => "badge",
        citizen_core::OnlineLevel::Partial => "badge partial",
    };
    view! {
        <div class="sub facts">
            <span class=level_class>{move || locale.t(online_level.message_key())}</span>
            " " {fee} " · " {days}
        </div>
    }
}

/// The resident's dossiers and drafts.
#[component]
fn MyDossiers() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let tick = ticker(2_000);
    let data = LocalResource::new(move || {
        tick.track();
        async move {
            let dossiers = invoke::<_, Vec<MyDossier>>("my_dossiers", &NoArgs {}).await?;
            let drafts =
                invoke::<_, Vec<ApplicationDraft>>("application_drafts", &NoArgs {}).await?;
            let procedures = invoke::<_, Vec<Procedure>>("procedures", &NoArgs {}).await?;
            Ok::<_, AppError>((dossiers, drafts, procedures))
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || data.get().map(|answer| match answer {
                Ok((dossiers, drafts, procedures)) => {
                    let name = move |id: &str| procedures.iter().find(|p| p.id == id).map(|p| p.name.clone());
                    let empty = dossiers.is_empty() && drafts.is_empty();
                    view! {
                        <Show when=move || !empty>
                            <h3>{move || locale.t("services-mine")}</h3>
                        </Show>
                        <ul id="my-dossiers" class="list">
                            {dossiers.into_iter().map(|d| {
                                let id = d.id;
                                let status = d.status();
                                let code = d.code().map(str::to_owned);
                                let title = name(&d.procedure);
                                let overdue = d.dossier.as_ref().is_some_and(|x| x.is_overdue(crate::format::now_ms()));
                                view! {
                                    <li class="card dossier" data-id=id.to_string()
                                        data-status=status.map_or("waiting", |s| s.code())>
                                        <button class="link name" on:click=move |_| nav.0.set(Page::Dossier(id))>{
                                            let title = title.clone();
                                            move || title.as_ref().map_or_else(String::new, |t| t.get(locale.lang()).to_owned())
                                        }</button>
                                        <span class="sub">
                                            {code.clone().map(|c| view! { <span class="code">{c}</span> " · " })}
                                            {move || status.map_or_else(|| locale.t("dossier-waiting"), |s| locale.t(s.message_key()))}
                                            {overdue.then(|| view! { " · " <span class="overdue">{move || locale.t("dossier-overdue")}</span> })}
                                        </span>
                                    </li>
                                }
                            }).collect_view()}
                            {drafts.into_iter().map(|d| {
                                let id = d.id;
                                let title = name(&d.procedure);
                                view! {
                                    <li class="card application-draft" data-id=id.to_string()>
                                        <button class="link name" on:click=move |_| nav.0.set(Page::Apply(id))>{
                                            let title = title.clone();
                                            move || title.as_ref().map_or_else(String::new, |t| t.get(locale.lang()).to_owned())
                                        }</button>
                                        <span class="sub">{move || locale.t_args("services-draft-saved", &[("at", Value::from(date_time(d.updated_at_ms)))])}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Transition>
    }
}

/// A dossier looked up by its code and the phone number it was applied with.
#[component]
fn Lookup() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let code = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let found = RwSignal::new(None::<Result<Dossier, AppError>>);
    let look = move |_| {
        let args = LookupArgs {
            code: code.get_untracked(),
            phone: phone.get_untracked(),
        };
        spawn_local(async move {
            found.set(Some(invoke::<_, Dossier>("lookup_dossier", &args).await));
        });
    };
    view! {
        <details id="lookup" class="lookup">
            <summary>{move || locale.t("lookup-title")}</summary>
            <label for="lookup-code">{move || locale.t("lookup-code")}</label>
            <input id="lookup-code" type="text" autocomplete="off" on:input=move |ev| code.set(event_target_value(&ev)) />
            <label for="lookup-phone">{move || locale.t("identify-phone")}</label>
            <input id="lookup-phone" type="tel" autocomplete="tel" on:input=move |ev| phone.set(event_target_value(&ev)) />
            <button id="lookup-go" class="secondary" on:click=look>{move || locale.t("lookup-go")}</button>
            {move || found.get().map(|answer| match answer {
                Ok(d) => view! {
                    <div id="lookup-result" class="card">
                        <p><span class="code">{d.code.clone()}</span> " · " {move || locale.t(d.status.message_key())}</p>
                        <Timeline dossier=d.clone() />
                    </div>
                }.into_any(),
                Err(e) => view! { <p id="lookup-error" class="error" role="alert">{
                    let key = if e.code == citizen_core::ErrorCode::NotFound { "lookup-none" } else { e.code.message_key() };
                    move || locale.t(key)
                }</p> }.into_any(),
            })}
        </details>
    }
}
