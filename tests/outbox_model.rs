//! A model-based property test of the outbox: generated sequences of reports written with
//! photos, sends, syncs, a link that goes down, drops every few kilobytes or crawls, app
//! restarts, the device's clock jumping by days, and the city restoring its gateway from a
//! backup, against a real gateway on loopback behind a fault-injecting proxy. The model is a
//! set: every report the resident wrote. After every step nothing written is missing on the
//! device, the gateway holds no report twice and nothing unwritten, and everything the device
//! counts as acknowledged is on the gateway — once it has synced since the last restore
//! (before, it cannot know). Once the link heals, everything arrives.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use citizen_client::outbox::Outbox;
use citizen_client::{Gateway, Store, Syncer, photo};
use citizen_core::report::Delivery;
use citizen_core::sync::{PullEvent, PullTiming};
use citizen_core::{CityPack, Position};
use citizen_e2e::proxy::Proxy;
use citizen_server::{Application, Config};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Step {
    /// The resident writes and sends a report with this many photos.
    Write {
        photos: usize,
    },
    /// The outbox tries to send what it holds.
    Send,
    LinkDown,
    LinkUp,
    /// The link drops every this many bytes (0: steady).
    Flaky {
        every: u64,
    },
    /// The app is closed and opened again.
    Restart,
    /// The uplink crawls at this many bytes per second (0: full speed).
    Slow {
        rate: u64,
    },
    /// The device's clock jumps by this many ms (a phone set days wrong, then corrected).
    ClockJump {
        ms: i64,
    },
    /// The device pulls the feed.
    Sync,
    /// The city backs its gateway's database up.
    Backup,
    /// The city restores the last backup (or the empty start when none was taken).
    Restore,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..=2_usize).prop_map(|photos| Step::Write { photos }),
        3 => Just(Step::Send),
        1 => Just(Step::LinkDown),
        1 => Just(Step::LinkUp),
        1 => prop_oneof![Just(0_u64), 8_000..60_000_u64].prop_map(|every| Step::Flaky { every }),
        1 => Just(Step::Restart),
        1 => prop_oneof![Just(0_u64), 20_000..200_000_u64].prop_map(|rate| Step::Slow { rate }),
        1 => prop_oneof![-3 * DAY..-DAY, DAY..3 * DAY].prop_map(|ms| Step::ClockJump { ms }),
        2 => Just(Step::Sync),
        1 => Just(Step::Backup),
        1 => Just(Step::Restore),
    ]
}

const DAY: i64 = 86_400_000;

const TIMING: PullTiming = PullTiming {
    interval_ms: 1_000,
    backoff_base_ms: 10,
    backoff_max_ms: 100,
};

