//! Measures the running system and prints figures: app start to first screen with data and
//! the app's memory (real app under Xvfb), and the gateway's sync-feed throughput on loopback.
//! Run by `cargo xtask bench` after a release build.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use citizen_core::CityPack;
use citizen_core::sync::PullTiming;
use citizen_e2e::proxy::Proxy;
use citizen_e2e::{Display, Driver, GatewayProcess, binary, free_port, wait_text};
use sha2::Digest as _;

const PROFILE: &str = "release";

/// Runs every section, or only those named on the command line (`feed`, `photo`, `reports`,
/// `resume`, `app`, `map`, `scale`, `basemap`, `postgres`, `load`, `sensorthings`,
/// `sensorthings-scale`, `services`).
#[tokio::main]
async fn main() -> Result<()> {
    let chosen: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |name: &str| chosen.is_empty() || chosen.iter().any(|c| c == name);
    let tmp = tempfile::tempdir()?;
    let port = free_port()?;
    let gateway = GatewayProcess::start(PROFILE, &tmp.path().join("gateway.db"), port)?;
    if wanted("feed") {
        throughput(
            "SQLite",
            &gateway,
            "/api/v1/sync?since=0&limit=100",
            32,
            Duration::from_secs(5),
        )
        .await?;
        throughput("SQLite", &gateway, "/health", 32, Duration::from_secs(3)).await?;
    }
    if wanted("postgres") {
        feed_on_postgres().await?;
    }
    if wanted("sensorthings") {
        sensorthings(&gateway).await?;
    }
    if wanted("sensorthings-scale") {
        citizen_e2e::sensors::at_scale(tmp.path(), PROFILE).await?;
        citizen_e2e::sensors::forecast_back_test()?;
    }
    if wanted("load") {
        load_runs(tmp.path()).await?;
    }
    if wanted("photo") {
        photo_processing()?;
    }
    if wanted("reports") {
        drain_reports(&gateway, tmp.path(), 1_000).await?;
    }
    if wanted("resume") {
        resume_overhead(&gateway, tmp.path()).await?;
    }
    if wanted("services") {
        services(&gateway, tmp.path()).await?;
    }
    if wanted("app") {
        app_start_and_memory(&gateway, tmp.path()).await?;
    }
    if wanted("map") {
        map_first_frame(&gateway, tmp.path(), false).await?;
        map_first_frame(&gateway, tmp.path(), true).await?;
    }
    if wanted("scale") {
        search_and_nearest_at_scale(tmp.path()).await?;
    }
    if wanted("basemap") {
        basemap_sizes()?;
    }
    Ok(())
}

/// Median of some durations, in ms.
fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

