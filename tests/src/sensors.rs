//! Figures of the gateway as a sensor hub (`cargo xtask bench sensorthings`): single
//! Observation POSTs and `CreateObservations` per second, GET Observations per second, the
//! newest reading of 1 000 stations holding 30 days at 5-minute intervals (8.6 million
//! observations), the p99 of a filtered page of 100 on that data, and the fresh-water
//! forecast's back-test hit rate.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::{GatewayProcess, free_port, root};

const DAY_MS: i64 = 86_400_000;

/// A station's token and its salinity Datastream on a gateway.
pub struct Station {
    pub token: String,
    pub datastream: i64,
}

/// Makes a token for `station_id` on the gateway's database and finds its salinity Datastream.
pub async fn station(store: &citizen_server::Store, station_id: &str) -> Result<Station> {
    let token = store
        .create_station_token(station_id, "bench", citizen_server::now_ms())
        .await?
        .context("the station")?;
    let datastream = store
        .station_entities()
        .await?
        .into_iter()
        .find(|s| s.station_id == station_id)
        .and_then(|s| s.datastreams.into_iter().find(|d| d.0 == "salinity"))
        .context("a salinity datastream")?
        .1;
    Ok(Station { token, datastream })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Runs `clients` loops of `request(client, n)` for `duration`; returns (requests, items,
/// sorted latencies). `request` answers how many items (observations) one request carried.
async fn hammer<F, Fut>(
    clients: usize,
    duration: Duration,
    request: F,
) -> Result<(usize, usize, Vec<Duration>)>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<usize>> + Send,
{
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut items, mut n) = (Vec::new(), 0, 0);
            while Instant::now() < deadline {
                let start = Instant::now();
                items += request(c, n).await?;
                latencies.push(start.elapsed());
                n += 1;
            }
            Ok::<_, anyhow::Error>((latencies, items))
        }));
    }
    let (mut all, mut items) = (Vec::new(), 0);
    for t in tasks {
        let (l, i) = t.await??;
        all.extend(l);
        items += i;
    }
    all.sort();
    Ok((all.len(), items, all))
}

