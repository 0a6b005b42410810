//! Applying for a procedure: the form the city pack describes, drawn from its layout, each
//! answer checked as it is typed by the same validation the gateway runs (`citizen_core::form`),
//! its problem said in the resident's language under the field; documents attached from the
//! device; the draft saved on every change; identification by phone before the first send.

use std::collections::BTreeSet;

use citizen_core::dossier::{ApplicationDraft, MyDossier};
use citizen_core::form::{
    AttachmentRef, CheckContext, FieldLayout, FieldProblem, Form, FormSource, Wards, Widget,
    parse_screen_date, screen_date,
};
use citizen_core::i18n::Value;
use citizen_core::{AppError, Procedure};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;
use serde_json::Map;
use uuid::Uuid;
use wasm_bindgen::JsCast as _;

use crate::app::{Nav, Page};
use crate::components::files::{attach_document, take_files};
use crate::components::identify::Identify;
use crate::components::load_error::LoadError;
use crate::format::number;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};

#[derive(Serialize)]
struct IdArgs {
    id: Uuid,
}

#[derive(Serialize)]
struct SaveArgs<'a> {
    id: Uuid,
    answers: &'a Map<String, serde_json::Value>,
}

/// Today in the city (UTC+7), as the gateway counts it.
fn today() -> citizen_core::civil::Date {
    citizen_core::civil::Date::from_days_since_epoch(
        (crate::format::now_ms() + 7 * 3_600_000).div_euclid(citizen_core::civil::DAY_MS),
    )
}