/// Time from the map screen's creation to its first complete frame (all tiles of the view
/// drawn, all points loaded and clustered), on the bundled coarse basemap, under Xvfb's
/// software renderer; with Mỹ Tho's points, or with the stress pack's 87 700 in the store.
async fn map_first_frame(
    gateway: &GatewayProcess,
    dir: &std::path::Path,
    stress: bool,
) -> Result<()> {
    let data = dir.join(if stress { "app-map-stress" } else { "app-map" });
    let mut url = gateway.url();
    if stress {
        std::fs::create_dir_all(&data)?;
        let store = citizen_client::Store::open(&data.join("citizen.db")).await?;
        store.bootstrap(&citizen_e2e::stress::pack()?).await?;
        store.close().await;
        // Offline, so the sync does not add the gateway's city on top.
        url = format!("http://127.0.0.1:{}", free_port()?);
    }
    let display = Display::get()?;
    let driver = Driver::start(
        &display,
        binary("citizen-app", PROFILE)?,
        &[
            ("CITIZEN_GATEWAY_URL", url),
            ("CITIZEN_DATA_DIR", data.display().to_string()),
        ],
    )?;
    let mut frames = Vec::new();
    for _ in 0..5 {
        let app = driver.session().await?;
        citizen_e2e::element(&app, "#home .city-name").await?;
        citizen_e2e::click(&app, "#go-map").await?;
        let ms = citizen_e2e::eventually(Duration::from_secs(30), "first frame", || async {
            let el = citizen_e2e::element(&app, "#city-map").await?;
            Ok(el
                .attr("data-first-frame-ms")
                .await?
                .and_then(|v| v.parse::<f64>().ok()))
        })
        .await?;
        frames.push(Duration::from_secs_f64(ms / 1e3));
        app.close().await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let points = if stress {
        "the stress pack's 87 700 points"
    } else {
        "Mỹ Tho's 81 points"
    };
    println!(
        "map screen, creation to first complete frame (coarse basemap, {points}, Xvfb software GL): median {:.0} ms",
        median_ms(frames)
    );
    Ok(())
}

/// Search and nearest over the stress pack (about 87 700 real points): the index's build
/// time and memory, nearest-10, and searches by prefix and by whole word.
async fn search_and_nearest_at_scale(dir: &std::path::Path) -> Result<()> {
    let pack = citizen_e2e::stress::pack()?;
    let points = pack.places.len() + pack.hotspots.len();
    let store = citizen_client::Store::open(&dir.join("stress.db")).await?;
    store.bootstrap(&pack).await?;
    let before = resident_kb();
    let t0 = Instant::now();
    let index = store.index().await?;
    let build = t0.elapsed();
    let grown = resident_kb().saturating_sub(before);
    println!(
        "stress pack: {points} points; index (search entries + R-tree + map points) built in {:.0} ms from the store, +{:.0} MiB resident",
        build.as_secs_f64() * 1e3,
        grown as f64 / 1024.0
    );
    // Nearest-10 from positions spread over Vietnam's box.
    let mut rng_state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        (rng_state >> 11) as f64 / (1u64 << 53) as f64
    };
    let queries: Vec<citizen_core::Position> = (0..20_000)
        .map(|_| citizen_core::Position {
            lon: 102.0 + next() * 8.0,
            lat: 8.5 + next() * 15.0,
        })
        .collect();
    let t0 = Instant::now();
    let mut found = 0;
    for q in &queries {
        found += index.near.nearest(*q, 10).len();
    }
    let per = t0.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
    anyhow::ensure!(found == queries.len() * 10, "ten found each time");
    println!(
        "nearest-10 over {points} points (R-tree): {per:.1} µs per query (mean of {})",
        queries.len()
    );
    let from = Some(citizen_core::Position {
        lon: 106.36,
        lat: 10.36,
    });
    for (what, query) in [
        ("prefix", "vinh tr"),
        ("prefix", "ca"),
        ("whole word", "pho"),
        ("whole words, one with a typo", "nha hangg"),
    ] {
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..21 {
            let t0 = Instant::now();
            hits = index.search.search(query, from, 30).len();
            times.push(t0.elapsed());
        }
        println!(
            "search {what} {query:?} over {} entries: median {:.2} ms ({hits} shown)",
            index.search.len(),
            median_ms(times)
        );
    }
    store.close().await;
    Ok(())
}

