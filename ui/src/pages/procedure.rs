//! One procedure: what it is for, the department that handles it, fee, time, the documents it
//! asks for, and "apply online" where the city publishes its form.

use citizen_core::dossier::ApplicationDraft;
use citizen_core::form::FormSource;
use citizen_core::{AppError, Department, Procedure};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::app::{Nav, Page, SelectedProcedure};
use crate::components::load_error::LoadError;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};
use crate::pages::services::ProcedureFacts;

#[derive(Serialize)]
struct NewArgs {
    procedure: String,
}

#[component]
pub fn ProcedurePage() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let selected = expect_context::<SelectedProcedure>();
    let data = LocalResource::new(move || {
        let id = selected.0.get();
        async move {
            let procedures = invoke::<_, Vec<Procedure>>("procedures", &NoArgs {}).await?;
            let departments = invoke::<_, Vec<Department>>("departments", &NoArgs {}).await?;
            let forms = invoke::<_, Vec<FormSource>>("forms", &NoArgs {}).await?;
            let procedure = procedures.into_iter().find(|p| Some(&p.id) == id.as_ref());
            let department = procedure
                .as_ref()
                .and_then(|p| departments.into_iter().find(|d| d.id == p.department));
            let has_form = procedure
                .as_ref()
                .is_some_and(|p| forms.iter().any(|f| f.procedure == p.id));
            Ok::<_, AppError>((procedure, department, has_form))
        }
    });
    view! {
        <main id="procedure">
            <Suspense fallback=move || view! { <p>{move || locale.t("loading")}</p> }>
                {move || data.get().map(|answer| match answer {
                    Ok((Some(p), department, has_form)) => view! { <Details procedure=p department has_form /> }.into_any(),
                    Ok((None, ..)) => view! { <p>{move || locale.t("error-not-found")}</p> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn Details(procedure: Procedure, department: Option<Department>, has_form: bool) -> impl IntoView {
    let locale = expect_context::<Locale>();
    let nav = expect_context::<Nav>();
    let error = RwSignal::new(None::<AppError>);
    let id = procedure.id.clone();
    let apply = move |_| {
        let procedure = id.clone();
        spawn_local(async move {
            match invoke::<_, ApplicationDraft>("new_application", &NewArgs { procedure }).await {
                Ok(draft) => nav.0.set(Page::Apply(draft.id)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let name = procedure.name.clone();
    let field = procedure.field.clone();
    let documents = procedure.documents.clone();
    view! {
        <h2>{move || name.get(locale.lang()).to_owned()}</h2>
        <p class="sub">{move || field.get(locale.lang()).to_owned()}</p>
        <ProcedureFacts procedure=procedure.clone() />
        {department.map(|d| view! {
            <p id="procedure-department">{move || locale.t("procedure-department")} " " {move || d.name.get(locale.lang()).to_owned()}</p>
        })}
        <h3>{move || locale.t("procedure-documents")}</h3>
        <ul id="procedure-documents" class="bullets">
            {documents.into_iter().map(|d| view! { <li>{move || d.get(locale.lang()).to_owned()}</li> }).collect_view()}
        </ul>
        {if has_form {
            view! {
                <p class="note">{move || locale.t("procedure-apply-note")}</p>
                <button id="apply-online" class="primary" on:click=apply>{move || locale.t("procedure-apply")}</button>
            }.into_any()
        } else {
            view! { <p id="procedure-in-person" class="note">{move || locale.t("procedure-no-form")}</p> }.into_any()
        }}
        {move || error.get().map(|e| view! { <p class="error" role="alert">{move || locale.t(e.code.message_key())}</p> })}
    }
}
