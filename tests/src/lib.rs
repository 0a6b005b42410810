//! The end-to-end harness: a real gateway process on a free loopback port with a temporary
//! database, an X display (Xvfb when none is given), and tauri-driver + WebKitWebDriver
//! starting the real `citizen-app` for WebDriver sessions.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use fantoccini::{Client, ClientBuilder, Locator};

pub mod a11y;
pub mod load;
pub mod photos;
pub mod proxy;
pub mod sensors;
pub mod stress;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A built binary of the workspace: `target/<profile>/<name>`, or `$CITIZEN_<NAME>_BIN`.
pub fn binary(name: &str, profile: &str) -> Result<PathBuf> {
    let var = format!(
        "CITIZEN_{}_BIN",
        name.trim_start_matches("citizen-").to_uppercase()
    );
    let path = std::env::var_os(&var).map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| root().join("target"), PathBuf::from);
            target.join(profile).join(name)
        },
        PathBuf::from,
    );
    if !path.exists() {
        bail!(
            "{} is missing: build it first (`cargo xtask build`) or set {var}",
            path.display()
        );
    }
    Ok(path)
}

/// A free TCP port on loopback (free when asked; good enough for tests on one machine).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on port {port} after {within:?}")
}

/// A child process killed when dropped.
pub struct Process {
    child: Child,
    name: &'static str,
}

impl Process {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Process {
    /// Asks the process to stop (SIGTERM), so it cleans up after itself: tauri-driver stops
    /// its WebKitWebDriver, Xvfb removes its lock file. Kills it if it does not within 3 s.
    pub fn terminate(&mut self) {
        if !self.is_running() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if !self.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.is_running() {
            eprintln!("stopping {}", self.name);
        }
        self.terminate();
    }
}

/// The city gateway as separate processes on `port`. On SQLite (the default) that is one
/// `citizen-server`; when the tests run on PostgreSQL (`CITIZEN_TEST_BACKEND=postgres`) it is
/// two instances on one PostgreSQL database behind nginx (round-robin, with the project's
/// `server/deploy/nginx-site.conf`), so every test that talks to "the gateway" also proves
/// that any instance can answer any request.
pub struct GatewayProcess {
    pub port: u16,
    pub database_url: String,
    profile: String,
    pack: PathBuf,
    /// Each instance's port and process (`None` while killed).
    instances: Vec<(u16, Option<Process>)>,
    balancer: Option<Balancer>,
    /// Whether the instances run the built-in station simulation (the first one only).
    simulate: bool,
    /// Where the instances write the one-time codes they send (`--otp-sender file:…`).
    codes: PathBuf,
    _codes_dir: tempfile::TempDir,
}

/// nginx in front of the instances, with its configuration in a private directory.
struct Balancer {
    _process: Process,
    _dir: tempfile::TempDir,
}

impl GatewayProcess {
    /// Starts the gateway on `port` with the database at `db` (or the PostgreSQL database that
    /// stands for it) and the Mỹ Tho pack.
    pub fn start(profile: &str, db: &Path, port: u16) -> Result<GatewayProcess> {
        Self::start_with_pack(profile, db, port, &root().join("assets/cities/my-tho"))
    }

    /// Starts the gateway with the city pack in `pack`.
    pub fn start_with_pack(
        profile: &str,
        db: &Path,
        port: u16,
        pack: &Path,
    ) -> Result<GatewayProcess> {
        let database_url = citizen_testdb::for_file(db);
        let instances = match citizen_testdb::backend() {
            citizen_testdb::Backend::Sqlite => 1,
            citizen_testdb::Backend::Postgres => 2,
        };
        Self::start_on(profile, &database_url, port, instances, pack)
    }

    /// Starts `instances` gateway instances on `database_url` with the city pack in `pack`;
    /// with more than one, nginx balances them on `port`.
    pub fn start_on(
        profile: &str,
        database_url: &str,
        port: u16,
        instances: usize,
        pack: &Path,
    ) -> Result<GatewayProcess> {
        Self::launch(profile, database_url, port, instances, pack, true)
    }

