//! A simulated station logger, clearly labelled as such: no open series of Tiền river salinity
//! exists. It talks to the gateway through the front door a real logger would use — the
//! SensorThings API: it finds its station's Datastreams (`GET Things?$filter=…&$expand=…`),
//! asks where each one's data ends, and posts what is missing with `CreateObservations`, with
//! the station's token. Every observation carries `parameters.simulated = true`, which the
//! gateway keeps and the app shows.
//!
//! The model, deterministic in time (a replay gives the same values):
//! - salinity: a dry-season base level per station (from the February 2023 bulletins: Xuân
//!   Hòa 4.93 g/L, Mỹ Tho 1.4 g/L, Xoài Hột 0.16 g/L, fitted by distance from the sea), times
//!   a seasonal trend (highest in mid-February, the dry season; lowest in August), times the
//!   tide: the principal lunar and solar semi-diurnal (M2 12.42 h, S2 12 h, whose beat is the
//!   14.8-day spring–neap cycle) and diurnal (K1 23.93 h, O1 25.82 h — the diurnal inequality
//!   between the two daily highs) constituents;
//!   and what no tide table foresees (see [`unforeseen`]): the river's flow swinging the level
//!   over days, and the shallow-water overtide;
//! - pH near 7.3, falling a little with the salt tide; water temperature near 28.5 °C with a
//!   daily cycle.
//!
//! And what loggers do: a sensor gap (every fifth day, 02:00–05:00 Vietnam time, the salinity
//! probe of each station sends nothing), a spike (once a day a salinity reading three times
//! the model, as a fouled probe gives), and a late batch (each day the readings of 13:00–14:00
//! are held back and sent together at 15:00, as after a dropped modem link).

use std::f64::consts::TAU;
use std::time::Duration;

use serde_json::{Value, json};

use crate::store::{NewObservation, VIETNAM_OFFSET_MINUTES};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Readings are taken on a grid of this step.
pub const STEP_MS: i64 = 10 * 60_000;

/// The constituents of the simulated tide: (period in hours, relative amplitude).
pub const CONSTITUENTS: [(f64, f64); 4] = [
    (12.4206, 0.40),
    (12.0, 0.12),
    (23.9345, 0.15),
    (25.8193, 0.08),
];

/// What the simulation knows of a station.
#[derive(Debug, Clone, PartialEq)]
pub struct SimStation {
    pub station_id: String,
    /// Distance from the river mouth, km.
    pub km_from_mouth: f64,
    /// (parameter code, Datastream id).
    pub datastreams: Vec<(String, i64)>,
    /// The station's FeatureOfInterest (for direct inserts in tests).
    pub feature_id: i64,
}

/// The dry-season base salinity (g/L) at `km_from_mouth`.
pub fn base_salinity(km_from_mouth: f64) -> f64 {
    // Fitted through the three bulletin values: salinity falls off fast with distance upriver.
    (4.93 * (-(km_from_mouth - 42.0) / 2.65).exp()).clamp(0.05, 12.0)
}

/// The seasonal factor at `t_ms`: 1 in mid-February (the bulletins' time), 0.2 in August.
pub fn season(t_ms: i64) -> f64 {
    let day_of_year = (t_ms.rem_euclid(365_2425 * DAY_MS / 10_000)) as f64 / DAY_MS as f64;
    0.6 + 0.4 * (TAU * (day_of_year - 45.0) / 365.2425).cos()
}

/// The tide's relative effect at `t_ms` (about −0.75 to +0.75).
pub fn tide(t_ms: i64) -> f64 {
    let hours = t_ms as f64 / HOUR_MS as f64;
    CONSTITUENTS
        .iter()
        .enumerate()
        .map(|(i, (period, amplitude))| amplitude * (TAU * hours / period + i as f64).sin())
        .sum()
}

