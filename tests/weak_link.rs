//! Weak and lying links, through the fault-injecting proxy to a real gateway process: a
//! photo goes up a rural-2G-slow uplink in requests longer than the silence limit, the chunk
//! size follows the rate measured, and a gateway that accepts connections but never answers
//! is given up after the silence limit and shown as offline.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use citizen_client::outbox::{FIRST_CHUNK_BYTES, Outbox};
use citizen_client::syncer::now_ms;
use citizen_client::{Gateway, Store, Syncer, photo};
use citizen_core::sync::{PullEvent, PullTiming};
use citizen_core::views::{SyncProblem, SyncState};
use citizen_core::{CityPack, Position};
use citizen_e2e::proxy::Proxy;
use citizen_e2e::{GatewayProcess, free_port};
use uuid::Uuid;

const TIMING: PullTiming = PullTiming {
    interval_ms: 30_000,
    backoff_base_ms: 1_000,
    backoff_max_ms: 60_000,
};

/// The silence limit in these tests: short, so they run fast; every request on the slow link
/// below takes longer than this.
const SILENCE: Duration = Duration::from_secs(2);

/// The throttled uplink: 12 KB/s.
const UPLINK: u64 = 12_000;

/// A photo of noise, processed as the app does, whose size is between one and two first
/// chunks: the first request measures the link, the second is sized by it.
fn photo_of_a_chunk_and_a_bit() -> photo::ProcessedPhoto {
    use image::ImageEncoder as _;
    let mut side = 300_u32;
    loop {
        let (w, h) = (side, side * 3 / 4);
        let mut state = 7_u64;
        let img = image::RgbImage::from_fn(w, h, |_, _| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v = (state >> 40) as u32;
            image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
        });
        let mut original = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut original, 95)
            .write_image(&img, w, h, image::ExtendedColorType::Rgb8)
            .expect("encodes in memory");
        let processed = photo::process(&original).expect("processes");
        if processed.data.len() > FIRST_CHUNK_BYTES + 8 * 1024 {
            assert!(
                processed.data.len() < 2 * FIRST_CHUNK_BYTES,
                "the photo grew past two chunks"
            );
            return processed;
        }
        side += 20;
    }
}

async fn device(path: &std::path::Path) -> Result<(Store, CityPack)> {
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    let store = Store::open(path).await?;
    store.bootstrap(&pack).await?;
    Ok((store, pack))
}

