//! The real app under Xvfb, driven by WebDriver: a resident writes a report with a photo
//! while the gateway is down; it waits; the gateway comes up; it is sent and gets a tracking
//! code; the department moves it along through the staff API (token made with the admin
//! command) and the change appears in the app's timeline.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use citizen_core::CityPack;
use citizen_e2e::photos::camera_jpeg;
use citizen_e2e::{
    Display, Driver, GatewayProcess, binary, click, element, eventually, free_port, quit, root,
    wait_attr, wait_text,
};
use fantoccini::Locator;
use fantoccini::actions::{InputSource as _, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_written_offline_reaches_the_city_and_its_handling_comes_back() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let db = tmp.path().join("gateway.db");
    let port = free_port()?;
    let gateway_url = format!("http://127.0.0.1:{port}");
    let display = Display::get()?;
    let driver = Driver::start(
        &display,
        binary("citizen-app", "debug")?,
        &[
            ("CITIZEN_GATEWAY_URL", gateway_url.clone()),
            (
                "CITIZEN_DATA_DIR",
                tmp.path().join("app").display().to_string(),
            ),
            ("CITIZEN_SYNC_INTERVAL_SECS", "1".to_owned()),
        ],
    )?;
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    let category = pack.categories[0].clone();
    let photo_path = tmp.path().join("IMG_0001.jpg");
    std::fs::write(
        &photo_path,
        camera_jpeg(2_400, 1_800, 10.3540, 106.3690, "SN-E2E-424242"),
    )?;
    let shots = root().join("target/e2e");
    std::fs::create_dir_all(&shots)?;

    // The gateway is down: the resident writes the report anyway.
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    click(&app, "#go-reports").await?;
    click(&app, "#new-report").await?;
    wait_text(&app, "#compose h2", "Phản ánh mới").await?;
    let select = element(&app, "#report-category").await?;
    eventually(Duration::from_secs(10), "the categories", || async {
        Ok((app
            .find_all(Locator::Css("#report-category option"))
            .await?
            .len()
            > 1)
        .then_some(()))
    })
    .await?;
    select.select_by_value(&category.code).await?;
    element(&app, "#report-description")
        .await?
        .send_keys("Rác đổ sai giờ trước chợ, bốc mùi")
        .await?;
    element(&app, "#report-photos")
        .await?
        .send_keys(photo_path.to_str().context("path")?)
        .await?;
    // The photo is processed on the device and its GPS position places the report.
    eventually(Duration::from_secs(30), "the photo preview", || async {
        Ok((!app
            .find_all(Locator::Css("#photo-list img.photo"))
            .await?
            .is_empty())
        .then_some(()))
    })
    .await?;
    wait_text(&app, "#report-place", "theo vị trí trong ảnh").await?;
    // A tap on the map moves the pin there.
    // Off the centre, where the pin from the photo stands.
    let canvas = element(&app, "#report-map canvas").await?;
    let tap = MouseActions::new("finger".into())
        .then(PointerAction::MoveToElement {
            element: canvas,
            duration: None,
            x: 80,
            y: -50,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    app.perform_actions(tap).await?;
    wait_text(&app, "#report-place", "bản đồ").await?;
    std::fs::write(shots.join("report-compose.png"), app.screenshot().await?)?;
    click(&app, "#send-report").await?;

    // It shows at once, waiting to send.
    wait_attr(&app, "#my-reports li.my-report", "data-delivery", "waiting").await?;
    wait_text(&app, "#my-reports li.my-report", "Đang chờ gửi").await?;

    // The gateway comes up: the report is sent and gets a tracking code.
    let gateway = GatewayProcess::start("debug", &db, port)?;
    wait_attr(&app, "#my-reports li.my-report", "data-delivery", "sent").await?;
    let line = wait_text(&app, "#my-reports li.my-report", "Mã theo dõi MT").await?;
    let code = line
        .split_whitespace()
        .find(|w| w.starts_with("MT") && w.len() > 2)
        .context("a tracking code on the line")?
        .to_owned();

    // The department takes it up, with a token made by the admin command.
    let token = Command::new(binary("citizen-server", "debug")?)
        .args(["--database", &gateway.database_url])
        .arg("--city-pack")
        .arg(root().join("assets/cities/my-tho"))
        .args([
            "admin",
            "create-token",
            "--department",
            &category.department,
        ])
        .output()?;
    ensure!(token.status.success(), "admin create-token: {token:?}");
    let token = String::from_utf8(token.stdout)?.trim().to_owned();
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{gateway_url}/api/v1/staff/reports/{code}/status"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"status": "in_progress", "note": "Đội vệ sinh đang đến"}))
        .send()
        .await?;
    ensure!(
        answer.status().is_success(),
        "staff change: {:?}",
        answer.text().await
    );

    // The change comes back by sync: announced, and in the report's timeline.
    wait_attr(
        &app,
        "#my-reports li.my-report",
        "data-status",
        "in_progress",
    )
    .await?;
    wait_text(&app, "#notice", code.as_str()).await?;
    click(&app, "#my-reports li.my-report button").await?;
    wait_text(
        &app,
        "#timeline li[data-status=in_progress]",
        "Đội vệ sinh đang đến",
    )
    .await?;
    wait_text(&app, "#report-code", code.as_str()).await?;
    std::fs::write(shots.join("report-timeline.png"), app.screenshot().await?)?;

    // What reached the city: one report, its photo scaled and without any metadata.
    let view: serde_json::Value = http
        .get(format!("{gateway_url}/api/v1/reports/{code}"))
        .send()
        .await?
        .json()
        .await?;
    let photo_id = view["photos"][0]
        .as_str()
        .context("the report has its photo")?;
    let photo = http
        .get(format!("{gateway_url}/api/v1/photos/{photo_id}"))
        .send()
        .await?
        .bytes()
        .await?;
    ensure!(
        !photo.windows(6).any(|w| w == b"SN-E2E"),
        "no camera serial"
    );
    ensure!(!photo.windows(4).any(|w| w == b"Exif"), "no EXIF");
    let decoded = image::load_from_memory(&photo)?;
    ensure!(
        decoded.width().max(decoded.height()) <= 1_920,
        "scaled on the device"
    );
    quit(app).await?;
    drop(driver);
    Ok(())
}
