//! "Me too": a resident about to report finds an open report of the same kind within 50 m
//! (from the synced feed), and adds their voice instead, also when offline. Real stores and
//! a real gateway on loopback.

use anyhow::{Context as _, Result, ensure};
use citizen_client::outbox::Outbox;
use citizen_client::{Gateway, Store, Syncer};
use citizen_core::report::{NEARBY_RADIUS_M, nearby_open};
use citizen_core::sync::{PullEvent, PullTiming};
use citizen_core::{CityPack, Position};
use citizen_server::{Application, Config};

const TIMING: PullTiming = PullTiming {
    interval_ms: 1_000,
    backoff_base_ms: 10,
    backoff_max_ms: 100,
};

async fn device(path: &std::path::Path, pack: &CityPack) -> Result<Store> {
    let store = Store::open(path).await?;
    store.bootstrap(pack).await?;
    Ok(store)
}

async fn pull_all(store: &Store, url: &str) -> Result<()> {
    let syncer = Syncer::new(
        store.clone(),
        Gateway::new(url),
        std::time::Duration::from_secs(30),
    );
    loop {
        match syncer.pull_once().await {
            PullEvent::PageStored { has_more: true } => {}
            PullEvent::PageStored { has_more: false } => return Ok(()),
            other => anyhow::bail!("the pull failed: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nearby_report_gets_a_me_too_once_even_from_offline() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let app = Application::build(&Config {
        listen: "127.0.0.1:0".parse()?,
        database_url: citizen_testdb::database_url(dir.path(), "gw"),
        city_pack: citizen_e2e::root().join("assets/cities/my-tho"),
        simulate_every: None,
        public_url: None,
        code_sender: std::sync::Arc::new(citizen_server::otp::LogSender),
    })
    .await?;
    let url = format!("http://{}", app.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    let category = pack.categories[0].code.clone();
    let here = Position {
        lon: 106.3650,
        lat: 10.3560,
    };

    // A first resident reports the rubbish.
    let first = device(&dir.path().join("first.db"), &pack).await?;
    let mut draft = first.new_draft(0).await?;
    draft.category = Some(category.clone());
    draft.description = "Đống rác ở góc đường".into();
    draft.position = Some(here);
    first.save_draft(&draft).await?;
    first
        .submit_draft(draft.id, &pack.city, |c| c == category, 0)
        .await?;
    Outbox::new(first.clone(), Gateway::new(&url), TIMING)
        .drain(citizen_client::syncer::now_ms)
        .await?;
    ensure!(first.outbox_len().await? == 0, "the first report is sent");

    // A second resident, 20 m away, syncs and sees it before writing their own.
    let second = device(&dir.path().join("second.db"), &pack).await?;
    pull_all(&second, &url).await?;
    let views = second.report_views().await?;
    let near_me = Position {
        lat: here.lat + 0.00018,
        ..here
    };
    let found = nearby_open(&views, &category, near_me, NEARBY_RADIUS_M);
    ensure!(
        found.len() == 1,
        "the open report 20 m away is offered: {found:?}"
    );
    let far = Position {
        lat: here.lat + 0.0009,
        ..here
    };
    ensure!(
        nearby_open(&views, &category, far, NEARBY_RADIUS_M).is_empty(),
        "one 100 m away is not"
    );
    let other_kind = pack
        .categories
        .iter()
        .find(|c| c.code != category)
        .context("two kinds")?;
    ensure!(
        nearby_open(&views, &other_kind.code, near_me, NEARBY_RADIUS_M).is_empty(),
        "nor one of another kind"
    );
    let report_id = found[0].0.id;

    // "Me too", twice, with no network: kept, with its error, and counted once.
    second.support(report_id, 0).await?;
    second.support(report_id, 1).await?;
    ensure!(second.outbox_len().await? == 1, "one me-too waits");
    let offline = Outbox::new(second.clone(), Gateway::new("http://127.0.0.1:9"), TIMING)
        .drain(citizen_client::syncer::now_ms)
        .await?;
    ensure!(offline.stopped_by.is_some(), "the send failed offline");
    ensure!(second.outbox_len().await? == 1, "and is kept");

    // Back online: sent once, and the count reaches both devices by the feed.
    let later = || i64::MAX / 4;
    Outbox::new(second.clone(), Gateway::new(&url), TIMING)
        .drain(later)
        .await?;
    ensure!(second.outbox_len().await? == 0, "the me-too is sent");
    pull_all(&second, &url).await?;
    pull_all(&first, &url).await?;
    for store in [&first, &second] {
        let view = store.report_view(report_id).await?.context("the report")?;
        ensure!(view.supporters == 1, "one me-too: {}", view.supporters);
    }

    // A third resident says "me too" offline; the department resolves the report before
    // they are back online. The gateway refuses it, and the device drops it.
    let third = device(&dir.path().join("third.db"), &pack).await?;
    pull_all(&third, &url).await?;
    third.support(report_id, 2).await?;
    let token = staff_token(&dir, &found[0].0.department).await?;
    let resolved = reqwest::Client::new()
        .post(format!("{url}/api/v1/staff/reports/{report_id}/status"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"status": "resolved", "note": "Đã thu gom."}))
        .send()
        .await?;
    ensure!(
        resolved.status() == 200,
        "resolved: {}",
        resolved.text().await?
    );
    Outbox::new(third.clone(), Gateway::new(&url), TIMING)
        .drain(later)
        .await?;
    ensure!(
        third.outbox_len().await? == 0,
        "a refused me-too leaves the outbox"
    );
    ensure!(
        !third.supported().await?.contains(&report_id),
        "and the report is not shown as supported"
    );
    pull_all(&third, &url).await?;
    let view = third.report_view(report_id).await?.context("the report")?;
    ensure!(
        view.supporters == 1,
        "still one me-too: {}",
        view.supporters
    );
    let refused = third.support(report_id, 3).await;
    ensure!(
        matches!(&refused, Err(citizen_client::StoreError::Invalid(e)) if e.field == "status"),
        "a closed report takes no me-too on the device either: {refused:?}"
    );
    ensure!(third.outbox_len().await? == 0, "nothing queued");
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}

/// A staff token of `department`, made in the gateway's database.
async fn staff_token(dir: &tempfile::TempDir, department: &str) -> Result<String> {
    let store =
        citizen_server::Store::open(&citizen_testdb::database_url(dir.path(), "gw")).await?;
    Ok(store
        .create_token(
            citizen_server::store::Role::Staff,
            Some(department),
            "test",
            0,
        )
        .await?)
}
