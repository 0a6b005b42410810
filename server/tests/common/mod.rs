//! A gateway on a free loopback port with a temporary database, for the HTTP tests.
#![allow(dead_code, reason = "each test file uses a part")]

use std::path::PathBuf;

use citizen_server::{Application, Config};

pub struct Gateway {
    pub base: String,
    pub app_store: citizen_server::Store,
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
        database_url: format!("sqlite://{}", dir.path().join("gw.db").display()),
        city_pack: pack_dir(),
        simulate_every: None,
        public_url: None,
    }
}

pub async fn start() -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = Application::build(&config(&dir))
        .await
        .expect("gateway builds");
    let base = format!("http://{}", app.local_addr().expect("addr"));
    let app_store = app.store().clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Gateway {
        base,
        app_store,
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
