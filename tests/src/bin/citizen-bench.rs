//! Measures the running system and prints figures: app start to first screen with data and
//! the app's memory (real app under Xvfb), and the gateway's sync-feed throughput on loopback.
//! Run by `cargo xtask bench` after a release build.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use citizen_e2e::{Display, Driver, GatewayProcess, binary, free_port, wait_text};

const PROFILE: &str = "release";

#[tokio::main]
async fn main() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let port = free_port()?;
    let gateway = GatewayProcess::start(PROFILE, &tmp.path().join("gateway.db"), port)?;
    throughput(
        &gateway,
        "/api/v1/sync?since=0&limit=100",
        32,
        Duration::from_secs(5),
    )
    .await?;
    throughput(&gateway, "/health", 32, Duration::from_secs(3)).await?;
    app_start_and_memory(&gateway, tmp.path()).await?;
    Ok(())
}

/// Requests per second and latency percentiles of `path` with `concurrency` clients.
async fn throughput(
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
        "gateway GET {path}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} requests, {concurrency} clients, {:.1} KB per answer)",
        all.len() as f64 / duration.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all.len(),
        bytes as f64 / all.len() as f64 / 1024.0,
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
