//! Moving a city's gateway from SQLite to PostgreSQL with `citizen-server migrate`: after the
//! move both databases hold the same rows, a device syncs on from its cursor with nothing sent
//! again and nothing missed, staff tokens still work, an upload left half-way goes on, and
//! tracking codes continue. A second move into the filled database is refused and changes
//! nothing, and a move back to a new SQLite file gives the same rows. Real stores, the real
//! command, a real PostgreSQL.

mod common;

use std::path::PathBuf;
use std::process::Command;

use citizen_client::Gateway;
use citizen_client::outbox::Outbox;
use citizen_core::SyncPage;
use citizen_core::report::{ReportStatus, StatusUpdate, UploadStart};
use citizen_core::sync::PullTiming;
use citizen_server::Store;
use common::{TestGateway, device, pack, pull_all, queue_report, syncer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const TIMING: PullTiming = PullTiming {
    interval_ms: 1_000,
    backoff_base_ms: 10,
    backoff_max_ms: 100,
};

fn jpeg(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), y as u8, seed])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encodes");
    out.into_inner()
}

fn migrate(from: &str, to: &str) -> std::process::Output {
    // The gateway binary, as `cargo xtask build` (or `cargo build -p citizen-server`) makes it.
    let exe = std::env::var_os("CITIZEN_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(
                    || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
                    PathBuf::from,
                )
                .join("debug/citizen-server")
        });
    assert!(
        exe.exists(),
        "{} is missing: build it first (cargo build -p citizen-server)",
        exe.display()
    );
    Command::new(exe)
        .args(["migrate", "--from", from, "--to", to])
        .env("RUST_LOG", "warn")
        .output()
        .expect("citizen-server migrate runs")
}

/// Every table's digest on `store`, as the migration compares them.
async fn digests(store: &Store) -> Vec<(String, citizen_server::migrate::TableDigest)> {
    let mut all = Vec::new();
    for (table, _) in citizen_server::migrate::copied_columns() {
        all.push((
            table.to_owned(),
            citizen_server::migrate::digest(store, table)
                .await
                .expect("digest"),
        ));
    }
    all
}

