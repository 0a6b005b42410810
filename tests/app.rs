//! The real app under Xvfb, driven by WebDriver, against a real gateway on loopback: what a
//! resident sees on first start, after a sync, after a restart, and with the gateway down.

use std::time::Duration;

use anyhow::{Context as _, Result};
use citizen_core::{CityPack, Entity, Position};
use citizen_e2e::{
    Display, Driver, GatewayProcess, binary, click, eventually, free_port, quit, root, text_of,
    wait_text,
};
use fantoccini::{Client, Locator};

const EXTRA_HOTSPOT: &str = "wifi-e2e-gateway-only";

/// `(id, distance)` of every hotspot row on the Wifi screen, in screen order.
async fn hotspot_rows(client: &Client) -> Result<Vec<(String, f64)>> {
    let mut rows = Vec::new();
    for el in client
        .find_all(Locator::Css("#wifi-list li.hotspot"))
        .await?
    {
        let id = el.attr("data-id").await?.unwrap_or_default();
        let distance = el
            .attr("data-distance-m")
            .await?
            .and_then(|d| d.parse::<f64>().ok())
            .context("each row carries its distance")?;
        rows.push((id, distance));
    }
    Ok(rows)
}

async fn wait_rows(
    client: &Client,
    what: &str,
    ok: impl Fn(&[(String, f64)]) -> bool,
) -> Result<Vec<(String, f64)>> {
    eventually(Duration::from_secs(30), what, || async {
        let rows = hotspot_rows(client).await?;
        Ok(ok(&rows).then_some(rows))
    })
    .await
}

async fn sync_state(client: &Client) -> Result<Option<String>> {
    match client.find(Locator::Css("#sync-status")).await {
        Ok(el) => Ok(el.attr("data-state").await?),
        Err(e) if e.is_no_such_element() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn wait_state(client: &Client, state: &str) -> Result<()> {
    eventually(
        Duration::from_secs(30),
        &format!("sync state {state}"),
        || async { Ok(sync_state(client).await?.filter(|s| s == state)) },
    )
    .await
    .map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_residents_journey_through_sync_language_restart_and_offline() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let db = tmp.path().join("gateway.db");
    let port = free_port()?;
    let mut gateway = GatewayProcess::start("debug", &db, port)?;
    let display = Display::get()?;
    let driver = Driver::start(
        &display,
        binary("citizen-app", "debug")?,
        &[
            ("CITIZEN_GATEWAY_URL", gateway.url()),
            (
                "CITIZEN_DATA_DIR",
                tmp.path().join("app").display().to_string(),
            ),
            ("CITIZEN_SYNC_INTERVAL_SECS", "1".to_owned()),
        ],
    )?;

    // First start: the home screen shows the city, in Vietnamese, and syncs.
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    wait_text(&app, "header h1", "Công dân số").await?;
    wait_state(&app, "synced").await?;
    let shots = root().join("target/e2e");
    std::fs::create_dir_all(&shots)?;
    std::fs::write(shots.join("home.png"), app.screenshot().await?)?;

    // Wifi: every hotspot of the pack, nearest first.
    click(&app, "#go-wifi").await?;
    let rows = wait_rows(&app, "25 hotspots", |r| r.len() == 25).await?;
    assert!(
        rows.windows(2).all(|w| w[0].1 <= w[1].1),
        "nearest first: {rows:?}"
    );
    assert!(
        !rows.iter().any(|(id, _)| id == EXTRA_HOTSPOT),
        "not on the gateway yet"
    );
    std::fs::write(shots.join("wifi.png"), app.screenshot().await?)?;

    // A hotspot published only on the gateway reaches the screen through sync and the cache.
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    let mut extra = pack.hotspots[0].clone();
    extra.id = EXTRA_HOTSPOT.into();
    extra.ssid = "E2E_Test".into();
    extra.position = Position {
        lon: pack.city.center[0] + 0.0001,
        lat: pack.city.center[1],
    };
    let gw_store = citizen_server::Store::open(&gateway.database_url).await?;
    gw_store.upsert(&[Entity::Hotspot(extra)]).await?;
    let rows = wait_rows(&app, "the gateway-only hotspot", |r| r.len() == 26).await?;
    assert_eq!(
        rows[0].0, EXTRA_HOTSPOT,
        "the new hotspot is the nearest: {rows:?}"
    );
    assert!(
        rows.windows(2).all(|w| w[0].1 <= w[1].1),
        "still nearest first"
    );

    // The language switch changes the text and is remembered across a restart.
    click(&app, "#lang-switch").await?;
    wait_text(&app, "header h1", "Citizen").await?;
    wait_text(&app, "#wifi h2", "Free wifi").await?;
    quit(app).await?;
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "My Tho").await?;
    wait_text(&app, "header h1", "Citizen").await?;
    quit(app).await?;

    // Gateway down, app restarted: cached data, and the app says it is offline.
    gateway.stop();
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "My Tho").await?;
    wait_state(&app, "offline").await?;
    wait_text(&app, "#sync-status", "Offline since").await?;
    click(&app, "#go-wifi").await?;
    let rows = wait_rows(&app, "cached hotspots", |r| r.len() == 26).await?;
    assert_eq!(
        rows[0].0, EXTRA_HOTSPOT,
        "the synced hotspot survived the restart offline"
    );
    click(&app, "#back").await?;
    click(&app, "#go-salinity").await?;
    let stations = eventually(Duration::from_secs(15), "stations", || async {
        let n = app
            .find_all(Locator::Css("#salinity .station"))
            .await?
            .len();
        Ok((n >= 3).then_some(n))
    })
    .await?;
    assert!(stations >= 3, "the three Tiền river stations");
    let salinity = text_of(
        &app,
        "#salinity .station .reading[data-parameter=salinity] .value",
    )
    .await?
    .unwrap_or_default();
    assert!(
        salinity.contains("g/L"),
        "a cached salinity value is shown offline: {salinity:?}"
    );
    std::fs::write(shots.join("salinity.png"), app.screenshot().await?)?;
    wait_text(&app, "#sync-status", "Offline since").await?;
    quit(app).await?;
    drop(driver);
    Ok(())
}
