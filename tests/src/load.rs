//! The load run: the City of Boston's 121 145 service requests of 2015 replayed as field
//! reports through a gateway (two instances on PostgreSQL behind nginx in the test and the
//! benchmark), while devices page the sync feed at the same time. Nothing may be lost or
//! doubled: every request ends as exactly one report with its own tracking code, and every
//! device ends with every report exactly once. See `assets/stress/README.md` for the data and
//! how it is mapped.

use std::collections::HashSet;
use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use citizen_core::{ChangeOp, Entity, SyncPage};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The number of requests in the file.
pub const BOSTON_REQUESTS: usize = 121_145;

/// The category of the Mỹ Tho pack a Boston request of `reason` and `kind` (its `type`) becomes.
pub fn category_of(reason: &str, kind: &str) -> &'static str {
    match reason {
        "Street Lights" => "broken_street_light",
        "Highway Maintenance" | "Pothole" | "Bridge Maintenance" => "damaged_road",
        "Signs & Signals"
        | "Traffic Management & Engineering"
        | "Enforcement & Abandoned Vehicles"
        | "Parking Complaints"
        | "Abandoned Bicycle"
        | "MBTA"
        | "Boston Bikes"
        | "Valet"
        | "Office of The Parking Clerk" => "traffic_order",
        "Building" | "Housing" | "Code Enforcement" => "illegal_construction",
        "Sanitation" | "Recycling" => "rubbish_wrong_hour",
        "Trees" => {
            let kind = kind.to_lowercase();
            if kind.contains("fallen") || kind.contains("downed") {
                "fallen_tree"
            } else {
                "tree_trimming"
            }
        }
        "Graffiti" => "illegal_advertising",
        "Catchbasin" | "Water Issues" | "Fire Hydrant" => "flooding",
        "Air Pollution Control" | "Environmental Services" => "water_pollution",
        "Noise Disturbance" | "Generic Noise Disturbance" => "noise",
        _ => "littering",
    }
}

/// Boston's box onto a box around Mỹ Tho's centre (106.365 E, 10.356 N), linearly.
fn position_of(lat: f64, lon: f64) -> (f64, f64) {
    let (south, north, west, east) = (42.23, 42.40, -71.19, -70.99);
    let fy = ((lat - south) / (north - south)).clamp(0.0, 1.0);
    let fx = ((lon - west) / (east - west)).clamp(0.0, 1.0);
    (10.31 + fy * 0.09, 106.315 + fx * 0.10)
}

/// A report id made from the request's case number, so a replay sends the same ids.
fn report_id(case: &str) -> Uuid {
    let hash = Sha256::digest(format!("boston311:{case}").as_bytes());
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Milliseconds since the epoch of a Boston date (`MM/DD/YYYY hh:mm:ss AM`, local time taken
/// as UTC-5, which is close enough for a device clock the gateway does not trust anyway).
fn open_ms(date: &str) -> Option<i64> {
    let (day, rest) = date.split_once(' ')?;
    let mut d = day.split('/');
    let (month, dom, year): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (time, half) = rest.split_once(' ')?;
    let mut t = time.split(':');
    let (h, m, s): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let hour = (h % 12) + if half == "PM" { 12 } else { 0 };
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dom - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour + 5) * 3600 + m * 60 + s) * 1000)
}

/// The first `limit` Boston requests (all when `None`), in their order, as report bodies for
/// `POST /api/v1/reports`.
///
/// # Errors
/// When the file is missing or a row cannot be read.
pub fn boston_reports(limit: Option<usize>) -> Result<Vec<Value>> {
    let path = crate::root().join("assets/stress/boston311_2015_121k.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(&path).with_context(|| path.display().to_string())?,
    )
    .read_to_string(&mut text)?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("no column {name}"))
    };
    let (case, opened, title, reason, kind, location, lat, lon) = (
        col("case_enquiry_id")?,
        col("open_dt")?,
        col("case_title")?,
        col("reason")?,
        col("type")?,
        col("location")?,
        col("latitude")?,
        col("longitude")?,
    );
    // Each request comes from its own phone; a few dozen phones would do as well.
    let mut reports = Vec::new();
    for row in reader.records() {
        if limit.is_some_and(|l| reports.len() >= l) {
            break;
        }
        let row = row?;
        let (lat, lon) = position_of(
            row[lat].parse().unwrap_or(42.3594),
            row[lon].parse().unwrap_or(-71.0587),
        );
        let title = row[title].trim();
        let place = row[location].trim();
        let description = match (title.is_empty(), place.is_empty()) {
            (false, false) => format!("{title} — {place}"),
            (false, true) => title.to_owned(),
            (true, false) => place.to_owned(),
            (true, true) => row[kind].to_owned(),
        };
        reports.push(json!({
            "id": report_id(&row[case]),
            "device_id": report_id(&format!("device:{}", &row[case])),
            "category": category_of(&row[reason], &row[kind]),
            "description": description,
            "position": {"lat": lat, "lon": lon},
            "address": (!place.is_empty()).then_some(place),
            "photos": [],
            "contact": {"anonymous": true},
            "created_at_ms": open_ms(&row[opened]).unwrap_or(0),
        }));
    }
    Ok(reports)
}

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct Figures {
    pub reports: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// Requests sent again after a failed attempt (a dropped connection, a 502).
    pub retries: usize,
    /// Feed pages the devices read while the reports went in.
    pub pages: usize,
}

impl Figures {
    pub fn per_second(&self) -> f64 {
        self.reports as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} reports accepted in {:.1} s = {:.0} reports/s, p50 {:.1} ms, p99 {:.1} ms, \
             {} retries; the devices read {} feed pages meanwhile; nothing lost or doubled",
            self.reports,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.retries,
            self.pages
        )
    }
}

