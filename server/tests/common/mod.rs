//! A gateway on a free loopback port with a temporary database, for the HTTP tests.
#![allow(dead_code, reason = "each test file uses a part")]

use std::path::PathBuf;

use citizen_core::report::PhotoRef;
use citizen_core::{Entity, SyncPage};
use citizen_server::store::Role;
use citizen_server::{Application, Config};
use image::{ImageEncoder, RgbImage};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub struct Gateway {
    pub base: String,
    pub app_store: citizen_server::Store,
    pub database_url: String,
    pub _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub fn pack_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/cities/my-tho")
}

pub fn config(dir: &tempfile::TempDir) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database_url: citizen_testdb::database_url(dir.path(), "gw"),
        city_pack: pack_dir(),
        simulate_every: None,
        public_url: None,
        code_sender: std::sync::Arc::new(citizen_server::otp::LogSender),
    }
}

pub async fn start() -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(&dir);
    start_with(config, dir).await
}

/// Another gateway instance on the database of `gw`, as a second instance behind a balancer.
pub async fn another_instance(gw: &Gateway) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(&dir);
    config.database_url = gw.database_url.clone();
    start_with(config, dir).await
}

pub async fn start_with(config: Config, dir: tempfile::TempDir) -> Gateway {
    let app = Application::build(&config).await.expect("gateway builds");
    let base = format!("http://{}", app.local_addr().expect("addr"));
    let app_store = app.store().clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Gateway {
        base,
        app_store,
        database_url: config.database_url,
        _dir: dir,
        stop: Some(tx),
        task,
    }
}

impl Gateway {
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self._dir
    }
}

/// A report device id the tests send from.
pub const DEVICE: &str = "0193a6a0-0000-7000-8000-000000000001";

pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), y as u8, seed])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .write_image(&img, width, height, image::ExtendedColorType::Rgb8)
        .expect("encodes");
    out
}

pub fn sha(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// The gateway's HTTP API, as a client sees it.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(gw: &Gateway) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: gw.base.clone(),
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.body(body).send().await.expect("the gateway answers");
        let status = res.status().as_u16();
        let bytes = res.bytes().await.expect("a body");
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into())
        });
        (status, value)
    }

    pub async fn json(&self, method: Method, path: &str, body: &Value) -> (u16, Value) {
        self.send(
            method,
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).expect("json"),
        )
        .await
    }

    pub async fn announce(&self, data_len: usize, sha256: &str) -> Uuid {
        let id = Uuid::now_v7();
        let (status, body) = self
            .json(
                Method::POST,
                "/api/v1/uploads",
                &json!({"id": id, "size": data_len, "sha256": sha256}),
            )
            .await;
        assert_eq!(status, 200, "announced: {body}");
        id
    }

    pub async fn patch(&self, id: Uuid, offset: usize, chunk: &[u8]) -> (u16, Value) {
        self.send(
            Method::PATCH,
            &format!("/api/v1/uploads/{id}"),
            &[
                ("upload-offset", &offset.to_string()),
                ("content-type", "application/octet-stream"),
            ],
            chunk.to_vec(),
        )
        .await
    }

    /// Uploads `data` in chunks of `chunk` bytes.
    pub async fn upload(&self, data: &[u8], chunk: usize) -> PhotoRef {
        let id = self.announce(data.len(), &sha(data)).await;
        for (i, part) in data.chunks(chunk).enumerate() {
            let (status, body) = self.patch(id, i * chunk, part).await;
            assert_eq!(status, 200, "chunk {i}: {body}");
        }
        PhotoRef {
            id,
            sha256: sha(data),
            size: data.len() as u64,
        }
    }

    pub async fn feed_reports(&self) -> Vec<citizen_core::report::ReportView> {
        let page: SyncPage = self
            .http
            .get(format!("{}/api/v1/sync?since=0&limit=1000", self.base))
            .send()
            .await
            .expect("feed")
            .json()
            .await
            .expect("a page");
        page.changes
            .into_iter()
            .filter_map(|c| match c.op {
                citizen_core::ChangeOp::Upsert { entity } => match *entity {
                    Entity::Report(r) => Some(r),
                    _ => None,
                },
                citizen_core::ChangeOp::Delete { .. } => None,
            })
            .collect()
    }
}

/// A valid report of `category` in the city, as a device sends it.
pub fn report(category: &str, photos: &[PhotoRef]) -> Value {
    json!({
        "id": Uuid::now_v7(),
        "device_id": DEVICE,
        "category": category,
        "description": "Rác bỏ sai giờ trước chợ, bốc mùi.",
        "position": {"lat": 10.3600, "lon": 106.3620},
        "address": "Đường Trưng Trắc",
        "ward": "Phường Mỹ Tho",
        "photos": photos,
        "contact": {"name": "Nguyễn Văn A", "phone": "0903 123 456", "anonymous": true},
        "created_at_ms": 1_763_600_000_000_i64
    })
}

pub async fn staff_token(gw: &Gateway, department: &str) -> String {
    gw.app_store
        .create_token(Role::Staff, Some(department), "test", 0)
        .await
        .expect("token")
}

/// The department the pack routes `category` to.
pub fn department_of(category: &str) -> String {
    let (pack, _) = citizen_server::pack::load_dir(&pack_dir()).expect("pack");
    pack.categories
        .iter()
        .find(|c| c.code == category)
        .expect("category in pack")
        .department
        .clone()
}

pub fn first_two_categories() -> (String, String) {
    let (pack, _) = citizen_server::pack::load_dir(&pack_dir()).expect("pack");
    let first = pack.categories[0].clone();
    let other = pack
        .categories
        .iter()
        .find(|c| c.department != first.department)
        .expect("categories of two departments");
    (first.code, other.code.clone())
}

/// Every row of every table, so a test can tell that a request changed nothing.
pub async fn database_snapshot(store: &citizen_server::Store) -> Vec<String> {
    let postgres = store.backend() == citizen_server::store::Backend::Postgres;
    let tables: Vec<String> = sqlx::query_scalar(if postgres {
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name != '_sqlx_migrations' ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name != '_sqlx_migrations' ORDER BY name"
    })
    .fetch_all(store.pool())
    .await
    .expect("tables");
    let mut snapshot = Vec::new();
    for table in tables {
        let rows: Vec<String> = if postgres {
            // Each row as its text form, e.g. `(a,1,"x y")`.
            sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t ORDER BY 1"))
                .fetch_all(store.pool())
                .await
                .expect("rows")
        } else {
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(&table)
                    .fetch_all(store.pool())
                    .await
                    .expect("columns");
            let row = columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            sqlx::query_scalar(&format!("SELECT {row} FROM \"{table}\" ORDER BY 1"))
                .fetch_all(store.pool())
                .await
                .expect("rows")
        };
        snapshot.push(format!("{table}: {}", rows.join("\n")));
    }
    snapshot
}
