//! The offline store and its pull sync against the real gateway on loopback.

use std::path::PathBuf;

use citizen_client::{Gateway, Store, Syncer};
use citizen_core::sync::PullEvent;
use citizen_core::views::SyncState;
use citizen_core::{CityPack, Entity, PlaceKind, Position};

fn pack() -> CityPack {
    CityPack::parse(citizen_core::city::default_pack_sources()).expect("bundled pack")
}

async fn gateway(
    dir: &tempfile::TempDir,
    simulate: bool,
) -> (
    String,
    citizen_server::Store,
    tokio::sync::oneshot::Sender<()>,
) {
    let config = citizen_server::Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: citizen_testdb::database_url(dir.path(), "gw"),
        city_pack: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/cities/my-tho"),
        simulate_every: simulate.then(|| std::time::Duration::from_secs(300)),
        public_url: None,
        code_sender: std::sync::Arc::new(citizen_server::otp::LogSender),
    };
    let app = citizen_server::Application::build(&config)
        .await
        .expect("gateway");
    let url = format!("http://{}", app.local_addr().expect("addr"));
    let store = app.store().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    (url, store, tx)
}

async fn drain(syncer: &Syncer) -> PullEvent {
    loop {
        match syncer.pull_once().await {
            PullEvent::PageStored { has_more: true } => continue,
            other => return other,
        }
    }
}

#[tokio::test]
async fn the_first_start_works_offline_from_the_bundled_pack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("app.db"))
        .await
        .expect("store");
    assert!(
        store.bootstrap(&pack()).await.expect("bootstrap"),
        "first start writes the pack"
    );
    assert!(
        !store.bootstrap(&pack()).await.expect("bootstrap"),
        "second start does not"
    );

    let overview = store
        .overview()
        .await
        .expect("overview")
        .expect("city data");
    assert_eq!(overview.hotspots, 25);
    let temples = store.places(Some(PlaceKind::Temple)).await.expect("places");
    assert!(temples.iter().all(|p| p.kind == PlaceKind::Temple) && temples.len() >= 3);
    let centre = overview.city.center();
    let near = store.nearest_hotspots(centre, 25).await.expect("nearest");
    assert!(
        near.windows(2).all(|w| w[0].distance_m <= w[1].distance_m),
        "nearest first"
    );

    // No gateway listens on port 9 of loopback: the sync fails and says offline.
    let syncer = Syncer::new(
        store.clone(),
        Gateway::new("http://127.0.0.1:9"),
        std::time::Duration::from_secs(30),
    );
    let (handle, _run) = Syncer::new(
        store.clone(),
        Gateway::new("http://127.0.0.1:9"),
        std::time::Duration::from_secs(30),
    )
    .start();
    assert_eq!(syncer.pull_once().await, PullEvent::Failed);
    let status = handle.status().await.expect("status");
    assert_eq!(status.state, SyncState::Offline, "{status:?}");
    assert!(status.offline_since_ms.is_some() && status.last_error.is_some());
    assert_eq!(
        store.sync_record().await.expect("record").cursor,
        0,
        "the cursor did not move"
    );
    assert_eq!(
        store
            .overview()
            .await
            .expect("overview")
            .expect("data")
            .hotspots,
        25,
        "data kept"
    );
}

#[tokio::test]
async fn pull_sync_brings_gateway_changes_and_readings_into_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, gw_store, stop) = gateway(&dir, true).await;
    // The gateway's simulated loggers post their first readings through its SensorThings
    // API once it serves: wait for every Datastream to have some.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let have = gw_store.latest_observation_times().await.expect("latest");
        let want: usize = gw_store
            .station_entities()
            .await
            .expect("stations")
            .iter()
            .map(|s| s.datastreams.len())
            .sum();
        if want > 0 && have.len() == want {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the simulated loggers posted nothing in 30 s ({} of {want} Datastreams)",
            have.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let store = Store::open(&dir.path().join("app.db"))
        .await
        .expect("store");
    store.bootstrap(&pack()).await.expect("bootstrap");
    let syncer = Syncer::new(
        store.clone(),
        Gateway::new(&url),
        std::time::Duration::from_secs(30),
    );
    let (handle, _run) = Syncer::new(
        store.clone(),
        Gateway::new(&url),
        std::time::Duration::from_secs(30),
    )
    .start();

    assert_eq!(
        drain(&syncer).await,
        PullEvent::PageStored { has_more: false }
    );
    let record = store.sync_record().await.expect("record");
    assert_eq!(
        record.cursor,
        gw_store.head().await.expect("head"),
        "caught up with the feed"
    );
    assert_eq!(
        handle.status().await.expect("status").state,
        SyncState::Synced
    );
    let stations = store.station_statuses().await.expect("stations");
    assert!(stations.len() >= 3);
    for s in &stations {
        let salinity = s
            .latest
            .iter()
            .find(|v| v.parameter.code == "salinity")
            .expect("salinity");
        let reading = salinity
            .reading
            .as_ref()
            .expect("a simulated reading arrived");
        assert!(reading.simulated, "labelled as simulated");
    }

    // A hotspot that exists only on the gateway reaches the store through the feed.
    let mut extra = pack().hotspots[0].clone();
    extra.id = "wifi-gateway-only".into();
    extra.position = Position {
        lon: 106.3601,
        lat: 10.3541,
    };
    gw_store
        .upsert(&[Entity::Hotspot(extra)])
        .await
        .expect("publish");
    let version_before = store.sync_record().await.expect("record").data_version;
    assert_eq!(
        drain(&syncer).await,
        PullEvent::PageStored { has_more: false }
    );
    let ids: Vec<String> = store
        .hotspots()
        .await
        .expect("hotspots")
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert!(
        ids.contains(&"wifi-gateway-only".to_owned()),
        "synced hotspot stored"
    );
    assert!(
        store.sync_record().await.expect("record").data_version > version_before,
        "screens are told"
    );

    // Withdrawn on the gateway: gone from the store.
    gw_store
        .delete(citizen_core::EntityKind::Hotspot, "wifi-gateway-only")
        .await
        .expect("delete");
    drain(&syncer).await;
    assert_eq!(store.hotspots().await.expect("hotspots").len(), 25);
    let _ = stop.send(());
}

#[tokio::test]
async fn a_page_for_another_cursor_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _gw_store, stop) = gateway(&dir, false).await;
    let store = Store::open(&dir.path().join("app.db"))
        .await
        .expect("store");
    let page = Gateway::new(&url)
        .sync_page(0, 10, None)
        .await
        .expect("page");
    store.apply_page(0, &page, 1).await.expect("first apply");
    let err = store
        .apply_page(0, &page, 2)
        .await
        .expect_err("the cursor moved on");
    assert!(err.to_string().contains("cursor"), "{err}");
    let record = store.sync_record().await.expect("record");
    assert_eq!(
        record.cursor, page.next_cursor,
        "stays where the first apply left it"
    );
    assert_eq!(
        record.last_success_ms,
        Some(1),
        "the refused page left no trace"
    );
    let _ = stop.send(());
}
