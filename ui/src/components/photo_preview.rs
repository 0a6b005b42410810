//! A small preview of a photo stored on the device, with its text alternative (WCAG 1.1.1).

use leptos::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::ipc::invoke;

#[derive(Serialize)]
struct IdArgs {
    id: Uuid,
}

/// `alt` says what the photo shows for someone who cannot see it, in the current language.
#[component]
pub fn PhotoPreview(id: Uuid, #[prop(into)] alt: Signal<String>) -> impl IntoView {
    let src = LocalResource::new(move || async move {
        invoke::<_, String>("photo_preview", &IdArgs { id })
            .await
            .ok()
    });
    view! {
        <Suspense fallback=|| view! { <span class="photo placeholder"></span> }>
            {move || src.get().flatten().map(|s| view! { <img class="photo" data-id=id.to_string() src=s alt=move || alt.get() /> })}
        </Suspense>
    }
}
