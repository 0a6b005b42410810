//! `cargo xtask bench`: release build, then the figures the budgets are about: binary and
//! WASM sizes, app start, memory, gateway throughput.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::{build, cargo, run_cmd};

pub fn run(root: &Path) -> Result<()> {
    build(root, true)?;
    let app = root.join("target/release/citizen-app");
    let app_size = std::fs::metadata(&app).context("release app binary")?.len();
    let wasm = std::fs::read_dir(root.join("ui/dist"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "wasm"))
        .context("no .wasm in ui/dist")?;
    let wasm_raw = std::fs::metadata(&wasm)?.len();
    let gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(&wasm)
        .output()
        .context("gzip")?;
    println!(
        "release app binary (UI embedded): {:.1} MB",
        app_size as f64 / 1e6
    );
    println!(
        "release WASM bundle: {:.0} KB raw, {:.0} KB gzip",
        wasm_raw as f64 / 1e3,
        gzip.stdout.len() as f64 / 1e3
    );
    let mut bench = Command::new(cargo());
    bench
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "citizen-e2e",
            "--bin",
            "citizen-bench",
        ])
        .env("PATH", crate::tools::path_with_tools(root));
    run_cmd(&mut bench)
}