    /// Like [`GatewayProcess::start_on`], choosing whether the first instance simulates.
    pub fn launch(
        profile: &str,
        database_url: &str,
        port: u16,
        instances: usize,
        pack: &Path,
        simulate: bool,
    ) -> Result<GatewayProcess> {
        let several = instances > 1;
        // Behind the balancer each instance takes a port the system picks (port 0), read from
        // its first line, so tests running side by side cannot be handed the same one.
        let ports = if several {
            vec![0; instances]
        } else {
            vec![port]
        };
        let codes_dir = tempfile::tempdir()?;
        let mut gateway = GatewayProcess {
            port,
            database_url: database_url.to_owned(),
            profile: profile.to_owned(),
            pack: pack.to_owned(),
            instances: ports.into_iter().map(|p| (p, None)).collect(),
            balancer: None,
            simulate,
            codes: codes_dir.path().join("codes.txt"),
            _codes_dir: codes_dir,
        };
        for i in 0..gateway.instances.len() {
            gateway.start_instance(i)?;
        }
        if several {
            let upstreams: Vec<u16> = gateway.instances.iter().map(|(p, _)| *p).collect();
            gateway.balancer = Some(Balancer::start(port, &upstreams)?);
        }
        Ok(gateway)
    }

    /// Like [`GatewayProcess::start`], with no simulated station readings: the test posts
    /// its own.
    pub fn start_without_simulation(profile: &str, db: &Path, port: u16) -> Result<GatewayProcess> {
        let instances = match citizen_testdb::backend() {
            citizen_testdb::Backend::Sqlite => 1,
            citizen_testdb::Backend::Postgres => 2,
        };
        let pack = root().join("assets/cities/my-tho");
        Self::launch(
            profile,
            &citizen_testdb::for_file(db),
            port,
            instances,
            &pack,
            false,
        )
    }

    /// How many instances serve the gateway's port.
    pub fn instances(&self) -> usize {
        self.instances.len()
    }

