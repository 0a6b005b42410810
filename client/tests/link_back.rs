//! When the link comes back, what waited out a failed link is sent at once, not after its
//! old retry delay; what the gateway refused, or asked to wait for, keeps its delay. Real
//! stores, a real gateway.

mod common;

use citizen_client::Gateway;
use citizen_client::outbox::Outbox;
use citizen_client::syncer::now_ms;
use citizen_core::sync::{PullEvent, PullTiming};
use common::{TestGateway, device, queue_report};

/// Back-off as the app has it at its longest: a minute.
const TIMING: PullTiming = PullTiming {
    interval_ms: 30_000,
    backoff_base_ms: 30_000,
    backoff_max_ms: 60_000,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_sync_sends_the_waiting_reports_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("phone.db")).await;
    for i in 0..2 {
        queue_report(&store, &format!("Cống nghẹt {i}")).await;
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
    let gateway = TestGateway::start(&dir.path().join("gw.db")).await;
    let url = gateway.url.clone();
    let syncer = common::syncer(&store, &url);
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
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_gateway_s_retry_after_is_honoured() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A gateway too busy to take reports: 503 with "Retry-After: 120" (RFC 9110, 10.2.3).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buffer).await;
                let body = r#"{"code":"internal","message":"busy"}"#;
                let answer = format!(
                    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("phone.db")).await;
    queue_report(&store, "Ngập sau mưa").await;
    let quick = PullTiming {
        interval_ms: 1_000,
        backoff_base_ms: 10,
        backoff_max_ms: 100,
    };
    let before = now_ms();
    Outbox::new(store.clone(), Gateway::new(&url), quick)
        .drain(now_ms)
        .await
        .expect("drain");
    let next = store
        .next_attempt_ms(now_ms())
        .await
        .expect("next")
        .expect("the report waits");
    assert!(
        next >= before + 120_000,
        "not sooner than the gateway asked: {} s",
        (next - before) / 1_000
    );
    assert_eq!(
        store.outbox_len().await.expect("outbox"),
        1,
        "and it is kept"
    );
    let mine = store.my_reports().await.expect("my reports");
    assert!(
        matches!(
            mine[0].delivery,
            citizen_core::report::Delivery::Waiting {
                problem: Some(citizen_core::views::SyncProblem::Gateway),
                ..
            }
        ),
        "a busy server is the city's server's problem: {:?}",
        mine[0].delivery
    );
    // The feed's pull loop is told to wait as long (the machine then waits at least that).
    assert_eq!(
        common::syncer(&store, &url).pull_once().await,
        PullEvent::AskedToWait { wait_ms: 120_000 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_set_back_does_not_hold_a_report_for_its_old_delay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("phone.db")).await;
    queue_report(&store, "Cột điện nghiêng").await;
    // A phone two days ahead fails to send: its retry is set on that clock.
    let ahead = now_ms() + 2 * 86_400_000;
    Outbox::new(store.clone(), Gateway::new("http://127.0.0.1:9"), TIMING)
        .drain(move || ahead)
        .await
        .expect("drain");
    assert_eq!(store.next_due(ahead).await.expect("due"), None, "it waits");
    // The clock is corrected: the report is due now, not in two days.
    let corrected = now_ms();
    assert!(store.next_due(corrected).await.expect("due").is_some());
    assert_eq!(
        store.next_attempt_ms(corrected).await.expect("next"),
        Some(corrected)
    );
}