/// This process's resident memory in kB.
fn resident_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Sizes of the bundled basemap's parts.
fn basemap_sizes() -> Result<()> {
    let dir = citizen_e2e::root().join("target/basemap");
    let size = |path: &std::path::Path| -> u64 {
        if path.is_file() {
            return std::fs::metadata(path).map_or(0, |m| m.len());
        }
        walk(path)
    };
    fn walk(dir: &std::path::Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            walk(&p)
                        } else {
                            std::fs::metadata(&p).map_or(0, |m| m.len())
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    println!(
        "bundled coarse basemap: tiles {:.0} KB, glyphs {:.0} KB, styles {:.0} KB, licences {:.0} KB",
        size(&dir.join("coarse.pmtiles")) as f64 / 1e3,
        size(&dir.join("fonts")) as f64 / 1e3,
        size(&dir.join("style")) as f64 / 1e3,
        size(&dir.join("licences")) as f64 / 1e3,
    );
    Ok(())
}

/// Resizing and stripping a 12-megapixel camera photo on the device.
fn photo_processing() -> Result<()> {
    let original = citizen_e2e::photos::detailed_jpeg(4_000, 3_000, 90, 7);
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..7 {
        let start = Instant::now();
        out = Some(citizen_client::photo::process(&original)?);
        times.push(start.elapsed());
    }
    times.sort();
    let out = out.context("processed")?;
    println!(
        "photo 4000×3000 ({:.1} MB) → {}×{} ({:.2} MB) without metadata: median {:.0} ms, best {:.0} ms (7 runs)",
        original.len() as f64 / 1e6,
        out.width,
        out.height,
        out.data.len() as f64 / 1e6,
        times[3].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
    Ok(())
}

/// A device with `count` reports waiting (written offline), then the link comes back.
async fn device_with_reports(
    path: &std::path::Path,
    count: usize,
    photo: Option<Vec<u8>>,
) -> Result<(citizen_client::Store, CityPack)> {
    let store = citizen_client::Store::open(path).await?;
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    store.bootstrap(&pack).await?;
    let category = pack.categories[0].code.clone();
    for i in 0..count {
        let mut draft = store.new_draft(0).await?;
        if let Some(data) = &photo {
            let processed = citizen_client::photo::ProcessedPhoto {
                sha256: format!("{:x}", sha2::Sha256::digest(data)),
                data: data.clone(),
                width: 1,
                height: 1,
                gps: None,
            };
            store.add_photo(draft.id, &processed, 0).await?;
            draft = store.draft(draft.id).await?.context("draft")?;
        }
        draft.category = Some(category.clone());
        draft.description = format!("Báo cáo số {i}");
        draft.position = Some(pack.city.center());
        store.save_draft(&draft).await?;
        store
            .submit_draft(draft.id, &pack.city, |c| c == category, 0)
            .await?;
    }
    Ok((store, pack))
}

fn outbox(store: &citizen_client::Store, url: &str) -> citizen_client::outbox::Outbox {
    citizen_client::outbox::Outbox::new(
        store.clone(),
        citizen_client::Gateway::new(url),
        PullTiming {
            interval_ms: 1_000,
            backoff_base_ms: 10,
            backoff_max_ms: 100,
        },
    )
}

/// Time to drain `count` queued reports to the gateway on loopback.
async fn drain_reports(
    gateway: &GatewayProcess,
    dir: &std::path::Path,
    count: usize,
) -> Result<()> {
    let (store, _) = device_with_reports(&dir.join("drain.db"), count, None).await?;
    let outbox = outbox(&store, &gateway.url());
    let start = Instant::now();
    while store.outbox_len().await? > 0 {
        outbox.drain(citizen_client::syncer::now_ms).await?;
    }
    let took = start.elapsed();
    println!(
        "{count} queued reports drained to the gateway on loopback: {:.2} s ({:.0} reports/s)",
        took.as_secs_f64(),
        count as f64 / took.as_secs_f64()
    );
    store.close().await;
    Ok(())
}

/// A device identified on `gateway` with `count` certified-copy applications queued, each
/// with a PDF of `pdf_bytes`.
async fn device_with_applications(
    gateway: &GatewayProcess,
    (path, phone): (&std::path::Path, &str),
    count: usize,
    pdf_bytes: usize,
) -> Result<citizen_client::Store> {
    let store = citizen_client::Store::open(path).await?;
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    store.bootstrap(&pack).await?;
    let (phone, token) = gateway.identify(phone).await?;
    store.set_identity(&phone, &token).await?;
    for i in 0..count {
        let draft = store.new_application("certified-copy", 0).await?;
        let pdf = citizen_server::document::sample_pdf_of(pdf_bytes, i as u64 + 1);
        let doc = store.attach_document("ban-chinh.pdf", &pdf, 0).await?;
        let answers =
            citizen_e2e::certified_copy_answers(&[doc], &format!("Bằng tốt nghiệp số {i}"));
        store.save_application(draft.id, &answers, 0).await?;
        citizen_e2e::send_certified_copy(&store, &pack, draft.id).await?;
    }
    Ok(store)
}

/// Online public services: application to dossier code, a document's bytes over a cut link,
/// the form check natively and in the app's WASM, and a department's queue at 10 000
/// dossiers.
async fn services(gateway: &GatewayProcess, dir: &std::path::Path) -> Result<()> {
    // Submission to dossier code: each application (a 200 KB PDF) sent alone, upload included.
    let store =
        device_with_applications(gateway, (&dir.join("apply.db"), "0912345678"), 30, 200_000)
            .await?;
    let sender = outbox(&store, &gateway.url());
    let mut times = Vec::new();
    while store.outbox_len().await? > 0 {
        let before = store.outbox_len().await?;
        let t0 = Instant::now();
        let item = store
            .next_due(i64::MAX / 2)
            .await?
            .context("a queued application")?;
        sender.send(&item).await?;
        times.push(t0.elapsed());
        anyhow::ensure!(store.outbox_len().await? == before - 1, "acknowledged");
    }
    let coded = store
        .my_dossiers()
        .await?
        .iter()
        .filter(|d| d.code().is_some())
        .count();
    anyhow::ensure!(coded == 30, "every application has its code ({coded})");
    times.sort();
    println!(
        "application with a 200 KB PDF to dossier code on loopback (upload included): median {:.1} ms, slowest {:.1} ms ({} applications)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
    store.close().await;

    // A 2 MB PDF over a link that drops every 512 KB.
    let store =
        device_with_applications(gateway, (&dir.join("cut.db"), "0987654321"), 1, 2_000_000)
            .await?;
    let size = store.my_dossiers().await?[0].documents[0].size;
    let proxy = Proxy::start(format!("127.0.0.1:{}", gateway.port).parse()?).await?;
    proxy.drop_every(512 * 1024);
    let cut = outbox(&store, &proxy.url());
    let clock = std::sync::atomic::AtomicI64::new(0);
    let later = || clock.fetch_add(3_600_000, std::sync::atomic::Ordering::SeqCst) + 3_600_000;
    let mut rounds = 0;
    while store.outbox_len().await? > 0 && rounds < 1_000 {
        cut.drain(later).await?;
        rounds += 1;
    }
    anyhow::ensure!(store.outbox_len().await? == 0, "the application arrived");
    println!(
        "application with a {:.2} MB PDF over a link cut every 512 KB: {:.2} MB sent ({:.2}× the file), {} cuts",
        size as f64 / 1e6,
        proxy.sent_up() as f64 / 1e6,
        proxy.sent_up() as f64 / size as f64,
        proxy.cuts()
    );
    store.close().await;

    // The largest form's check, native.
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    let largest = pack
        .forms
        .iter()
        .max_by_key(|f| f.schema["properties"].as_object().map_or(0, |p| p.len()))
        .context("a form")?;
    let form = citizen_core::form::Form::compile(largest)?;
    anyhow::ensure!(
        largest.procedure == "birth-registration",
        "the answers below are its"
    );
    let certificate = serde_json::json!({
        "id": uuid::Uuid::now_v7(), "name": "giay-chung-sinh.pdf", "media_type": "application/pdf",
        "size": 200_000, "sha256": "ab".repeat(32),
    });
    let mut answers = citizen_e2e::birth_registration_answers(&certificate);
    // The father known: every field of the form is answered and checked.
    answers["father_known"] = "yes".into();
    answers["father_name"] = "Trần Văn Hùng".into();
    answers["father_citizen_id"] = "082188000456".into();
    answers["applicant_email"] = "lan@example.com".into();
    let answers = answers.as_object().context("answers")?.clone();
    let ctx = citizen_core::form::CheckContext {
        today: citizen_core::civil::Date::new(2026, 11, 30).context("a date")?,
        wards: &pack.wards,
    };
    anyhow::ensure!(
        form.check(&answers, &ctx).is_ok(),
        "the answers are valid: every rule runs"
    );
    const ROUNDS: u32 = 20_000;
    let t0 = Instant::now();
    for _ in 0..ROUNDS {
        std::hint::black_box(form.check(std::hint::black_box(&answers), &ctx).err());
    }
    println!(
        "check of the largest form ({}, {} fields), native: {:.1} µs",
        largest.procedure,
        form.fields().len(),
        t0.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
    );
    // And in the app's WASM: every key typed runs the check; the form counts them.
    let display = Display::get()?;
    let driver = Driver::start(
        &display,
        binary("citizen-app", PROFILE)?,
        &[
            ("CITIZEN_GATEWAY_URL", gateway.url()),
            (
                "CITIZEN_DATA_DIR",
                dir.join("app-form").display().to_string(),
            ),
        ],
    )?;
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    citizen_e2e::click(&app, "#go-services").await?;
    citizen_e2e::click_to(
        &app,
        &format!(
            "#catalogue li.procedure[data-id={}] button",
            largest.procedure
        ),
        "#procedure-documents",
    )
    .await?;
    citizen_e2e::click_to(&app, "#apply-online", "#apply .application").await?;
    // A field shows its problem once left: from then on every key typed checks the form.
    let name = citizen_e2e::element(&app, "#f-applicant_name").await?;
    name.send_keys("N").await?;
    app.execute("document.activeElement.blur(); return true;", vec![])
        .await?;
    name.send_keys(&"guyễn Thị Lan ".repeat(20)).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let form_el = citizen_e2e::element(&app, "#apply .application").await?;
    anyhow::ensure!(
        form_el.attr("data-checks").await?.is_some(),
        "the form counts its checks"
    );
    let checks: f64 = form_el
        .attr("data-checks")
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let total: f64 = form_el
        .attr("data-check-ms-total")
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    println!(
        "check of the same form in the app (WASM in WebKitGTK, release): {:.1} µs mean over {checks:.0} checks",
        total * 1e3 / checks.max(1.0)
    );
    app.close().await?;
    drop(driver);

    // A department's queue at 10 000 dossiers.
    let gateway_store = citizen_server::Store::open(&gateway.database_url).await?;
    let department = "ward_culture_society";
    let calendar = pack.work_calendar()?;
    let now = citizen_client::syncer::now_ms();
    let t0 = Instant::now();
    for i in 0..10_000_i64 {
        let application = citizen_core::dossier::Application {
            id: uuid::Uuid::now_v7(),
            procedure: "birth-registration".into(),
            answers: serde_json::Map::new(),
        };
        // Spread over the last 30 days, so some are overdue.
        let received = now - (i % 720) * 3_600_000;
        gateway_store
            .submit_dossier(
                &application,
                citizen_server::store::Intake {
                    phone: "+84912345678",
                    department,
                    code_prefix: "MT",
                    answers: serde_json::Map::new(),
                    documents: Vec::new(),
                    now_ms: received,
                    due_at_ms: calendar.due_at(received, 5),
                },
            )
            .await?;
    }
    let filled = t0.elapsed();
    let token = gateway_store
        .create_token(
            citizen_server::store::Role::Staff,
            Some(department),
            "bench",
            now,
        )
        .await?;
    gateway_store.close().await;
    let http = reqwest::Client::new();
    for (what, query) in [
        ("first 100", "limit=100"),
        ("overdue, first 100", "overdue=true&limit=100"),
    ] {
        let mut times = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            let answer = http
                .get(format!("{}/api/v1/staff/dossiers?{query}", gateway.url()))
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            std::hint::black_box(answer);
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "department queue with 10 000 dossiers ({what}): p50 {:.1} ms, p99 {:.1} ms",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() * 99 / 100].as_secs_f64() * 1e3
        );
    }
    println!(
        "(10 000 dossiers written through the store in {:.1} s)",
        filled.as_secs_f64()
    );
    Ok(())
}

/// Bytes sent for a 5 MB photo over a link that drops every 1 MB, relative to its size.
async fn resume_overhead(gateway: &GatewayProcess, dir: &std::path::Path) -> Result<()> {
    // Quality 95 on a detailed 2 100 × 1 600 image is about 5 MB.
    let photo = citizen_e2e::photos::detailed_jpeg(2_100, 1_600, 95, 11);
    let (store, _) = device_with_reports(&dir.join("resume.db"), 1, Some(photo.clone())).await?;
    let proxy = Proxy::start(format!("127.0.0.1:{}", gateway.port).parse()?).await?;
    proxy.drop_every(1_000_000);
    let outbox = outbox(&store, &proxy.url());
    // A clock that moves on an hour at each reading: the retry after each cut is due at once,
    // so the figure counts bytes, not backoff waits.
    let clock = std::sync::atomic::AtomicI64::new(0);
    let later = || clock.fetch_add(3_600_000, std::sync::atomic::Ordering::SeqCst) + 3_600_000;
    let mut rounds = 0;
    while store.outbox_len().await? > 0 && rounds < 1_000 {
        outbox.drain(later).await?;
        rounds += 1;
    }
    anyhow::ensure!(store.outbox_len().await? == 0, "the photo arrived");
    println!(
        "{:.2} MB photo over a link cut every 1 MB: {:.2} MB sent ({:.2}× the photo), {} cuts",
        photo.len() as f64 / 1e6,
        proxy.sent_up() as f64 / 1e6,
        proxy.sent_up() as f64 / photo.len() as f64,
        proxy.cuts()
    );
    store.close().await;
    Ok(())
}

/// Requests per second and latency percentiles of `path` with `concurrency` clients.
async fn throughput(
    label: &str,
    gateway: &GatewayProcess,
    path: &str,
    concurrency: usize,
    duration: Duration,
) -> Result<()> {
    let url = format!("{}{path}", gateway.url());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    // Warm up connections and caches.
    for _ in 0..50 {
        http.get(&url).send().await?.bytes().await?;
    }
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut bytes = 0;
            while Instant::now() < deadline {
                let start = Instant::now();
                let body = http
                    .get(&url)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                bytes += body.len();
                latencies.push(start.elapsed());
            }
            Ok::<_, anyhow::Error>((latencies, bytes))
        }));
    }
    let mut all = Vec::new();
    let mut bytes = 0;
    for t in tasks {
        let (l, b) = t.await??;
        all.extend(l);
        bytes += b;
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "gateway ({label}) GET {path}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} requests, {concurrency} clients, {:.1} KB per answer)",
        all.len() as f64 / duration.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all.len(),
        bytes as f64 / all.len() as f64 / 1024.0,
    );
    Ok(())
}

