//! What an operator watches: `/health` names the backend and says whether the database
//! answers (503 when it does not), and `/metrics` counts answers per route, times them, and
//! shows the feed head, the queues, the pool and database failures.

mod common;

use std::collections::HashMap;

use common::{Api, report, sha, start};
use reqwest::Method;
use serde_json::Value;

/// `name{labels}` → value, from an OpenMetrics text exposition.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn metrics(base: &str) -> (String, HashMap<String, f64>) {
    let res = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics");
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let text = res.text().await.expect("text");
    assert!(text.ends_with("# EOF\n"), "a whole exposition");
    (content_type, samples(&text))
}

async fn health(base: &str) -> (u16, Value) {
    let res = reqwest::get(format!("{base}/health"))
        .await
        .expect("health");
    (res.status().as_u16(), res.json().await.expect("json"))
}

#[tokio::test]
async fn health_and_metrics_tell_the_backend_the_feed_and_the_queues() {
    let gw = start().await;
    let backend = match citizen_testdb::backend() {
        citizen_testdb::Backend::Sqlite => "sqlite",
        citizen_testdb::Backend::Postgres => "postgres",
    };
    let (status, body) = health(&gw.base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["backend"], backend);
    assert_eq!(body["database_reachable"], true);

    let api = Api::new(&gw);
    for _ in 0..3 {
        let (status, _) = api
            .send(Method::GET, "/api/v1/sync?limit=1", &[], Vec::new())
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = api
        .send(Method::GET, "/api/v1/sync?limit=0", &[], Vec::new())
        .await;
    assert_eq!(status, 400);
    let _unfinished = api.announce(1000, &sha(b"never sent")).await;
    let (category, _) = common::first_two_categories();
    let (status, receipt) = api
        .json(Method::POST, "/api/v1/reports", &report(&category, &[]))
        .await;
    assert_eq!(status, 200, "{receipt}");

    // A method HTTP does not define is answered, and counted under `other`.
    let brew = reqwest::Method::from_bytes(b"BREW").expect("a method");
    let (status, _) = api.send(brew, "/health", &[], Vec::new()).await;
    assert_eq!(status, 405);

    let (content_type, m) = metrics(&gw.base).await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let sync = r#"method="GET",route="/api/v1/sync""#;
    assert_eq!(
        m[&format!("citizen_http_requests_total{{{sync},status=\"200\"}}")],
        3.0
    );
    assert_eq!(
        m[&format!("citizen_http_requests_total{{{sync},status=\"400\"}}")],
        1.0
    );
    assert_eq!(
        m[&format!("citizen_http_request_duration_seconds_count{{{sync}}}")],
        4.0
    );
    assert!(m[&format!("citizen_http_request_duration_seconds_sum{{{sync}}}")] > 0.0);
    let head = gw.app_store.head().await.expect("head") as f64;
    assert_eq!(m["citizen_feed_head"], head);
    assert_eq!(m["citizen_uploads_incomplete"], 1.0);
    let department = common::department_of(&category);
    assert_eq!(
        m[&format!("citizen_reports_open{{department=\"{department}\"}}")],
        1.0
    );
    assert_eq!(
        m[&format!("citizen_backend_info{{backend=\"{backend}\"}}")],
        1.0
    );
    assert_eq!(
        m[r#"citizen_http_requests_total{method="other",route="/health",status="405"}"#],
        1.0
    );
    assert!(
        !m.keys().any(|k| k.contains("BREW")),
        "no series per unknown method"
    );
    assert_eq!(m["citizen_database_up"], 1.0);
    assert_eq!(m["citizen_database_errors_total"], 0.0);
    assert_eq!(m["citizen_db_pool_max_connections"], 8.0);
    let open = m[r#"citizen_db_pool_connections{state="idle"}"#]
        + m[r#"citizen_db_pool_connections{state="in_use"}"#];
    assert!((1.0..=8.0).contains(&open), "{open} connections open");
    if backend == "postgres" {
        // A vanished instance cannot hold the feed lock for long.
        for (setting, value) in [
            ("idle_in_transaction_session_timeout", "1min"),
            ("lock_timeout", "30s"),
        ] {
            let shown: String = sqlx::query_scalar(&format!("SHOW {setting}"))
                .fetch_one(gw.app_store.pool())
                .await
                .expect("show");
            assert_eq!(shown, value, "{setting}");
        }
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_stops_answering_shows_in_health_and_metrics() {
    // Its own PostgreSQL, so stopping it harms no other test.
    let cluster = citizen_testdb::Cluster::start(citizen_testdb::Durability::Throwaway)
        .expect("a PostgreSQL cluster");
    let url = cluster.create_database("down").expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config(&dir);
    config.database_url = url;
    let app = citizen_server::Application::build(&config)
        .await
        .expect("gateway");
    let base = format!("http://{}", app.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    assert_eq!(health(&base).await.0, 200);

    drop(cluster);
    let (status, body) = health(&base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["backend"], "postgres");
    assert_eq!(body["database_reachable"], false);
    assert_eq!(body["feed_head"], Value::Null);
    let res = reqwest::get(format!("{base}/api/v1/sync"))
        .await
        .expect("answer");
    assert_eq!(res.status(), 500);
    let (_, m) = metrics(&base).await;
    assert_eq!(m["citizen_database_up"], 0.0);
    assert_eq!(m["citizen_database_errors_total"], 1.0);
    assert_eq!(
        m[r#"citizen_http_requests_total{method="GET",route="/api/v1/sync",status="500"}"#],
        1.0
    );
    let _ = stop.send(());
    let _ = server.await;
}
