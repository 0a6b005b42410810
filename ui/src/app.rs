//! The app's frame: language and sync state in context, the bar, and the current screen.

use citizen_core::Lang;
use citizen_core::views::SyncStatus;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::lang_switch::LangSwitch;
use crate::components::notice::NoticeBar;
use crate::components::sync_badge::SyncBadge;
use crate::i18n::Locale;
use crate::ipc::{NoArgs, invoke};
use crate::pages::{
    apply::Apply, compose::Compose, details::Details, dossier::DossierPage, explore::Explore,
    home::Home, map::MapScreen, procedure::ProcedurePage, report::Report, reports::Reports,
    salinity::Salinity, services::Services, wifi::Wifi,
};

/// The screens of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    Explore,
    Wifi,
    Salinity,
    Services,
    Reports,
    Compose(uuid::Uuid),
    Report(uuid::Uuid),
    /// The details sheet of the place or hotspot in [`Selected`].
    Details,
    /// The map of places and wifi, with the line to the destination in [`Route`].
    Map,
    /// The procedure in [`SelectedProcedure`].
    Procedure,
    /// Writing an application (a draft's id).
    Apply(uuid::Uuid),
    /// One of the resident's dossiers.
    Dossier(uuid::Uuid),
}

/// The procedure whose page shows.
#[derive(Clone, Copy)]
pub struct SelectedProcedure(pub RwSignal<Option<String>>);

/// Where the map draws the line to, with the destination's name: set by "directions".
#[derive(Clone, Copy)]
pub struct Route(pub RwSignal<Option<(citizen_core::Position, String)>>);

/// The place or hotspot whose details sheet shows.
#[derive(Clone, Copy)]
pub struct Selected(pub RwSignal<Option<(citizen_core::views::FoundKind, String)>>);

/// Which screen shows.
#[derive(Clone, Copy)]
pub struct Nav(pub RwSignal<Page>);

/// The sync state, refreshed from the shell; `version` moves when synced data changed.
#[derive(Clone, Copy)]
pub struct Sync {
    pub status: RwSignal<Option<SyncStatus>>,
    pub version: Memo<i64>,
}

const STATUS_POLL_MS: u64 = 1_000;

/// A signal that moves every `ms` while the calling screen is shown, for screens whose data
/// changes in the background (reports being sent).
pub fn ticker(ms: u64) -> RwSignal<u32> {
    let tick = RwSignal::new(0_u32);
    if let Ok(handle) = set_interval_with_handle(
        move || tick.update(|t| *t = t.wrapping_add(1)),
        std::time::Duration::from_millis(ms),
    ) {
        on_cleanup(move || handle.clear());
    }
    tick
}

#[component]
pub fn App() -> impl IntoView {
    let locale = Locale(RwSignal::new(Lang::Vi));
    let nav = Nav(RwSignal::new(Page::Home));
    let status = RwSignal::new(None::<SyncStatus>);
    let version = Memo::new(move |_| status.get().map_or(0, |s| s.data_version));
    provide_context(locale);
    provide_context(nav);
    provide_context(Selected(RwSignal::new(None)));
    provide_context(SelectedProcedure(RwSignal::new(None)));
    provide_context(Route(RwSignal::new(None)));
    provide_context(Sync { status, version });

    spawn_local(async move {
        if let Ok(lang) = invoke::<_, Lang>("get_lang", &NoArgs {}).await {
            locale.0.set(lang);
        }
    });
    let poll = move || {
        spawn_local(async move {
            if let Ok(s) = invoke::<_, SyncStatus>("sync_status", &NoArgs {}).await {
                status.set(Some(s));
            }
        });
    };
    poll();
    let _ = set_interval_with_handle(poll, std::time::Duration::from_millis(STATUS_POLL_MS));

    // A new screen starts at its top, not where the last one was scrolled to.
    Effect::new(move |_| {
        nav.0.track();
        window().scroll_to_with_x_and_y(0.0, 0.0);
    });
    Effect::new(move |_| {
        let lang = locale.lang();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang.code());
        }
    });

    view! {
        <div class="app">
            <header class="bar">
                <Show when=move || nav.0.get() != Page::Home>
                    <button id="back" on:click=move |_| nav.0.set(match nav.0.get_untracked() {
                        Page::Compose(_) | Page::Report(_) => Page::Reports,
                        Page::Procedure | Page::Apply(_) | Page::Dossier(_) => Page::Services,
                        _ => Page::Home,
                    })>{move || locale.t("back")}</button>
                </Show>
                <h1>{move || locale.t("app-title")}</h1>
                <LangSwitch />
            </header>
            <SyncBadge />
            <NoticeBar />
            {move || match nav.0.get() {
                Page::Home => view! { <Home /> }.into_any(),
                Page::Explore => view! { <Explore /> }.into_any(),
                Page::Wifi => view! { <Wifi /> }.into_any(),
                Page::Salinity => view! { <Salinity /> }.into_any(),
                Page::Services => view! { <Services /> }.into_any(),
                Page::Reports => view! { <Reports /> }.into_any(),
                Page::Compose(id) => view! { <Compose id /> }.into_any(),
                Page::Report(id) => view! { <Report id /> }.into_any(),
                Page::Details => view! { <Details /> }.into_any(),
                Page::Map => view! { <MapScreen /> }.into_any(),
                Page::Procedure => view! { <ProcedurePage /> }.into_any(),
                Page::Apply(id) => view! { <Apply id /> }.into_any(),
                Page::Dossier(id) => view! { <DossierPage id /> }.into_any(),
            }}
        </div>
    }
}