async fn feed_after(url: &str, since: i64, at: Option<&(String, String)>) -> SyncPage {
    let mut query = format!("since={since}&limit=1000");
    if let Some((kind, id)) = at {
        query.push_str(&format!("&at_kind={kind}&at_id={id}"));
    }
    reqwest::get(format!("{url}/api/v1/sync?{query}"))
        .await
        .expect("feed")
        .json()
        .await
        .expect("a page")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_moves_from_sqlite_to_postgresql_and_devices_sync_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", dir.path().join("city.db").display());
    let postgres = citizen_testdb::fresh_postgres().expect("a PostgreSQL database");

    // A city running on SQLite: reports from a device (one with a photo), a "me too", a
    // department's reply, an Open311 key, and a photo upload left half-way.
    let city = TestGateway::on(&sqlite).await;
    let http = reqwest::Client::new();
    let resident = device(&dir.path().join("resident.db")).await;
    let first = queue_report(&resident, "Ổ gà lớn giữa đường").await;
    let second = queue_report(&resident, "Đèn đường tắt cả tuần").await;
    Outbox::new(resident.clone(), Gateway::new(&city.url), TIMING)
        .drain(|| i64::MAX / 4)
        .await
        .expect("drain");
    let neighbour = device(&dir.path().join("neighbour.db")).await;
    pull_all(&syncer(&neighbour, &city.url)).await;
    neighbour.support(second, 0).await.expect("me too");
    Outbox::new(neighbour.clone(), Gateway::new(&city.url), TIMING)
        .drain(|| i64::MAX / 4)
        .await
        .expect("drain");
    let department = pack().categories[0].department.clone();
    let staff = city
        .store
        .create_token(
            citizen_server::store::Role::Staff,
            Some(&department),
            "ward office",
            1,
        )
        .await
        .expect("staff token");
    city.store
        .change_status(
            &department,
            &first.to_string(),
            &StatusUpdate {
                status: ReportStatus::InProgress,
                note: Some("Đội đã đến hiện trường".into()),
                photo: None,
            },
            2,
        )
        .await
        .expect("a reply");
    city.store
        .create_token(citizen_server::store::Role::Client, None, "311 app", 3)
        .await
        .expect("api key");
    let photo = jpeg(9);
    let upload = Uuid::now_v7();
    city.store
        .start_upload(
            &UploadStart {
                id: upload,
                size: photo.len() as u64,
                sha256: format!("{:x}", Sha256::digest(&photo)),
                kind: citizen_core::report::UploadKind::Photo,
            },
            4,
        )
        .await
        .expect("announced");
    let half = photo.len() / 2;
    city.store
        .append_chunk(upload, 0, &photo[..half])
        .await
        .expect("first half");
    // The resident's device is synced to the head.
    pull_all(&syncer(&resident, &city.url)).await;
    let (cursor, at) = resident.feed_position().await.expect("position");
    let head_before = city.store.head().await.expect("head");
    assert_eq!(cursor, head_before, "the device is at the head");
    let before = digests(&city.store).await;
    city.stop().await;

    // The move.
    let out = migrate(&sqlite, &postgres);
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("moved and verified"), "{said}");
    assert!(said.contains("reports: 2 rows"), "{said}");

    // Both databases hold the same rows, table by table.
    let target = Store::open(&postgres).await.expect("target");
    assert_eq!(target.backend(), citizen_server::store::Backend::Postgres);
    assert_eq!(digests(&target).await, before);
    target.pool().close().await;

    // The city on PostgreSQL: the device goes on from its cursor; nothing again, no restart.
    let city = TestGateway::on(&postgres).await;
    let page = feed_after(&city.url, cursor, at.as_ref()).await;
    assert!(!page.restart, "the same history: {page:?}");
    assert!(page.changes.is_empty(), "nothing is sent again");
    assert_eq!(page.head, head_before);

    // The department's token works on the new gateway, with the contacts.
    let queue: serde_json::Value = http
        .get(format!("{}/api/v1/staff/reports?status=all", city.url))
        .bearer_auth(&staff)
        .send()
        .await
        .expect("queue")
        .json()
        .await
        .expect("json");
    let queue = queue.as_array().expect("a list");
    assert_eq!(queue.len(), 2, "{queue:?}");

    // The half-way upload goes on where it stopped.
    let state: serde_json::Value = http
        .get(format!("{}/api/v1/uploads/{upload}", city.url))
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert_eq!(state["offset"], half, "{state}");
    let done = http
        .patch(format!("{}/api/v1/uploads/{upload}", city.url))
        .header("upload-offset", half.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(photo[half..].to_vec())
        .send()
        .await
        .expect("rest");
    assert_eq!(done.status(), 200, "{:?}", done.text().await);

    // A new report gets the next tracking code; the device gets exactly it.
    let third = queue_report(&resident, "Cây đổ chắn lối").await;
    Outbox::new(resident.clone(), Gateway::new(&city.url), TIMING)
        .drain(|| i64::MAX / 4)
        .await
        .expect("drain");
    let page = feed_after(&city.url, cursor, at.as_ref()).await;
    assert!(!page.restart);
    let ids: Vec<String> = page
        .changes
        .iter()
        .map(|c| match &c.op {
            citizen_core::ChangeOp::Upsert { entity } => entity.id(),
            citizen_core::ChangeOp::Delete { id, .. } => id.clone(),
        })
        .collect();
    assert_eq!(ids, vec![third.to_string()], "only the new report");
    pull_all(&syncer(&resident, &city.url)).await;
    let mut codes: Vec<String> = resident
        .report_views()
        .await
        .expect("views")
        .into_iter()
        .map(|v| v.tracking_code)
        .collect();
    codes.sort();
    assert_eq!(codes, ["MT00001", "MT00002", "MT00003"]);
    city.stop().await;

    // Moving again into the filled database is refused, and it stays as it was.
    let filled = Store::open(&postgres).await.expect("target");
    let after = digests(&filled).await;
    let out = migrate(&sqlite, &postgres);
    assert!(!out.status.success(), "a second move must be refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--to") && err.contains("empty"), "{err}");
    assert_eq!(digests(&filled).await, after, "nothing written");

    // A mistyped source is an error, not an empty city moved.
    let missing = format!("sqlite://{}", dir.path().join("no-such.db").display());
    let out = migrate(
        &missing,
        &citizen_testdb::fresh_postgres().expect("postgres"),
    );
    assert!(!out.status.success(), "a missing source must be refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from"));
    assert!(!dir.path().join("no-such.db").exists(), "and not created");
    let empty = format!("sqlite://{}", dir.path().join("empty.db").display());
    Store::open(&empty)
        .await
        .expect("an empty gateway database");
    let out = migrate(&empty, &citizen_testdb::fresh_postgres().expect("postgres"));
    assert!(!out.status.success(), "an empty source must be refused");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no gateway data"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // And back down to a new SQLite file: the same rows again.
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let out = migrate(&postgres, &back);
    assert!(
        out.status.success(),
        "migrate back: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = Store::open(&back).await.expect("back");
    assert_eq!(digests(&back).await, after, "the same rows on SQLite");
}
