//! A phone whose clock is wrong measures ages on the gateway's clock: a two-day-old reading is
//! not "just now" on a phone two days behind, and fresh readings are not stale on a phone
//! three hours ahead. Real stores and a real gateway on loopback.

mod common;

use citizen_client::syncer::now_ms;
use citizen_core::views::Freshness;
use common::{TestGateway, device, pull_all};

const DAY_MS: i64 = 86_400_000;

fn two_days_behind() -> i64 {
    now_ms() - 2 * DAY_MS
}

fn three_hours_ahead() -> i64 {
    now_ms() + 3 * 3_600_000
}

/// A gateway whose newest readings were taken `age_ms` ago.
async fn gateway(dir: &tempfile::TempDir, age_ms: i64) -> TestGateway {
    let gateway = TestGateway::start(&dir.path().join("gw.db")).await;
    let newest = now_ms() - age_ms;
    citizen_server::simulate::insert_history(&gateway.store, newest - 86_400_000, newest, newest)
        .await
        .expect("readings");
    gateway
}

/// The freshness of each station's newest reading as the phone with `clock` shows it.
async fn shown(url: &str, dir: &tempfile::TempDir, clock: fn() -> i64) -> Vec<Freshness> {
    let store = device(&dir.path().join("phone.db")).await;
    pull_all(&common::syncer(&store, url).with_clock(clock)).await;
    let (handle, _loop) = common::syncer(&store, url).start();
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
            citizen_core::views::StationStatus::freshness(newest, now, 30 * 60_000)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_two_days_behind_sees_two_day_old_readings_as_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = gateway(&dir, 2 * DAY_MS).await;
    let seen = shown(&gateway.url, &dir, two_days_behind).await;
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|f| *f == Freshness::Stale),
        "two days old, whatever the phone's clock says: {seen:?}"
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_three_hours_ahead_sees_fresh_readings_as_current() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = gateway(&dir, 0).await;
    let seen = shown(&gateway.url, &dir, three_hours_ahead).await;
    assert!(
        seen.iter().all(|f| *f == Freshness::Current),
        "just taken, whatever the phone's clock says: {seen:?}"
    );
    gateway.stop().await;
}