    /// Starts instance `i` again (after [`GatewayProcess::kill_instance`]).
    pub fn start_instance(&mut self, i: usize) -> Result<()> {
        let port = self.instances[i].0;
        let mut child = Command::new(binary("citizen-server", &self.profile)?)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database")
            .arg(&self.database_url)
            .arg("--city-pack")
            .arg(&self.pack)
            .arg("--public-url")
            .arg(self.url())
            // One simulating instance is enough (the README says so for production too).
            .arg("--simulate-secs")
            .arg(if self.simulate && i == 0 { "300" } else { "0" })
            .arg("--otp-sender")
            .arg(format!("file:{}", self.codes.display()))
            // CITIZEN_E2E_GATEWAY_LOG=info shows every request the gateway answers.
            .env(
                "RUST_LOG",
                std::env::var("CITIZEN_E2E_GATEWAY_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .spawn()
            .context("starting citizen-server")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut process = Process {
            child,
            name: "citizen-server",
        };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let bound = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse::<SocketAddr>().ok());
        let Some(bound) = bound else {
            process.kill();
            bail!("citizen-server did not start: {line:?}");
        };
        // A restarted instance binds the port it had, which the balancer knows.
        self.instances[i] = (bound.port(), Some(process));
        Ok(())
    }

    /// Kills instance `i` with SIGKILL, mid-request or mid-transaction.
    pub fn kill_instance(&mut self, i: usize) {
        if let Some(mut process) = self.instances[i].1.take() {
            process.kill();
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Identifies `phone` as the app does: asks for a one-time code, reads it from the code
    /// file, trades it for a device token. Answers the number as the gateway keeps it and the
    /// token.
    pub async fn identify(&self, phone: &str) -> Result<(String, String)> {
        let http = reqwest::Client::new();
        let sent: serde_json::Value = http
            .post(format!("{}/api/v1/identity/codes", self.url()))
            .json(&serde_json::json!({"phone": phone}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let phone = sent["phone"].as_str().context("the number")?.to_owned();
        let code = self.last_code(&phone).context("the code sent")?;
        let token: serde_json::Value = http
            .post(format!("{}/api/v1/identity/tokens", self.url()))
            .json(&serde_json::json!({"phone": phone, "code": code}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = token["token"].as_str().context("a token")?.to_owned();
        Ok((phone, token))
    }

    /// The last one-time code any instance sent to `phone` (`+84…`), as a resident reads it
    /// from the text message.
    pub fn last_code(&self, phone: &str) -> Option<String> {
        let sent = std::fs::read_to_string(&self.codes).ok()?;
        sent.lines().rev().find_map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next()? == phone).then(|| parts.next().map(str::to_owned))?
        })
    }

    /// Kills every instance (SIGKILL) and the balancer.
    pub fn stop(&mut self) {
        for i in 0..self.instances.len() {
            self.kill_instance(i);
        }
        self.balancer = None;
    }
}

impl Balancer {
    fn start(port: u16, upstreams: &[u16]) -> Result<Balancer> {
        let site = std::fs::read_to_string(root().join("server/deploy/nginx-site.conf"))?;
        let servers: String = upstreams
            .iter()
            .map(|p| format!("    server 127.0.0.1:{p};\n"))
            .collect();
        let mut lines: Vec<String> = Vec::new();
        let mut upstreams_written = false;
        for line in site.lines() {
            if line.trim_start().starts_with("server 127.0.0.1:") {
                if !upstreams_written {
                    lines.push(servers.trim_end().to_owned());
                    upstreams_written = true;
                }
            } else if line.trim() == "listen 127.0.0.1:8080;" {
                lines.push(format!("    listen 127.0.0.1:{port};"));
            } else {
                lines.push(line.to_owned());
            }
        }
        if !upstreams_written {
            bail!("nginx-site.conf no longer has `server 127.0.0.1:…` upstream lines");
        }
        let dir = tempfile::tempdir()?;
        // nginx's workers run as `nobody` under root: they need to reach the temp folders.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )?;
        let d = dir.path().display();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{}\n}}\n",
            lines.join("\n")
        );
        std::fs::write(dir.path().join("nginx.conf"), conf)?;
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("nginx");
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(Stdio::null())
            .spawn()
            .context("starting nginx (Debian's nginx-light)")?;
        let process = Process {
            child,
            name: "nginx",
        };
        wait_for_port(port, Duration::from_secs(10)).with_context(|| {
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        })?;
        Ok(Balancer {
            _process: process,
            _dir: dir,
        })
    }
}

/// An X display: the caller's `DISPLAY`, or a private Xvfb.
pub struct Display {
    pub name: String,
    _xvfb: Option<Process>,
}

impl Display {
    pub fn get() -> Result<Display> {
        if let Ok(name) = std::env::var("DISPLAY")
            && !name.is_empty()
        {
            return Ok(Display { name, _xvfb: None });
        }
        for n in 90..140 {
            let lock = format!("/tmp/.X{n}-lock");
            let socket = format!("/tmp/.X11-unix/X{n}");
            // A lock whose server died without cleaning up (killed) frees its display.
            let owner = std::fs::read_to_string(&lock)
                .ok()
                .and_then(|pid| pid.trim().parse::<u32>().ok());
            if let Some(pid) = owner
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_file(&lock);
                let _ = std::fs::remove_file(&socket);
            }
            if Path::new(&socket).exists() || Path::new(&lock).exists() {
                continue;
            }
            let name = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([
                    name.as_str(),
                    "-screen",
                    "0",
                    "1280x1024x24",
                    "-nolisten",
                    "tcp",
                ])
                .stderr(Stdio::null())
                .spawn()
                .context("starting Xvfb (apt package xvfb)")?;
            let mut xvfb = Process {
                child,
                name: "Xvfb",
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return Ok(Display {
                        name,
                        _xvfb: Some(xvfb),
                    });
                }
                if !xvfb.is_running() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            xvfb.kill();
        }
        bail!("could not start Xvfb on any display :90–:139")
    }
}

/// tauri-driver with its WebKitWebDriver, launching the app with the given environment.
pub struct Driver {
    port: u16,
    app: PathBuf,
    process: Process,
}

impl Driver {
    pub fn start(display: &Display, app: PathBuf, env: &[(&str, String)]) -> Result<Driver> {
        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd = Command::new("tauri-driver");
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .env("DISPLAY", &display.name)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .context("starting tauri-driver (cargo install tauri-driver)")?;
        let process = Process {
            child,
            name: "tauri-driver",
        };
        wait_for_port(port, Duration::from_secs(20))?;
        Ok(Driver { port, app, process })
    }