/// The gateway as a sensor hub, on SQLite and on PostgreSQL (one instance, durable cluster):
/// writes and reads per second. (1 000 stations at scale and the forecast's back-test are the
/// section `sensorthings-scale`.)
async fn sensorthings(gateway: &GatewayProcess) -> Result<()> {
    let store = citizen_server::Store::open(&gateway.database_url).await?;
    let station = citizen_e2e::sensors::station(&store, "station-my-tho").await?;
    citizen_e2e::sensors::writes("SQLite", &gateway.url(), &station).await?;
    let cluster = citizen_testdb::Cluster::start(citizen_testdb::Durability::Durable)?;
    let database = cluster.create_database("sensors")?;
    let pack = citizen_e2e::root().join("assets/cities/my-tho");
    let pg = GatewayProcess::launch(PROFILE, &database, free_port()?, 1, &pack, false)?;
    let pg_store = citizen_server::Store::open(&database).await?;
    let pg_station = citizen_e2e::sensors::station(&pg_store, "station-my-tho").await?;
    citizen_e2e::sensors::writes("PostgreSQL", &pg.url(), &pg_station).await?;
    drop(pg);
    Ok(())
}

/// The feed's throughput on PostgreSQL (a durable cluster: PostgreSQL's default settings) with
/// one instance, and with two behind nginx.
async fn feed_on_postgres() -> Result<()> {
    let cluster = citizen_testdb::Cluster::start(citizen_testdb::Durability::Durable)?;
    let pack = citizen_e2e::root().join("assets/cities/my-tho");
    for instances in [1, 2] {
        let database = cluster.create_database(&format!("feed{instances}"))?;
        let gateway = GatewayProcess::start_on(PROFILE, &database, free_port()?, instances, &pack)?;
        let label = if instances == 1 {
            "PostgreSQL, 1 instance".to_owned()
        } else {
            format!("PostgreSQL, {instances} instances behind nginx")
        };
        throughput(
            &label,
            &gateway,
            "/api/v1/sync?since=0&limit=100",
            32,
            Duration::from_secs(5),
        )
        .await?;
    }
    Ok(())
}