async fn queue_with_photo(store: &Store, pack: &CityPack) -> Result<Uuid> {
    let mut draft = store.new_draft(0).await?;
    store
        .add_photo(draft.id, &photo_of_a_chunk_and_a_bit(), 0)
        .await?;
    draft = store.draft(draft.id).await?.context("draft")?;
    let category = pack.categories[0].code.clone();
    draft.category = Some(category.clone());
    draft.description = "Đèn đường hỏng".into();
    draft.position = Some(Position {
        lon: 106.362,
        lat: 10.36,
    });
    store.save_draft(&draft).await?;
    store
        .submit_draft(draft.id, &pack.city, |c| c == category, now_ms())
        .await?;
    Ok(draft.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_goes_up_a_slow_link_in_chunks_sized_to_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let gateway = GatewayProcess::start("debug", &dir.path().join("gw.db"), free_port()?)?;
    let proxy = Proxy::start(([127, 0, 0, 1], gateway.port).into()).await?;
    let (store, pack) = device(&dir.path().join("phone.db")).await?;
    let id = queue_with_photo(&store, &pack).await?;
    proxy.throttle_up(UPLINK);

    let outbox = Outbox::new(
        store.clone(),
        Gateway::new(&proxy.url()).with_silence(SILENCE),
        TIMING,
    );
    let first_request = Duration::from_secs_f64(FIRST_CHUNK_BYTES as f64 / UPLINK as f64);
    ensure!(
        first_request > 2 * SILENCE,
        "the first request ({first_request:?}) must outlast the silence limit"
    );
    let started = Instant::now();
    let drained = outbox.drain(now_ms).await?;
    let took = started.elapsed();
    ensure!(
        drained.sent == 1 && drained.stopped_by.is_none(),
        "the report went through a slow link: {drained:?}"
    );
    ensure!(
        took > first_request,
        "the upload took {took:?}: the link was not slowed"
    );
    ensure!(store.outbox_len().await? == 0, "nothing is left to send");
    let mine = store.my_reports().await?;
    ensure!(
        mine.iter().any(|r| r.submission.id == id
            && matches!(r.delivery, citizen_core::report::Delivery::Sent { .. })),
        "the report is acknowledged"
    );

    // The next request is sized to what the link moves in 8 s: 96 kB at 12 KB/s, less a
    // little for the round trips, and never the fixed first size.
    let sized = outbox.chunk_bytes();
    let expected = UPLINK as usize * 8;
    ensure!(
        sized > expected * 8 / 10 && sized <= expected,
        "the next chunk is {sized} bytes, not about {expected}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_never_answers_is_given_up_and_shown_offline() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let gateway = GatewayProcess::start("debug", &dir.path().join("gw.db"), free_port()?)?;
    let proxy = Proxy::start(([127, 0, 0, 1], gateway.port).into()).await?;
    let (store, pack) = device(&dir.path().join("phone.db")).await?;
    queue_with_photo(&store, &pack).await?;
    proxy.set_silent(true);
    let link = Gateway::new(&proxy.url()).with_silence(SILENCE);

    let started = Instant::now();
    let drained = Outbox::new(store.clone(), link.clone(), TIMING)
        .drain(now_ms)
        .await?;
    let took = started.elapsed();
    let stopped_by = drained.stopped_by.unwrap_or_default();
    ensure!(
        stopped_by.contains("no answer"),
        "the drain says the gateway did not answer: {stopped_by:?}"
    );
    ensure!(
        took >= SILENCE && took < SILENCE * 3,
        "given up after the silence limit, not {took:?}"
    );
    ensure!(store.outbox_len().await? == 1, "the report is kept");

    let syncer = Syncer::new(store.clone(), link, Duration::from_secs(30));
    let event = syncer.pull_once().await;
    ensure!(event == PullEvent::Failed, "the pull failed: {event:?}");
    let record = store.sync_record().await?;
    ensure!(
        SyncState::of(false, record.offline_since_ms, record.last_success_ms) == SyncState::Offline,
        "the status line says offline"
    );
    ensure!(
        record.offline_since_ms.is_some_and(|t| t <= now_ms()),
        "and since when"
    );
    ensure!(
        record.last_problem == Some(SyncProblem::Unreachable),
        "the problem is an unreachable gateway: {:?}",
        record.last_problem
    );
    drop(gateway);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_limit_on_the_way_makes_upload_requests_smaller() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let gateway = GatewayProcess::start("debug", &dir.path().join("gw.db"), free_port()?)?;
    let proxy = Proxy::start(([127, 0, 0, 1], gateway.port).into()).await?;
    let (store, pack) = device(&dir.path().join("phone.db")).await?;
    queue_with_photo(&store, &pack).await?;
    // A reverse proxy in front of the gateway that takes no body over 40 kB.
    proxy.limit_body(40_000);

    let outbox = Outbox::new(store.clone(), Gateway::new(&proxy.url()), TIMING);
    let drained = outbox.drain(now_ms).await?;
    ensure!(
        drained.sent == 1 && drained.stopped_by.is_none(),
        "the report went through in smaller requests: {drained:?}"
    );
    ensure!(store.outbox_len().await? == 0, "nothing is left to send");
    ensure!(
        outbox.chunk_bytes() <= 40_000,
        "requests stay under the limit: {}",
        outbox.chunk_bytes()
    );
    drop(gateway);
    Ok(())
}
