//! What the client's integration tests share: the bundled pack, a device's store, a report
//! queued on it, a real gateway on loopback that can be stopped, a full pull, and the map
//! tile that holds a position.
#![allow(dead_code, reason = "each test file uses a part")]

use std::path::{Path, PathBuf};

use citizen_client::{Gateway, Store, Syncer};
use citizen_core::sync::PullEvent;
use citizen_core::{CityPack, Position};
use uuid::Uuid;

/// This device's clock, as the app reads it (a report stamped at 0 would, with a gateway
/// clock a few ms behind, be dated before 1970).
fn now() -> i64 {
    citizen_client::syncer::now_ms()
}

pub fn pack() -> CityPack {
    CityPack::parse(citizen_core::city::default_pack_sources()).expect("bundled pack")
}

/// A device's store at `path`, with the bundled city pack.
pub async fn device(path: &Path) -> Store {
    let store = Store::open(path).await.expect("store");
    store.bootstrap(&pack()).await.expect("bootstrap");
    store
}

/// Writes a report of the pack's first category in the city centre, sent at once to the
/// outbox; its id.
pub async fn queue_report(store: &Store, description: &str) -> Uuid {
    let pack = pack();
    let category = pack.categories[0].code.clone();
    let mut draft = store.new_draft(now()).await.expect("draft");
    draft.category = Some(category.clone());
    draft.description = description.to_owned();
    draft.position = Some(Position {
        lon: 106.3650,
        lat: 10.3560,
    });
    store.save_draft(&draft).await.expect("save");
    store
        .submit_draft(draft.id, &pack.city, |c| c == category, now())
        .await
        .expect("submit");
    draft.id
}

/// Like [`queue_report`], returning the store's error.
pub async fn queue_report_result(
    store: &Store,
    description: &str,
) -> Result<Uuid, citizen_client::StoreError> {
    let pack = pack();
    let category = pack.categories[0].code.clone();
    let mut draft = store.new_draft(now()).await?;
    draft.category = Some(category.clone());
    draft.description = description.to_owned();
    draft.position = Some(Position {
        lon: 106.3650,
        lat: 10.3560,
    });
    store.save_draft(&draft).await?;
    store
        .submit_draft(draft.id, &pack.city, |c| c == category, now())
        .await?;
    Ok(draft.id)
}

/// A gateway on a free loopback port over the SQLite database at `db`, or the PostgreSQL
/// database that stands for it when the tests run on PostgreSQL.
pub struct TestGateway {
    pub url: String,
    pub store: citizen_server::Store,
    database_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestGateway {
    pub async fn start(db: &Path) -> TestGateway {
        Self::on(&citizen_testdb::for_file(db)).await
    }

    /// A gateway on the database at `database_url`, whatever the tests' backend.
    pub async fn on(database_url: &str) -> TestGateway {
        let database_url = database_url.to_owned();
        let app = citizen_server::Application::build(&citizen_server::Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            database_url: database_url.clone(),
            city_pack: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/cities/my-tho"),
            simulate_every: None,
            public_url: None,
            code_sender: std::sync::Arc::new(citizen_server::otp::LogSender),
        })
        .await
        .expect("gateway");
        let url = format!("http://{}", app.local_addr().expect("addr"));
        let store = app.store().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestGateway {
            url,
            store,
            database_url,
            stop,
            task,
        }
    }

    /// Backs the running gateway's database up into `file`, the way its operators would:
    /// `VACUUM INTO` on SQLite, `pg_dump` on PostgreSQL.
    pub async fn backup(&self, file: &Path) {
        match self.store.backend() {
            citizen_server::store::Backend::Sqlite => {
                sqlx::query(&format!("VACUUM INTO '{}'", file.display()))
                    .execute(self.store.pool())
                    .await
                    .expect("backup");
            }
            citizen_server::store::Backend::Postgres => {
                citizen_testdb::pg_dump(&self.database_url, file).expect("pg_dump");
            }
        }
    }

    /// Stops the gateway and puts the backup `file` in place of its database `db`.
    pub async fn restore(self, db: &Path, file: &Path) {
        let url = self.database_url.clone();
        let backend = self.store.backend();
        self.stop().await;
        match backend {
            citizen_server::store::Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
                std::fs::copy(file, db).expect("restore");
            }
            citizen_server::store::Backend::Postgres => {
                citizen_testdb::pg_restore(&url, file).expect("pg_restore");
            }
        }
    }

    /// Stops serving and closes the database, so its files can be replaced.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.store.pool().close().await;
    }
}

/// Pulls the feed until it is drained.
pub async fn pull_all(syncer: &Syncer) {
    for _ in 0..100 {
        match syncer.pull_once().await {
            PullEvent::PageStored { has_more: true } => {}
            PullEvent::PageStored { has_more: false } => return,
            other => panic!("the pull failed: {other:?}"),
        }
    }
    panic!("the pull never ended");
}

/// A syncer of `store` with the gateway at `url`.
pub fn syncer(store: &Store, url: &str) -> Syncer {
    Syncer::new(
        store.clone(),
        Gateway::new(url),
        std::time::Duration::from_secs(30),
    )
}

/// The tile of zoom `z` holding `lon`, `lat` (Web Mercator, XYZ numbering).
pub fn tile_at(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0 * n;
    let lat = lat.to_radians();
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x as u32, y as u32)
}
