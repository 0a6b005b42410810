//! A damaged store file (cut short, or with a garbage header) no longer stops the app: it is
//! kept aside byte for byte, a fresh store starts from the bundled pack, and the resident's
//! unsent report (with its photo), draft, language, identity and unsent application (with its
//! document) are salvaged; the report and the application then reach a real gateway.

mod common;

use std::path::Path;

use citizen_client::outbox::Outbox;
use citizen_client::photo;
use citizen_client::salvage::{Salvaged, open_or_salvage};
use citizen_client::syncer::now_ms;
use citizen_client::{Gateway, Store};
use citizen_core::Lang;
use citizen_core::report::Delivery;
use citizen_core::sync::PullTiming;
use common::{TestGateway, pack};
use sha2::Digest as _;

const TIMING: PullTiming = PullTiming {
    interval_ms: 30_000,
    backoff_base_ms: 1_000,
    backoff_max_ms: 60_000,
};

fn a_photo() -> photo::ProcessedPhoto {
    use image::ImageEncoder as _;
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 13) as u8])
    });
    let mut original = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut original, 90)
        .write_image(&img, 320, 240, image::ExtendedColorType::Rgb8)
        .expect("encodes");
    photo::process(&original).expect("processes")
}

/// Writes the resident's work first (an unsent report with a photo, a draft, the language),
/// then the city pack, so that the pack's pages lie at the end of the file; closes the store.
async fn a_phone_with_work(path: &Path) -> uuid::Uuid {
    let pack = pack();
    let store = Store::open(path).await.expect("store");
    store.set_lang(Lang::En).await.expect("lang");
    let mut draft = store.new_draft(1).await.expect("draft");
    store
        .add_photo(draft.id, &a_photo(), 1)
        .await
        .expect("photo");
    draft = store.draft(draft.id).await.expect("read").expect("draft");
    let category = pack.categories[0].code.clone();
    draft.category = Some(category.clone());
    draft.description = "Ổ gà trên đường Ấp Bắc".into();
    draft.position = Some(citizen_core::Position {
        lon: 106.3650,
        lat: 10.3560,
    });
    store.save_draft(&draft).await.expect("save");
    store
        .submit_draft(draft.id, &pack.city, |c| c == category, now_ms())
        .await
        .expect("submit");
    let mut unfinished = store.new_draft(2).await.expect("draft");
    unfinished.description = "Đèn đường tắt".into();
    store.save_draft(&unfinished).await.expect("save");
    // An application for a certified copy with its PDF, sent while offline.
    store
        .set_identity("+84912345678", "a token from before")
        .await
        .expect("identity");
    let application = store
        .new_application("certified-copy", 3)
        .await
        .expect("application");
    let original = store
        .attach_document("bang.pdf", &citizen_server::document::sample_pdf(1), 3)
        .await
        .expect("a PDF");
    let answers = serde_json::json!({
        "applicant_name": "Nguyễn Thị Lan",
        "applicant_citizen_id": "082190000123",
        "applicant_phone": "0912345678",
        "document_title": "Bằng tốt nghiệp",
        "copies": 1,
        "original": [original],
        "pickup": "office",
        "declaration": true,
    });
    store
        .save_application(application.id, answers.as_object().expect("answers"), 3)
        .await
        .expect("saved");
    let source = pack
        .forms
        .iter()
        .find(|f| f.procedure == "certified-copy")
        .expect("the form");
    let form = citizen_core::form::Form::compile(source).expect("compiles");
    let ctx = citizen_core::form::CheckContext {
        today: citizen_core::civil::Date::new(2026, 11, 30).expect("a date"),
        wards: &pack.wards,
    };
    store
        .submit_application(application.id, &form, &ctx, 4)
        .await
        .expect("queued");
    store.bootstrap(&pack).await.expect("bootstrap");
    // The last connection's close folds the write-ahead log into the file.
    store.close().await;
    draft.id
}

fn sha256_of(path: &Path) -> String {
    format!(
        "{:x}",
        sha2::Sha256::digest(std::fs::read(path).expect("read"))
    )
}

