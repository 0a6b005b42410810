//! A fault-injecting TCP proxy for tests: forwards loopback connections to an upstream and
//! can refuse connections, cut every connection after a number of bytes has gone up, slow the
//! uplink or the downlink to a rate, swallow everything and never answer, or refuse HTTP request bodies over
//! a size with 413, as a reverse proxy with a body limit does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Faults {
    /// Refuse (close at once) every new connection.
    down: AtomicBool,
    /// Cut the link each time this many more bytes went up (0: never).
    drop_every: AtomicU64,
    /// Bytes that reached the upstream, in all.
    sent_up: AtomicU64,
    /// Bytes sent up since the last cut.
    since_cut: AtomicU64,
    cuts: AtomicU64,
    /// Uplink rate in bytes per second (0: as fast as loopback).
    up_rate: AtomicU64,
    /// Accept and read, but forward nothing and answer nothing.
    silent: AtomicBool,
    /// Largest HTTP request body let through (0: any).
    body_limit: AtomicU64,
    /// Downlink rate in bytes per second (0: as fast as loopback).
    down_rate: AtomicU64,
    /// Bytes that came down from the upstream, in all.
    sent_down: AtomicU64,
}

/// The proxy; it stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    faults: Arc<Faults>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let faults = Arc::new(Faults::default());
        let shared = faults.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if shared.down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                tokio::spawn(forward(client, upstream, shared.clone()));
            }
        });
        Ok(Proxy { addr, faults, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// While down, every connection is closed at once, as when the network is gone.
    pub fn set_down(&self, down: bool) {
        self.faults.down.store(down, Ordering::SeqCst);
    }

    /// Cuts the link each time `bytes` more bytes went up; 0 never cuts.
    pub fn drop_every(&self, bytes: u64) {
        self.faults.since_cut.store(0, Ordering::SeqCst);
        self.faults.drop_every.store(bytes, Ordering::SeqCst);
    }

    /// Slows the uplink to `bytes_per_second` (0: no limit), as on a rural 2G link.
    pub fn throttle_up(&self, bytes_per_second: u64) {
        self.faults
            .up_rate
            .store(bytes_per_second, Ordering::SeqCst);
    }

    /// Slows the downlink to `bytes_per_second` (0: no limit), as on a weak mobile link.
    pub fn throttle_down(&self, bytes_per_second: u64) {
        self.faults
            .down_rate
            .store(bytes_per_second, Ordering::SeqCst);
    }

    /// Bytes that came down from the upstream so far.
    pub fn sent_down(&self) -> u64 {
        self.faults.sent_down.load(Ordering::SeqCst)
    }

    /// While silent, the proxy takes every byte sent to it and answers nothing, as a server
    /// that accepted the connection and hung.
    pub fn set_silent(&self, silent: bool) {
        self.faults.silent.store(silent, Ordering::SeqCst);
    }

    /// Answers `413 Payload Too Large` to a request whose `Content-Length` is over `bytes`
    /// (0: no limit), without passing it on, and closes the connection.
    pub fn limit_body(&self, bytes: u64) {
        self.faults.body_limit.store(bytes, Ordering::SeqCst);
    }

    /// Bytes that went up to the upstream so far.
    pub fn sent_up(&self) -> u64 {
        self.faults.sent_up.load(Ordering::SeqCst)
    }

    pub fn cuts(&self) -> u64 {
        self.faults.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How many bytes to pass at once at `rate` bytes per second (0: unlimited): a tenth of a
/// second's worth, at most `buffer`.
fn slice(rate: u64, buffer: usize) -> usize {
    if rate == 0 {
        return buffer;
    }
    usize::try_from(rate / 10)
        .unwrap_or(buffer)
        .clamp(1, buffer)
}

async fn forward(client: TcpStream, upstream: SocketAddr, faults: Arc<Faults>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let client_write = tokio::sync::Mutex::new(client_write);
    let up = async {
        let mut buf = vec![0_u8; 16 * 1024];
        // Body bytes of the current request still to come; at 0 the next bytes are a head.
        let mut body_left: u64 = 0;
        loop {
            let rate = faults.up_rate.load(Ordering::SeqCst);
            let most = slice(rate, buf.len());
            let n = match client_read.read(&mut buf[..most]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if faults.silent.load(Ordering::SeqCst) {
                continue;
            }
            let limit = faults.body_limit.load(Ordering::SeqCst);
            if limit > 0 {
                if body_left == 0 {
                    // A request head (the client writes it whole, ahead of its body).
                    let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(0);
                    if length > limit {
                        let mut out = client_write.lock().await;
                        let _ = out
                            .write_all(
                                b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\
                                  Connection: close\r\n\r\n",
                            )
                            .await;
                        let _ = out.shutdown().await;
                        return;
                    }
                    let head_len = head.find("\r\n\r\n").map_or(n, |i| i + 4);
                    body_left = length.saturating_sub((n - head_len) as u64);
                } else {
                    body_left = body_left.saturating_sub(n as u64);
                }
            }
            if rate > 0 {
                tokio::time::sleep(std::time::Duration::from_secs_f64(n as f64 / rate as f64))
                    .await;
            }
            let every = faults.drop_every.load(Ordering::SeqCst);
            let mut take = n;
            let mut cut = false;
            if every > 0 {
                let before = faults.since_cut.load(Ordering::SeqCst);
                if before + n as u64 >= every {
                    take = (every - before.min(every)) as usize;
                    cut = true;
                }
            }
            if take > 0 && server_write.write_all(&buf[..take]).await.is_err() {
                return;
            }
            faults.sent_up.fetch_add(take as u64, Ordering::SeqCst);
            faults.since_cut.fetch_add(take as u64, Ordering::SeqCst);
            if cut {
                faults.since_cut.store(0, Ordering::SeqCst);
                faults.cuts.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    };
    let down = async {
        let mut buf = vec![0_u8; 16 * 1024];
        loop {
            let rate = faults.down_rate.load(Ordering::SeqCst);
            let most = slice(rate, buf.len());
            let n = match server_read.read(&mut buf[..most]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if rate > 0 {
                tokio::time::sleep(std::time::Duration::from_secs_f64(n as f64 / rate as f64))
                    .await;
            }
            faults.sent_down.fetch_add(n as u64, Ordering::SeqCst);
            if client_write
                .lock()
                .await
                .write_all(&buf[..n])
                .await
                .is_err()
            {
                return;
            }
        }
    };
    // Whichever way ends first ends the connection: both halves drop here.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}
