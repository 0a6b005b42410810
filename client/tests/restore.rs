//! A city gateway restored from a backup taken before some changes: devices must not keep a
//! history that is no longer the gateway's. Real stores, a real gateway on loopback whose
//! database is backed up (`VACUUM INTO` on SQLite, `pg_dump` on PostgreSQL) and put back.

mod common;

use citizen_client::outbox::Outbox;
use citizen_client::store::{PageApplied, StoreError};
use citizen_client::{Gateway, Store};
use citizen_core::SyncPage;
use citizen_core::report::Delivery;
use citizen_core::sync::PullTiming;
use common::{TestGateway, device, pack, queue_report};
use uuid::Uuid;

const TIMING: PullTiming = PullTiming {
    interval_ms: 1_000,
    backoff_base_ms: 10,
    backoff_max_ms: 100,
};

async fn pull_all(store: &Store, url: &str) {
    common::pull_all(&common::syncer(store, url)).await;
}

/// Writes and sends `n` reports from `store`; their ids.
async fn send_reports(store: &Store, url: &str, n: usize, words: &str) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(queue_report(store, &format!("{words} {i}")).await);
    }
    Outbox::new(store.clone(), Gateway::new(url), TIMING)
        .drain(|| i64::MAX / 4)
        .await
        .expect("drain");
    assert_eq!(store.outbox_len().await.expect("outbox"), 0, "all sent");
    ids
}

/// The tracking code the gateway gave each of the device's reports, as the device holds it.
async fn receipts(store: &Store) -> Vec<(Uuid, Option<String>)> {
    let mut mine: Vec<_> = store
        .my_reports()
        .await
        .expect("my reports")
        .into_iter()
        .map(|r| {
            let code = match r.delivery {
                Delivery::Sent { receipt } => Some(receipt.tracking_code),
                Delivery::Waiting { .. } => None,
            };
            (r.submission.id, code)
        })
        .collect();
    mine.sort();
    mine
}

async fn restored_gateway_case(pulled_after_sending: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gateway.db");
    let backup = dir.path().join("backup.db");
    let gateway = TestGateway::start(&db).await;
    let first = device(&dir.path().join("first.db")).await;
    pull_all(&first, &gateway.url).await;

    // The city's IT team backs the gateway up.
    gateway.backup(&backup).await;

    // The first device sends two reports (and, in one case, syncs after).
    let lost = send_reports(&first, &gateway.url, 2, "Rác trước chợ").await;
    if pulled_after_sending {
        pull_all(&first, &gateway.url).await;
    }

    // The gateway is restored from the backup; a second device sends three reports.
    gateway.restore(&db, &backup).await;
    let gateway = TestGateway::start(&db).await;
    let second = device(&dir.path().join("second.db")).await;
    let theirs = send_reports(&second, &gateway.url, 3, "Đèn hỏng").await;

    // The first device syncs: it must not keep the two reports as the gateway's, nor take
    // only the last of the three.
    pull_all(&first, &gateway.url).await;
    let mut seen: Vec<Uuid> = first
        .report_views()
        .await
        .expect("views")
        .into_iter()
        .map(|v| v.id)
        .collect();
    seen.sort();
    let mut expected = theirs.clone();
    expected.sort();
    assert_eq!(
        seen, expected,
        "exactly the gateway's reports, all three of them"
    );
    assert_eq!(
        receipts(&first)
            .await
            .iter()
            .filter(|(_, c)| c.is_none())
            .count(),
        2,
        "the two lost reports wait to be sent again"
    );
    let mut notices = first.take_resent_notices().await.expect("notices");
    notices.sort();
    let mut lost_sorted = lost.clone();
    lost_sorted.sort();
    assert_eq!(
        notices, lost_sorted,
        "the resident is told which were sent again"
    );

    // Sent again, they get codes of their own, which name them on the gateway.
    Outbox::new(first.clone(), Gateway::new(&gateway.url), TIMING)
        .drain(|| i64::MAX / 4)
        .await
        .expect("drain");
    pull_all(&first, &gateway.url).await;
    let http = reqwest::Client::new();
    for (id, code) in receipts(&first).await {
        let code = code.expect("sent again");
        let view: serde_json::Value = http
            .get(format!("{}/api/v1/reports/{code}", gateway.url))
            .send()
            .await
            .expect("the gateway answers")
            .json()
            .await
            .expect("a report");
        assert_eq!(
            view["id"],
            id.to_string(),
            "{code} names this device's report"
        );
    }
    assert_eq!(
        first.report_views().await.expect("views").len(),
        5,
        "and the device holds the city's five reports"
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_gateway_is_noticed_by_a_device_that_synced_after_sending() {
    restored_gateway_case(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_gateway_is_noticed_by_a_device_that_did_not_sync_after_sending() {
    restored_gateway_case(false).await;
}

#[tokio::test]
async fn a_page_of_another_city_is_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("app.db")).await;
    let before = store.sync_record().await.expect("record");
    let page = SyncPage {
        changes: Vec::new(),
        next_cursor: 7,
        has_more: false,
        history_id: "abc".into(),
        head: 7,
        restart: false,
        city_id: "ha-noi".into(),
        server_time_ms: 1,
    };
    let refused = store.apply_page(0, &page, 5).await;
    assert!(
        matches!(&refused, Err(StoreError::OtherCity { served, .. }) if served == "ha-noi"),
        "{refused:?}"
    );
    assert_eq!(
        store.sync_record().await.expect("record"),
        before,
        "nothing kept"
    );
    let mine = SyncPage {
        city_id: pack().city.id,
        ..page
    };
    assert_eq!(
        store.apply_page(0, &mine, 5).await.expect("stored"),
        PageApplied::Stored
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_me_too_the_restored_gateway_lost_is_sent_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gateway.db");
    let backup = dir.path().join("backup.db");
    let gateway = TestGateway::start(&db).await;
    let author = device(&dir.path().join("author.db")).await;
    let report = send_reports(&author, &gateway.url, 1, "Cây đổ chắn lối")
        .await
        .remove(0);
    let neighbour = device(&dir.path().join("neighbour.db")).await;
    pull_all(&neighbour, &gateway.url).await;
    gateway.backup(&backup).await;

    // The neighbour says "me too" and syncs; then the gateway goes back to the backup.
    neighbour.support(report, 0).await.expect("me too");
    Outbox::new(neighbour.clone(), Gateway::new(&gateway.url), TIMING)
        .drain(|| i64::MAX / 4)
        .await
        .expect("drain");
    pull_all(&neighbour, &gateway.url).await;
    let supporters = |store: Store| async move {
        store
            .report_views()
            .await
            .expect("views")
            .into_iter()
            .find(|v| v.id == report)
            .expect("the report")
            .supporters
    };
    let counted = supporters(neighbour.clone()).await;
    gateway.restore(&db, &backup).await;
    let gateway = TestGateway::start(&db).await;

    // The neighbour's next sync notices, and its "me too" goes again, counted once.
    pull_all(&neighbour, &gateway.url).await;
    assert_eq!(
        neighbour.outbox_len().await.expect("outbox"),
        1,
        "the me too is queued again"
    );
    Outbox::new(neighbour.clone(), Gateway::new(&gateway.url), TIMING)
        .drain(|| i64::MAX / 4)
        .await
        .expect("drain");
    pull_all(&neighbour, &gateway.url).await;
    assert_eq!(supporters(neighbour.clone()).await, counted);
    // Sent once more, it is not counted twice.
    pull_all(&author, &gateway.url).await;
    assert_eq!(supporters(author.clone()).await, counted);
    gateway.stop().await;
}