/// The river's flow and the weather, which no tide table knows: a slow swing of the salt
/// level over days (periods of 3.7 and 9.3 days, ±20 % together) and the shallow-water
/// overtide M4 (6.21 h). The forecast does not fit these, as it cannot know a real river's.
pub fn unforeseen(t_ms: i64) -> (f64, f64) {
    let days = t_ms as f64 / DAY_MS as f64;
    let hours = t_ms as f64 / HOUR_MS as f64;
    let flow = 1.0 + 0.12 * (TAU * days / 3.7).sin() + 0.08 * (TAU * days / 9.3 + 1.0).sin();
    let overtide = 0.05 * (TAU * hours / 6.2103 + 4.0).sin();
    (flow, overtide)
}

/// The modelled (undisturbed) value of `parameter` at `km_from_mouth` at `t_ms`.
pub fn value_at(km_from_mouth: f64, parameter: &str, t_ms: i64) -> Option<f64> {
    let hours = t_ms as f64 / HOUR_MS as f64;
    let (flow, overtide) = unforeseen(t_ms);
    let value = match parameter {
        "salinity" => {
            base_salinity(km_from_mouth) * season(t_ms) * flow * (1.0 + tide(t_ms) + overtide)
        }
        "ph" => 7.3 - 0.2 * tide(t_ms),
        "water_temperature" => 28.5 + 1.2 * (TAU * (hours - 9.0) / 24.0).sin(),
        _ => return None,
    };
    Some((value.max(0.0) * 100.0).round() / 100.0)
}

/// Local (Vietnam) time of day in ms, and the local day number.
fn local(t_ms: i64) -> (i64, i64) {
    let local = t_ms + i64::from(VIETNAM_OFFSET_MINUTES) * 60_000;
    (local.rem_euclid(DAY_MS), local.div_euclid(DAY_MS))
}

/// Whether the salinity probe is in its gap at `t_ms`.
pub fn in_gap(t_ms: i64) -> bool {
    let (time, day) = local(t_ms);
    day % 5 == 0 && (2 * HOUR_MS..5 * HOUR_MS).contains(&time)
}

/// Whether the salinity reading at `t_ms` is the day's spike (for a station `salt`).
pub fn is_spike(t_ms: i64, salt: i64) -> bool {
    let (time, day) = local(t_ms);
    // One grid slot a day, moving from day to day.
    let slot = (day * 37 + salt * 11).rem_euclid(DAY_MS / STEP_MS);
    time / STEP_MS == slot
}

/// When a reading taken at `t_ms` is sent: at once, or at 15:00 for the late batch.
pub fn sent_at(t_ms: i64) -> i64 {
    let (time, _) = local(t_ms);
    if (13 * HOUR_MS..14 * HOUR_MS).contains(&time) {
        t_ms - time + 15 * HOUR_MS
    } else {
        t_ms
    }
}

/// A small number from a station id, so stations do not spike at the same time.
fn salt(station_id: &str) -> i64 {
    station_id.bytes().map(i64::from).sum()
}

/// One simulated reading: (parameter, Datastream, time, value), or `None` in a gap.
pub fn reading(station: &SimStation, parameter: &str, t_ms: i64) -> Option<f64> {
    if parameter == "salinity" && in_gap(t_ms) {
        return None;
    }
    let mut v = value_at(station.km_from_mouth, parameter, t_ms)?;
    if parameter == "salinity" && is_spike(t_ms, salt(&station.station_id)) {
        v = ((v * 3.0 + 0.5) * 100.0).round() / 100.0;
    }
    Some(v)
}

