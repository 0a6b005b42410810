//! The salinity screen's data, from what this device keeps (it works offline): the verdict
//! for a station and a use, the last 24 hours and 7 days, the daily maxima, the change since
//! yesterday, the fresh-water windows expected, and the alerts the resident subscribed to.
//! The rules are `citizen_core::salinity`'s; this module reads and writes the store.

use citizen_core::salinity::{
    self, Alert, AlertState, SalinityGuide, SalinityView, Sample, Subscription,
};
use sqlx::Row;

use crate::store::{Store, StoreError};

const DAY_MS: i64 = 86_400_000;

/// How long readings are kept on the device: 31 days (at least 30 whole days of history).
pub const HISTORY_MS: i64 = 31 * DAY_MS;

impl Store {
    /// The city's salinity guide (thresholds per use), from the pack or the feed.
    pub async fn salinity_guide(&self) -> Result<Option<SalinityGuide>, StoreError> {
        Ok(self.records::<SalinityGuide>().await?.into_iter().next())
    }

    /// The readings of `parameter` at `station_id` in `[from_ms, to_ms]`, oldest first.
    pub async fn series(
        &self,
        station_id: &str,
        parameter: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Sample>, StoreError> {
        let rows = sqlx::query(
            "SELECT observed_at_ms, value FROM readings WHERE station_id = ? AND parameter = ? \
             AND observed_at_ms >= ? AND observed_at_ms <= ? ORDER BY observed_at_ms",
        )
        .bind(station_id)
        .bind(parameter)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Sample {
                at_ms: r.get(0),
                value: r.get(1),
            })
            .collect())
    }

    /// Whether the newest salinity reading of a station is labelled simulated.
    async fn newest_simulated(&self, station_id: &str) -> Result<bool, StoreError> {
        let simulated: Option<bool> = sqlx::query_scalar(
            "SELECT simulated FROM readings WHERE station_id = ? AND parameter = 'salinity' \
             ORDER BY observed_at_ms DESC LIMIT 1",
        )
        .bind(station_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(simulated.unwrap_or(false))
    }

    /// Everything the salinity screen shows for `station_id` and the use `use_id`, at
    /// `now_ms` (the gateway's time as this device best knows it). `stale_after_ms` overrides
    /// the guide's limit (configuration). `None` when the guide, station or use is unknown.
    pub async fn salinity_view(
        &self,
        station_id: &str,
        use_id: &str,
        now_ms: i64,
        stale_after_ms: Option<i64>,
    ) -> Result<Option<SalinityView>, StoreError> {
        let Some(guide) = self.salinity_guide().await? else {
            return Ok(None);
        };
        let Some(u) = guide.use_by_id(use_id).cloned() else {
            return Ok(None);
        };
        if !self.stations().await?.iter().any(|s| s.id == station_id) {
            return Ok(None);
        }
        let stale_after_ms = stale_after_ms.unwrap_or(guide.stale_after_ms());
        let history = self
            .series(station_id, "salinity", now_ms - HISTORY_MS, now_ms + DAY_MS)
            .await?;
        let subscribed = self
            .subscriptions()
            .await?
            .iter()
            .any(|s| s.station_id == station_id && s.use_id == use_id);
        Ok(Some(salinity::view(
            station_id,
            &u,
            &history,
            now_ms,
            stale_after_ms,
            self.newest_simulated(station_id).await?,
            subscribed,
        )))
    }

    /// The resident's alert subscriptions.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let rows = sqlx::query(
            "SELECT station_id, use_id, state FROM salinity_subscriptions ORDER BY created_at_ms",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Subscription {
                station_id: r.get(0),
                use_id: r.get(1),
                state: serde_json::from_str(&r.get::<String, _>(2)).unwrap_or_default(),
            })
            .collect())
    }

    /// Subscribes to alerts for a station and a use (or unsubscribes). A new subscription
    /// starts from the newest reading the device has, so it does not alert about the past.
    pub async fn set_subscription(
        &self,
        station_id: &str,
        use_id: &str,
        on: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if !on {
            sqlx::query("DELETE FROM salinity_subscriptions WHERE station_id = ? AND use_id = ?")
                .bind(station_id)
                .bind(use_id)
                .execute(self.pool())
                .await?;
            return Ok(());
        }
        // Start from the current state: what the newest reading already says is not news.
        let mut state = AlertState::default();
        if let Some(u) = self
            .salinity_guide()
            .await?
            .and_then(|g| g.use_by_id(use_id).cloned())
        {
            let series = self
                .series(station_id, "salinity", now_ms - 2 * DAY_MS, now_ms + DAY_MS)
                .await?;
            if let Some(last) = series.last() {
                let (next, _) =
                    salinity::step_alert(&u, state, *last, salinity::day_before(&series, *last));
                state = next;
            }
        }
        sqlx::query(
            "INSERT INTO salinity_subscriptions (station_id, use_id, state, created_at_ms) \
             VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(station_id)
        .bind(use_id)
        .bind(serde_json::to_string(&state)?)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves every subscription on over the readings that arrived since it last looked, and
    /// keeps the alert to announce — the newest of each subscription, and only when its
    /// reading is still current at `now_ms` (a week-old crossing found after a long time
    /// offline is not news). Runs after each pull and at start. Returns the alerts kept.
    pub async fn evaluate_alerts(
        &self,
        now_ms: i64,
        stale_after_ms: Option<i64>,
    ) -> Result<usize, StoreError> {
        let Some(guide) = self.salinity_guide().await? else {
            return Ok(0);
        };
        let stale_after_ms = stale_after_ms.unwrap_or(guide.stale_after_ms());
        let mut kept = 0;
        for sub in self.subscriptions().await? {
            let Some(u) = guide.use_by_id(&sub.use_id) else {
                continue;
            };
            let from = sub.state.last_reading_ms.max(now_ms - HISTORY_MS);
            // A day before the first new reading, for the sudden-change rule.
            let series = self
                .series(
                    &sub.station_id,
                    "salinity",
                    from - DAY_MS - 3_600_000,
                    now_ms + DAY_MS,
                )
                .await?;
            let mut state = sub.state;
            let mut last: Option<Alert> = None;
            for s in series
                .iter()
                .filter(|s| s.at_ms > sub.state.last_reading_ms)
            {
                let (next, alert) =
                    salinity::step_alert(u, state, *s, salinity::day_before(&series, *s));
                state = next;
                if let Some(a) = alert
                    && now_ms - s.at_ms <= stale_after_ms
                {
                    last = Some(a);
                }
            }
            if state == sub.state {
                continue;
            }
            let mut tx = self.pool().begin().await?;
            sqlx::query(
                "UPDATE salinity_subscriptions SET state = ? WHERE station_id = ? AND use_id = ?",
            )
            .bind(serde_json::to_string(&state)?)
            .bind(&sub.station_id)
            .bind(&sub.use_id)
            .execute(&mut *tx)
            .await?;
            if let Some(alert) = last {
                sqlx::query(
                    "INSERT INTO salinity_notices (station_id, use_id, alert) VALUES (?, ?, ?)",
                )
                .bind(&sub.station_id)
                .bind(&sub.use_id)
                .bind(serde_json::to_string(&alert)?)
                .execute(&mut *tx)
                .await?;
                kept += 1;
            }
            tx.commit().await?;
        }
        Ok(kept)
    }

    /// Alerts not announced yet: (station id, use id, alert), oldest first; each is returned
    /// once.
    pub async fn take_salinity_notices(&self) -> Result<Vec<(String, String, Alert)>, StoreError> {
        let rows = sqlx::query(
            "UPDATE salinity_notices SET shown = 1 WHERE shown = 0 \
             RETURNING id, station_id, use_id, alert",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(i64, String, String, Alert)> = rows
            .iter()
            .filter_map(|r| {
                let alert = serde_json::from_str(&r.get::<String, _>(3)).ok()?;
                Some((r.get(0), r.get(1), r.get(2), alert))
            })
            .collect();
        out.sort_by_key(|n| n.0);
        Ok(out.into_iter().map(|(_, s, u, a)| (s, u, a)).collect())
    }

    /// Drops readings older than the history kept ([`HISTORY_MS`] before `now_ms`).
    pub async fn prune_readings(&self, now_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM readings WHERE observed_at_ms < ?")
            .bind(now_ms - HISTORY_MS)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
