//! One running app per data directory. The first start takes an exclusive lock on a file in
//! the directory and listens on a loopback port it writes next to it; a second start (a
//! double-click) finds the lock taken, asks the first to show its window, and ends — so two
//! copies never send the same reports or fight over the store.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LOCK_FILE: &str = "instance.lock";
const PORT_FILE: &str = "instance.port";
/// What a second start says to the first.
const SHOW: &str = "show";

/// What starting in a data directory found.
pub enum Claim {
    /// This is the only app on the directory; keep the value for as long as the app runs.
    First(FirstInstance),
    /// Another app runs on the directory and was asked to show itself: end this one.
    HandedOver,
}

/// The running app's hold on its data directory.
pub struct FirstInstance {
    /// Holds the exclusive lock while the app runs; the system frees it when the app ends,
    /// however it ends.
    _lock: File,
    listener: TcpListener,
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("the data directory's instance lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not reach the app already running on this data directory: {0}")]
    HandOver(std::io::Error),
}

/// Claims `data_dir` for this process, or hands over to the app that holds it.
///
/// Errors: the lock file cannot be opened or locked for another reason than another app
/// holding it; the app holding it does not answer within 5 s.
pub fn claim(data_dir: &Path) -> Result<Claim, InstanceError> {
    let path = data_dir.join(LOCK_FILE);
    let lock_error = |source| InstanceError::Lock {
        path: path.clone(),
        source,
    };
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(lock_error)?;
    match lock.try_lock() {
        Ok(()) => {
            let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .map_err(lock_error)?;
            let port = listener.local_addr().map_err(lock_error)?.port();
            std::fs::write(data_dir.join(PORT_FILE), port.to_string()).map_err(lock_error)?;
            Ok(Claim::First(FirstInstance {
                _lock: lock,
                listener,
            }))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            hand_over(data_dir).map_err(InstanceError::HandOver)?;
            Ok(Claim::HandedOver)
        }
        Err(std::fs::TryLockError::Error(e)) => Err(lock_error(e)),
    }
}

/// Asks the app holding `data_dir` to show itself; it may have just taken the lock and not
/// yet written its port, so this tries for up to 5 s.
fn hand_over(data_dir: &Path) -> std::io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let attempt = std::fs::read_to_string(data_dir.join(PORT_FILE))
            .and_then(|p| {
                p.trim()
                    .parse::<u16>()
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            })
            .and_then(|port| {
                let mut stream = TcpStream::connect_timeout(
                    &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                    Duration::from_secs(1),
                )?;
                stream.set_read_timeout(Some(Duration::from_secs(2)))?;
                stream.write_all(format!("{SHOW}\n").as_bytes())?;
                let mut answer = String::new();
                BufReader::new(stream).read_line(&mut answer)?;
                if answer.trim() == "ok" {
                    Ok(())
                } else {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("unexpected answer {answer:?}"),
                    ))
                }
            });
        match attempt {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

impl FirstInstance {
    /// Calls `show` each time a second start hands over, on a thread of its own, for as long
    /// as the process runs (the lock is held by the thread from then on).
    pub fn on_hand_over(self, show: impl Fn() + Send + 'static) {
        std::thread::spawn(move || {
            let FirstInstance { _lock, listener } = self;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                if BufReader::new(&stream).read_line(&mut line).is_ok() && line.trim() == SHOW {
                    let _ = stream.write_all(b"ok\n");
                    tracing::info!("another start on this data directory handed over");
                    show();
                }
            }
            drop(_lock);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Barrier};

    #[test]
    fn a_second_claim_hands_over_to_the_first_and_another_directory_is_free() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Ok(Claim::First(first)) = claim(dir.path()) else {
            panic!("the first claim is the first");
        };
        let shown = Arc::new(AtomicU32::new(0));
        let barrier = Arc::new(Barrier::new(2));
        first.on_hand_over({
            let shown = shown.clone();
            let barrier = barrier.clone();
            move || {
                shown.fetch_add(1, Ordering::SeqCst);
                barrier.wait();
            }
        });
        assert!(matches!(claim(dir.path()), Ok(Claim::HandedOver)));
        barrier.wait();
        assert_eq!(
            shown.load(Ordering::SeqCst),
            1,
            "the first was asked to show"
        );

        let other = tempfile::tempdir().expect("tempdir");
        assert!(matches!(claim(other.path()), Ok(Claim::First(_))));
    }
}