    /// Launches the app and opens a WebDriver session on it.
    pub async fn session(&self) -> Result<Client> {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": self.app.display().to_string() }),
        );
        let url = format!("http://127.0.0.1:{}", self.port);
        // WebKitWebDriver may still be starting behind tauri-driver: retry a few times.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return Ok(client),
                Err(e) if attempt < 5 => {
                    eprintln!("WebDriver session attempt {attempt} failed: {e}");
                    tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                }
                Err(e) => return Err(e).context("opening a WebDriver session on the app"),
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// Polls `check` until it yields `Some`, or fails with `what` after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + within;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() > deadline {
            bail!("timed out after {within:?} waiting for {what} (last error: {last_error:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the first element matching `css`, if there is one.
pub async fn text_of(client: &Client, css: &str) -> Result<Option<String>> {
    match client.find(Locator::Css(css)).await {
        Ok(el) => Ok(Some(el.text().await?)),
        Err(e) if e.is_no_such_element() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Waits for `css` and clicks it.
pub async fn click(client: &Client, css: &str) -> Result<()> {
    // The UI re-renders while data arrives: an element found a moment ago may be replaced
    // before the click lands. Find and click again until one click goes through.
    eventually(Duration::from_secs(20), css, || async {
        let el = match client.find(Locator::Css(css)).await {
            Ok(el) => el,
            Err(e) if e.is_no_such_element() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match el.click().await {
            Ok(()) => Ok(Some(())),
            Err(e) if e.is_stale_element_reference() || e.is_no_such_element() => Ok(None),
            Err(e) => Err(anyhow!("clicking {css}: {e:?}")),
        }
    })
    .await
}

/// Clicks `css` until `then` shows: a click that landed on an element the UI replaced at that
/// moment (a list re-rendered as synced data arrived) is lost without an error, so it is
/// repeated.
pub async fn click_to(client: &Client, css: &str, then: &str) -> Result<()> {
    eventually(
        Duration::from_secs(30),
        &format!("{css} leading to {then}"),
        || async {
            if text_of(client, then).await?.is_some() {
                return Ok(Some(()));
            }
            let el = match client.find(Locator::Css(css)).await {
                Ok(el) => el,
                Err(e) if e.is_no_such_element() => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            match el.click().await {
                Ok(()) => {}
                Err(e) if e.is_stale_element_reference() || e.is_no_such_element() => {
                    return Ok(None);
                }
                Err(e) => return Err(anyhow!("clicking {css}: {e:?}")),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok(text_of(client, then).await?.map(drop))
        },
    )
    .await
}

/// The attribute `name` of the element `css`, if both are there.
pub async fn attr(client: &Client, css: &str, name: &str) -> Result<Option<String>> {
    match client.find(Locator::Css(css)).await {
        Ok(el) => Ok(el.attr(name).await?),
        Err(e) if e.is_no_such_element() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Waits (40 s at most) for the element `css` to have `name` = `value`.
pub async fn wait_attr(client: &Client, css: &str, name: &str, value: &str) -> Result<()> {
    eventually(
        Duration::from_secs(40),
        &format!("{css} with {name}={value}"),
        || async { Ok(attr(client, css, name).await?.filter(|v| v == value)) },
    )
    .await
    .map(drop)
}

/// The element `css` once it is there.
pub async fn element(client: &Client, css: &str) -> Result<fantoccini::elements::Element> {
    eventually(Duration::from_secs(20), css, || async {
        match client.find(Locator::Css(css)).await {
            Ok(el) => Ok(Some(el)),
            Err(e) if e.is_no_such_element() => Ok(None),
            Err(e) => Err(anyhow!("finding {css}: {e:?}")),
        }
    })
    .await
}

/// Waits until the element `css` has a text containing `needle`; returns that text.
pub async fn wait_text(client: &Client, css: &str, needle: &str) -> Result<String> {
    eventually(
        Duration::from_secs(20),
        &format!("{css} to contain {needle:?}"),
        || async { Ok(text_of(client, css).await?.filter(|t| t.contains(needle))) },
    )
    .await
}

/// Ends the session, which closes the app, after checking the page logged no error and
/// broke no CSP rule.
pub async fn quit(client: Client) -> Result<()> {
    let errors = client
        .execute("return window.__citizenErrors;", vec![])
        .await?;
    if errors != serde_json::json!([]) {
        bail!("console errors or CSP violations in the app: {errors}");
    }
    client.close().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

/// Sets up the store in `data_dir` as a phone that wrote a report while offline: the bundled
/// pack, one report of the pack's first category in the city centre (with a camera photo when
/// `with_photo`), waiting in the outbox; the store closed, as one file.
pub async fn phone_with_a_waiting_report(
    data_dir: &Path,
    description: &str,
    with_photo: bool,
) -> Result<()> {
    use citizen_client::syncer::now_ms;
    std::fs::create_dir_all(data_dir)?;
    let pack = citizen_core::CityPack::parse(citizen_core::city::default_pack_sources())?;
    let store = citizen_client::Store::open(&data_dir.join("citizen.db")).await?;
    store.bootstrap(&pack).await?;
    let mut draft = store.new_draft(now_ms()).await?;
    if with_photo {
        let photo = citizen_client::photo::process(&photos::camera_jpeg(
            800,
            600,
            10.3560,
            106.3650,
            "SN-E2E-PHONE",
        ))?;
        store.add_photo(draft.id, &photo, now_ms()).await?;
        draft = store.draft(draft.id).await?.context("the draft")?;
    }
    let category = pack.categories[0].code.clone();
    draft.category = Some(category.clone());
    draft.description = description.to_owned();
    draft.position = Some(citizen_core::Position {
        lon: 106.3650,
        lat: 10.3560,
    });
    store.save_draft(&draft).await?;
    store
        .submit_draft(draft.id, &pack.city, |c| c == category, now_ms())
        .await?;
    store.close().await;
    Ok(())
}

/// Sets up the store in `data_dir` as a phone whose resident identified (with a token the
/// gateway does not know) and sent an application for a certified copy while offline: the
/// application waits in the outbox, its PDF on the device; the store closed.
pub async fn phone_with_a_waiting_application(data_dir: &Path) -> Result<()> {
    use citizen_client::syncer::now_ms;
    std::fs::create_dir_all(data_dir)?;
    let pack = citizen_core::CityPack::parse(citizen_core::city::default_pack_sources())?;
    let store = citizen_client::Store::open(&data_dir.join("citizen.db")).await?;
    store.bootstrap(&pack).await?;
    store.set_identity("+84912345678", &"0".repeat(64)).await?;
    let draft = store.new_application("certified-copy", now_ms()).await?;
    let original = store
        .attach_document(
            "bang-tot-nghiep.pdf",
            &citizen_server::document::sample_pdf(1),
            now_ms(),
        )
        .await?;
    let answers = certified_copy_answers(&[original], "Bằng tốt nghiệp trung học phổ thông");
    store.save_application(draft.id, &answers, now_ms()).await?;
    send_certified_copy(&store, &pack, draft.id).await?;
    store.close().await;
    Ok(())
}

/// Valid answers to the Mỹ Tho pack's certified-copy form, for the document `title` with
/// its scans `documents`.
pub fn certified_copy_answers(
    documents: &[citizen_core::form::AttachmentRef],
    title: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let answers = serde_json::json!({
        "applicant_name": "Nguyễn Thị Lan",
        "applicant_citizen_id": "082190000123",
        "applicant_phone": "0912345678",
        "document_title": title,
        "copies": 2,
        "original": documents,
        "pickup": "office",
        "declaration": true,
    });
    answers.as_object().cloned().unwrap_or_default()
}

/// Valid answers to the pack's birth registration form, with `certificate` (a document
/// reference) as the hospital's birth certificate.
pub fn birth_registration_answers(certificate: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "applicant_name": "Nguyễn Thị Lan",
        "applicant_citizen_id": "082190000123",
        "applicant_phone": "0912345678",
        "relationship": "mother",
        "child_name": "Trần Minh Khôi",
        "child_sex": "male",
        "child_birth_date": "2026-11-20",
        "child_birth_place": {"ward": "28261", "street": "2 Hùng Vương"},
        "child_ethnicity": "Kinh",
        "mother_name": "Nguyễn Thị Lan",
        "mother_citizen_id": "082190000123",
        "father_known": "no",
        "birth_certificate": [certificate],
        "declaration": true,
    })
}

/// Sends the certified-copy draft `draft` of `store` (checked with the pack's form, queued in
/// the outbox).
pub async fn send_certified_copy(
    store: &citizen_client::Store,
    pack: &citizen_core::CityPack,
    draft: uuid::Uuid,
) -> Result<()> {
    use citizen_client::syncer::now_ms;
    let source = pack
        .forms
        .iter()
        .find(|f| f.procedure == "certified-copy")
        .context("the pack's certified-copy form")?;
    let form = citizen_core::form::Form::compile(source)?;
    let today = citizen_core::civil::Date::from_days_since_epoch(
        (now_ms() + 7 * 3_600_000).div_euclid(citizen_core::civil::DAY_MS),
    );
    let ctx = citizen_core::form::CheckContext {
        today,
        wards: &pack.wards,
    };
    store
        .submit_application(draft, &form, &ctx, now_ms())
        .await?;
    Ok(())
}

/// The `citizen-app` processes running on the data directory `data_dir`.
fn app_pids(data_dir: &Path) -> Vec<u32> {
    let wanted = format!("CITIZEN_DATA_DIR={}", data_dir.display());
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                    let exe = std::fs::read_link(e.path().join("exe")).ok()?;
                    let environ = std::fs::read(e.path().join("environ")).ok()?;
                    let ours = exe.file_name().is_some_and(|n| n == "citizen-app")
                        && environ
                            .split(|b| *b == 0)
                            .any(|var| var == wanted.as_bytes());
                    ours.then_some(pid)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Ends the app on `data_dir` the hard way (SIGKILL), as a phone's system does to an app in
/// the background, and waits until it is gone.
pub async fn kill_app(data_dir: &Path) -> Result<()> {
    for pid in app_pids(data_dir) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    eventually(Duration::from_secs(10), "the app to end", || async {
        Ok(app_pids(data_dir).is_empty().then_some(()))
    })
    .await
}