async fn opens_salvages_and_sends(damage: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("citizen.db");
    let report = a_phone_with_work(&path).await;
    damage(&path);
    let damaged = sha256_of(&path);

    let (store, salvaged) = open_or_salvage(&path, &pack(), 1_700_000_000_000)
        .await
        .expect("the app opens");
    let salvaged = salvaged.expect("the damage was found");
    assert_eq!(
        salvaged,
        Salvaged {
            damaged_file: "citizen.damaged-1700000000000.db".into(),
            unsent_reports: 1,
            unsent_supports: 0,
            sent_reports: 0,
            drafts: 1,
            photos: 1,
            photos_lost: 0,
            unsent_applications: 1,
            documents: 1,
        }
    );
    assert_eq!(
        sha256_of(&dir.path().join(&salvaged.damaged_file)),
        damaged,
        "the damaged file is kept as it was"
    );
    assert_eq!(store.lang().await.expect("lang"), Lang::En, "settings kept");
    assert_eq!(
        store.drafts().await.expect("drafts")[0].description,
        "Đèn đường tắt"
    );
    assert!(
        store
            .overview()
            .await
            .expect("overview")
            .expect("a city")
            .places
            > 0,
        "the city's data is back from the bundled pack"
    );
    // Told once.
    assert_eq!(
        store.take_salvage().await.expect("take"),
        Some(salvaged.clone())
    );
    assert_eq!(store.take_salvage().await.expect("take"), None);

    assert_eq!(
        store.identity().await.expect("identity").as_deref(),
        Some("+84912345678"),
        "the resident's identity is kept"
    );
    let gateway = TestGateway::start(&dir.path().join("gw.db")).await;
    // This gateway is new to the resident: they identify again on it.
    let (code, _) = gateway
        .store
        .new_one_time_code("+84912345678", now_ms())
        .await
        .expect("a code");
    let token = gateway
        .store
        .redeem_one_time_code("+84912345678", &code, "phone", now_ms())
        .await
        .expect("a token");
    store
        .set_identity("+84912345678", &token)
        .await
        .expect("identity");
    let drained = Outbox::new(store.clone(), Gateway::new(&gateway.url), TIMING)
        .drain(now_ms)
        .await
        .expect("drain");
    assert_eq!(
        drained.sent, 2,
        "the salvaged report and application are sent: {drained:?}"
    );
    let dossiers = store.my_dossiers().await.expect("dossiers");
    assert!(
        dossiers[0].receipt.is_some() && dossiers[0].documents.len() == 1,
        "the application has its dossier code, with its document: {dossiers:?}"
    );
    let mine = store.my_reports().await.expect("mine");
    assert!(matches!(mine[0].delivery, Delivery::Sent { .. }));
    assert_eq!(mine[0].submission.id, report);
    assert_eq!(mine[0].submission.photos.len(), 1, "with its photo");
    gateway.stop().await;

    // The next start finds a sound store and moves nothing.
    store.close().await;
    let (_, again) = open_or_salvage(&path, &pack(), 1_700_000_100_000)
        .await
        .expect("opens");
    assert_eq!(again, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_cut_short_is_salvaged() {
    opens_salvages_and_sends(|path| {
        let size = std::fs::metadata(path).expect("meta").len();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("open");
        // The last quarter is gone, as after a crash of the phone's storage mid-write.
        file.set_len(size * 3 / 4 / 4096 * 4096).expect("truncate");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_with_a_garbage_header_is_salvaged() {
    opens_salvages_and_sends(|path| {
        let mut bytes = std::fs::read(path).expect("read");
        assert_eq!(
            u16::from_be_bytes([bytes[16], bytes[17]]),
            4096,
            "the app's stores use SQLite's default page size"
        );
        for (i, b) in bytes[..100].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xa5;
        }
        std::fs::write(path, bytes).expect("write");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_is_not_damage_moves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-dir/citizen.db");
    assert!(open_or_salvage(&missing, &pack(), 0).await.is_err());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "nothing was created or moved"
    );
}