/// Single POSTs and CreateObservations on the gateway at `url`.
pub async fn writes(label: &str, url: &str, s: &Station) -> Result<()> {
    let http = reqwest::Client::new();
    let base = citizen_server::now_ms() - 300 * DAY_MS;
    let duration = Duration::from_secs(5);
    let (url1, token1, ds) = (url.to_owned(), s.token.clone(), s.datastream);
    let h1 = http.clone();
    let (requests, _, lat) = hammer(8, duration, move |c, n| {
        let (http, url, token) = (h1.clone(), url1.clone(), token1.clone());
        async move {
            let t = base + (c as i64 * 2_592_000 + n as i64) * 1_000;
            let body = json!({"phenomenonTime": citizen_server::sta::time::format_instant(t), "result": 1.5, "Datastream": {"@iot.id": ds}});
            let r = http
                .post(format!("{url}/sta/v1.1/Observations"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?;
            if r.status() != reqwest::StatusCode::CREATED {
                bail!("POST: {}", r.text().await?);
            }
            Ok(1)
        }
    })
    .await?;
    println!(
        "SensorThings ({label}): {:.0} single Observation POSTs/s, p50 {:.1} ms, p99 {:.1} ms (8 clients)",
        requests as f64 / duration.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
    const BATCH: usize = 1_000;
    // Half a day after a band of the single POSTs starts, so the two never meet.
    let base = citizen_server::now_ms() - 150 * DAY_MS + DAY_MS / 2;
    let (url2, token2) = (url.to_owned(), s.token.clone());
    let h2 = http.clone();
    let (_, items, lat) = hammer(4, duration, move |c, n| {
        let (http, url, token) = (h2.clone(), url2.clone(), token2.clone());
        async move {
            let rows: Vec<Value> = (0..BATCH)
                .map(|i| {
                    let t = base + ((c * 2_592_000 + n * BATCH + i) as i64) * 1_000;
                    json!([citizen_server::sta::time::format_instant(t), 2.0])
                })
                .collect();
            let body = json!([{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}]);
            let r = http
                .post(format!("{url}/sta/v1.1/CreateObservations"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?;
            let links: Vec<String> = r.json().await?;
            if links.iter().any(|l| l.starts_with("error")) {
                bail!("CreateObservations: {:?}", links.iter().find(|l| l.starts_with("error")));
            }
            Ok(links.len())
        }
    })
    .await?;
    println!(
        "SensorThings ({label}): {:.0} observations/s through CreateObservations ({BATCH} per request, 4 clients, p50 {:.0} ms per request)",
        items as f64 / duration.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3
    );
    let url3 = url.to_owned();
    let h3 = http.clone();
    let cpu_before = own_cpu_seconds();
    let (requests, _, lat) = hammer(8, duration, move |_, _| {
        let (http, url) = (h3.clone(), url3.clone());
        async move {
            let r = http
                .get(format!("{url}/sta/v1.1/Observations"))
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("GET: {}", r.status());
            }
            r.bytes().await?;
            Ok(1)
        }
    })
    .await?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let client_share = (own_cpu_seconds() - cpu_before) / (duration.as_secs_f64() * cores);
    println!(
        "SensorThings ({label}): {:.0} GET Observations/s (a page of 100), p99 {:.1} ms (8 clients; the load generator itself took {:.0} % of the machine's {cores} cores)",
        requests as f64 / duration.as_secs_f64(),
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        client_share * 100.0
    );
    Ok(())
}

/// CPU time (user + system, seconds) this process has used, from `/proc/self/stat`; 0 where
/// that cannot be read.
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // After the command's name in parentheses: utime and stime are fields 14 and 15, in
    // clock ticks (100 a second on Linux).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// A copy of the Mỹ Tho pack with `n` salinity stations spread over its area instead of its 3.
fn pack_with_stations(dir: &Path, n: usize) -> Result<std::path::PathBuf> {
    let pack = dir.join("pack-1000-stations");
    std::fs::create_dir_all(&pack)?;
    let source = root().join("assets/cities/my-tho");
    for entry in std::fs::read_dir(&source)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), pack.join(entry.file_name()))?;
        }
    }
    let mut stations: Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("stations.geojson"))?)?;
    let template = stations["features"][0].clone();
    let city: Value = serde_json::from_str(&std::fs::read_to_string(source.join("city.json"))?)?;
    let bbox: Vec<f64> = serde_json::from_value(city["bbox"].clone())?;
    let side = (n as f64).sqrt().ceil() as usize;
    let features: Vec<Value> = (0..n)
        .map(|i| {
            let mut f = template.clone();
            let (x, y) = ((i % side) as f64 + 0.5, (i / side) as f64 + 0.5);
            f["geometry"]["coordinates"] = json!([
                bbox[0] + (bbox[2] - bbox[0]) * x / side as f64,
                bbox[1] + (bbox[3] - bbox[1]) * y / side as f64
            ]);
            f["properties"]["id"] = json!(format!("station-{i:04}"));
            f["properties"]["km_from_mouth"] = json!(40.0 + (i % 20) as f64);
            let salinity = f["properties"]["parameters"][0].clone();
            f["properties"]["parameters"] = json!([salinity]);
            f
        })
        .collect();
    stations["features"] = json!(features);
    std::fs::write(
        pack.join("stations.geojson"),
        serde_json::to_vec(&stations)?,
    )?;
    Ok(pack)
}