/// Boston's 121 145 requests of 2015 as reports: through one instance on SQLite, then through
/// two instances on PostgreSQL behind nginx, with 4 devices syncing meanwhile; and the time
/// `citizen-server migrate` takes to move the SQLite city (121 145 reports) to PostgreSQL.
async fn load_runs(dir: &std::path::Path) -> Result<()> {
    let pack = citizen_e2e::root().join("assets/cities/my-tho");
    let reports = citizen_e2e::load::boston_reports(None)?;
    let cluster = citizen_testdb::Cluster::start(citizen_testdb::Durability::Durable)?;
    let sqlite = format!("sqlite://{}", dir.join("boston.db").display());
    let runs = [
        ("SQLite, 1 instance", sqlite.clone(), 1),
        (
            "PostgreSQL, 2 instances behind nginx",
            cluster.create_database("boston")?,
            2,
        ),
    ];
    for (label, database, instances) in runs {
        let mut gateway =
            GatewayProcess::start_on(PROFILE, &database, free_port()?, instances, &pack)?;
        let figures = citizen_e2e::load::run(
            &gateway.url(),
            reports.clone(),
            32,
            4,
            Duration::from_secs(30 * 60),
        )
        .await?;
        println!("load run ({label}, 32 writers, 4 devices syncing): {figures}");
        gateway.stop();
    }
    let target = cluster.create_database("moved")?;
    let started = Instant::now();
    let out = std::process::Command::new(binary("citizen-server", PROFILE)?)
        .args(["migrate", "--from", &sqlite, "--to", &target])
        .env("RUST_LOG", "warn")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(dir.join("boston.db"))?.len();
    println!(
        "migrate SQLite → PostgreSQL of the Boston-sized city ({:.0} MB file, {} reports): {:.1} s, verified",
        size as f64 / 1e6,
        citizen_e2e::load::BOSTON_REQUESTS,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Median time from asking for a session (which launches the app) to the home screen showing
/// the city's data, and the memory of the app's processes once it shows.
async fn app_start_and_memory(gateway: &GatewayProcess, dir: &std::path::Path) -> Result<()> {
    let display = Display::get()?;
    let driver = Driver::start(
        &display,
        binary("citizen-app", PROFILE)?,
        &[
            ("CITIZEN_GATEWAY_URL", gateway.url()),
            ("CITIZEN_DATA_DIR", dir.join("app").display().to_string()),
        ],
    )?;
    let mut starts = Vec::new();
    let mut memory = None;
    for run in 0..5 {
        let t0 = Instant::now();
        let app = driver.session().await?;
        wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
        starts.push(t0.elapsed());
        if run == 4 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            memory = Some(app_memory().context("finding the app process")?);
        }
        app.close().await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    starts.sort();
    println!(
        "app start to first screen with data (release, Xvfb, WebDriver session to city shown): median {:.0} ms, min {:.0} ms, max {:.0} ms",
        starts[2].as_secs_f64() * 1e3,
        starts[0].as_secs_f64() * 1e3,
        starts[4].as_secs_f64() * 1e3,
    );
    if let Some((rss, pss, n)) = memory {
        println!(
            "app memory, {n} processes (app + WebKit web and network processes): {:.0} MiB RSS, {:.0} MiB PSS",
            rss as f64 / 1024.0,
            pss as f64 / 1024.0
        );
    }
    drop(driver);
    Ok(())
}

/// RSS and PSS (kB) of the running `citizen-app` and its descendants, and how many processes.
fn app_memory() -> Option<(u64, u64, usize)> {
    let app = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok())
        .find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            (exe.file_name()? == "citizen-app").then_some(pid)
        })?;
    let mut pids = vec![app];
    let mut i = 0;
    while i < pids.len() {
        let p = pids[i];
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")) {
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        i += 1;
    }
    let field = |pid: u32, file: &str, name: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(0)
    };
    let rss = pids.iter().map(|p| field(*p, "status", "VmRSS:")).sum();
    let pss = pids.iter().map(|p| field(*p, "smaps_rollup", "Pss:")).sum();
    Some((rss, pss, pids.len()))
}