/// Posts every report through `base` with `writers` at once while `devices` page the feed,
/// within `within`; checks that each report was accepted once with its own tracking code and
/// that every device was given every report exactly once.
///
/// # Errors
/// When anything is lost or doubled, a report is refused, or the time runs out.
pub async fn run(
    base: &str,
    reports: Vec<Value>,
    writers: usize,
    devices: usize,
    within: Duration,
) -> Result<Figures> {
    let started = Instant::now();
    let deadline = started + within;
    let reports = Arc::new(reports);
    let next = Arc::new(AtomicUsize::new(0));
    let writing = Arc::new(AtomicBool::new(true));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(writers + devices)
        .timeout(Duration::from_secs(30))
        .build()?;
    let readers: Vec<_> = (0..devices)
        .map(|_| {
            let (http, base, writing) = (http.clone(), base.to_owned(), writing.clone());
            tokio::spawn(async move { read_everything(&http, &base, &writing, deadline).await })
        })
        .collect();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (http, base, reports, next) =
                (http.clone(), base.to_owned(), reports.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut receipts = Vec::new();
                let mut retries = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = reports.get(i) else {
                        return Ok::<_, anyhow::Error>((latencies, receipts, retries));
                    };
                    let mut attempt = 0;
                    loop {
                        ensure!(Instant::now() < deadline, "the load run ran out of time");
                        let sent = Instant::now();
                        let answer = http
                            .post(format!("{base}/api/v1/reports"))
                            .json(body)
                            .send()
                            .await;
                        match answer {
                            Ok(res) if res.status().is_success() => {
                                latencies.push(sent.elapsed());
                                let receipt: Value = res.json().await?;
                                receipts.push(receipt);
                                break;
                            }
                            Ok(res) if res.status().is_client_error() => {
                                let status = res.status();
                                bail!("report {i} refused: {status} {}", res.text().await?);
                            }
                            // A dropped connection or a 5xx: the same report again, as the
                            // app's outbox does.
                            _ if attempt < 10 => {
                                attempt += 1;
                                retries += 1;
                                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                            }
                            Ok(res) => bail!("report {i}: {} after 10 tries", res.status()),
                            Err(e) => bail!("report {i}: {e} after 10 tries"),
                        }
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut receipts = Vec::new();
    let mut retries = 0;
    for task in tasks {
        let (l, r, n) = task.await??;
        latencies.extend(l);
        receipts.extend(r);
        retries += n;
    }
    let elapsed = started.elapsed();
    writing.store(false, Ordering::SeqCst);
    let posted: HashSet<String> = reports
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ensure!(
        receipts.len() == reports.len(),
        "{} receipts for {} reports",
        receipts.len(),
        reports.len()
    );
    let codes: HashSet<&str> = receipts
        .iter()
        .filter_map(|r| r["tracking_code"].as_str())
        .collect();
    ensure!(
        codes.len() == receipts.len(),
        "tracking codes repeat: {} distinct of {}",
        codes.len(),
        receipts.len()
    );
    let mut pages = 0;
    for reader in readers {
        let (ids, read) = reader.await??;
        pages += read;
        let given: HashSet<&String> = ids.iter().collect();
        ensure!(
            given.len() == ids.len(),
            "a device was given a report twice"
        );
        let missing = posted.iter().filter(|id| !given.contains(id)).count();
        ensure!(
            missing == 0,
            "a device missed {missing} of {} reports",
            posted.len()
        );
        ensure!(
            ids.len() == posted.len(),
            "a device was given {} reports, {} were posted",
            ids.len(),
            posted.len()
        );
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Ok(Figures {
        reports: reports.len(),
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        retries,
        pages,
    })
}

/// A device paging the feed from the start until the writers are done and it has read to
/// the head: the ids of the reports it was given, and the pages read.
async fn read_everything(
    http: &reqwest::Client,
    base: &str,
    writing: &AtomicBool,
    deadline: Instant,
) -> Result<(Vec<String>, usize)> {
    let mut ids = Vec::new();
    let mut cursor = 0;
    let mut pages = 0;
    loop {
        let done = !writing.load(Ordering::SeqCst);
        loop {
            ensure!(Instant::now() < deadline, "a device ran out of time");
            let res = http
                .get(format!("{base}/api/v1/sync?since={cursor}&limit=1000"))
                .send()
                .await;
            let page: SyncPage = match res {
                Ok(res) if res.status().is_success() => res.json().await?,
                // An instance going away mid-answer: ask again, as the app does.
                _ => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            pages += 1;
            ensure!(!page.restart, "the feed's history changed under a device");
            for change in page.changes {
                if let ChangeOp::Upsert { entity } = change.op
                    && let Entity::Report(report) = *entity
                {
                    ids.push(report.id.to_string());
                }
            }
            cursor = page.next_cursor;
            if !page.has_more {
                break;
            }
        }
        if done {
            return Ok((ids, pages));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boston_dates_and_boxes() {
        // 2015-01-01 00:20:09 EST is 05:20:09 UTC.
        assert_eq!(open_ms("01/01/2015 12:20:09 AM"), Some(1_420_089_609_000));
        assert_eq!(open_ms("07/04/2015 01:00:00 PM"), Some(1_436_032_800_000));
        let (lat, lon) = position_of(42.3594, -71.0587);
        assert!((10.31..=10.40).contains(&lat) && (106.315..=106.415).contains(&lon));
        assert_eq!(category_of("Trees", "Downed Tree Clean Up"), "fallen_tree");
        assert_eq!(
            category_of("Street Lights", "Street Light Outages"),
            "broken_street_light"
        );
    }
}
