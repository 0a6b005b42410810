//! Live updates: every gateway instance learns at once when the feed moves, whichever instance
//! wrote it, and tells its connected clients.
//!
//! On PostgreSQL each committing write to the feed sends a notification on the channel
//! `citizen_feed` (a trigger of the schema, see the PostgreSQL migration); each instance
//! LISTENs on it. Notifications sent while an instance is reconnecting are lost, so it also
//! reads the head again after a reconnection and every [`RECHECK`]. On SQLite one instance
//! owns the file; it reads the head every [`SQLITE_POLL`] (which also sees other processes
//! writing the same file, such as the admin command).

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{Backend, Store};

/// How often an instance on SQLite reads the feed's head.
pub const SQLITE_POLL: Duration = Duration::from_millis(200);
/// How often an instance on PostgreSQL reads the head even without a notification.
pub const RECHECK: Duration = Duration::from_secs(5);
/// The PostgreSQL channel feed writes notify on (see the migration's trigger).
pub const CHANNEL: &str = "citizen_feed";

/// The newest feed position this instance knows of; clones share one watcher.
#[derive(Clone)]
pub struct FeedWatch {
    rx: watch::Receiver<i64>,
}

impl FeedWatch {
    /// Starts following the feed of `store` (`database_url` is the store's, for PostgreSQL's
    /// LISTEN connection). The task ends when every [`FeedWatch`] is dropped.
    ///
    /// # Errors
    /// When the head cannot be read at start.
    pub async fn start(
        store: Store,
        database_url: &str,
    ) -> Result<FeedWatch, crate::store::StoreError> {
        let (tx, rx) = watch::channel(store.head().await?);
        match store.backend() {
            Backend::Sqlite => {
                tokio::spawn(poll(store, tx, SQLITE_POLL));
            }
            Backend::Postgres => {
                tokio::spawn(listen(store, tx, database_url.to_owned()));
            }
        }
        Ok(FeedWatch { rx })
    }

    /// The head as last seen.
    pub fn head(&self) -> i64 {
        *self.rx.borrow()
    }

    /// A receiver that wakes when the head changes.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.rx.clone()
    }
}

/// Reads the head and publishes it if it moved; false when nobody watches any more.
async fn refresh(store: &Store, tx: &watch::Sender<i64>) -> bool {
    match store.head().await {
        Ok(head) => {
            tx.send_if_modified(|known| {
                let moved = *known != head;
                *known = head;
                moved
            });
        }
        Err(e) => tracing::warn!(error = %e, "live updates: cannot read the feed head"),
    }
    !tx.is_closed()
}

async fn poll(store: Store, tx: watch::Sender<i64>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !refresh(&store, &tx).await {
            return;
        }
    }
}

async fn listen(store: Store, tx: watch::Sender<i64>, url: String) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match connected.await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "live updates: cannot LISTEN; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                if tx.is_closed() {
                    return;
                }
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // Whatever happened while not listening.
        if !refresh(&store, &tx).await {
            return;
        }
        loop {
            let woke = tokio::time::timeout(RECHECK, listener.try_recv()).await;
            match woke {
                // A notification: the ones that came with it need no reads of their own.
                Ok(Ok(Some(_))) => while listener.next_buffered().is_some() {},
                // Nothing for a while: read the head anyway.
                Err(_) => {}
                // The connection was lost; `try_recv` reconnects on the next call, and
                // what was sent meanwhile is read from the head.
                Ok(Ok(None)) => {
                    tracing::warn!("live updates: the LISTEN connection was lost; reconnecting");
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "live updates: LISTEN failed; reconnecting");
                    break;
                }
            }
            if !refresh(&store, &tx).await {
                return;
            }
        }
    }
}