#[component]
pub fn Apply(id: Uuid) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let data = LocalResource::new(move || async move {
        let draft = invoke::<_, ApplicationDraft>("application_draft", &IdArgs { id }).await?;
        let forms = invoke::<_, Vec<FormSource>>("forms", &NoArgs {}).await?;
        let wards = invoke::<_, Option<Wards>>("admin_units", &NoArgs {}).await?;
        let procedures = invoke::<_, Vec<Procedure>>("procedures", &NoArgs {}).await?;
        let source = forms.into_iter().find(|f| f.procedure == draft.procedure);
        let procedure = procedures.into_iter().find(|p| p.id == draft.procedure);
        Ok::<_, AppError>((draft, source, wards, procedure))
    });
    view! {
        <main id="apply">
            <Suspense fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || data.get().map(|answer| match answer {
                    Ok((draft, Some(source), Some(wards), Some(procedure))) => match Form::compile(&source) {
                        Ok(form) => view! { <ApplicationForm draft form wards procedure /> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    },
                    Ok(_) => view! { <p>{move || locale.t("error-not-found")}</p> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

/// The problems that concern `name` (the field itself, `name.ward`, `name[1]` …).
fn problem_of<'a>(problems: &'a [FieldProblem], name: &str) -> Option<&'a FieldProblem> {
    problems.iter().find(|p| {
        p.field == name
            || p.field
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['.', '[']))
    })
}

#[component]
fn ApplicationForm(
    draft: ApplicationDraft,
    form: Form,
    wards: Wards,
    procedure: Procedure,
) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let id = draft.id;
    let answers = RwSignal::new(draft.answers);
    let touched = RwSignal::new(BTreeSet::<String>::new());
    let tried = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let sections = form.sections.clone();
    let form = StoredValue::new_local(form);
    let wards = StoredValue::new(wards);
    // How many checks of every answer ran and their total time in ms, on the form's element
    // for the benchmarks (the validation's cost in WASM on the device). The page's clock may
    // tick by the millisecond: over many checks the mean is still right.
    let checks = RwSignal::new((0_u32, 0.0_f64));
    let problems = Memo::new(move |_| {
        let answers = answers.get();
        let clock = window().performance();
        let now = move || {
            clock
                .as_ref()
                .map_or_else(js_sys::Date::now, web_sys::Performance::now)
        };
        let started = now();
        let found = wards.with_value(|wards| {
            form.with_value(|form| {
                form.check(
                    &answers,
                    &CheckContext {
                        today: today(),
                        wards,
                    },
                )
                .err()
                .unwrap_or_default()
            })
        });
        let took = now() - started;
        checks.update(|(n, total)| {
            *n += 1;
            *total += took;
        });
        found
    });
    let save = move || {
        let current = answers.get_untracked();
        spawn_local(async move {
            if let Err(e) = invoke::<_, ()>(
                "save_application",
                &SaveArgs {
                    id,
                    answers: &current,
                },
            )
            .await
            {
                error.set(Some(e));
            }
        });
    };
    let set = move |name: String, value: Option<serde_json::Value>| {
        answers.update(|a| match value {
            Some(v) => {
                a.insert(name.clone(), v);
            }
            None => {
                a.remove(&name);
            }
        });
        save();
    };
    let touch = move |name: String| {
        touched.update(|t| {
            t.insert(name);
        })
    };
    let ctx = FieldContext {
        answers,
        problems,
        touched,
        tried,
        set: Callback::new(move |(name, value)| set(name, value)),
        touch: Callback::new(touch),
        wards,
        error,
        busy,
    };
    let send = move |_| {
        tried.set(true);
        let first = problems.get_untracked().first().map(|p| p.field.clone());
        if let Some(field) = first {
            let name = field.split(['.', '[']).next().unwrap_or(&field).to_owned();
            if let Some(el) = document().get_element_by_id(&format!("f-{name}"))
                && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
            {
                let _ = el.focus();
            }
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let current = answers.get_untracked();
            let sent = match invoke::<_, ()>(
                "save_application",
                &SaveArgs {
                    id,
                    answers: &current,
                },
            )
            .await
            {
                Ok(()) => invoke::<_, MyDossier>("submit_application", &IdArgs { id })
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            busy.set(false);
            match sent {
                Ok(()) => nav.0.set(Page::Dossier(id)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let discard = move |_| {
        spawn_local(async move {
            let _ = invoke::<_, ()>("delete_application", &IdArgs { id }).await;
            nav.0.set(Page::Services);
        });
    };
    let title = procedure.name.clone();
    view! {
        <h2>{move || title.get(locale.lang()).to_owned()}</h2>
        <p class="note">{move || locale.t("apply-saved-note")}</p>
        <div class="form application" data-draft=id.to_string() data-procedure=procedure.id.clone()
            data-checks=move || checks.get().0.to_string()
            data-check-ms-total=move || checks.get().1.to_string()>
            {sections.into_iter().map(|section| view! {
                <fieldset>
                    <legend>{move || section.title.get(locale.lang()).to_owned()}</legend>
                    {section.fields.into_iter().map(|layout| {
                        let name = layout.field.clone();
                        let required = form.with_value(|f| f.field(&name).is_some_and(|f| f.required));
                        let visible = {
                            let name = name.clone();
                            move || answers.with(|a| form.with_value(|f| f.visible(&name, a)))
                        };
                        view! {
                            <Show when=visible.clone()>
                                <FieldView layout=layout.clone() required ctx />
                            </Show>
                        }
                    }).collect_view()}
                </fieldset>
            }).collect_view()}
            <Show when=move || tried.get() && !problems.get().is_empty()>
                <p id="apply-problems" class="error" role="alert">{move || locale.t_args(
                    "apply-problems", &[("count", Value::from(problems.get().len()))])}</p>
            </Show>
            <Identify />
            {move || error.get().map(|e| view! {
                <p id="apply-error" class="error" role="alert">{
                    let key = e.code.message_key();
                    let message = e.message.clone();
                    move || format!("{} {}", locale.t(key), message)
                }</p>
            })}
            <div class="actions">
                <button id="send-application" class="primary" disabled=move || busy.get() on:click=send>
                    {move || locale.t("apply-send")}
                </button>
                <button id="delete-application" class="secondary" on:click=discard>{move || locale.t("apply-delete")}</button>
            </div>
        </div>
    }
}

/// What every field needs from the form around it.
#[derive(Clone, Copy)]
struct FieldContext {
    answers: RwSignal<Map<String, serde_json::Value>>,
    problems: Memo<Vec<FieldProblem>>,
    touched: RwSignal<BTreeSet<String>>,
    tried: RwSignal<bool>,
    set: Callback<(String, Option<serde_json::Value>)>,
    touch: Callback<String>,
    wards: StoredValue<Wards>,
    error: RwSignal<Option<AppError>>,
    busy: RwSignal<bool>,
}

#[component]
fn FieldView(layout: FieldLayout, required: bool, ctx: FieldContext) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let name = layout.field.clone();
    let input_id = format!("f-{name}");
    let help_id = format!("f-{name}-help");
    let error_id = format!("f-{name}-error");
    let problem = {
        let name = name.clone();
        Signal::derive(move || {
            let shown = ctx.tried.get() || ctx.touched.with(|t| t.contains(&name));
            shown
                .then(|| ctx.problems.with(|ps| problem_of(ps, &name).cloned()))
                .flatten()
        })
    };
    let has_problem = Signal::derive(move || problem.with(Option::is_some));
    let described = {
        let (help_id, error_id) = (help_id.clone(), error_id.clone());
        let has_help = layout.help.is_some();
        move || {
            let mut ids = Vec::new();
            if has_help {
                ids.push(help_id.clone());
            }
            if has_problem.get() {
                ids.push(error_id.clone());
            }
            ids.join(" ")
        }
    };
    let label = layout.label.clone();
    let label_text = move || {
        let text = label.get(locale.lang()).to_owned();
        if required { format!("{text} *") } else { text }
    };
    let value = {
        let name = name.clone();
        move || ctx.answers.with(|a| a.get(&name).cloned())
    };
    let text_of = {
        let value = value.clone();
        move || match value() {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    let set_text = {
        let name = name.clone();
        move |text: String| {
            let value = (!text.trim().is_empty()).then_some(serde_json::Value::String(text));
            ctx.set.run((name.clone(), value));
        }
    };
    let blur = {
        let name = name.clone();
        move |_| ctx.touch.run(name.clone())
    };
    let widget = layout.widget;
    let control = match widget {
        Widget::Text | Widget::CitizenId | Widget::Phone | Widget::Email => {
            let (kind, mode, complete) = match widget {
                Widget::CitizenId => ("text", "numeric", "off"),
                Widget::Phone => ("tel", "tel", "tel"),
                Widget::Email => ("email", "email", "email"),
                _ => ("text", "text", "off"),
            };
            let set_text = set_text.clone();
            view! {
                <input id=input_id.clone() type=kind inputmode=mode autocomplete=complete
                    aria-describedby=described.clone() aria-invalid=move || has_problem.get().to_string()
                    aria-required=required.to_string()
                    prop:value=text_of.clone()
                    on:input=move |ev| set_text(event_target_value(&ev))
                    on:blur=blur.clone() />
            }
            .into_any()
        }
        Widget::Textarea => {
            let set_text = set_text.clone();
            view! {
                <textarea id=input_id.clone() rows="3" aria-describedby=described.clone()
                    aria-invalid=move || has_problem.get().to_string() aria-required=required.to_string()
                    prop:value=text_of.clone()
                    on:input=move |ev| set_text(event_target_value(&ev))
                    on:blur=blur.clone()></textarea>
            }
            .into_any()
        }
        Widget::Number => {
            let name = name.clone();
            view! {
                <input id=input_id.clone() type="text" inputmode="decimal" aria-describedby=described.clone()
                    aria-invalid=move || has_problem.get().to_string() aria-required=required.to_string()
                    prop:value=text_of.clone()
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        let cleaned: String = text.trim().replace(',', ".");
                        let value = if cleaned.is_empty() {
                            None
                        } else {
                            Some(cleaned.parse::<f64>().ok()
                                .and_then(|n| if n.fract() == 0.0 && n.abs() < 9.0e15 {
                                    Some(serde_json::Value::from(n as i64))
                                } else {
                                    serde_json::Number::from_f64(n).map(serde_json::Value::Number)
                                })
                                .unwrap_or(serde_json::Value::String(text)))
                        };
                        ctx.set.run((name.clone(), value));
                    }
                    on:blur=blur.clone() />
            }
            .into_any()
        }
        Widget::Date => {
            let name = name.clone();
            let shown = {
                let text_of = text_of.clone();
                move || {
                    let t = text_of();
                    if citizen_core::civil::Date::parse_iso(&t).is_some() { screen_date(&t) } else { t }
                }
            };
            view! {
                <input id=input_id.clone() type="text" inputmode="numeric" placeholder="dd/mm/yyyy"
                    aria-describedby=described.clone() aria-invalid=move || has_problem.get().to_string()
                    aria-required=required.to_string()
                    prop:value=shown
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        let value = if text.trim().is_empty() {
                            None
                        } else {
                            // A date that reads goes on the wire as ISO; anything else stays as
                            // typed, and the check says it is not a date.
                            Some(serde_json::Value::String(parse_screen_date(&text).unwrap_or(text)))
                        };
                        ctx.set.run((name.clone(), value));
                    }
                    on:blur=blur.clone() />
            }
            .into_any()
        }
        Widget::Choice => {
            let name = name.clone();
            let choices = layout.choices.clone();
            view! {
                <div class="select-box">
                <select id=input_id.clone() aria-describedby=described.clone()
                    aria-invalid=move || has_problem.get().to_string() aria-required=required.to_string()
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        ctx.set.run((name.clone(), (!v.is_empty()).then_some(serde_json::Value::String(v))));
                    }
                    on:blur=blur.clone()>
                    <option value="">{move || locale.t("apply-choose")}</option>
                    {choices.into_iter().map(|c| {
                        let selected = {
                            let (value, text_of) = (c.value.clone(), text_of.clone());
                            move || text_of() == value
                        };
                        view! { <option value=c.value.clone() selected=selected>{move || c.label.get(locale.lang()).to_owned()}</option> }
                    }).collect_view()}
                </select>
                </div>
            }
            .into_any()
        }
        Widget::Checkbox => {
            let name = name.clone();
            let checked = {
                let value = value.clone();
                move || value() == Some(serde_json::Value::Bool(true))
            };
            view! {
                <input id=input_id.clone() type="checkbox" aria-describedby=described.clone()
                    aria-invalid=move || has_problem.get().to_string() aria-required=required.to_string()
                    prop:checked=checked
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        ctx.set.run((name.clone(), Some(serde_json::Value::Bool(on))));
                        ctx.touch.run(name.clone());
                    } />
            }
            .into_any()
        }
        Widget::Address => view! {
            <AddressInput name=name.clone() input_id=input_id.clone() required described=Signal::derive(described.clone())
                invalid=has_problem ctx />
        }
        .into_any(),
        Widget::File => view! {
            <FileInput name=name.clone() input_id=input_id.clone() described=Signal::derive(described.clone())
                invalid=has_problem ctx />
        }
        .into_any(),
    };
    let help = layout.help.clone();
    let checkbox = widget == Widget::Checkbox;
    view! {
        <div class="field" class:check=checkbox class:invalid=move || has_problem.get() data-field=name.clone()>
            {if checkbox {
                view! { <label class="check">{control}" "{label_text.clone()}</label> }.into_any()
            } else {
                view! { <label for=input_id.clone()>{label_text.clone()}</label> {control} }.into_any()
            }}
            {help.map(|h| view! { <p id=help_id.clone() class="help">{move || h.get(locale.lang()).to_owned()}</p> })}
            {move || problem.get().map(|p| {
                let key = p.problem.message_key();
                let args = p.problem.args();
                view! {
                    <p id=error_id.clone() class="problem" data-problem=key>{move || {
                        let args: Vec<(&str, Value<'_>)> = args.iter()
                            .map(|(n, v)| (*n, Value::from(number(*v, 0, locale.lang()))))
                            .collect();
                        locale.t_args(key, &args)
                    }}</p>
                }
            })}
        </div>
    }
}

/// A ward or commune of the province from a list, and the street.
#[component]
fn AddressInput(
    name: String,
    input_id: String,
    required: bool,
    described: Signal<String>,
    invalid: Signal<bool>,
    ctx: FieldContext,
) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let part = {
        let name = name.clone();
        move |key: &str| {
            ctx.answers.with(|a| {
                a.get(&name)
                    .and_then(|v| v.get(key))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
        }
    };
    let update = {
        let name = name.clone();
        move |key: &'static str, text: String| {
            let mut object = ctx
                .answers
                .with_untracked(|a| a.get(&name).and_then(|v| v.as_object().cloned()))
                .unwrap_or_default();
            object.insert(key.into(), serde_json::Value::String(text));
            let empty = object
                .values()
                .all(|v| v.as_str().is_none_or(|s| s.trim().is_empty()));
            ctx.set.run((
                name.clone(),
                (!empty).then_some(serde_json::Value::Object(object)),
            ));
        }
    };
    let mut units = ctx.wards.with_value(|w| w.units.clone());
    units.sort_by(|a, b| {
        citizen_core::search::fold(&a.name).cmp(&citizen_core::search::fold(&b.name))
    });
    let street_id = format!("{input_id}-street");
    let blur = {
        let name = name.clone();
        move |_| ctx.touch.run(name.clone())
    };
    let (ward_now, street_now) = (part.clone(), part);
    let (update_ward, update_street) = (update.clone(), update);
    view! {
        <div class="select-box">
        <select id=input_id aria-describedby=described aria-invalid=move || invalid.get().to_string()
            aria-required=required.to_string()
            on:change=move |ev| update_ward("ward", event_target_value(&ev))>
            <option value="">{move || locale.t("apply-ward-choose")}</option>
            {units.into_iter().map(|w| {
                let code = w.code.clone();
                let selected = {
                    let (code, ward_now) = (code.clone(), ward_now.clone());
                    move || ward_now("ward") == code
                };
                view! { <option value=code selected=selected>{w.name.clone()}</option> }
            }).collect_view()}
        </select>
        </div>
        <label for=street_id.clone() class="sub">{move || locale.t("apply-street")}</label>
        <input id=street_id type="text" autocomplete="street-address"
            prop:value=move || street_now("street")
            on:input=move |ev| update_street("street", event_target_value(&ev))
            on:blur=blur />
    }
}

/// Documents picked from the device: a PDF as it is, a photo or scan upright without metadata.
#[component]
fn FileInput(
    name: String,
    input_id: String,
    described: Signal<String>,
    invalid: Signal<bool>,
    ctx: FieldContext,
) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let files = {
        let name = name.clone();
        move || {
            ctx.answers.with(|a| {
                a.get(&name)
                    .and_then(|v| v.as_array())
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| serde_json::from_value::<AttachmentRef>(i.clone()).ok())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        }
    };
    let put = {
        let name = name.clone();
        move |list: Vec<AttachmentRef>| {
            let value = (!list.is_empty()).then(|| serde_json::to_value(&list).unwrap_or_default());
            ctx.set.run((name.clone(), value));
            ctx.touch.run(name.clone());
        }
    };
    let on_files = {
        let (files, put) = (files.clone(), put.clone());
        move |ev: leptos::ev::Event| {
            let picked = take_files(&ev);
            ctx.busy.set(true);
            let (files, put) = (files.clone(), put.clone());
            spawn_local(async move {
                let mut current = files();
                for file in picked {
                    match attach_document(&file).await {
                        Some(Ok(doc)) => current.push(doc),
                        Some(Err(e)) => ctx.error.set(Some(e)),
                        None => {}
                    }
                }
                put(current);
                ctx.busy.set(false);
            });
        }
    };
    view! {
        <input id=input_id type="file" accept="application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png" multiple
            aria-describedby=described aria-invalid=move || invalid.get().to_string()
            on:change=on_files />
        <ul class="files">
            {move || files().into_iter().map(|doc| {
                let put = put.clone();
                let files = files.clone();
                let id = doc.id;
                let size = number(doc.size.div_ceil(1024) as f64, 0, locale.lang());
                view! {
                    <li class="file" data-id=id.to_string()>
                        <span>{doc.name.clone()}</span>
                        <span class="sub">{format!(" {size} KB")}</span>
                        <button class="remove" on:click=move |_| {
                            let rest: Vec<AttachmentRef> = files().into_iter().filter(|d| d.id != id).collect();
                            put(rest);
                        }>{move || locale.t("apply-file-remove")}</button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
