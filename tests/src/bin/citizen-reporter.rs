//! A resident's device without a screen, for the crash tests: it writes reports with photos,
//! and applications for a certified copy with a PDF and a photographed page, through the same
//! client library the app's commands call, and sends them. It can be killed at any point and
//! started again; each start goes on from what the store holds, so the end state must be the
//! same as if it had never been interrupted.
//!
//! Usage: citizen-reporter STORE GATEWAY_URL REPORTS PHOTOS_PER_REPORT [APPLICATIONS]
//!
//! Applications need the resident's identity: `CITIZEN_RESIDENT_PHONE` and
//! `CITIZEN_RESIDENT_TOKEN` (a device token the gateway gave for that number).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use citizen_client::outbox::Outbox;
use citizen_client::syncer::now_ms;
use citizen_client::{Gateway, Store, photo};
use citizen_core::sync::PullTiming;
use citizen_core::{CityPack, Position};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (store_path, gateway_url, reports, photos, applications) = match args.as_slice() {
        [s, g, r, p] => (s, g, r, p, "0"),
        [s, g, r, p, a] => (s, g, r, p, a.as_str()),
        _ => bail!(
            "usage: citizen-reporter STORE GATEWAY_URL REPORTS PHOTOS_PER_REPORT [APPLICATIONS]"
        ),
    };
    let reports: usize = reports.parse().context("REPORTS")?;
    let photos: usize = photos.parse().context("PHOTOS_PER_REPORT")?;
    let applications: usize = applications.parse().context("APPLICATIONS")?;
    let store = Store::open(&PathBuf::from(store_path)).await?;
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    store.bootstrap(&pack).await?;
    let category = pack.categories[0].code.clone();

    loop {
        let written = store.my_reports().await?.len();
        if written >= reports {
            break;
        }
        let draft = match store.drafts().await?.pop() {
            Some(d) => d,
            None => store.new_draft(now_ms()).await?,
        };
        let mut draft = draft;
        for i in draft.photos.len()..photos {
            let original = test_photo(written * 10 + i);
            let processed = photo::process(&original)?;
            draft = {
                store.add_photo(draft.id, &processed, now_ms()).await?;
                store.draft(draft.id).await?.context("draft")?
            };
        }
        draft.category = Some(category.clone());
        draft.description = format!("Báo cáo thử số {written}");
        draft.position = Some(Position {
            lon: 106.3620 + written as f64 * 0.0001,
            lat: 10.3600,
        });
        store.save_draft(&draft).await?;
        store
            .submit_draft(draft.id, &pack.city, |c| c == category, now_ms())
            .await?;
    }

    if applications > 0 {
        apply(&store, &pack, applications).await?;
    }

    let outbox = Outbox::new(
        store.clone(),
        Gateway::new(gateway_url),
        PullTiming {
            interval_ms: 1_000,
            backoff_base_ms: 20,
            backoff_max_ms: 200,
        },
    );
    while store.outbox_len().await? > 0 {
        let drained = outbox.drain(now_ms).await?;
        if drained.stopped_by.is_some() {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        if let Some(due) = store.next_attempt_ms(now_ms()).await? {
            let wait = u64::try_from(due - now_ms()).unwrap_or(0).min(250);
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
    println!("all sent");
    Ok(())
}

/// Writes and sends certified-copy applications until the device holds `count`: each with a
/// 400 KB PDF and a photographed page, so their uploads take several chunks.
async fn apply(store: &Store, pack: &CityPack, count: usize) -> Result<()> {
    if store.identity().await?.is_none() {
        let phone = std::env::var("CITIZEN_RESIDENT_PHONE").context("CITIZEN_RESIDENT_PHONE")?;
        let token = std::env::var("CITIZEN_RESIDENT_TOKEN").context("CITIZEN_RESIDENT_TOKEN")?;
        store.set_identity(&phone, &token).await?;
    }
    loop {
        let written = store.my_dossiers().await?.len();
        if written >= count {
            return Ok(());
        }
        let draft = match store.application_drafts().await?.pop() {
            Some(d) => d,
            None => store.new_application("certified-copy", now_ms()).await?,
        };
        let mut answers = draft.answers.clone();
        if !answers.contains_key("original") {
            let pdf = citizen_server::document::sample_pdf_of(400_000, written as u64);
            let scan = test_photo(1_000 + written);
            let mut documents = Vec::new();
            for (name, bytes) in [("ban-chinh.pdf", pdf), ("trang-2.jpg", scan)] {
                documents.push(store.attach_document(name, &bytes, now_ms()).await?);
            }
            answers.insert("original".into(), serde_json::to_value(&documents)?);
            store.save_application(draft.id, &answers, now_ms()).await?;
        }
        let documents: Vec<citizen_core::form::AttachmentRef> =
            serde_json::from_value(answers["original"].clone())?;
        let answers = citizen_e2e::certified_copy_answers(
            &documents,
            &format!("Bằng tốt nghiệp số {written}"),
        );
        store.save_application(draft.id, &answers, now_ms()).await?;
        citizen_e2e::send_certified_copy(store, pack, draft.id).await?;
    }
}

/// A camera-like photo: 1 600 × 1 200 of noise, which JPEG cannot squeeze much, so uploads
/// take several chunks.
fn test_photo(seed: usize) -> Vec<u8> {
    use image::ImageEncoder as _;
    let mut state = (seed as u64)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1);
    let img = image::RgbImage::from_fn(1_600, 1_200, |x, y| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let noise = (state >> 59) as u8;
        image::Rgb([(x / 7) as u8 ^ noise, (y / 5) as u8, noise.wrapping_mul(9)])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .write_image(&img, 1_600, 1_200, image::ExtendedColorType::Rgb8)
        .expect("encodes in memory");
    out
}
