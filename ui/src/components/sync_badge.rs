//! The line under the bar that says whether the data is synced, syncing or offline.

use citizen_core::i18n::Value;
use citizen_core::views::{SyncProblem, SyncState};
use leptos::prelude::*;

use crate::app::Sync;
use crate::format::clock;
use crate::i18n::Locale;

#[component]
pub fn SyncBadge() -> impl IntoView {
    let locale = expect_context::<Locale>();
    let sync = expect_context::<Sync>();
    let state = move || sync.status.get().map(|s| s.state);
    let text = move || {
        let Some(status) = sync.status.get() else {
            return locale.t("loading");
        };
        let time = |ms: Option<i64>| Value::from(ms.map(clock).unwrap_or_default());
        match status.state {
            SyncState::NeverSynced => locale.t("sync-never"),
            SyncState::Syncing => locale.t("sync-syncing"),
            SyncState::Synced => {
                locale.t_args("sync-synced", &[("time", time(status.last_success_ms))])
            }
            SyncState::Offline => {
                // Said with what to do: sign in to the wifi, check the address, free space.
                let key = status
                    .problem
                    .map_or("sync-offline", SyncProblem::message_key);
                locale.t_args(key, &[("time", time(status.offline_since_ms))])
            }
        }
    };
    let state_code = move || match state() {
        Some(SyncState::NeverSynced) => "never",
        Some(SyncState::Syncing) => "syncing",
        Some(SyncState::Synced) => "synced",
        Some(SyncState::Offline) => match sync.status.get().and_then(|s| s.problem) {
            Some(SyncProblem::SignInPage) => "sign-in",
            _ => "offline",
        },
        None => "unknown",
    };
    // A live region: a change of the sync state is announced by screen readers (WCAG 4.1.3).
    view! { <div id="sync-status" class="sync" role="status" data-state=state_code>{text}</div> }
}
