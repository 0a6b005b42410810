//! The real app started twice on one data directory under Xvfb (a double-click): the second
//! start hands over to the first and ends, so the store is never opened twice and no report
//! is sent twice; a start on another data directory runs alongside.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use citizen_e2e::{Display, binary};

/// Starts the app on `data_dir`, its log going to `log`.
fn start(display: &Display, data_dir: &Path, log: &Path) -> Result<Child> {
    Command::new(binary("citizen-app", "debug")?)
        .env("DISPLAY", &display.name)
        .env("CITIZEN_DATA_DIR", data_dir)
        // No gateway: this is about the device only.
        .env("CITIZEN_GATEWAY_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .context("starting citizen-app")
}

fn wait_for_log(log: &Path, needle: &str, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::fs::read_to_string(log)?.contains(needle) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "{} never said {needle:?}:\n{}",
        log.display(),
        std::fs::read_to_string(log)?
    )
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_start_on_one_data_directory_hands_over_to_the_first() -> Result<()> {
    let display = Display::get()?;
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("app");
    let first_log = tmp.path().join("first.log");
    let mut first = Killed(start(&display, &data, &first_log)?);
    wait_for_log(&first_log, "sync failed", Duration::from_secs(60))?;

    let second_log = tmp.path().join("second.log");
    let mut second = start(&display, &data, &second_log)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            second.kill()?;
            bail!(
                "the second start kept running:\n{}",
                std::fs::read_to_string(&second_log)?
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    ensure!(status.success(), "the second start ended cleanly: {status}");
    let said = std::fs::read_to_string(&second_log)?;
    ensure!(
        said.contains("handed over") && !said.contains("sync failed"),
        "the second start handed over without syncing:\n{said}"
    );
    wait_for_log(
        &first_log,
        "another start on this data directory handed over",
        Duration::from_secs(10),
    )?;
    ensure!(first.0.try_wait()?.is_none(), "the first app still runs");

    // Another data directory is another app.
    let other_log = tmp.path().join("other.log");
    let mut other = Killed(start(&display, &tmp.path().join("other"), &other_log)?);
    wait_for_log(&other_log, "sync failed", Duration::from_secs(60))?;
    ensure!(other.0.try_wait()?.is_none(), "it runs alongside");
    Ok(())
}
