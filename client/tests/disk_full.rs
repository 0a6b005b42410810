//! A full disk, for real: the store lives on a 3 MB tmpfs that a filler file fills up. Every
//! write then fails at once saying the storage is full (never "database is locked" after a
//! 5 s wait), the status line says so, and when space comes back the same store — no restart
//! — writes, syncs and sends again.
//!
//! Mounting needs root or a user namespace: as another user the test runs itself again under
//! `unshare --user --map-root-user --mount`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use citizen_client::outbox::Outbox;
use citizen_client::syncer::now_ms;
use citizen_client::{Gateway, StoreError};
use citizen_core::sync::{PullEvent, PullTiming};
use citizen_core::views::{SyncProblem, SyncState};
use common::{TestGateway, device, queue_report_result};

const TIMING: PullTiming = PullTiming {
    interval_ms: 30_000,
    backoff_base_ms: 1_000,
    backoff_max_ms: 60_000,
};

/// A 3 MB tmpfs at `at`, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| SmallDisk(at.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the disk holding `dir` with a file; its path.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let block = vec![0x5a_u8; 16 * 1024];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
    filler
}

fn assert_full(result: Result<impl std::fmt::Debug, StoreError>, what: &str) {
    match result {
        Err(e) => assert!(
            e.is_full(),
            "{what}: the error says the storage is full: {e}"
        ),
        Ok(v) => panic!("{what}: written on a full disk: {v:?}"),
    }
}

#[test]
fn a_full_disk_is_said_and_recovered_from_without_a_restart() {
    let inside = std::env::var_os("CITIZEN_TEST_IN_NAMESPACE").is_some();
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(disk) = SmallDisk::mount(&dir.path().join("small")) else {
        assert!(
            !inside,
            "tmpfs could not be mounted in a user namespace either"
        );
        // Not root: run this test again in a user namespace, where mounting is allowed.
        let status = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount"])
            .arg(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "a_full_disk_is_said_and_recovered_from_without_a_restart",
                "--nocapture",
            ])
            .env("CITIZEN_TEST_IN_NAMESPACE", "1")
            .status()
            .expect("unshare (util-linux)");
        assert!(status.success(), "the test failed in its namespace");
        return;
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(full_disk(&disk.0, dir.path()));
}

async fn full_disk(small: &Path, roomy: &Path) {
    let gateway = TestGateway::start(&roomy.join("gw.db")).await;
    let store = device(&small.join("citizen.db")).await;
    queue_report_result(&store, "Cống bể trước chợ")
        .await
        .expect("written while there is room");
    let filler = fill(small);

    // Full: every write says so, at once, again and again.
    for attempt in 0..4 {
        let started = Instant::now();
        assert_full(
            queue_report_result(&store, &"Rác ".repeat(4_000)).await,
            &format!("report {attempt}"),
        );
        assert_full(
            store.new_draft(now_ms()).await.map(|d| d.id),
            &format!("draft {attempt}"),
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "attempt {attempt} failed at once, not after a lock wait: {:?}",
            started.elapsed()
        );
    }
    let syncer = common::syncer(&store, &gateway.url);
    assert_eq!(syncer.pull_once().await, PullEvent::Failed);
    let record = store.sync_record().await.expect("read");
    assert_eq!(record.last_problem, Some(SyncProblem::StorageFull));
    assert_eq!(
        SyncState::of(false, record.offline_since_ms, record.last_success_ms),
        SyncState::Offline,
        "the status line does not say syncing or synced"
    );

    // Space comes back: the same store writes, syncs and sends.
    std::fs::remove_file(filler).expect("free space");
    queue_report_result(&store, "Đèn đường tắt cả dãy")
        .await
        .expect("written once there is room again, without a restart");
    common::pull_all(&syncer).await;
    let record = store.sync_record().await.expect("read");
    assert_eq!(record.last_problem, None);
    assert_eq!(
        SyncState::of(false, record.offline_since_ms, record.last_success_ms),
        SyncState::Synced
    );
    let drained = Outbox::new(store.clone(), Gateway::new(&gateway.url), TIMING)
        .drain(now_ms)
        .await
        .expect("drain");
    assert_eq!(drained.sent, 2, "both reports go: {drained:?}");
    store.close().await;
    gateway.stop().await;
}
