//! Two gateway instances on one database, as behind a load balancer: the sync feed skips and
//! doubles nothing while writers on both instances and readers paging both run at once, a
//! report or a "me too" sent to both at the same moment counts once, tracking codes stay
//! unique, and an upload started on one instance finishes on the other. Runs on SQLite and,
//! with `CITIZEN_TEST_BACKEND=postgres`, on PostgreSQL (where several instances is how a
//! province scales out).

mod common;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use citizen_core::{ChangeOp, Entity, Reading, SyncPage};
use citizen_server::store::NewObservation;
use common::{Api, Gateway, another_instance, jpeg, report, sha, start};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const WRITERS: usize = 6;
const REPORTS_PER_WRITER: usize = 15;
const READERS: usize = 4;
/// Batches of readings, each written in one long transaction (as a station logger's late
/// batch is): a transaction that holds its first feed position while others would commit
/// later ones is the case a sequence-numbered feed gets wrong.
const BATCHES: usize = 6;
const READINGS_PER_BATCH: usize = 400;

fn category() -> String {
    common::first_two_categories().0
}

/// One reader's view of the feed: every change it was given, in the order given.
async fn read_feed(apis: [Api; 2], writing: Arc<AtomicBool>) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    let mut cursor = 0_i64;
    let mut turn = 0_usize;
    loop {
        // Read "done" before paging: a drain that starts after every writer finished must
        // see everything.
        let done = !writing.load(Ordering::SeqCst);
        loop {
            let api = &apis[turn % 2];
            turn += 1;
            let page: SyncPage = api
                .http
                .get(format!("{}/api/v1/sync?since={cursor}&limit=5", api.base))
                .send()
                .await
                .expect("the feed answers")
                .json()
                .await
                .expect("a page");
            assert!(!page.restart, "one history on both instances");
            for change in &page.changes {
                let id = match &change.op {
                    ChangeOp::Upsert { entity } => entity.id(),
                    ChangeOp::Delete { id, .. } => id.clone(),
                };
                seen.push((change.seq, id));
            }
            cursor = page.next_cursor;
            if !page.has_more {
                break;
            }
        }
        if done {
            return seen;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_feed_skips_and_doubles_nothing_with_writers_and_readers_on_two_instances() {
    let a = start().await;
    let b = another_instance(&a).await;
    let writing = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let apis = [Api::new(&a), Api::new(&b)];
            tokio::spawn(read_feed(apis, writing.clone()))
        })
        .collect();
    let category = category();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let apis = [Api::new(&a), Api::new(&b)];
            let category = category.clone();
            tokio::spawn(async move {
                let mut receipts = Vec::new();
                for i in 0..REPORTS_PER_WRITER {
                    let body = report(&category, &[]);
                    let (status, receipt) = apis[(w + i) % 2]
                        .json(Method::POST, "/api/v1/reports", &body)
                        .await;
                    assert_eq!(status, 200, "{receipt}");
                    receipts.push(receipt);
                }
                receipts
            })
        })
        .collect();
    let stations = a.app_store.station_entities().await.expect("stations");
    let station = stations[0].station_id.clone();
    let (parameter, datastream) = stations[0].datastreams[0].clone();
    let feature = a
        .app_store
        .datastream_limits(&[datastream])
        .await
        .expect("limits")[&datastream]
        .feature_id;
    let batches: Vec<_> = (0..BATCHES)
        .map(|n| {
            let store = if n % 2 == 0 {
                a.app_store.clone()
            } else {
                b.app_store.clone()
            };
            let (station, parameter) = (station.clone(), parameter.clone());
            tokio::spawn(async move {
                // Within the days the feed carries readings for.
                let start = citizen_server::now_ms() - 3 * 86_400_000;
                let times: Vec<i64> = (0..READINGS_PER_BATCH)
                    .map(|i| start + (n * READINGS_PER_BATCH + i) as i64 * 60_000)
                    .collect();
                let batch: Vec<NewObservation> = times
                    .iter()
                    .map(|t| NewObservation {
                        datastream_id: datastream,
                        feature_id: feature,
                        phenomenon_time_ms: *t,
                        result_time_ms: None,
                        result: 1.5,
                        parameters: None,
                        simulated: true,
                    })
                    .collect();
                let stored = store.insert_observations(&batch, 0).await.expect("a batch");
                assert!(stored.iter().all(Result::is_ok), "{stored:?}");
                times
                    .iter()
                    .map(|t| {
                        Entity::Reading(Reading {
                            station_id: station.clone(),
                            parameter: parameter.clone(),
                            observed_at_ms: *t,
                            value: 1.5,
                            simulated: true,
                        })
                        .id()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut receipts: Vec<Value> = Vec::new();
    for writer in writers {
        receipts.extend(writer.await.expect("a writer"));
    }
    let mut written: BTreeSet<String> = receipts
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(written.len(), WRITERS * REPORTS_PER_WRITER);
    for batch in batches {
        written.extend(batch.await.expect("a batch"));
    }
    writing.store(false, Ordering::SeqCst);
    assert_eq!(
        written.len(),
        WRITERS * REPORTS_PER_WRITER + BATCHES * READINGS_PER_BATCH
    );
    let codes: HashSet<&str> = receipts
        .iter()
        .map(|r| r["tracking_code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes.len(), receipts.len(), "tracking codes are unique");

    let mut first: Option<Vec<(i64, String)>> = None;
    for reader in readers {
        let seen = reader.await.expect("a reader");
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "positions only grow: nothing twice, one order"
        );
        let given: BTreeSet<String> = seen
            .iter()
            .map(|(_, id)| id.clone())
            .filter(|id| written.contains(id))
            .collect();
        let missing: Vec<_> = written.difference(&given).collect();
        assert!(
            missing.is_empty(),
            "a reader missed {} of {} changes: {missing:?}",
            missing.len(),
            written.len()
        );
        match &first {
            None => first = Some(seen),
            Some(first) => assert_eq!(first, &seen, "every reader was given the same feed"),
        }
    }
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_report_or_me_too_sent_to_two_instances_at_once_counts_once() {
    let a = start().await;
    let b = another_instance(&a).await;
    let (api_a, api_b) = (Api::new(&a), Api::new(&b));
    let category = category();
    let mut ids = Vec::new();
    for _ in 0..10 {
        let body = report(&category, &[]);
        let ((status_a, receipt_a), (status_b, receipt_b)) = tokio::join!(
            api_a.json(Method::POST, "/api/v1/reports", &body),
            api_b.json(Method::POST, "/api/v1/reports", &body)
        );
        assert_eq!((status_a, status_b), (200, 200), "{receipt_a} {receipt_b}");
        assert_eq!(receipt_a, receipt_b, "two identical receipts");
        ids.push(receipt_a["id"].as_str().expect("id").to_owned());
    }
    let reports = api_b.feed_reports().await;
    for id in &ids {
        assert_eq!(
            reports.iter().filter(|r| r.id.to_string() == *id).count(),
            1,
            "one report {id}"
        );
    }

    // A neighbour's "me too", retried on the other instance while the first is in flight.
    let target = &ids[0];
    let support = json!({"op_id": Uuid::now_v7(), "device_id": Uuid::now_v7()});
    let path = format!("/api/v1/reports/{target}/supports");
    let ((s1, r1), (s2, r2)) = tokio::join!(
        api_a.json(Method::POST, &path, &support),
        api_b.json(Method::POST, &path, &support)
    );
    assert_eq!((s1, s2), (200, 200), "{r1} {r2}");
    assert_eq!(r1["supporters"], 1, "{r1}");
    assert_eq!(r2["supporters"], 1, "{r2}");
    // The same device again with another op id, on both at once: still one.
    let device = support["device_id"].clone();
    let (again_a, again_b) = (
        json!({"op_id": Uuid::now_v7(), "device_id": device}),
        json!({"op_id": Uuid::now_v7(), "device_id": device}),
    );
    let ((_, r3), (_, r4)) = tokio::join!(
        api_a.json(Method::POST, &path, &again_a),
        api_b.json(Method::POST, &path, &again_b)
    );
    assert_eq!(
        (r3["supporters"].clone(), r4["supporters"].clone()),
        (json!(1), json!(1))
    );
    // Two neighbours at once on the two instances: both count.
    let (first, second) = (
        json!({"op_id": Uuid::now_v7(), "device_id": Uuid::now_v7()}),
        json!({"op_id": Uuid::now_v7(), "device_id": Uuid::now_v7()}),
    );
    let ((_, r5), (_, r6)) = tokio::join!(
        api_a.json(Method::POST, &path, &first),
        api_b.json(Method::POST, &path, &second)
    );
    let counts: BTreeSet<u64> = [&r5, &r6]
        .iter()
        .map(|r| r["supporters"].as_u64().expect("count"))
        .collect();
    assert_eq!(counts, BTreeSet::from([2, 3]), "{r5} {r6}");
    let view = api_a
        .feed_reports()
        .await
        .into_iter()
        .find(|r| r.id.to_string() == *target)
        .expect("the report");
    assert_eq!(view.supporters, 3, "three devices said me too");
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_started_on_one_instance_finishes_on_the_other() {
    let a = start().await;
    let b = another_instance(&a).await;
    let (api_a, api_b) = (Api::new(&a), Api::new(&b));
    let photo = jpeg(640, 480, 7);
    let id = api_a.announce(photo.len(), &sha(&photo)).await;
    let half = photo.len() / 2;
    let (status, body) = api_a.patch(id, 0, &photo[..half]).await;
    assert_eq!(status, 200, "{body}");

    // The link drops; the device's next request lands on the other instance.
    let (status, state) = api_b
        .send(
            Method::GET,
            &format!("/api/v1/uploads/{id}"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(
        state["offset"], half,
        "the other instance knows how far it got"
    );
    // Announcing it again there answers the same.
    let (status, again) = api_b
        .json(
            Method::POST,
            "/api/v1/uploads",
            &json!({"id": id, "size": photo.len(), "sha256": sha(&photo)}),
        )
        .await;
    assert_eq!((status, &again["offset"]), (200, &json!(half)), "{again}");
    let (status, done) = api_b.patch(id, half, &photo[half..]).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["complete"], true, "{done}");

    // The report naming it goes to the first instance; the photo is served by both.
    let photo_ref = json!([{"id": id, "sha256": sha(&photo), "size": photo.len()}]);
    let mut body = report(&category(), &[]);
    body["photos"] = photo_ref;
    let (status, receipt) = api_a.json(Method::POST, "/api/v1/reports", &body).await;
    assert_eq!(status, 200, "{receipt}");
    for gw in [&a, &b] {
        let res = reqwest::get(format!("{}/api/v1/photos/{id}", gw.base))
            .await
            .expect("photo");
        assert_eq!(res.status(), 200);
        assert!(!res.bytes().await.expect("bytes").is_empty());
    }
    stop_both(a, b).await;
}

async fn stop_both(a: Gateway, b: Gateway) {
    b.stop().await;
    a.stop().await;
}

/// The `head` of each `feed` event of a server-sent event stream, as they come.
fn feed_heads(res: reqwest::Response) -> tokio::sync::mpsc::UnboundedReceiver<i64> {
    use futures::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut body = res.bytes_stream();
        let mut text = String::new();
        while let Some(Ok(bytes)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&bytes));
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                let is_feed = event.lines().any(|l| l == "event: feed");
                let data = event.lines().find_map(|l| l.strip_prefix("data: "));
                if let (true, Some(data)) = (is_feed, data) {
                    let value: Value = serde_json::from_str(data).expect("json data");
                    if tx.send(value["head"].as_i64().expect("head")).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_of_one_instance_is_told_of_a_change_written_on_the_other() {
    let a = start().await;
    let b = another_instance(&a).await;
    let res = reqwest::get(format!("{}/api/v1/sync/events", b.base))
        .await
        .expect("events");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().expect("ascii"),
        "text/event-stream"
    );
    let mut heads = feed_heads(res);
    let first = tokio::time::timeout(std::time::Duration::from_secs(2), heads.recv())
        .await
        .expect("an event at once")
        .expect("a head");
    assert_eq!(first, a.app_store.head().await.expect("head"));

    let (status, receipt) = Api::new(&a)
        .json(Method::POST, "/api/v1/reports", &report(&category(), &[]))
        .await;
    assert_eq!(status, 200, "{receipt}");
    let moved = tokio::time::timeout(std::time::Duration::from_secs(2), heads.recv())
        .await
        .expect("told within 2 s, before the 5 s recheck: by the notification")
        .expect("a head");
    assert!(moved > first, "the head moved: {first} → {moved}");
    assert_eq!(moved, a.app_store.head().await.expect("head"));
    stop_both(a, b).await;
}
