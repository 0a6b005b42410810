//! The street-level map from a real gateway on loopback: its offer, a download resumed from
//! the bytes already on the device, a damaged download thrown away, and tiles seen online
//! kept in a bounded cache that still answers with the gateway gone.

mod common;

use std::path::{Path, PathBuf};

use citizen_client::Gateway;
use citizen_client::basemap::Basemap;
use citizen_client::street_pack::{StreetPackError, StreetPackFiles};
use citizen_client::tile_cache::{OnlineTiles, TileCache};
use citizen_server::{Application, Config};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A copy of the Mỹ Tho pack naming a street pack (the bundled coarse pack stands in: any
/// PMTiles in the schema will do), and a gateway serving it.
async fn gateway(dir: &Path) -> (String, tokio::sync::oneshot::Sender<()>, PathBuf) {
    let pack = dir.join("pack");
    std::fs::create_dir_all(&pack).expect("pack dir");
    for entry in std::fs::read_dir(root().join("assets/cities/my-tho")).expect("pack") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), pack.join(entry.file_name())).expect("copy");
    }
    let streets = pack.join("streets.pmtiles");
    std::fs::copy(root().join("target/basemap/coarse.pmtiles"), &streets)
        .expect("the basemap is built by cargo xtask setup");
    let city_path = pack.join("city.json");
    let mut city: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&city_path).expect("city")).expect("json");
    city["street_pack"] = "streets.pmtiles".into();
    std::fs::write(&city_path, serde_json::to_vec(&city).expect("json")).expect("write");
    let app = Application::build(&Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: citizen_testdb::database_url(dir, "gw"),
        city_pack: pack,
        simulate_every: None,
        public_url: None,
        code_sender: std::sync::Arc::new(citizen_server::otp::LogSender),
    })
    .await
    .expect("gateway starts");
    let url = format!("http://{}", app.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    (url, stop, streets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_resumes_from_the_bytes_already_here_and_a_damaged_one_is_thrown_away() {
    let dir = tempfile::tempdir().expect("tmp");
    let (url, _stop, original) = gateway(dir.path()).await;
    let gateway = Gateway::new(&url);
    let offer = gateway
        .street_pack_offer()
        .await
        .expect("answer")
        .expect("an offer");
    let bytes = std::fs::read(&original).expect("pack");
    assert_eq!(offer.bytes, bytes.len() as u64);
    // The gateway answers a range with just that range.
    let ranged = reqwest::Client::new()
        .get(format!("{url}{}", offer.url))
        .header("range", "bytes=100-")
        .send()
        .await
        .expect("answer");
    assert_eq!(ranged.status().as_u16(), 206);
    assert_eq!(
        ranged.headers()["content-type"],
        "application/vnd.pmtiles",
        "the PMTiles media type"
    );
    // Tile addresses that name no tile of the grid (outside it, or not numbers) are not found.
    let http = reqwest::Client::new();
    for (path, status) in [
        ("/api/v1/map/tiles/0/2147483646/0", 404),
        ("/api/v1/map/tiles/40/0/0.mvt", 404),
        ("/api/v1/map/tiles/2147483646/0/0", 404),
        ("/api/v1/map/tiles/3/99999999999999999/0", 404),
        ("/api/v1/map/tiles/z/0/0", 404),
        ("/api/v1/map/tiles/12/3258/%C3%B8", 404),
    ] {
        let answer = http
            .get(format!("{url}{path}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), status, "{path}");
    }
    assert_eq!(ranged.bytes().await.expect("body").len(), bytes.len() - 100);

    // Half of it arrived before the link broke.
    let maps = dir.path().join("maps");
    std::fs::create_dir_all(&maps).expect("maps");
    let half = bytes.len() / 2;
    std::fs::write(maps.join("streets.pmtiles.part"), &bytes[..half]).expect("part");
    std::fs::write(
        maps.join("streets.part.json"),
        serde_json::to_vec(&offer).expect("json"),
    )
    .expect("meta");
    let files = StreetPackFiles::new(&maps);
    let mut first_report = None;
    let installed = files
        .download(&gateway, &offer, |done, total| {
            first_report.get_or_insert((done, total));
        })
        .await
        .expect("installed");
    assert_eq!(
        first_report,
        Some((half as u64, offer.bytes)),
        "it started from the half"
    );
    assert_eq!(std::fs::read(&installed).expect("installed"), bytes);
    assert!(files.partial().is_none());
    assert_eq!(files.installed(), Some(installed.clone()));

    // Bytes that do not belong to the file are caught by the checksum and thrown away.
    std::fs::remove_file(&installed).expect("remove");
    let mut wrong = bytes[..half].to_vec();
    wrong[100] ^= 0xff;
    std::fs::write(maps.join("streets.pmtiles.part"), &wrong).expect("part");
    std::fs::write(
        maps.join("streets.part.json"),
        serde_json::to_vec(&offer).expect("json"),
    )
    .expect("meta");
    let damaged = files.download(&gateway, &offer, |_, _| {}).await;
    assert!(
        matches!(damaged, Err(StreetPackError::Checksum { .. })),
        "{damaged:?}"
    );
    assert!(files.partial().is_none(), "the damaged bytes are gone");
    let again = files
        .download(&gateway, &offer, |_, _| {})
        .await
        .expect("the next try starts afresh");
    assert_eq!(std::fs::read(again).expect("read"), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_seen_online_stay_for_offline_use_within_the_cache_bound() {
    let dir = tempfile::tempdir().expect("tmp");
    let (url, stop, _) = gateway(dir.path()).await;
    let template = format!("{url}/api/v1/map/tiles/{{z}}/{{x}}/{{y}}.mvt");
    let cache = TileCache::open(&dir.path().join("tiles.db"), 1 << 30)
        .await
        .expect("cache");
    let online = OnlineTiles::new(&template, cache.clone());
    let (x, y) = common::tile_at(12, 106.36, 10.33);
    let seen = online
        .tile(12, x, y, 1_000)
        .await
        .expect("from the gateway");
    assert!(
        seen.windows(5).any(|w| w == b"water"),
        "an uncompressed vector tile"
    );
    assert_eq!(cache.held_bytes(), seen.len() as u64);

    // The gateway goes away: the tile seen is still there, one never seen is not.
    stop.send(()).expect("stop");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        online.tile(12, x, y, 2_000).await.as_deref(),
        Some(&seen[..])
    );
    assert_eq!(online.tile(12, x + 1, y, 2_000).await, None);

    // Through the basemap: the cached tile answers before the coarse pack.
    let basemap = Basemap::open(&root().join("target/basemap"))
        .await
        .expect("basemap");
    basemap
        .set_online(Some(OnlineTiles::new(&template, cache.clone())))
        .await;
    assert_eq!(basemap.tile(12, x, y).await.as_deref(), Some(&seen[..]));

    // A bounded cache keeps the most recently used tiles.
    let small = TileCache::open(&dir.path().join("small.db"), 3_000)
        .await
        .expect("cache");
    for i in 0..10_u32 {
        small
            .put("src", (14, i, 0), &[i as u8; 1_000], i64::from(i))
            .await
            .expect("put");
        // Tile 0 is looked at again each time: it stays.
        small
            .get("src", (14, 0, 0), i64::from(i) + 1)
            .await
            .expect("get");
    }
    assert!(
        small.held_bytes() <= 3_000,
        "{} bytes held",
        small.held_bytes()
    );
    assert!(
        small
            .get("src", (14, 0, 0), 100)
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        small
            .get("src", (14, 9, 0), 100)
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        small
            .get("src", (14, 1, 0), 100)
            .await
            .expect("get")
            .is_none()
    );
    // Reopened with a smaller bound, it shrinks at once.
    drop(small);
    let smaller = TileCache::open(&dir.path().join("small.db"), 1_000)
        .await
        .expect("cache");
    assert!(smaller.held_bytes() <= 1_000);
}

/// A server that answers every request with `answer`, as a broken proxy might.
async fn answering(answer: &'static [u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0_u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(answer).await;
            let _ = socket.shutdown().await;
        }
    });
    url
}

#[tokio::test]
async fn a_wrong_range_or_too_many_bytes_stop_the_download_without_touching_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("part");
    std::fs::write(&path, b"01234").expect("part");
    // Asked from byte 5, answered from byte 0.
    let url = answering(
        b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/20\r\nContent-Length: 10\r\n\r\n0123456789",
    )
    .await;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .await
        .expect("open");
    let wrong = Gateway::new(&url)
        .download("/f", 5, 20, &mut file, |_| {})
        .await;
    assert!(wrong.is_err(), "{wrong:?}");
    assert_eq!(std::fs::read(&path).expect("read"), b"01234", "untouched");
    // The whole file, but longer than offered.
    let url =
        answering(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n012345678901234567890123456789")
            .await;
    let long = Gateway::new(&url)
        .download("/f", 5, 20, &mut file, |_| {})
        .await;
    assert!(long.is_err(), "{long:?}");
    assert!(
        std::fs::metadata(&path).expect("meta").len() <= 20,
        "never past the offer"
    );
}
