//! The databases the tests run the gateway on.
//!
//! `CITIZEN_TEST_BACKEND=postgres` (set by `cargo xtask test` for its PostgreSQL pass) makes
//! every gateway of the tests use PostgreSQL; otherwise they use a SQLite file.
//!
//! On PostgreSQL each gateway gets a fresh database, on the server `CITIZEN_TEST_POSTGRES`
//! names (a URL whose role may create databases) or else on a throwaway cluster this process
//! makes with Debian's `initdb` in a temporary directory and starts on a free loopback port.
//! That cluster stops when the process ends, however it ends (its postmaster gets SIGQUIT
//! when the thread that started it goes away), and a later run removes what it left behind.

use std::collections::HashMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The engine the tests' gateways run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend `CITIZEN_TEST_BACKEND` asks for (`sqlite` when unset).
///
/// # Panics
/// On any other value, so a typo does not silently test SQLite twice.
pub fn backend() -> Backend {
    match std::env::var("CITIZEN_TEST_BACKEND").as_deref() {
        Err(_) | Ok("" | "sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("CITIZEN_TEST_BACKEND: {other:?} is neither sqlite nor postgres"),
    }
}

/// A `--database` URL for a gateway: `sqlite://<dir>/<name>.db`, or a fresh PostgreSQL
/// database when the tests run on PostgreSQL. The same `dir` and `name` give the same
/// database again, so a test restarts a gateway on its data the same way on both.
///
/// # Panics
/// When PostgreSQL cannot be started or the database made (a test cannot go on).
pub fn database_url(dir: &Path, name: &str) -> String {
    for_file(&dir.join(format!("{name}.db")))
}

/// Like [`database_url`], for the SQLite file `db` (`sqlite://<db>`), or the PostgreSQL
/// database that stands for it.
///
/// # Panics
/// When PostgreSQL cannot be started or the database made.
pub fn for_file(db: &Path) -> String {
    match backend() {
        Backend::Sqlite => format!("sqlite://{}", db.display()),
        Backend::Postgres => {
            static MADE: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
            let mut made = MADE
                .get_or_init(Mutex::default)
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            made.entry(db.to_owned())
                .or_insert_with(|| fresh_postgres().expect("a fresh PostgreSQL database"))
                .clone()
        }
    }
}

/// A new, empty database on the test run's PostgreSQL server; its URL.
///
/// # Errors
/// When no server is given and none can be started, or `createdb` fails.
pub fn fresh_postgres() -> Result<String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    if let Ok(base) = std::env::var("CITIZEN_TEST_POSTGRES") {
        return create_database_at(&base, &name);
    }
    static SHARED: OnceLock<Mutex<Option<Cluster>>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| Mutex::new(None));
    let mut cluster = shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if cluster.is_none() {
        *cluster = Some(Cluster::start(Durability::Throwaway)?);
    }
    let cluster = cluster.as_ref().context("cluster")?;
    cluster.create_database(&name)
}

/// Makes `name` on the server of `base` (a `postgres://user@host:port/db` URL); the URL of
/// the new database.
fn create_database_at(base: &str, name: &str) -> Result<String> {
    let rest = base
        .strip_prefix("postgres://")
        .context("CITIZEN_TEST_POSTGRES must be a postgres:// URL")?;
    let (user, host_port) = rest
        .split('/')
        .next()
        .and_then(|authority| authority.split_once('@'))
        .context("CITIZEN_TEST_POSTGRES needs a user and host: postgres://user@host:port")?;
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    let status = Command::new(bindir()?.join("createdb"))
        .args(["-h", host, "-p", port, "-U", user, name])
        .status()
        .context("running createdb")?;
    if !status.success() {
        bail!("createdb {name} on {host}:{port} failed: {status}");
    }
    Ok(format!("postgres://{user}@{host}:{port}/{name}"))
}

/// How much a cluster may lose when the machine stops: tests lose nothing by dropping
/// durability (the cluster dies with them), benchmarks measure the durable settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync`, `synchronous_commit` and `full_page_writes` off.
    Throwaway,
    /// PostgreSQL's defaults: a commit is on disk when it returns.
    Durable,
}

/// A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only, owned by this
/// process. Dropping it stops the server and removes the directory.
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    pid: u32,
    waiter: Option<JoinHandle<()>>,
}

/// Where Debian keeps the server's programs (`/usr/lib/postgresql/<major>/bin`, the newest
/// major), or `CITIZEN_PG_BINDIR`.
///
/// # Errors
/// When no PostgreSQL is installed.
pub fn bindir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("CITIZEN_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no /usr/lib/postgresql: install Debian's postgresql package")?
        .filter_map(|e| {
            let e = e.ok()?;
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors
        .pop()
        .map(|(_, bin)| bin)
        .context("no PostgreSQL server under /usr/lib/postgresql")
}

/// The user the server runs as: PostgreSQL refuses to run as root, so under root it is the
/// `postgres` user Debian's package makes; otherwise this process's user.
fn server_user() -> Result<Option<(u32, u32)>> {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self")?.uid() != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres") && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .map(Some)
        .context("running as root and there is no `postgres` user to run PostgreSQL as")
}

