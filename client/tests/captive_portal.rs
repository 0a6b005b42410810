//! Behind a public wifi's sign-in page every request is answered with a web page or a
//! redirect to the login: nothing is lost, nothing of it is stored, and the app says to sign
//! in to the wifi instead of showing a raw decoding error.

mod common;

use citizen_client::outbox::Outbox;
use citizen_client::{Gateway, Syncer};
use citizen_core::report::Delivery;
use citizen_core::sync::{PullEvent, PullTiming};
use citizen_core::views::{SyncProblem, SyncState};
use common::{device, queue_report};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMING: PullTiming = PullTiming {
    interval_ms: 1_000,
    backoff_base_ms: 10,
    backoff_max_ms: 100,
};

/// A sign-in portal on loopback answering every request with `answer`; its URL.
async fn portal(answer: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

const LOGIN_PAGE: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
    Content-Length: 51\r\nConnection: close\r\n\r\n<html><body>Dang nhap wifi mien phi</body></html>\r\n";
const REDIRECT: &str = "HTTP/1.1 302 Found\r\nLocation: http://login.portal.example/\r\n\
    Content-Length: 0\r\nConnection: close\r\n\r\n";

async fn case(answer: &'static str) {
    let url = portal(answer).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("phone.db")).await;
    queue_report(&store, "Cây ngã chắn đường").await;
    let before = store.sync_record().await.expect("record");

    let syncer = Syncer::new(
        store.clone(),
        Gateway::new(&url),
        std::time::Duration::from_secs(30),
    );
    assert_eq!(
        syncer.pull_once().await,
        PullEvent::Failed,
        "a web page is no feed"
    );
    let drained = Outbox::new(store.clone(), Gateway::new(&url), TIMING)
        .drain(citizen_client::syncer::now_ms)
        .await
        .expect("drain");
    assert!(
        drained.stopped_by.is_some(),
        "the report is not taken as sent"
    );
    assert_eq!(
        store.outbox_len().await.expect("outbox"),
        1,
        "and it is kept"
    );
    // The report's line says to sign in to the wifi, in the app's language, not the raw error.
    let mine = store.my_reports().await.expect("my reports");
    assert!(
        matches!(
            mine[0].delivery,
            Delivery::Waiting {
                problem: Some(SyncProblem::SignInPage),
                ..
            }
        ),
        "{:?}",
        mine[0].delivery
    );

    let record = store.sync_record().await.expect("record");
    assert_eq!(
        (record.cursor, record.data_version),
        (before.cursor, before.data_version),
        "nothing of the page is stored"
    );
    let (handle, _loop) = Syncer::new(
        store.clone(),
        Gateway::new(&url),
        std::time::Duration::from_secs(30),
    )
    .start();
    let status = handle.status().await.expect("status");
    assert_eq!(status.state, SyncState::Offline);
    assert_eq!(
        status.problem,
        Some(SyncProblem::SignInPage),
        "the resident is told to sign in to the wifi: {:?}",
        status.last_error
    );
}

#[tokio::test]
async fn a_sign_in_page_is_recognised_and_nothing_is_lost() {
    case(LOGIN_PAGE).await;
}

#[tokio::test]
async fn a_redirect_to_a_login_is_recognised_and_nothing_is_lost() {
    case(REDIRECT).await;
}

/// A gateway of another city (the address was mistyped): its feed is refused, nothing of it
/// is kept, and the status line says to check the server address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_of_another_city_is_said_on_the_status_line() {
    const OTHER_CITY: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
        Content-Length: 111\r\nConnection: close\r\n\r\n\
        {\"changes\":[],\"next_cursor\":0,\"has_more\":false,\"history_id\":\"h-1\",\"head\":0,\"city_id\":\"can-tho\",\"restart\":false}";
    let url = portal(OTHER_CITY).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("phone.db")).await;
    let before = store.sync_record().await.expect("record");
    let syncer = Syncer::new(
        store.clone(),
        Gateway::new(&url),
        std::time::Duration::from_secs(30),
    );
    assert_eq!(syncer.pull_once().await, PullEvent::Failed);
    let record = store.sync_record().await.expect("record");
    assert_eq!(record.last_problem, Some(SyncProblem::OtherCity));
    assert_eq!(
        SyncState::of(false, record.offline_since_ms, record.last_success_ms),
        SyncState::Offline
    );
    assert_eq!(
        SyncProblem::OtherCity.message_key(),
        "sync-other-city",
        "said in words that name what to check"
    );
    assert_eq!(
        (record.cursor, record.data_version),
        (before.cursor, before.data_version)
    );
}