/// The device's clock: it moves an hour on every reading, so each send finds every backoff
/// passed (the model does not wait for real time), and it can be set wrong.
#[derive(Clone, Default)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn start() -> Clock {
        Clock(Arc::new(AtomicI64::new(citizen_client::syncer::now_ms())))
    }

    fn later(&self) -> i64 {
        self.0.fetch_add(3_600_000, Ordering::SeqCst) + 3_600_000
    }

    fn jump(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

fn photo_original(seed: u64) -> Vec<u8> {
    use image::ImageEncoder as _;
    let img = image::RgbImage::from_fn(240, 180, |x, y| {
        let v = (u64::from(x) * 31 + u64::from(y) * 17 + seed * 101) % 251;
        image::Rgb([v as u8, (v * 3) as u8, (v * 7) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .write_image(&img, 240, 180, image::ExtendedColorType::Rgb8)
        .expect("encodes in memory");
    out
}

/// The city's gateway, in this process, on a fixed loopback address so that it can be
/// stopped and started again over a restored database.
struct City {
    addr: std::net::SocketAddr,
    db: PathBuf,
    database_url: String,
    backup: PathBuf,
    store: citizen_server::Store,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl City {
    async fn start(db: &Path, listen: std::net::SocketAddr) -> City {
        let database_url = citizen_testdb::for_file(db);
        let config = Config {
            listen,
            database_url: database_url.clone(),
            city_pack: citizen_e2e::root().join("assets/cities/my-tho"),
            simulate_every: None,
            public_url: None,
            code_sender: std::sync::Arc::new(citizen_server::otp::LogSender),
        };
        let app = Application::build(&config).await.expect("gateway builds");
        let addr = app.local_addr().expect("addr");
        let store = app.store().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        City {
            addr,
            db: db.to_owned(),
            database_url,
            backup: db.with_extension("backup.db"),
            store,
            stop,
            server,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
        self.store.pool().close().await;
    }

    /// A consistent copy of the database, as a city's backup job takes it: `VACUUM INTO` on
    /// SQLite, `pg_dump` on PostgreSQL.
    async fn backup(&self) {
        let _ = std::fs::remove_file(&self.backup);
        if self.store.backend() == citizen_server::store::Backend::Postgres {
            citizen_testdb::pg_dump(&self.database_url, &self.backup).expect("pg_dump");
            return;
        }
        sqlx::query("VACUUM INTO $1")
            .bind(self.backup.display().to_string())
            .execute(self.store.pool())
            .await
            .expect("backup");
    }

    /// Stops, puts the last backup in place (or nothing: the empty start), starts again.
    async fn restore(self) -> City {
        let (addr, db, backup) = (self.addr, self.db.clone(), self.backup.clone());
        let postgres = self.store.backend() == citizen_server::store::Backend::Postgres;
        let url = self.database_url.clone();
        self.stop().await;
        if postgres {
            if backup.exists() {
                citizen_testdb::pg_restore(&url, &backup).expect("pg_restore");
            } else {
                citizen_testdb::pg_empty(&url).expect("empty database");
            }
            return City::start(&db, addr).await;
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        if backup.exists() {
            std::fs::copy(&backup, &db).expect("restore");
        }
        City::start(&db, addr).await
    }
}

struct World {
    pack: CityPack,
    store: Store,
    outbox: Outbox,
    proxy: Proxy,
    gateway: String,
    store_path: PathBuf,
    clock: Clock,
}

impl World {
    async fn open_store(path: &Path, proxy_url: &str, pack: &CityPack) -> (Store, Outbox) {
        let store = Store::open(path).await.expect("store opens");
        store.bootstrap(pack).await.expect("bootstrap");
        let outbox = Outbox::new(store.clone(), Gateway::new(proxy_url), TIMING);
        (store, outbox)
    }

    async fn write(&self, photos: usize, seed: u64) -> Uuid {
        let mut draft = self
            .store
            .new_draft(self.clock.later())
            .await
            .expect("draft");
        for i in 0..photos {
            let processed = photo::process(&photo_original(seed * 10 + i as u64)).expect("photo");
            self.store
                .add_photo(draft.id, &processed, self.clock.later())
                .await
                .expect("photo stored");
        }
        draft = self
            .store
            .draft(draft.id)
            .await
            .expect("read")
            .expect("draft");
        let category = self.pack.categories[0].code.clone();
        draft.category = Some(category.clone());
        draft.description = format!("Báo cáo {seed}");
        draft.position = Some(Position {
            lon: 106.362,
            lat: 10.36,
        });
        self.store.save_draft(&draft).await.expect("saved");
        let report = self
            .store
            .submit_draft(
                draft.id,
                &self.pack.city,
                |c| c == category,
                self.clock.later(),
            )
            .await
            .expect("submitted");
        report.submission.id
    }

    async fn send(&self) {
        let clock = self.clock.clone();
        self.outbox
            .drain(move || clock.later())
            .await
            .expect("the local store works");
    }

    /// Pulls the feed to its end; whether it got there (the link may be down).
    async fn sync(&self) -> bool {
        let syncer = Syncer::new(
            self.store.clone(),
            Gateway::new(&self.proxy.url()),
            std::time::Duration::from_secs(30),
        );
        for _ in 0..100 {
            match syncer.pull_once().await {
                PullEvent::PageStored { has_more: true } => {}
                PullEvent::PageStored { has_more: false } => return true,
                _ => return false,
            }
        }
        false
    }

    /// The reports on the gateway, by id, with their published creation times (ms).
    async fn gateway_reports(&self) -> Vec<(Uuid, i64)> {
        let answer: Vec<serde_json::Value> = reqwest::get(format!(
            "{}/open311/v2/requests.json?start_date=1970-01-01T00:00:00Z",
            self.gateway
        ))
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("a list");
        let mut reports = Vec::new();
        for r in answer {
            let code = r["service_request_id"].as_str().expect("code");
            let view: serde_json::Value =
                reqwest::get(format!("{}/api/v1/reports/{code}", self.gateway))
                    .await
                    .expect("gateway answers")
                    .json()
                    .await
                    .expect("a report");
            reports.push((
                Uuid::parse_str(view["id"].as_str().expect("id")).expect("uuid"),
                view["created_at_ms"].as_i64().expect("created_at_ms"),
            ));
        }
        reports
    }

    /// The invariants that hold after every step; `synced` says whether the device has synced
    /// since the gateway was last restored.
    async fn check(&self, written: &BTreeSet<Uuid>, synced: bool) -> Result<(), TestCaseError> {
        let mine = self.store.my_reports().await.expect("read");
        let local: BTreeSet<Uuid> = mine.iter().map(|r| r.submission.id).collect();
        prop_assert_eq!(&local, written, "nothing written is lost on the device");
        let remote = self.gateway_reports().await;
        let remote_set: BTreeSet<Uuid> = remote.iter().map(|(id, _)| *id).collect();
        prop_assert_eq!(
            remote.len(),
            remote_set.len(),
            "no report twice on the gateway"
        );
        prop_assert!(
            remote_set.is_subset(written),
            "the gateway holds only written reports"
        );
        // Whatever the phone's clock said, the gateway publishes a time it could believe: not
        // ahead of its own clock by more than five minutes.
        let now = citizen_client::syncer::now_ms();
        for (id, created) in &remote {
            prop_assert!(
                *created <= now + citizen_core::report::MAX_CLOCK_AHEAD_MS,
                "report {} is published as made in the future",
                id
            );
        }
        if synced {
            for r in &mine {
                if matches!(r.delivery, Delivery::Sent { .. }) {
                    prop_assert!(
                        remote_set.contains(&r.submission.id),
                        "an acknowledged report is on the gateway"
                    );
                }
            }
        }
        Ok(())
    }
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut city = City::start(
        &dir.path().join("gw.db"),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await;
    let proxy = Proxy::start(city.addr).await.expect("proxy");
    let pack = CityPack::parse(citizen_core::city::default_pack_sources()).expect("pack");
    let store_path = dir.path().join("device.db");
    let (store, outbox) = World::open_store(&store_path, &proxy.url(), &pack).await;
    let mut world = World {
        pack,
        store,
        outbox,
        gateway: format!("http://{}", city.addr),
        proxy,
        store_path,
        clock: Clock::start(),
    };
    let mut written = BTreeSet::new();
    let mut synced = true;
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            Step::Write { photos } => {
                written.insert(world.write(photos, i as u64).await);
            }
            Step::Send => world.send().await,
            Step::LinkDown => world.proxy.set_down(true),
            Step::LinkUp => world.proxy.set_down(false),
            Step::Flaky { every } => world.proxy.drop_every(every),
            Step::Slow { rate } => world.proxy.throttle_up(rate),
            Step::ClockJump { ms } => world.clock.jump(ms),
            Step::Restart => {
                world.store.close().await;
                let (store, outbox) =
                    World::open_store(&world.store_path, &world.proxy.url(), &world.pack).await;
                world.store = store;
                world.outbox = outbox;
            }
            Step::Sync => {
                if world.sync().await {
                    synced = true;
                }
            }
            Step::Backup => city.backup().await,
            Step::Restore => {
                city = city.restore().await;
                synced = false;
            }
        }
        world.check(&written, synced).await?;
    }
    // The link heals: everything written arrives, once.
    world.proxy.set_down(false);
    world.proxy.drop_every(0);
    world.proxy.throttle_up(0);
    for _ in 0..20 {
        if world.sync().await {
            synced = true;
        }
        world.send().await;
        if synced && world.store.outbox_len().await.expect("read") == 0 {
            break;
        }
    }
    prop_assert!(world.sync().await, "the device syncs");
    prop_assert_eq!(
        world.store.outbox_len().await.expect("read"),
        0,
        "the outbox empties"
    );
    world.check(&written, true).await?;
    let remote: BTreeSet<Uuid> = world
        .gateway_reports()
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    prop_assert_eq!(&remote, &written, "every written report is on the gateway");
    city.stop().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_outbox_delivers_every_report_exactly_once(steps in prop::collection::vec(step(), 1..14)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(run(steps))?;
    }
}
