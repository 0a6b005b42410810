//! Nothing lost, nothing doubled: a device writing and sending reports with photos and
//! applications with documents is killed (SIGKILL) at random points, the gateway is killed
//! mid-upload, and the link drops every few hundred kilobytes. In the end every report and
//! every application is on the gateway exactly once, with photos and documents byte-identical
//! to the device's copies. On PostgreSQL the gateway is two instances behind nginx, and one
//! instance at a time is killed while the other serves.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use citizen_client::Store;
use citizen_core::{ChangeOp, Entity, SyncPage};
use citizen_e2e::proxy::Proxy;
use citizen_e2e::{GatewayProcess, free_port};
use rand::Rng as _;

/// The resident the device applies as: a phone number and the device token the gateway gave
/// for it after a one-time code.
#[derive(Clone)]
struct Resident {
    phone: String,
    token: String,
}

impl Resident {
    async fn identify(gateway: &GatewayProcess, phone: &str) -> Result<Resident> {
        let (phone, token) = gateway.identify(phone).await?;
        Ok(Resident { phone, token })
    }
}

fn reporter(resident: &Resident) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_citizen-reporter"));
    cmd.env("RUST_LOG", "warn")
        .env("CITIZEN_RESIDENT_PHONE", &resident.phone)
        .env("CITIZEN_RESIDENT_TOKEN", &resident.token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the reporter to the end (no kill); fails if it does not finish within `within`.
fn run_to_the_end(
    store: &Path,
    url: &str,
    resident: &Resident,
    (reports, photos, applications): (usize, usize, usize),
    within: Duration,
) -> Result<()> {
    let mut child = reporter(resident)
        .args([
            store.to_str().context("path")?,
            url,
            &reports.to_string(),
            &photos.to_string(),
            &applications.to_string(),
        ])
        .spawn()?;
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait()? {
            let out = child.wait_with_output()?;
            ensure!(
                status.success(),
                "the reporter failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            child.kill()?;
            bail!("the reporter did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks the end state: the gateway holds exactly the device's reports and applications,
/// once each, with byte-identical photos and documents, and the device's outbox is empty.
async fn assert_delivered_exactly_once(
    store_path: &Path,
    gateway: &str,
    resident: &Resident,
    (reports, applications): (usize, usize),
) -> Result<()> {
    let store = Store::open(store_path).await?;
    let mine = store.my_reports().await?;
    ensure!(
        mine.len() == reports,
        "the device holds {} reports, not {reports}",
        mine.len()
    );
    ensure!(store.outbox_len().await? == 0, "the outbox is empty");
    let http = reqwest::Client::new();
    let mut on_gateway = Vec::new();
    let mut since = 0;
    loop {
        let page: SyncPage = http
            .get(format!("{gateway}/api/v1/sync?since={since}&limit=1000"))
            .send()
            .await?
            .json()
            .await?;
        for change in page.changes {
            if let ChangeOp::Upsert { entity } = change.op
                && let Entity::Report(r) = *entity
            {
                on_gateway.push(r);
            }
        }
        since = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    ensure!(
        on_gateway.len() == reports,
        "the gateway holds {} reports, not {reports}",
        on_gateway.len()
    );
    let mut photos = 0;
    for report in &mine {
        let id = report.submission.id;
        let there = on_gateway
            .iter()
            .find(|r| r.id == id)
            .with_context(|| format!("report {id} is on the gateway"))?;
        ensure!(
            there.photos.len() == report.submission.photos.len(),
            "report {id} has all its photos"
        );
        for photo in &report.submission.photos {
            let local = store
                .photo_data(photo.id)
                .await?
                .context("the local copy")?;
            let remote = http
                .get(format!("{gateway}/api/v1/photos/{}", photo.id))
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            ensure!(
                remote.as_ref() == local.as_slice(),
                "photo {} is byte-identical",
                photo.id
            );
            photos += 1;
        }
    }
    let dossiers: Vec<citizen_core::dossier::Dossier> = http
        .get(format!("{gateway}/api/v1/dossiers"))
        .bearer_auth(&resident.token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let applied = store.my_dossiers().await?;
    ensure!(
        applied.len() == applications && dossiers.len() == applications,
        "{} applications on the device and {} dossiers on the gateway, not {applications}",
        applied.len(),
        dossiers.len()
    );
    let mut documents = 0;
    for mine in &applied {
        let there = dossiers
            .iter()
            .find(|d| d.id == mine.id)
            .with_context(|| format!("application {} is a dossier", mine.id))?;
        ensure!(
            mine.receipt.as_ref().is_some_and(|r| r.code == there.code),
            "the device holds the dossier code of {}",
            mine.id
        );
        ensure!(
            there.documents.len() == 2,
            "{} has its two documents",
            there.code
        );
        for doc in &there.documents {
            let (_, local) = store
                .document_data(doc.id)
                .await?
                .context("the local copy")?;
            let remote = http
                .get(format!(
                    "{gateway}/api/v1/dossiers/{}/documents/{}",
                    there.code, doc.id
                ))
                .bearer_auth(&resident.token)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            ensure!(
                remote.as_ref() == local.as_slice(),
                "document {} of {} is byte-identical",
                doc.name,
                there.code
            );
            documents += 1;
        }
    }
    eprintln!(
        "{reports} reports with {photos} photos and {applications} applications with \
         {documents} documents delivered exactly once"
    );
    store.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_survive_the_device_being_killed_at_random_points() -> Result<()> {
    const RUNS: usize = 60;
    const REPORTS: usize = 12;
    const PHOTOS: usize = 2;
    const APPLICATIONS: usize = 3;
    let dir = tempfile::tempdir()?;
    let gateway = GatewayProcess::start("debug", &dir.path().join("gw.db"), free_port()?)?;
    let resident = Resident::identify(&gateway, "0912345678").await?;
    let store = dir.path().join("device.db");
    let mut rng = rand::rng();
    let (mut killed, mut finished) = (0, 0);
    for _ in 0..RUNS {
        let mut child = reporter(&resident)
            .args([
                store.to_str().context("path")?,
                &gateway.url(),
                &REPORTS.to_string(),
                &PHOTOS.to_string(),
                &APPLICATIONS.to_string(),
            ])
            .spawn()?;
        std::thread::sleep(Duration::from_millis(rng.random_range(30..700)));
        if child.try_wait()?.is_some() {
            finished += 1;
        } else {
            child.kill()?; // SIGKILL: no destructor, no flush, no goodbye.
            killed += 1;
        }
        let _ = child.wait()?;
    }
    let acknowledged = {
        let device = Store::open(&store).await?;
        let sent = device
            .my_reports()
            .await?
            .iter()
            .filter(|r| matches!(r.delivery, citizen_core::report::Delivery::Sent { .. }))
            .count();
        device.close().await;
        sent
    };
    eprintln!(
        "{killed} runs killed, {finished} ran to the end; {acknowledged} of {REPORTS} reports \
         acknowledged before the last run"
    );
    ensure!(
        killed >= 50,
        "at least 50 runs were killed, only {killed} were"
    );
    run_to_the_end(
        &store,
        &gateway.url(),
        &resident,
        (REPORTS, PHOTOS, APPLICATIONS),
        Duration::from_secs(120),
    )?;
    assert_delivered_exactly_once(&store, &gateway.url(), &resident, (REPORTS, APPLICATIONS)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_go_on_when_the_gateway_is_killed_and_restarted() -> Result<()> {
    const REPORTS: usize = 6;
    const PHOTOS: usize = 2;
    const APPLICATIONS: usize = 2;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("gw.db");
    let port = free_port()?;
    let mut gateway = GatewayProcess::start("debug", &db, port)?;
    let resident = Resident::identify(&gateway, "0912345678").await?;
    let url = gateway.url();
    let store = dir.path().join("device.db");
    let mut child = reporter(&resident)
        .args([
            store.to_str().context("path")?,
            &url,
            &REPORTS.to_string(),
            &PHOTOS.to_string(),
            &APPLICATIONS.to_string(),
        ])
        .spawn()?;
    let mut rng = rand::rng();
    let mut restarts = 0;
    while child.try_wait()?.is_none() && restarts < 8 {
        std::thread::sleep(Duration::from_millis(rng.random_range(100..400)));
        if gateway.instances() > 1 {
            // Instances behind a balancer (on PostgreSQL): one dies mid-upload or
            // mid-transaction (SIGKILL) while the others serve on, then comes back.
            let i = restarts % gateway.instances();
            gateway.kill_instance(i);
            std::thread::sleep(Duration::from_millis(rng.random_range(50..300)));
            gateway.start_instance(i)?;
        } else {
            gateway.stop(); // SIGKILL, mid-upload or mid-transaction.
            std::thread::sleep(Duration::from_millis(rng.random_range(50..300)));
            gateway = GatewayProcess::start("debug", &db, port)?;
        }
        restarts += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait()?.is_none() {
        ensure!(
            Instant::now() < deadline,
            "the reporter finishes once the gateway stays up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    ensure!(child.wait()?.success(), "the reporter ends well");
    eprintln!("the gateway was killed and restarted {restarts} times");
    ensure!(
        restarts >= 3,
        "the gateway was killed during the run ({restarts} times)"
    );
    assert_delivered_exactly_once(&store, &url, &resident, (REPORTS, APPLICATIONS)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_resume_over_a_link_that_drops_every_300_kb() -> Result<()> {
    const REPORTS: usize = 3;
    const PHOTOS: usize = 2;
    const APPLICATIONS: usize = 2;
    let dir = tempfile::tempdir()?;
    let gateway = GatewayProcess::start("debug", &dir.path().join("gw.db"), free_port()?)?;
    let resident = Resident::identify(&gateway, "0912345678").await?;
    let proxy = Proxy::start(format!("127.0.0.1:{}", gateway.port).parse()?).await?;
    proxy.drop_every(300 * 1024);
    let store = dir.path().join("device.db");
    let proxy_url = proxy.url();
    let store_arg = store.clone();
    let device = resident.clone();
    tokio::task::spawn_blocking(move || {
        run_to_the_end(
            &store_arg,
            &proxy_url,
            &device,
            (REPORTS, PHOTOS, APPLICATIONS),
            Duration::from_secs(120),
        )
    })
    .await??;
    let local = Store::open(&store).await?;
    let mut photo_bytes = 0;
    for r in local.my_reports().await? {
        photo_bytes += r.submission.photos.iter().map(|p| p.size).sum::<u64>();
    }
    for d in local.my_dossiers().await? {
        photo_bytes += d.documents.iter().map(|doc| doc.size).sum::<u64>();
    }
    local.close().await;
    let ratio = proxy.sent_up() as f64 / photo_bytes as f64;
    eprintln!(
        "{} bytes went up for {photo_bytes} bytes of photos and documents ({ratio:.2}×), {} cuts",
        proxy.sent_up(),
        proxy.cuts()
    );
    ensure!(
        proxy.cuts() >= 3,
        "the link was cut during the uploads ({} cuts)",
        proxy.cuts()
    );
    ensure!(
        ratio < 1.6,
        "resumed uploads do not start again from zero: {ratio:.2}× the photo bytes went up"
    );
    assert_delivered_exactly_once(&store, &gateway.url(), &resident, (REPORTS, APPLICATIONS)).await
}
