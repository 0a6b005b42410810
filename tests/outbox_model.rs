//! A model-based property test of the outbox: generated sequences of reports written with
//! photos, sends, a link that goes down or drops every few kilobytes, and app restarts,
//! against a real gateway on loopback behind a fault-injecting proxy. The model is a set:
//! every report the resident wrote. After every step nothing written is missing on the
//! device, the gateway holds no report twice and nothing unwritten, and everything the device
//! counts as acknowledged is on the gateway. Once the link heals, everything arrives.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use citizen_client::outbox::Outbox;
use citizen_client::{Gateway, Store, photo};
use citizen_core::report::Delivery;
use citizen_core::sync::PullTiming;
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
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..=2_usize).prop_map(|photos| Step::Write { photos }),
        3 => Just(Step::Send),
        1 => Just(Step::LinkDown),
        1 => Just(Step::LinkUp),
        1 => prop_oneof![Just(0_u64), 8_000..60_000_u64].prop_map(|every| Step::Flaky { every }),
        1 => Just(Step::Restart),
    ]
}

const TIMING: PullTiming = PullTiming {
    interval_ms: 1_000,
    backoff_base_ms: 10,
    backoff_max_ms: 100,
};

/// A clock that moves an hour on every reading, so each send finds every backoff passed:
/// the model does not wait for real time.
fn later() -> i64 {
    static CLOCK: AtomicI64 = AtomicI64::new(0);
    CLOCK.fetch_add(3_600_000, Ordering::SeqCst) + 3_600_000
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

struct World {
    pack: CityPack,
    store: Store,
    outbox: Outbox,
    proxy: Proxy,
    gateway: String,
    store_path: std::path::PathBuf,
}

impl World {
    async fn open_store(path: &Path, proxy_url: &str, pack: &CityPack) -> (Store, Outbox) {
        let store = Store::open(path).await.expect("store opens");
        store.bootstrap(pack).await.expect("bootstrap");
        let outbox = Outbox::new(store.clone(), Gateway::new(proxy_url), TIMING);
        (store, outbox)
    }

    async fn write(&self, photos: usize, seed: u64) -> Uuid {
        let mut draft = self.store.new_draft(0).await.expect("draft");
        for i in 0..photos {
            let processed = photo::process(&photo_original(seed * 10 + i as u64)).expect("photo");
            self.store
                .add_photo(draft.id, &processed, 0)
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
            .submit_draft(draft.id, &self.pack.city, |c| c == category, 0)
            .await
            .expect("submitted");
        report.submission.id
    }

    async fn gateway_reports(&self) -> Vec<Uuid> {
        let answer: Vec<serde_json::Value> = reqwest::get(format!(
            "{}/open311/v2/requests.json?start_date=1970-01-01T00:00:00Z",
            self.gateway
        ))
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("a list");
        let mut ids = Vec::new();
        for r in answer {
            let code = r["service_request_id"].as_str().expect("code");
            let view: serde_json::Value =
                reqwest::get(format!("{}/api/v1/reports/{code}", self.gateway))
                    .await
                    .expect("gateway answers")
                    .json()
                    .await
                    .expect("a report");
            ids.push(Uuid::parse_str(view["id"].as_str().expect("id")).expect("uuid"));
        }
        ids
    }

    /// The invariants that hold after every step.
    async fn check(&self, written: &BTreeSet<Uuid>) -> Result<(), TestCaseError> {
        let mine = self.store.my_reports().await.expect("read");
        let local: BTreeSet<Uuid> = mine.iter().map(|r| r.submission.id).collect();
        prop_assert_eq!(&local, written, "nothing written is lost on the device");
        let remote = self.gateway_reports().await;
        let remote_set: BTreeSet<Uuid> = remote.iter().copied().collect();
        prop_assert_eq!(
            remote.len(),
            remote_set.len(),
            "no report twice on the gateway"
        );
        prop_assert!(
            remote_set.is_subset(written),
            "the gateway holds only written reports"
        );
        for r in &mine {
            if matches!(r.delivery, Delivery::Sent { .. }) {
                prop_assert!(
                    remote_set.contains(&r.submission.id),
                    "an acknowledged report is on the gateway"
                );
            }
        }
        Ok(())
    }
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: format!("sqlite://{}", dir.path().join("gw.db").display()),
        city_pack: citizen_e2e::root().join("assets/cities/my-tho"),
        simulate_every: None,
        public_url: None,
    };
    let app = Application::build(&config).await.expect("gateway builds");
    let addr = app.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let proxy = Proxy::start(addr).await.expect("proxy");
    let pack = CityPack::parse(citizen_core::city::default_pack_sources()).expect("pack");
    let store_path = dir.path().join("device.db");
    let (store, outbox) = World::open_store(&store_path, &proxy.url(), &pack).await;
    let mut world = World {
        pack,
        store,
        outbox,
        gateway: format!("http://{addr}"),
        proxy,
        store_path,
    };
    let mut written = BTreeSet::new();
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            Step::Write { photos } => {
                written.insert(world.write(photos, i as u64).await);
            }
            Step::Send => {
                world
                    .outbox
                    .drain(later)
                    .await
                    .expect("the local store works");
            }
            Step::LinkDown => world.proxy.set_down(true),
            Step::LinkUp => world.proxy.set_down(false),
            Step::Flaky { every } => world.proxy.drop_every(every),
            Step::Restart => {
                world.store.close().await;
                let (store, outbox) =
                    World::open_store(&world.store_path, &world.proxy.url(), &world.pack).await;
                world.store = store;
                world.outbox = outbox;
            }
        }
        world.check(&written).await?;
    }
    // The link heals: everything written arrives, once.
    world.proxy.set_down(false);
    world.proxy.drop_every(0);
    for _ in 0..20 {
        if world.store.outbox_len().await.expect("read") == 0 {
            break;
        }
        world
            .outbox
            .drain(later)
            .await
            .expect("the local store works");
    }
    prop_assert_eq!(
        world.store.outbox_len().await.expect("read"),
        0,
        "the outbox empties"
    );
    world.check(&written).await?;
    let remote: BTreeSet<Uuid> = world.gateway_reports().await.into_iter().collect();
    prop_assert_eq!(&remote, &written, "every written report is on the gateway");
    let _ = stop.send(());
    let _ = server.await;
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