/// Where clusters are made: the temporary folder, or `/tmp` under root, since the server's
/// user must reach it (a root's `TMPDIR` may be under `/root`).
fn scratch() -> PathBuf {
    match server_user() {
        Ok(Some(_)) => PathBuf::from("/tmp"),
        _ => std::env::temp_dir(),
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Removes clusters left by test processes that are gone (a process killed before it could
/// clean up).
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir(scratch()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("citizen-pg-"))
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Cluster {
    /// Makes a cluster with `initdb` and starts it on a free loopback port.
    ///
    /// # Errors
    /// When PostgreSQL is not installed, or `initdb` or the server fail (their output is in
    /// the error).
    pub fn start(durability: Durability) -> Result<Cluster> {
        remove_stale();
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = scratch().join(format!(
            "citizen-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let user = server_user()?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
        }
        let bin = bindir()?;
        let data = dir.join("data");
        let mut initdb = as_user(&bin.join("initdb"), user, None);
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = initdb.output().context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            // The server gets SIGQUIT (immediate shutdown) when the thread that started it
            // ends, which is when this process ends or the cluster is dropped.
            let mut server = as_user(&bin.join("postgres"), user, Some("QUIT"));
            server
                .arg("-D")
                .arg(&data)
                .arg("-k")
                .arg(&dir)
                .args(["-p", &port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-c", "max_connections=300"])
                .args(["-c", "shared_buffers=256MB"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("server.log"))?);
            if durability == Durability::Throwaway {
                for setting in [
                    "fsync=off",
                    "synchronous_commit=off",
                    "full_page_writes=off",
                ] {
                    server.args(["-c", setting]);
                }
            }
            let (pid, waiter) = spawn_waited(server)?;
            let mut cluster = Cluster {
                dir: dir.clone(),
                port,
                pid,
                waiter: Some(waiter),
            };
            match cluster.wait_ready(Duration::from_secs(30)) {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    last_error = format!("{e:#}");
                    cluster.stop_server();
                }
            }
        }
        let mut log = String::new();
        if let Ok(mut f) = std::fs::File::open(dir.join("server.log")) {
            let _ = f.read_to_string(&mut log);
        }
        let _ = std::fs::remove_dir_all(&dir);
        bail!("PostgreSQL did not start: {last_error}\n{log}")
    }

    fn wait_ready(&mut self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        let isready = bindir()?.join("pg_isready");
        loop {
            if self.waiter.as_ref().is_some_and(JoinHandle::is_finished) {
                bail!("the server exited");
            }
            let status = Command::new(&isready)
                .args([
                    "-q",
                    "-U",
                    "postgres",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                ])
                .status()?;
            if status.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("not ready after {within:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database` on this cluster, as its superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Makes an empty database; its URL.
    ///
    /// # Errors
    /// When `createdb` fails.
    pub fn create_database(&self, name: &str) -> Result<String> {
        create_database_at(&self.url("postgres"), name)
    }

    fn stop_server(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown (running transactions are rolled back). The pid
        // is our child's, not reaped while the waiter runs.
        if let Some(waiter) = self.waiter.take() {
            if waiter.is_finished() {
                let _ = waiter.join();
                return;
            }
            let _ = Command::new("kill")
                .args(["-INT", &self.pid.to_string()])
                .status();
            let _ = waiter.join();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_server();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `program` run through util-linux's `setpriv`: as `user` when given, and with `deathsig`
/// as its parent-death signal when given.
fn as_user(program: &Path, user: Option<(u32, u32)>, deathsig: Option<&str>) -> Command {
    let mut cmd = Command::new("setpriv");
    if let Some(signal) = deathsig {
        cmd.args(["--pdeathsig", signal]);
    }
    if let Some((uid, gid)) = user {
        cmd.args([
            "--reuid",
            &uid.to_string(),
            "--regid",
            &gid.to_string(),
            "--clear-groups",
        ]);
    }
    cmd.arg("--").arg(program);
    cmd
}

/// Starts `cmd` from a thread that lives exactly as long as the child (it waits for it), so a
/// parent-death signal set in the child fires when the child should go, not when some test's
/// thread ends.
fn spawn_waited(mut cmd: Command) -> Result<(u32, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::Builder::new()
        .name("postgres".into())
        .spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(child.id()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        })?;
    let pid = rx.recv().context("the starter thread ended")??;
    Ok((pid, waiter))
}

/// Backs the PostgreSQL database at `url` up into `file` with `pg_dump`'s custom format, as
/// the README tells operators to.
///
/// # Errors
/// When `pg_dump` fails.
pub fn pg_dump(url: &str, file: &Path) -> Result<()> {
    let status = Command::new(bindir()?.join("pg_dump"))
        .args(["--format=custom", "--file"])
        .arg(file)
        .arg(url)
        .status()
        .context("running pg_dump")?;
    if !status.success() {
        bail!("pg_dump failed: {status}");
    }
    Ok(())
}

/// Puts the backup `file` back into the database at `url`, replacing what is there, with
/// `pg_restore --clean`, as the README tells operators to.
///
/// # Errors
/// When `pg_restore` fails.
pub fn pg_restore(url: &str, file: &Path) -> Result<()> {
    let status = Command::new(bindir()?.join("pg_restore"))
        .args([
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--dbname",
            url,
        ])
        .arg(file)
        .status()
        .context("running pg_restore")?;
    if !status.success() {
        bail!("pg_restore failed: {status}");
    }
    Ok(())
}

/// Empties the PostgreSQL database at `url` (every table, function and migration record), as
/// a brand-new database is.
///
/// # Errors
/// When `psql` fails.
pub fn pg_empty(url: &str) -> Result<()> {
    let status = Command::new(bindir()?.join("psql"))
        .args(["--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", url])
        .args([
            "--command",
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public;",
        ])
        .stdout(Stdio::null())
        .status()
        .context("running psql")?;
    if !status.success() {
        bail!("emptying {url} failed: {status}");
    }
    Ok(())
}
