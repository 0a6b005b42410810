//! Every screen of the real app under Xvfb, checked by axe-core (WCAG 2.0/2.1/2.2 A and AA)
//! in Vietnamese and in English: no violation. A new screen gets the same check by adding
//! one line to `SCREENS`.

use std::time::Duration;

use anyhow::{Result, bail};
use citizen_e2e::{
    Display, Driver, GatewayProcess, a11y, binary, click, element, free_port, quit, wait_text,
};
use fantoccini::Client;

/// The screens reached from the home screen: the tile to tap and the screen's root.
const SCREENS: &[(&str, &str)] = &[
    ("#go-explore", "#explore"),
    ("#go-wifi", "#wifi"),
    ("#go-salinity", "#salinity"),
    ("#go-services", "#services"),
    ("#go-reports", "#reports"),
];

/// Runs axe on the page as it is; each violation is prefixed with `state`.
async fn check(app: &Client, state: &str, found: &mut Vec<String>) -> Result<()> {
    // Let the screen's data arrive and render.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for v in a11y::violations(app).await? {
        found.push(format!("{state}: {v}"));
    }
    Ok(())
}

async fn every_screen(app: &Client, lang: &str, found: &mut Vec<String>) -> Result<()> {
    element(app, "#home .city-name").await?;
    check(app, &format!("[{lang}] home"), found).await?;
    for (tile, screen) in SCREENS {
        click(app, tile).await?;
        element(app, screen).await?;
        check(app, &format!("[{lang}] {screen}"), found).await?;
        click(app, "#back").await?;
        element(app, "#home").await?;
    }
    // A report being written, with the error of a send without a category shown.
    click(app, "#go-reports").await?;
    click(app, "#new-report").await?;
    element(app, "#compose").await?;
    click(app, "#send-report").await?;
    element(app, "#compose .error").await?;
    check(app, &format!("[{lang}] #compose with an error"), found).await?;
    click(app, "#back").await?;
    element(app, "#reports").await?;
    check(app, &format!("[{lang}] #reports with a draft"), found).await?;
    click(app, "#back").await?;
    element(app, "#home").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_passes_wcag_aa_in_both_languages() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let port = free_port()?;
    let gateway = GatewayProcess::start("debug", &tmp.path().join("gateway.db"), port)?;
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
    let app = driver.session().await?;
    let mut found = Vec::new();
    every_screen(&app, "vi", &mut found).await?;
    click(&app, "#lang-switch").await?;
    wait_text(&app, "header h1", "Citizen").await?;
    every_screen(&app, "en", &mut found).await?;
    quit(app).await?;
    drop(gateway);
    if !found.is_empty() {
        bail!("{} WCAG violations:\n{}", found.len(), found.join("\n"));
    }
    Ok(())
}
