//! The real app under Xvfb, driven by WebDriver, started on a store whose header is garbage
//! (it used to exit at once, with no window): it opens, says what happened and what it
//! recovered, and the salvaged report reaches the city's gateway.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use citizen_e2e::{
    Display, Driver, GatewayProcess, binary, eventually, free_port, phone_with_a_waiting_report,
    quit, root, wait_text,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_opens_on_a_damaged_store_and_sends_what_it_salvaged() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let data_dir = tmp.path().join("app");
    let store_path = data_dir.join("citizen.db");

    // A phone with a report waiting for a signal…
    phone_with_a_waiting_report(&data_dir, "Nắp cống bị vỡ trước trường học", false).await?;
    ensure!(
        std::fs::metadata(data_dir.join("citizen.db-wal")).map_or(0, |m| m.len()) == 0,
        "closed, the store is one file"
    );
    // …whose store file then loses its header.
    let mut bytes = std::fs::read(&store_path)?;
    bytes[..100].fill(0x5a);
    std::fs::write(&store_path, bytes)?;

    let port = free_port()?;
    let gateway_url = format!("http://127.0.0.1:{port}");
    let _gateway = GatewayProcess::start("debug", &tmp.path().join("gateway.db"), port)?;
    let display = Display::get()?;
    let driver = Driver::start(
        &display,
        binary("citizen-app", "debug")?,
        &[
            ("CITIZEN_GATEWAY_URL", gateway_url.clone()),
            ("CITIZEN_DATA_DIR", data_dir.display().to_string()),
            ("CITIZEN_SYNC_INTERVAL_SECS", "1".to_owned()),
        ],
    )?;
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    let notice = wait_text(&app, "#notice-salvaged", "1 phản ánh chưa gửi").await?;
    ensure!(
        notice.contains("citizen.damaged-"),
        "the notice names the file kept aside: {notice}"
    );
    let shots = root().join("target/e2e");
    std::fs::create_dir_all(&shots)?;
    std::fs::write(shots.join("salvaged.png"), app.screenshot().await?)?;

    // The salvaged report reaches the gateway.
    let http = reqwest::Client::new();
    let open311 = format!("{gateway_url}/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z");
    let received = eventually(Duration::from_secs(40), "the report on the gateway", || {
        let http = http.clone();
        let open311 = open311.clone();
        async move {
            let requests: Vec<serde_json::Value> = http.get(&open311).send().await?.json().await?;
            Ok(requests
                .into_iter()
                .find(|r| r["description"] == "Nắp cống bị vỡ trước trường học"))
        }
    })
    .await?;
    ensure!(
        received["service_request_id"].as_str().is_some(),
        "it has a tracking code: {received}"
    );
    let kept = std::fs::read_dir(&data_dir)?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("citizen.damaged-")
        })
        .count();
    ensure!(kept >= 1, "the damaged file is kept next to the store");
    quit(app).await.context("quit")?;
    drop(driver);
    Ok(())
}
