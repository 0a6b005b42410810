//! A phone whose clock is wrong measures ages on the gateway's clock: a two-day-old reading is
//! not "just now" on a phone two days behind, and fresh readings are not stale on a phone
//! three hours ahead. Real stores and a real gateway on loopback.

use std::path::PathBuf;

use citizen_client::syncer::now_ms;
use citizen_client::{Gateway, Store, Syncer};
use citizen_core::CityPack;
use citizen_core::sync::PullEvent;
use citizen_core::views::Freshness;

const DAY_MS: i64 = 86_400_000;

fn two_days_behind() -> i64 {
    now_ms() - 2 * DAY_MS
}

fn three_hours_ahead() -> i64 {
    now_ms() + 3 * 3_600_000
}

/// A gateway whose newest readings were taken `age_ms` ago; its URL and stop switch.
async fn gateway(
    dir: &tempfile::TempDir,
    age_ms: i64,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let app = citizen_server::Application::build(&citizen_server::Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: format!("sqlite://{}", dir.path().join("gw.db").display()),
        city_pack: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/cities/my-tho"),
        simulate_every: None,
        public_url: None,
    })
    .await
    .expect("gateway");
    citizen_server::simulate::backfill(app.store(), now_ms() - age_ms)
        .await
        .expect("readings");
    let url = format!("http://{}", app.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    (url, tx)
}

/// The freshness of each station's newest reading as the phone with `clock` shows it.
async fn shown(url: &str, dir: &tempfile::TempDir, clock: fn() -> i64) -> Vec<Freshness> {
    let store = Store::open(&dir.path().join("phone.db"))
        .await
        .expect("store");
    store
        .bootstrap(&CityPack::parse(citizen_core::city::default_pack_sources()).expect("pack"))
        .await
        .expect("bootstrap");
    let syncer = Syncer::new(
        store.clone(),
        Gateway::new(url),
        std::time::Duration::from_secs(30),
    )
    .with_clock(clock);
    loop {
        match syncer.pull_once().await {
            PullEvent::PageStored { has_more: true } => {}
            PullEvent::PageStored { has_more: false } => break,
            other => panic!("the pull failed: {other:?}"),
        }
    }
    let (handle, _loop) = Syncer::new(
        store.clone(),
        Gateway::new(url),
        std::time::Duration::from_secs(30),
    )
    .start();
    let status = handle.status().await.expect("status");
    let now = status.gateway_now(clock());
    store
        .station_statuses()
        .await
        .expect("stations")
        .iter()
        .map(|s| {
            let newest = s
                .latest
                .iter()
                .filter_map(|v| v.reading.as_ref())
                .max_by_key(|r| r.observed_at_ms)
                .expect("a reading");
            s.freshness(newest, now)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_two_days_behind_sees_two_day_old_readings_as_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, stop) = gateway(&dir, 2 * DAY_MS).await;
    let seen = shown(&url, &dir, two_days_behind).await;
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|f| *f == Freshness::Stale),
        "two days old, whatever the phone's clock says: {seen:?}"
    );
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_three_hours_ahead_sees_fresh_readings_as_current() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, stop) = gateway(&dir, 0).await;
    let seen = shown(&url, &dir, three_hours_ahead).await;
    assert!(
        seen.iter().all(|f| *f == Freshness::Current),
        "just taken, whatever the phone's clock says: {seen:?}"
    );
    let _ = stop.send(());
}
