//! Simulated station readings, clearly labelled as such: no open series of Tiền river
//! salinity exists. The model: a dry-season base level per station (from the February 2023
//! bulletins: Xuân Hòa 4.93 g/L, Mỹ Tho 1.4 g/L, Xoài Hột 0.16 g/L), modulated by the
//! semi-diurnal tide (12.42 h) and the diurnal inequality (24.84 h); pH near 7.3 and water
//! temperature near 28.5 °C with a daily cycle. Deterministic in time, so a replay gives the
//! same values.

use std::f64::consts::TAU;
use std::time::Duration;

use citizen_core::{Entity, Reading, Station};

use crate::store::{Store, StoreError};

const TEN_MINUTES_MS: i64 = 10 * 60_000;
const BACKFILL_MS: i64 = 24 * 3_600_000;

/// The dry-season base salinity (g/L) of a station, from its distance to the sea.
fn base_salinity(station: &Station) -> f64 {
    // Fitted through the three bulletin values: salinity falls off fast with distance upriver.
    (4.93 * (-(station.km_from_mouth - 42.0) / 2.65).exp()).clamp(0.05, 12.0)
}

/// The simulated value of `parameter` at `station` at time `t_ms`.
pub fn value_at(station: &Station, parameter: &str, t_ms: i64) -> Option<f64> {
    let hours = t_ms as f64 / 3_600_000.0;
    let tide = (TAU * hours / 12.42).sin();
    let diurnal = (TAU * hours / 24.84).sin();
    let day = (TAU * (hours - 9.0) / 24.0).sin();
    let value = match parameter {
        "salinity" => base_salinity(station) * (1.0 + 0.45 * tide + 0.15 * diurnal),
        "ph" => 7.3 - 0.15 * tide,
        "water_temperature" => 28.5 + 1.2 * day,
        _ => return None,
    };
    Some((value.max(0.0) * 100.0).round() / 100.0)
}

fn readings_at(stations: &[Station], t_ms: i64) -> Vec<Entity> {
    stations
        .iter()
        .flat_map(|s| {
            s.parameters.iter().filter_map(move |p| {
                value_at(s, &p.code, t_ms).map(|value| {
                    Entity::Reading(Reading {
                        station_id: s.id.clone(),
                        parameter: p.code.clone(),
                        observed_at_ms: t_ms,
                        value,
                        simulated: true,
                    })
                })
            })
        })
        .collect()
}

/// Fills the last 24 hours with readings every 10 minutes, where none are newer.
pub async fn backfill(store: &Store, now_ms: i64) -> Result<usize, StoreError> {
    let stations = store.records::<Station>().await?;
    let from = store
        .latest_reading_ms()
        .await?
        .map_or(now_ms - BACKFILL_MS, |t| t + TEN_MINUTES_MS)
        .max(now_ms - BACKFILL_MS);
    let mut batch = Vec::new();
    let mut t = from - from.rem_euclid(TEN_MINUTES_MS);
    while t <= now_ms {
        batch.extend(readings_at(&stations, t));
        t += TEN_MINUTES_MS;
    }
    store.upsert(&batch).await
}

/// Publishes a reading per station and parameter every `every`.
pub async fn run(store: Store, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let result = async {
            let stations = store.records::<Station>().await?;
            store.upsert(&readings_at(&stations, crate::now_ms())).await
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "simulated readings not published");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_matches_the_bulletins_on_average() {
        let pack = citizen_core::CityPack::parse(citizen_core::city::default_pack_sources())
            .expect("pack");
        for station in &pack.stations {
            let samples: Vec<f64> = (0..(25 * 6))
                .filter_map(|i| value_at(station, "salinity", i * TEN_MINUTES_MS))
                .collect();
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            let base = base_salinity(station);
            assert!(
                (mean - base).abs() < base * 0.1 + 0.02,
                "{}: mean {mean} vs {base}",
                station.id
            );
            assert!(
                samples.iter().all(|v| *v >= 0.0),
                "salinity is never negative"
            );
        }
        let upstream = pack
            .stations
            .iter()
            .max_by(|a, b| a.km_from_mouth.total_cmp(&b.km_from_mouth))
            .expect("stations");
        let downstream = pack
            .stations
            .iter()
            .min_by(|a, b| a.km_from_mouth.total_cmp(&b.km_from_mouth))
            .expect("stations");
        assert!(
            base_salinity(upstream) < base_salinity(downstream),
            "fresher upstream"
        );
    }
}
