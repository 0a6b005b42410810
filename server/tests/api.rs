//! The gateway over HTTP on loopback, with a temporary database.

use citizen_core::{ChangeOp, Entity, SyncPage};
use citizen_server::{Application, store::Import};

mod common;

use common::{config, pack_dir, start};

async fn get(url: &str) -> (u16, serde_json::Value) {
    let res = reqwest::get(url).await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.expect("JSON body"))
}

#[tokio::test]
async fn the_feed_pages_through_the_whole_pack_in_order() {
    let gw = start().await;
    let mut since = 0;
    let mut seqs = Vec::new();
    let mut hotspots = 0;
    loop {
        let (status, body) = get(&format!("{}/api/v1/sync?since={since}&limit=17", gw.base)).await;
        assert_eq!(status, 200, "{body}");
        let page: SyncPage = serde_json::from_value(body).expect("a sync page");
        assert!(page.changes.len() <= 17, "the limit holds");
        for c in &page.changes {
            seqs.push(c.seq);
            if let ChangeOp::Upsert { entity } = &c.op
                && matches!(**entity, Entity::Hotspot(_))
            {
                hotspots += 1;
            }
        }
        assert!(page.next_cursor >= since, "the cursor never goes back");
        since = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "changes come in strictly increasing order"
    );
    assert_eq!(
        hotspots, 25,
        "every hotspot of the pack is in the feed once"
    );
    let (_, health) = get(&format!("{}/health", gw.base)).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["feed_head"], since,
        "the last cursor is the feed head"
    );
    let (_, empty) = get(&format!("{}/api/v1/sync?since={since}", gw.base)).await;
    assert_eq!(
        empty["changes"].as_array().map(Vec::len),
        Some(0),
        "nothing after the head"
    );
    assert_eq!(
        empty["next_cursor"], since,
        "an empty page keeps the cursor"
    );
    gw.stop().await;
}

#[tokio::test]
async fn bad_query_values_get_400_naming_the_parameter() {
    let gw = start().await;
    for (query, field) in [
        ("since=abc", "since"),
        ("since=-5", "since"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("since=1.5", "since"),
        ("limit=%FF", "limit"),
    ] {
        let (status, body) = get(&format!("{}/api/v1/sync?{query}", gw.base)).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["code"], "invalid_input", "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_restart_does_not_import_the_pack_again() {
    let gw = start().await;
    let head = gw.app_store.head().await.expect("head");
    assert!(head > 40, "the pack was imported: head {head}");
    let dir = gw.stop().await;
    let again = Application::build(&config(&dir)).await.expect("restarts");
    assert_eq!(
        again.store().head().await.expect("head"),
        head,
        "no change on restart"
    );
    let (pack, content) = citizen_server::pack::load_dir(&pack_dir()).expect("pack");
    let import = again
        .store()
        .import_pack(&pack, &content, 0)
        .await
        .expect("import");
    assert_eq!(import, Import::AlreadyImported);
    // A changed pack re-imports only what changed.
    let mut changed = pack.clone();
    changed.hotspots[0].ssid = "Renamed".into();
    let import = again
        .store()
        .import_pack(&changed, b"v2", 0)
        .await
        .expect("import v2");
    assert_eq!(
        import,
        Import::Imported { changed: 1 },
        "only the renamed hotspot"
    );
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_describes_every_route() {
    let gw = start().await;
    let (status, doc) = get(&format!("{}/api/v1/openapi.json", gw.base)).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    for path in ["/health", "/api/v1/sync", "/api/v1/openapi.json"] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} is documented"
        );
    }
    let params = doc["paths"]["/api/v1/sync"]["get"]["parameters"]
        .as_array()
        .expect("params");
    let names: Vec<&str> = params.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["since", "limit", "at_kind", "at_id"]);
    assert!(
        doc["components"]["schemas"]["SyncPage"].is_object(),
        "the page schema is there"
    );
    gw.stop().await;
}

#[tokio::test]
async fn withdrawn_records_reach_clients_as_deletions() {
    let gw = start().await;
    let head = gw.app_store.head().await.expect("head");
    let deleted = gw
        .app_store
        .delete(citizen_core::EntityKind::Hotspot, "wifi-01")
        .await
        .expect("delete");
    assert!(deleted, "wifi-01 existed");
    let (_, body) = get(&format!("{}/api/v1/sync?since={head}", gw.base)).await;
    assert_eq!(
        body["changes"][0],
        serde_json::json!({"seq": head + 1, "op": "delete", "kind": "hotspot", "id": "wifi-01"})
    );
    gw.stop().await;
}

/// Found by the sync model test: withdrawing a record that is not live used to drop its
/// transaction after taking the write lock, and the next publish failed with "database is
/// locked".
#[tokio::test]
async fn withdrawing_a_missing_record_leaves_the_database_writable() {
    let gw = start().await;
    let head = gw.app_store.head().await.expect("head");
    for _ in 0..3 {
        let deleted = gw
            .app_store
            .delete(citizen_core::EntityKind::Hotspot, "never-published")
            .await
            .expect("delete");
        assert!(!deleted, "nothing to withdraw");
    }
    let pack =
        citizen_core::CityPack::parse(citizen_core::city::default_pack_sources()).expect("pack");
    let mut extra = pack.hotspots[0].clone();
    extra.id = "after-missing-delete".into();
    let started = std::time::Instant::now();
    let changed = gw
        .app_store
        .upsert(&[Entity::Hotspot(extra)])
        .await
        .expect("publish");
    assert_eq!(changed, 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "no lock wait"
    );
    assert_eq!(
        gw.app_store.head().await.expect("head"),
        head + 1,
        "only the publish moved the feed"
    );
    gw.stop().await;
}
