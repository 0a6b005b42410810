//! The feed says which history it is, and tells a client whose cursor is not part of it.

mod common;

use common::{Api, first_two_categories, report, start};
use reqwest::Method;
use serde_json::Value;

async fn page(api: &Api, query: &str) -> Value {
    let (status, page) = api
        .send(Method::GET, &format!("/api/v1/sync?{query}"), &[], vec![])
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    page
}

#[tokio::test]
async fn a_cursor_outside_the_feed_s_history_is_told_to_restart() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let (status, receipt) = api
        .json(Method::POST, "/api/v1/reports", &report(&category, &[]))
        .await;
    assert_eq!(status, 200, "{receipt}");
    let first = page(&api, "since=0&limit=1000").await;
    let head = first["head"].as_i64().expect("a head");
    assert_eq!(
        first["next_cursor"].as_i64(),
        Some(head),
        "one page holds it all"
    );
    assert_eq!(first["restart"], false);
    assert_eq!(first["city_id"], "my-tho");
    let history = first["history_id"].as_str().expect("a history").to_owned();
    assert_eq!(history.len(), 32, "128 random bits in hex: {history}");
    let id = receipt["id"].as_str().expect("id");

    let in_history = page(&api, &format!("since={head}&at_kind=report&at_id={id}")).await;
    assert_eq!(in_history["restart"], false, "{in_history}");
    assert_eq!(
        in_history["history_id"],
        history.as_str(),
        "the same history"
    );

    for (query, why) in [
        (format!("since={}", head + 5), "a cursor past the head"),
        (
            format!("since={head}&at_kind=report&at_id=00000000-0000-7000-8000-000000000000"),
            "a record this feed never had",
        ),
        (
            format!("since={}&at_kind=city&at_id=my-tho", head),
            "a record older here than the cursor says",
        ),
    ] {
        let answer = page(&api, &query).await;
        assert_eq!(answer["restart"], true, "{why}: {answer}");
        assert_eq!(answer["changes"], serde_json::json!([]), "{why}");
        assert_eq!(answer["next_cursor"], 0, "{why}");
    }

    // The history outlives a restart of the gateway on the same database; another database
    // has another.
    let dir = gw.stop().await;
    let again = citizen_server::Application::build(&common::config(&dir))
        .await
        .expect("the gateway starts again");
    let history_again: String = sqlx::query_scalar("SELECT history_id FROM feed_seq WHERE id = 1")
        .fetch_one(again.store().pool())
        .await
        .expect("history");
    assert_eq!(history_again, history, "kept across restarts");
    let other = start().await;
    let other_page = page(&Api::new(&other), "since=0&limit=1").await;
    assert_ne!(
        other_page["history_id"],
        history.as_str(),
        "another database"
    );
    other.stop().await;
}

/// A NUL in a lookup matches nothing, as it does on SQLite; PostgreSQL, which refuses NULs in
/// text, must not turn it into a 500 (found by the API fuzzing on PostgreSQL).
#[tokio::test]
async fn a_nul_in_a_lookup_matches_nothing_on_either_engine() {
    let gw = common::start().await;
    let api = common::Api::new(&gw);
    let head = gw.app_store.head().await.expect("head");
    let (status, page) = api
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/sync?since={head}&at_kind=%00&at_id=x%00"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["restart"], true, "no such record in this feed");
    let (status, _) = api
        .send(
            reqwest::Method::GET,
            "/api/v1/reports/MT%0000001",
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 404);
    gw.stop().await;
}
