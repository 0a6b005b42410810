//! How one-time codes reach a resident's phone. The gateway does not send SMS itself: a
//! province plugs in its SMS gateway behind [`CodeSender`]. What ships: [`LogSender`] (the
//! development default: the code goes to the gateway's log), [`FileSender`] (a line per code
//! appended to a file: for kiosks where an officer reads the code out, and for end-to-end tests)
//! and [`MemorySender`] (for in-process tests).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Delivers a one-time code to a phone number (`+84…`).
pub trait CodeSender: std::fmt::Debug + Send + Sync {
    /// Sends `code`, valid until `expires_at_ms`.
    ///
    /// # Errors
    /// A message for the log when the code could not be handed over; the resident is told
    /// to try again.
    fn send(&self, phone: &str, code: &str, expires_at_ms: i64) -> Result<(), String>;
}

/// Prints the code in the gateway's log: for development only, never in production.
#[derive(Debug, Default)]
pub struct LogSender;

impl CodeSender for LogSender {
    fn send(&self, phone: &str, code: &str, expires_at_ms: i64) -> Result<(), String> {
        tracing::warn!(
            phone,
            code,
            expires_at_ms,
            "one-time code (development sender: configure a real one with --otp-sender)"
        );
        Ok(())
    }
}

/// Appends `<phone> <code> <expires_at_ms>` lines to a file.
#[derive(Debug)]
pub struct FileSender {
    pub path: PathBuf,
}

impl CodeSender for FileSender {
    fn send(&self, phone: &str, code: &str, expires_at_ms: i64) -> Result<(), String> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        writeln!(file, "{phone} {code} {expires_at_ms}")
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// Keeps the codes sent, newest last.
#[derive(Debug, Default)]
pub struct MemorySender {
    pub sent: Mutex<Vec<(String, String)>>,
}

impl MemorySender {
    /// The last code sent to `phone`.
    pub fn last_code(&self, phone: &str) -> Option<String> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .rev()
            .find(|(p, _)| p == phone)
            .map(|(_, c)| c.clone())
    }
}

impl CodeSender for MemorySender {
    fn send(&self, phone: &str, code: &str, _expires_at_ms: i64) -> Result<(), String> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((phone.to_owned(), code.to_owned()));
        Ok(())
    }
}

/// Reads `--otp-sender`: `log`, or `file:PATH`.
///
/// # Errors
/// A message naming what is accepted.
pub fn from_spec(spec: &str) -> Result<Arc<dyn CodeSender>, String> {
    match spec.split_once(':') {
        None if spec == "log" => Ok(Arc::new(LogSender)),
        Some(("file", path)) if !path.is_empty() => Ok(Arc::new(FileSender {
            path: PathBuf::from(path),
        })),
        _ => Err(format!(
            "--otp-sender {spec:?}: expected `log` or `file:PATH`"
        )),
    }
}
