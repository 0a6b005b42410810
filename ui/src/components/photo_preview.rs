//! A small preview of a photo stored on the device.

use leptos::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::ipc::invoke;

#[derive(Serialize)]
struct IdArgs {
    id: Uuid,
}

#[component]
pub fn PhotoPreview(id: Uuid) -> impl IntoView {
    let src = LocalResource::new(move || async move {
        invoke::<_, String>("photo_preview", &IdArgs { id })
            .await
            .ok()
    });
    view! {
        <Suspense fallback=|| view! { <span class="photo placeholder"></span> }>
            {move || src.get().flatten().map(|s| view! { <img class="photo" data-id=id.to_string() src=s alt="" /> })}
        </Suspense>
    }
}