/// 1 000 stations with 30 days of salinity every 5 minutes, on SQLite: the newest reading of
/// every station, and a filtered page of 100 under load.
pub async fn at_scale(dir: &Path, profile: &str) -> Result<()> {
    const STATIONS: usize = 1_000;
    const STEP: i64 = 5 * 60_000;
    let pack = pack_with_stations(dir, STATIONS)?;
    let db = dir.join("sta-scale.db");
    let url = format!("sqlite://{}", db.display());
    let store = citizen_server::Store::open(&url).await?;
    let (loaded, _) = citizen_server::pack::load_dir(&pack)?;
    store
        .import_pack(&loaded, b"bench", citizen_server::now_ms())
        .await?;
    let now = citizen_server::now_ms();
    let start = now - 30 * DAY_MS;
    let stations = store.station_entities().await?;
    let features = store
        .datastream_limits(
            &stations
                .iter()
                .map(|s| s.datastreams[0].1)
                .collect::<Vec<_>>(),
        )
        .await?;
    let began = Instant::now();
    let mut stored = 0;
    let slots = (30 * DAY_MS / STEP) as usize;
    for chunk in stations.chunks(20) {
        let mut rows = Vec::with_capacity(chunk.len() * slots);
        for s in chunk {
            let ds = s.datastreams[0].1;
            for k in 0..slots {
                let t = start + k as i64 * STEP;
                rows.push(citizen_server::store::NewObservation {
                    datastream_id: ds,
                    feature_id: features[&ds].feature_id,
                    phenomenon_time_ms: t,
                    result_time_ms: Some(t),
                    result: citizen_server::simulate::value_at(46.0, "salinity", t).unwrap_or(1.0),
                    parameters: None,
                    simulated: true,
                });
            }
        }
        for part in rows.chunks(10_000) {
            stored += store.insert_observations(part, now).await?.len();
        }
    }
    println!(
        "SensorThings at scale: {stored} observations of {STATIONS} stations (30 days, every 5 minutes) stored in {:.0} s ({:.0}/s, store API, SQLite)",
        began.elapsed().as_secs_f64(),
        stored as f64 / began.elapsed().as_secs_f64()
    );
    store.pool().close().await;
    // No simulated loggers: the figures are of the readers alone.
    let gateway = GatewayProcess::launch(profile, &url, free_port()?, 1, &pack, false)?;
    let http = reqwest::Client::new();
    let latest = format!(
        "{}/sta/v1.1/Datastreams?$top=1000&$select=id&$expand=Observations($top=1;$orderby=phenomenonTime%20desc;$select=result,phenomenonTime)",
        gateway.url()
    );
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let body: Value = http.get(&latest).send().await?.json().await?;
        times.push(t.elapsed());
        let n = body["value"].as_array().map_or(0, Vec::len);
        if n != STATIONS {
            bail!("latest of every station: {n} Datastreams");
        }
    }
    times.sort();
    println!(
        "SensorThings at scale: the newest reading of all {STATIONS} stations in {:.0} ms (median of 7, one request, from the latest table)",
        times[3].as_secs_f64() * 1e3
    );
    let ids: Vec<i64> = stations.iter().map(|s| s.datastreams[0].1).collect();
    let base = gateway.url();
    let (requests, _, lat) = hammer(8, Duration::from_secs(10), move |c, n| {
        let (http, base) = (http.clone(), base.clone());
        let ds = ids[(c * 7919 + n * 104_729) % ids.len()];
        let since = start + ((c * 31 + n * 17) % 29) as i64 * DAY_MS;
        async move {
            let filter = format!(
                "Datastream/@iot.id eq {ds} and phenomenonTime ge {}",
                citizen_server::sta::time::format_instant(since)
            );
            let r = http
                .get(format!("{base}/sta/v1.1/Observations"))
                .query(&[
                    ("$filter", filter.as_str()),
                    ("$top", "100"),
                    ("$orderby", "phenomenonTime"),
                ])
                .send()
                .await?;
            let body: Value = r.json().await?;
            let n = body["value"].as_array().map_or(0, Vec::len);
            if n != 100 {
                bail!("a page of {n}");
            }
            Ok(n)
        }
    })
    .await?;
    println!(
        "SensorThings at scale: GET Observations?$filter=Datastream/@iot.id eq N and phenomenonTime ge T&$top=100: p50 {:.1} ms, p99 {:.1} ms, {:.0} req/s (8 clients, 10 s)",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        requests as f64 / 10.0
    );
    Ok(())
}

/// The fresh-water forecast's back-test on the simulator's feed, whole and with gaps.
pub fn forecast_back_test() -> Result<()> {
    let guide: citizen_core::salinity::SalinityGuide = serde_json::from_str(
        &std::fs::read_to_string(root().join("assets/cities/my-tho/salinity.json"))?,
    )?;
    let ranges: Vec<[f64; 2]> = guide.uses.iter().map(|u| u.safe).collect();
    // 60 days of the dry season, from mid-January 2026.
    let start = 1_768_435_200_000;
    for (km, drop) in [(46.0, 0.0), (46.0, 0.2), (44.0, 0.0), (44.0, 0.3)] {
        let s = citizen_server::simulate::back_test_forecast(km, start, 60, &ranges, drop);
        println!(
            "forecast back-test at {km} km{}: hit rate {:.1} %, fresh slots foreseen {:.1} % ({} forecasts of 48 h, every use whose range the river crosses)",
            if drop > 0.0 {
                format!(" with {:.0} % of 6-hour blocks missing", drop * 100.0)
            } else {
                String::new()
            },
            s.hit_rate * 100.0,
            s.fresh_found * 100.0,
            s.forecasts
        );
    }
    Ok(())
}
