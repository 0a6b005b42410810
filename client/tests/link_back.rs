//! When the link comes back, what waited out a failed link is sent at once, not after its
//! old retry delay; what the gateway refused keeps its delay. Real stores, a real gateway.

use std::path::PathBuf;

use citizen_client::outbox::Outbox;
use citizen_client::syncer::now_ms;
use citizen_client::{Gateway, Store, Syncer};
use citizen_core::sync::{PullEvent, PullTiming};
use citizen_core::{CityPack, Position};

/// Back-off as the app has it at its longest: a minute.
const TIMING: PullTiming = PullTiming {
    interval_ms: 30_000,
    backoff_base_ms: 30_000,
    backoff_max_ms: 60_000,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_sync_sends_the_waiting_reports_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = CityPack::parse(citizen_core::city::default_pack_sources()).expect("pack");
    let store = Store::open(&dir.path().join("phone.db"))
        .await
        .expect("store");
    store.bootstrap(&pack).await.expect("bootstrap");
    let category = pack.categories[0].code.clone();
    for i in 0..2 {
        let mut draft = store.new_draft(0).await.expect("draft");
        draft.category = Some(category.clone());
        draft.description = format!("Cống nghẹt {i}");
        draft.position = Some(Position {
            lon: 106.365,
            lat: 10.356,
        });
        store.save_draft(&draft).await.expect("save");
        store
            .submit_draft(draft.id, &pack.city, |c| c == category, 0)
            .await
            .expect("submit");
    }
    // No link: each report fails once and waits out its back-off.
    let offline = Outbox::new(store.clone(), Gateway::new("http://127.0.0.1:9"), TIMING);
    for _ in 0..2 {
        offline.drain(now_ms).await.expect("drain");
    }
    assert_eq!(
        store.next_due(now_ms()).await.expect("due"),
        None,
        "both wait out their back-off"
    );

    // The link is back: one successful sync and they are due at once.
    let app = citizen_server::Application::build(&citizen_server::Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: format!("sqlite://{}", dir.path().join("gw.db").display()),
        city_pack: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/cities/my-tho"),
        simulate_every: None,
        public_url: None,
    })
    .await
    .expect("gateway");
    let url = format!("http://{}", app.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let syncer = Syncer::new(
        store.clone(),
        Gateway::new(&url),
        std::time::Duration::from_secs(30),
    );
    assert!(matches!(
        syncer.pull_once().await,
        PullEvent::PageStored { .. }
    ));
    let sent = Outbox::new(store.clone(), Gateway::new(&url), TIMING)
        .drain(now_ms)
        .await
        .expect("drain");
    assert_eq!(sent.sent, 2, "both sent now, not in a minute");
    assert_eq!(store.outbox_len().await.expect("outbox"), 0);
    let _ = stop.send(());
}
