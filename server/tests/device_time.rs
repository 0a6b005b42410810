//! A device's clock may be wrong: the gateway dates reports by it only where that is
//! plausible, and tells devices its own time.

mod common;

use common::{Api, first_two_categories, report, start};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_report_from_a_phone_with_a_wrong_clock_is_dated_when_it_arrived() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let before = citizen_server::now_ms();
    let hour_ago = before - 3_600_000;
    for (device_ms, kept) in [
        (1_136_073_600_000_i64, false), // 2006
        (1_925_000_000_000, false),     // 2031
        (hour_ago, true),               // an hour in the outbox
    ] {
        let mut sub = report(&category, &[]);
        sub["created_at_ms"] = json!(device_ms);
        let (status, receipt) = api.json(Method::POST, "/api/v1/reports", &sub).await;
        assert_eq!(status, 200, "{receipt}");
        let id = receipt["id"].as_str().expect("id");
        let (_, view) = api
            .send(Method::GET, &format!("/api/v1/reports/{id}"), &[], vec![])
            .await;
        let created = view["created_at_ms"].as_i64().expect("a time");
        if kept {
            assert_eq!(created, device_ms, "a plausible time is the device's");
        } else {
            assert_eq!(
                created, view["history"][0]["at_ms"],
                "{device_ms} is not believed: the receive time stands"
            );
        }
    }
    let (_, page) = api
        .send(Method::GET, "/api/v1/sync?since=0&limit=1", &[], vec![])
        .await;
    let server_time = page["server_time_ms"].as_i64().expect("the gateway's time");
    assert!(
        (before..=citizen_server::now_ms()).contains(&server_time),
        "the page carries the gateway's clock: {server_time}"
    );
    gw.stop().await;
}