/// The simulated observations of `station` on the grid in `[from_ms, to_ms]` that a logger
/// has sent by `now_ms` (the late batch waits for its hour), ready for the store (tests).
pub fn observations(
    station: &SimStation,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Vec<NewObservation> {
    let mut out = Vec::new();
    let mut t = from_ms + (STEP_MS - from_ms.rem_euclid(STEP_MS)) % STEP_MS;
    while t <= to_ms {
        if sent_at(t) <= now_ms {
            for (parameter, datastream) in &station.datastreams {
                if let Some(v) = reading(station, parameter, t) {
                    out.push(NewObservation {
                        datastream_id: *datastream,
                        feature_id: station.feature_id,
                        phenomenon_time_ms: t,
                        result_time_ms: Some(t),
                        result: v,
                        parameters: Some(json!({"simulated": true}).to_string()),
                        simulated: true,
                    });
                }
            }
        }
        t += STEP_MS;
    }
    out
}

/// The stations of `store` as the simulation sees them.
pub async fn stations_of(
    store: &crate::Store,
) -> Result<Vec<SimStation>, crate::store::StoreError> {
    let packed = store.records::<citizen_core::Station>().await?;
    let mut out = Vec::new();
    for s in store.station_entities().await? {
        let limits = store
            .datastream_limits(&s.datastreams.iter().map(|d| d.1).collect::<Vec<_>>())
            .await?;
        out.push(SimStation {
            km_from_mouth: packed
                .iter()
                .find(|p| p.id == s.station_id)
                .map_or(46.0, |p| p.km_from_mouth),
            feature_id: limits.values().next().map_or(0, |l| l.feature_id),
            station_id: s.station_id,
            datastreams: s.datastreams,
        });
    }
    Ok(out)
}

/// Stores the simulated series of every station of `store` for `[from_ms, to_ms]` straight
/// into the database, as sent by `now_ms` — for tests and benchmarks that need history
/// without a logger; the gateway itself only receives observations through its API.
pub async fn insert_history(
    store: &crate::Store,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Result<usize, crate::store::StoreError> {
    let mut stored = 0;
    for station in stations_of(store).await? {
        let rows = observations(&station, from_ms, to_ms, now_ms);
        for chunk in rows.chunks(5_000) {
            stored += store
                .insert_observations(chunk, now_ms)
                .await?
                .iter()
                .filter(|r| r.is_ok())
                .count();
        }
    }
    Ok(stored)
}

/// How the fresh-water forecast did on the simulated series (see [`back_test_forecast`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastScore {
    /// Share of the 48-hour slots whose "inside the safe range or not" was foreseen rightly.
    pub hit_rate: f64,
    /// Share of the slots truly inside the range that a window foresaw.
    pub fresh_found: f64,
    /// Forecasts scored.
    pub forecasts: usize,
}

/// Back-tests `citizen_core::salinity::forecast` on the simulated salinity of a station at
/// `km_from_mouth` (with its gaps, spikes and all): from `start_ms`, after a week of history,
/// a forecast each day at 12:00 Vietnam time for every safe range in `ranges`, scored on the
/// 48 hours that follow. Only forecasts whose 48 hours hold both fresh and salty slots (5–95 %
/// fresh) count: elsewhere "always" or "never" is trivially right. `drop_share` of the 6-hour
/// blocks are removed first (0.0 to 1.0), as a replay with gaps.
pub fn back_test_forecast(
    km_from_mouth: f64,
    start_ms: i64,
    days: i64,
    ranges: &[[f64; 2]],
    drop_share: f64,
) -> ForecastScore {
    use citizen_core::salinity::{Sample, back_test};
    let station = SimStation {
        station_id: "back-test".into(),
        km_from_mouth,
        datastreams: vec![("salinity".into(), 1)],
        feature_id: 1,
    };
    let end = start_ms + (days + 9) * DAY_MS;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut dropped = std::collections::HashSet::new();
    for block in 0..((end - start_ms) / (6 * HOUR_MS)) {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        if ((seed >> 33) as f64 / (1u64 << 31) as f64) < drop_share {
            dropped.insert(block);
        }
    }
    let series: Vec<Sample> = observations(&station, start_ms, end, end)
        .into_iter()
        .filter(|o| !dropped.contains(&((o.phenomenon_time_ms - start_ms) / (6 * HOUR_MS))))
        .map(|o| Sample {
            at_ms: o.phenomenon_time_ms,
            value: o.result,
        })
        .collect();
    // The truth: the undisturbed model every 10 minutes (what a working probe would read).
    let truth = |from: i64| -> Vec<Sample> {
        (1..=(2 * DAY_MS / STEP_MS))
            .filter_map(|i| {
                let t = from + i * STEP_MS;
                value_at(km_from_mouth, "salinity", t).map(|value| Sample { at_ms: t, value })
            })
            .collect()
    };
    let (mut hits, mut found, mut n) = (0.0, 0.0, 0);
    let first_noon = start_ms - start_ms.rem_euclid(DAY_MS) + 5 * HOUR_MS + 7 * DAY_MS;
    for d in 0..days {
        let at = first_noon + d * DAY_MS;
        let ahead = truth(at);
        for range in ranges {
            let fresh = ahead
                .iter()
                .filter(|s| s.value >= range[0] && s.value < range[1])
                .count();
            let share = fresh as f64 / ahead.len() as f64;
            if !(0.05..=0.95).contains(&share) {
                continue;
            }
            let past: Vec<Sample> = series.iter().filter(|s| s.at_ms <= at).copied().collect();
            let mut scored = past;
            scored.extend(ahead.iter().copied());
            if let Some(score) = back_test(&scored, at, *range) {
                hits += score.hit_rate;
                found += score.fresh_found;
                n += 1;
            }
        }
    }
    ForecastScore {
        hit_rate: if n == 0 { 0.0 } else { hits / n as f64 },
        fresh_found: if n == 0 { 0.0 } else { found / n as f64 },
        forecasts: n,
    }
}

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct Logger {
    /// The gateway's base URL (`http://host:port`).
    pub gateway: String,
    /// (station id in the city pack, that station's token).
    pub tokens: Vec<(String, String)>,
    /// Time between two sends.
    pub every: Duration,
    /// How far back to fill when a Datastream has no recent data, in days.
    pub backfill_days: i64,
}

/// The label of the tokens the gateway makes for its built-in simulation.
pub const BUILT_IN_LABEL: &str = "built-in simulation";
/// How far back a station without data is filled, in days: a week for the fresh-water
/// forecast, and a day more.
pub const DEFAULT_BACKFILL_DAYS: i64 = 8;

/// Observations per `CreateObservations` request.
const BATCH: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum LoggerError {
    #[error("gateway: {0}")]
    Http(#[from] reqwest::Error),
    #[error("gateway answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("station {0} is not on the gateway (is it in the city pack?)")]
    UnknownStation(String),
}

impl Logger {
    fn url(&self, path: &str) -> String {
        format!("{}/sta/v1.1{path}", self.gateway.trim_end_matches('/'))
    }

    /// Finds the station's Thing and Datastreams through the SensorThings API.
    pub async fn station(
        &self,
        client: &reqwest::Client,
        station_id: &str,
    ) -> Result<SimStation, LoggerError> {
        let filter = format!(
            "properties/station_id eq '{}'",
            station_id.replace('\'', "''")
        );
        let response = client
            .get(self.url("/Things"))
            .query(&[
                ("$filter", filter.as_str()),
                (
                    "$expand",
                    "Datastreams($select=id,properties),Locations($select=id)",
                ),
            ])
            .send()
            .await?;
        let body: Value = checked(response).await?.json().await?;
        let thing = body["value"]
            .get(0)
            .ok_or_else(|| LoggerError::UnknownStation(station_id.to_owned()))?;
        let datastreams = thing["Datastreams"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|d| {
                        Some((
                            d["properties"]["parameter"].as_str()?.to_owned(),
                            d["@iot.id"].as_i64()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SimStation {
            station_id: station_id.to_owned(),
            km_from_mouth: thing["properties"]["km_from_mouth"]
                .as_f64()
                .unwrap_or(46.0),
            datastreams,
            feature_id: 0,
        })
    }

    /// The newest phenomenon time the gateway has for a Datastream.
    async fn newest(
        &self,
        client: &reqwest::Client,
        datastream: i64,
    ) -> Result<Option<i64>, LoggerError> {
        let response = client
            .get(self.url(&format!("/Datastreams({datastream})/Observations")))
            .query(&[
                ("$top", "1"),
                ("$orderby", "phenomenonTime desc"),
                ("$select", "phenomenonTime"),
            ])
            .send()
            .await?;
        let body: Value = checked(response).await?.json().await?;
        Ok(body["value"]
            .get(0)
            .and_then(|o| o["phenomenonTime"].as_str())
            .and_then(|t| crate::sta::time::parse_instant(t).ok()))
    }

    /// Sends what each Datastream of `station` misses up to `now_ms`; returns how many
    /// observations the gateway stored.
    pub async fn catch_up(
        &self,
        client: &reqwest::Client,
        station: &SimStation,
        token: &str,
        now_ms: i64,
    ) -> Result<usize, LoggerError> {
        let mut groups = Vec::new();
        for (parameter, datastream) in &station.datastreams {
            let newest = self.newest(client, *datastream).await?;
            let floor = now_ms - self.backfill_days * DAY_MS;
            // A late batch not yet sent leaves a hole before the newest reading: look back
            // past it, the gateway keeps what it has.
            let from = newest.map_or(floor, |t| (t - 3 * HOUR_MS).max(floor));
            let mut rows = Vec::new();
            let mut t = from + (STEP_MS - from.rem_euclid(STEP_MS)) % STEP_MS;
            while t <= now_ms {
                if sent_at(t) <= now_ms
                    && let Some(v) = reading(station, parameter, t)
                {
                    let time = crate::sta::time::format_instant(t);
                    rows.push(json!([time, v, time, {"simulated": true, "model": "citizen-server simulate-stations"}]));
                }
                t += STEP_MS;
            }
            for chunk in rows.chunks(BATCH) {
                groups.push(json!({
                    "Datastream": {"@iot.id": datastream},
                    "components": ["phenomenonTime", "result", "resultTime", "parameters"],
                    "dataArray": chunk,
                }));
            }
        }
        let mut stored = 0;
        for group in groups {
            let response = client
                .post(self.url("/CreateObservations"))
                .bearer_auth(token)
                .json(&json!([group]))
                .send()
                .await?;
            let links: Vec<String> = checked(response).await?.json().await?;
            stored += links.iter().filter(|l| !l.starts_with("error")).count();
        }
        Ok(stored)
    }

    /// Runs until the task is dropped: catches every station up, then again every `every`.
    /// A failed round is logged and retried at the next one (nothing is lost: the next round
    /// sends from where the gateway's data ends).
    pub async fn run(self) {
        let client = reqwest::Client::new();
        let mut stations: Vec<(SimStation, String)> = Vec::new();
        let mut ticker = tokio::time::interval(self.every);
        loop {
            ticker.tick().await;
            if stations.len() < self.tokens.len() {
                stations.clear();
                for (id, token) in &self.tokens {
                    match self.station(&client, id).await {
                        Ok(s) => stations.push((s, token.clone())),
                        Err(e) => {
                            tracing::warn!(station = %id, error = %e, "simulated station not found yet");
                        }
                    }
                }
            }
            for (station, token) in &stations {
                match self
                    .catch_up(&client, station, token, crate::now_ms())
                    .await
                {
                    Ok(n) => {
                        tracing::debug!(station = %station.station_id, stored = n, "simulated readings sent")
                    }
                    Err(e) => {
                        tracing::error!(station = %station.station_id, error = %e, "simulated readings not sent");
                    }
                }
            }
        }
    }
}

async fn checked(response: reqwest::Response) -> Result<reqwest::Response, LoggerError> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Err(LoggerError::Refused { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEB_15_2023: i64 = 1_676_419_200_000;

    #[test]
    fn the_model_matches_the_bulletins_on_average_in_february() {
        for (km, bulletin) in [(46.0, 1.4), (42.0, 4.93), (51.0, 0.16)] {
            // A month around mid-February: whole spring–neap cycles average the tide out.
            let samples: Vec<f64> = (0..(30 * 144))
                .filter_map(|i| value_at(km, "salinity", FEB_15_2023 - 15 * DAY_MS + i * STEP_MS))
                .collect();
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            // The tide and the season average out to the base level…
            let base = base_salinity(km);
            assert!(
                (mean - base).abs() < base * 0.05 + 0.01,
                "{km} km: mean {mean} vs {base}"
            );
            // …which one exponential through three bulletins puts within a quarter of each.
            assert!(
                (mean - bulletin).abs() < bulletin * 0.25,
                "{km} km: mean {mean} vs bulletin {bulletin}"
            );
            assert!(samples.iter().all(|v| *v >= 0.0), "never negative");
        }
        assert!(
            base_salinity(51.0) < base_salinity(42.0),
            "fresher upstream"
        );
        let august = FEB_15_2023 + 180 * DAY_MS;
        assert!(season(august) < 0.3 && season(FEB_15_2023) > 0.99);
    }

    #[test]
    fn a_day_has_two_unequal_high_tides() {
        // Local maxima of the tide over one day starting at a neap–spring midpoint.
        let day: Vec<f64> = (0..=144).map(|i| tide(FEB_15_2023 + i * STEP_MS)).collect();
        let highs: Vec<f64> = day
            .windows(3)
            .filter(|w| w[1] > w[0] && w[1] >= w[2])
            .map(|w| w[1])
            .collect();
        assert!((2..=3).contains(&highs.len()), "{highs:?}");
        assert!(
            (highs[0] - highs[1]).abs() > 0.02,
            "diurnal inequality: {highs:?}"
        );
    }

    #[test]
    fn the_forecast_back_tests_well_on_the_simulated_feed_with_and_without_gaps() {
        let guide: citizen_core::salinity::SalinityGuide =
            serde_json::from_str(include_str!("../../assets/cities/my-tho/salinity.json"))
                .expect("guide");
        let ranges: Vec<[f64; 2]> = guide.uses.iter().map(|u| u.safe).collect();
        for (km, drop) in [(46.0, 0.0), (44.0, 0.0), (46.0, 0.2), (44.0, 0.3)] {
            let score = back_test_forecast(km, FEB_15_2023 - 20 * DAY_MS, 20, &ranges, drop);
            eprintln!("{km} km, {drop} dropped: {score:?}");
            assert!(score.forecasts >= 10, "{km} km: {score:?}");
            assert!(
                score.hit_rate >= 0.85,
                "{km} km, {drop} of the blocks dropped: {score:?}"
            );
        }
    }

    #[test]
    fn loggers_gap_spike_and_send_late() {
        let station = SimStation {
            station_id: "station-my-tho".into(),
            km_from_mouth: 46.0,
            datastreams: vec![("salinity".into(), 1), ("ph".into(), 2)],
            feature_id: 1,
        };
        let from = FEB_15_2023;
        let to = from + 10 * DAY_MS;
        let all = observations(&station, from, to, to + DAY_MS);
        let salinity: Vec<_> = all.iter().filter(|o| o.datastream_id == 1).collect();
        let ph = all.iter().filter(|o| o.datastream_id == 2).count();
        let slots = ((to - from) / STEP_MS + 1) as usize;
        assert_eq!(ph, slots, "pH has no gap");
        // Two gap days of 3 hours in 10 days.
        assert_eq!(slots - salinity.len(), 2 * 18, "the salinity gap");
        let spikes = salinity
            .iter()
            .filter(|o| {
                o.result > 2.0 * value_at(46.0, "salinity", o.phenomenon_time_ms).unwrap_or(0.0)
            })
            .count();
        assert!(
            (9..=11).contains(&spikes),
            "about one spike a day: {spikes}"
        );
        assert!(
            all.iter()
                .all(|o| o.simulated && o.parameters.as_deref() == Some("{\"simulated\":true}"))
        );
        // At 14:30 local the 13:00–14:00 readings are not sent yet; at 15:00 they are.
        let local_midnight = from - from.rem_euclid(DAY_MS) - 7 * HOUR_MS + DAY_MS;
        let at = |h: i64, m: i64| local_midnight + h * HOUR_MS + m * 60_000;
        let before = observations(&station, at(12, 0), at(14, 30), at(14, 30));
        assert!(
            before
                .iter()
                .all(|o| o.phenomenon_time_ms < at(13, 0) || o.phenomenon_time_ms >= at(14, 0))
        );
        let after = observations(&station, at(12, 0), at(14, 30), at(15, 0));
        assert!(after.iter().any(|o| o.phenomenon_time_ms == at(13, 30)));
    }
}
