//! Stations as SensorThings entities and their observations (see the migration
//! `sensorthings.sql` for the tables). The entities are made from the city pack; observations
//! come from station loggers through the SensorThings API and are published in the sync feed
//! as `reading` records, from the same rows.

use std::collections::HashMap;

use citizen_core::{CityPack, Station, civil::Date};
use serde_json::json;
use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError, next_seqs};

/// Vietnam's offset from UTC in minutes (UTC+7 all year): the pack's dates are local dates.
pub const VIETNAM_OFFSET_MINUTES: i32 = 7 * 60;

/// SensorThings' observation type of a single number (OGC 18-088 Table 12).
pub const OM_MEASUREMENT: &str =
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement";

/// The definition of every unit of measurement here: the symbol is its UCUM code.
pub const UCUM: &str = "http://unitsofmeasure.org/ucum.html";

/// What the gateway needs to accept an observation into a Datastream.
#[derive(Debug, Clone, PartialEq)]
pub struct DatastreamLimits {
    pub id: i64,
    pub thing_id: i64,
    /// The station's FeatureOfInterest, used when an observation names none.
    pub feature_id: i64,
    /// The quantity's code in the city pack (`salinity`, `ph`, …).
    pub parameter: String,
    /// UCUM code of the unit.
    pub unit: String,
    /// Physically possible results, inclusive.
    pub min_value: f64,
    pub max_value: f64,
    /// Observations timed before this (ms since epoch) are refused.
    pub in_service_since_ms: i64,
}

/// An observation checked by the caller against its [`DatastreamLimits`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewObservation {
    pub datastream_id: i64,
    pub feature_id: i64,
    /// ms since epoch.
    pub phenomenon_time_ms: i64,
    /// ms since epoch.
    pub result_time_ms: Option<i64>,
    pub result: f64,
    /// The observation's `parameters` object as JSON, if it has one.
    pub parameters: Option<String>,
    /// Whether `parameters` marks the value as simulated.
    pub simulated: bool,
}

/// Why one observation of a batch was not stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObservationConflict {
    #[error(
        "Datastream {datastream_id} already has observation {existing} at this time, with another result"
    )]
    OtherResult { datastream_id: i64, existing: i64 },
}

/// Where a station's data sits among the SensorThings entities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationEntities {
    pub station_id: String,
    pub thing_id: i64,
    /// (parameter code, Datastream id).
    pub datastreams: Vec<(String, i64)>,
}

/// Rows per multi-row INSERT: 8 parameters each, well under both engines' limits.
const INSERT_ROWS: usize = 500;

impl Store {
    /// The limits of the Datastreams `ids` that exist.
    pub async fn datastream_limits(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, DatastreamLimits>, StoreError> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT d.id, d.thing_id, f.id, p.code, d.unit_symbol, p.min_value, p.max_value, \
                 t.in_service_since_ms \
                 FROM sta_datastreams d JOIN sta_things t ON t.id = d.thing_id \
                 JOIN sta_features f ON f.thing_id = d.thing_id \
                 JOIN sta_observed_properties p ON p.id = d.observed_property_id \
                 WHERE d.id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let limits = DatastreamLimits {
                    id: row.try_get(0)?,
                    thing_id: row.try_get(1)?,
                    feature_id: row.try_get(2)?,
                    parameter: row.try_get(3)?,
                    unit: row.try_get(4)?,
                    min_value: row.try_get(5)?,
                    max_value: row.try_get(6)?,
                    in_service_since_ms: row.try_get(7)?,
                };
                out.insert(limits.id, limits);
            }
        }
        Ok(out)
    }

    /// Whether a FeatureOfInterest `id` exists.
    pub async fn feature_exists(&self, id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM sta_features WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// The SensorThings ids of every station, in pack order of their Things.
    pub async fn station_entities(&self) -> Result<Vec<StationEntities>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.station_id, t.id, p.code, d.id FROM sta_things t \
             JOIN sta_datastreams d ON d.thing_id = t.id \
             JOIN sta_observed_properties p ON p.id = d.observed_property_id \
             ORDER BY t.id, d.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<StationEntities> = Vec::new();
        for row in rows {
            let station_id: String = row.try_get(0)?;
            let thing_id: i64 = row.try_get(1)?;
            let datastream = (row.try_get::<String, _>(2)?, row.try_get::<i64, _>(3)?);
            match out.last_mut() {
                Some(last) if last.thing_id == thing_id => last.datastreams.push(datastream),
                _ => out.push(StationEntities {
                    station_id,
                    thing_id,
                    datastreams: vec![datastream],
                }),
            }
        }
        Ok(out)
    }

    /// Stores checked observations in one transaction and publishes them in the feed. An
    /// observation already stored for the same Datastream and time with the same result is
    /// not stored again: its existing id is returned (a logger may resend a batch). Returns,
    /// per input in order, the observation's id or why it was not stored.
    pub async fn insert_observations(
        &self,
        batch: &[NewObservation],
        now_ms: i64,
    ) -> Result<Vec<Result<i64, ObservationConflict>>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let result_json: Vec<String> = batch
            .iter()
            .map(|o| {
                serde_json::Number::from_f64(o.result).map_or("null".into(), |n| n.to_string())
            })
            .collect();
        // The first input of each (Datastream, time); a repeat inside the batch is answered
        // as its first.
        let mut first_of: HashMap<(i64, i64), usize> = HashMap::new();
        let mut unique: Vec<usize> = Vec::new();
        for (i, o) in batch.iter().enumerate() {
            first_of
                .entry((o.datastream_id, o.phenomenon_time_ms))
                .or_insert_with(|| {
                    unique.push(i);
                    i
                });
        }
        let mut tx = self.begin_write().await?;
        // A position for each; those of observations already stored are left unused (a feed
        // may skip positions).
        let ids: Vec<i64> = next_seqs(&mut tx, unique.len()).await?.collect();
        let mut inserted: std::collections::HashSet<i64> = std::collections::HashSet::new();
        for (chunk, chunk_ids) in unique.chunks(INSERT_ROWS).zip(ids.chunks(INSERT_ROWS)) {
            let mut sql = String::from(
                "INSERT INTO observations (id, datastream_id, feature_id, phenomenon_time_ms, \
                 result_time_ms, result, result_json, parameters, simulated, received_at_ms) VALUES ",
            );
            for n in 0..chunk.len() {
                let b = n * 9;
                if n > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for k in 2..=10 {
                    sql.push_str(&format!("${}, ", b + k));
                }
                sql.push_str("$1)");
            }
            sql.push_str(
                " ON CONFLICT (datastream_id, phenomenon_time_ms) DO NOTHING RETURNING id",
            );
            let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(now_ms);
            for (&i, id) in chunk.iter().zip(chunk_ids) {
                let o = &batch[i];
                query = query
                    .bind(*id)
                    .bind(o.datastream_id)
                    .bind(o.feature_id)
                    .bind(o.phenomenon_time_ms)
                    .bind(o.result_time_ms)
                    .bind(o.result)
                    .bind(result_json[i].clone())
                    .bind(o.parameters.clone())
                    .bind(i64::from(o.simulated));
            }
            inserted.extend(query.fetch_all(&mut *tx).await?);
        }
        // Each unique input's outcome: its new id, or the stored observation it met.
        let mut outcome: HashMap<(i64, i64), (i64, String)> = HashMap::new();
        // The newest and oldest new observation of each Datastream, for the latest table.
        let mut extremes: HashMap<i64, (i64, i64, i64)> = HashMap::new();
        for (&i, id) in unique.iter().zip(&ids) {
            let o = &batch[i];
            let key = (o.datastream_id, o.phenomenon_time_ms);
            if inserted.contains(id) {
                outcome.insert(key, (*id, result_json[i].clone()));
                let e = extremes.entry(o.datastream_id).or_insert((
                    *id,
                    o.phenomenon_time_ms,
                    o.phenomenon_time_ms,
                ));
                if o.phenomenon_time_ms > e.1 {
                    e.0 = *id;
                    e.1 = o.phenomenon_time_ms;
                }
                e.2 = e.2.min(o.phenomenon_time_ms);
            } else {
                let row = sqlx::query(
                    "SELECT id, result_json FROM observations \
                     WHERE datastream_id = $1 AND phenomenon_time_ms = $2",
                )
                .bind(key.0)
                .bind(key.1)
                .fetch_one(&mut *tx)
                .await?;
                outcome.insert(key, (row.try_get(0)?, row.try_get(1)?));
            }
        }
        for (datastream, (id, latest, first)) in extremes {
            sqlx::query(
                "INSERT INTO latest_observations \
                 (datastream_id, observation_id, phenomenon_time_ms, first_time_ms) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (datastream_id) DO UPDATE SET \
                 observation_id = CASE WHEN excluded.phenomenon_time_ms > latest_observations.phenomenon_time_ms \
                   THEN excluded.observation_id ELSE latest_observations.observation_id END, \
                 phenomenon_time_ms = CASE WHEN excluded.phenomenon_time_ms > latest_observations.phenomenon_time_ms \
                   THEN excluded.phenomenon_time_ms ELSE latest_observations.phenomenon_time_ms END, \
                 first_time_ms = CASE WHEN excluded.first_time_ms < latest_observations.first_time_ms \
                   THEN excluded.first_time_ms ELSE latest_observations.first_time_ms END",
            )
            .bind(datastream)
            .bind(id)
            .bind(latest)
            .bind(first)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(batch
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let key = (o.datastream_id, o.phenomenon_time_ms);
                match outcome.get(&key) {
                    Some((id, stored)) if *stored == result_json[i] => Ok(*id),
                    Some((id, _)) => Err(ObservationConflict::OtherResult {
                        datastream_id: o.datastream_id,
                        existing: *id,
                    }),
                    None => Err(ObservationConflict::OtherResult {
                        datastream_id: o.datastream_id,
                        existing: 0,
                    }),
                }
            })
            .collect())
    }

    /// The newest phenomenon time (ms since epoch) of each Datastream that has observations.
    pub async fn latest_observation_times(&self) -> Result<HashMap<i64, i64>, StoreError> {
        let rows = sqlx::query("SELECT datastream_id, phenomenon_time_ms FROM latest_observations")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

/// Makes or updates the SensorThings entities of the pack's stations, inside the pack's
/// import transaction. Ids are stable: a station keeps its Thing, Datastreams and the rest
/// across imports; a station dropped from the pack keeps its entities and history.
pub(super) async fn import_stations(
    tx: &mut Transaction<'_, Any>,
    pack: &CityPack,
) -> Result<(), StoreError> {
    for station in &pack.stations {
        import_station(tx, station).await?;
    }
    Ok(())
}

/// `found`, or the next free id of `table` when nothing was found.
async fn or_next_id(
    tx: &mut Transaction<'_, Any>,
    found: Option<i64>,
    table: &str,
) -> Result<i64, StoreError> {
    match found {
        Some(id) => Ok(id),
        None => Ok(
            sqlx::query_scalar(&format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"))
                .fetch_one(&mut **tx)
                .await?,
        ),
    }
}

/// The id of the row of `table` that belongs to Thing `thing`, or the next free id.
async fn child_of(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    thing: i64,
) -> Result<i64, StoreError> {
    let found = sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE thing_id = $1"))
        .bind(thing)
        .fetch_optional(&mut **tx)
        .await?;
    or_next_id(tx, found, table).await
}

/// A Location or a FeatureOfInterest: a GeoJSON point of a Thing.
struct PointEntity {
    id: i64,
    thing: i64,
    name: String,
    description: String,
    lon: f64,
    lat: f64,
    properties: String,
}

/// Writes `p` into `table` (`sta_locations` or `sta_features`, which share their columns).
async fn upsert_point(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    p: &PointEntity,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO {table} (id, thing_id, name, description, encoding_type, longitude, latitude, properties) \
         VALUES ($1, $2, $3, $4, 'application/geo+json', $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
         name = excluded.name, description = excluded.description, longitude = excluded.longitude, \
         latitude = excluded.latitude, properties = excluded.properties"
    ))
    .bind(p.id)
    .bind(p.thing)
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.lon)
    .bind(p.lat)
    .bind(&p.properties)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn import_station(tx: &mut Transaction<'_, Any>, s: &Station) -> Result<(), StoreError> {
    let since_ms =
        Date::parse_iso(&s.in_service_since).map_or(0, |d| d.start_ms(VIETNAM_OFFSET_MINUTES));
    let properties = json!({
        "station_id": s.id,
        "name": s.name,
        "river": s.river,
        "km_from_mouth": s.km_from_mouth,
        "address": s.address,
        "update_interval_minutes": s.update_interval_minutes,
        "in_service_since": s.in_service_since,
    })
    .to_string();
    let found = sqlx::query_scalar("SELECT id FROM sta_things WHERE station_id = $1")
        .bind(&s.id)
        .fetch_optional(&mut **tx)
        .await?;
    let thing = or_next_id(tx, found, "sta_things").await?;
    let description = format!(
        "{} — {} km from the mouth of the {}",
        s.name.en, s.km_from_mouth, s.river.en
    );
    sqlx::query(
        "INSERT INTO sta_things (id, station_id, name, description, properties, in_service_since_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         description = excluded.description, properties = excluded.properties, \
         in_service_since_ms = excluded.in_service_since_ms",
    )
    .bind(thing)
    .bind(&s.id)
    .bind(&s.name.vi)
    .bind(&description)
    .bind(&properties)
    .bind(since_ms)
    .execute(&mut **tx)
    .await?;
    let (lon, lat) = (s.position.lon, s.position.lat);
    let address = json!({ "address": s.address }).to_string();
    let location = child_of(tx, "sta_locations", thing).await?;
    let place = PointEntity {
        id: location,
        thing,
        name: s.address.street.clone(),
        description: format!("{}, {}", s.address.ward, s.address.province),
        lon,
        lat,
        properties: address,
    };
    upsert_point(tx, "sta_locations", &place).await?;
    let historical = child_of(tx, "sta_historical_locations", thing).await?;
    sqlx::query(
        "INSERT INTO sta_historical_locations (id, thing_id, location_id, time_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET location_id = excluded.location_id, \
         time_ms = excluded.time_ms",
    )
    .bind(historical)
    .bind(thing)
    .bind(location)
    .bind(since_ms)
    .execute(&mut **tx)
    .await?;
    let feature = child_of(tx, "sta_features", thing).await?;
    let water = PointEntity {
        id: feature,
        thing,
        name: format!("{} at {}", s.river.vi, s.name.vi),
        description: format!("Water of the {} sampled at {}", s.river.en, s.name.en),
        lon,
        lat,
        properties: json!({ "river": s.river }).to_string(),
    };
    upsert_point(tx, "sta_features", &water).await?;
    for p in &s.parameters {
        let found = sqlx::query_scalar("SELECT id FROM sta_observed_properties WHERE code = $1")
            .bind(&p.code)
            .fetch_optional(&mut **tx)
            .await?;
        let property = or_next_id(tx, found, "sta_observed_properties").await?;
        sqlx::query(
            "INSERT INTO sta_observed_properties (id, code, name, definition, description, properties, min_value, max_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             definition = excluded.definition, description = excluded.description, \
             properties = excluded.properties, min_value = excluded.min_value, max_value = excluded.max_value",
        )
        .bind(property)
        .bind(&p.code)
        .bind(&p.name.en)
        .bind(&p.definition)
        .bind(&p.name.vi)
        .bind(json!({ "code": p.code, "name": p.name, "valid_range": p.valid_range }).to_string())
        .bind(p.valid_range[0])
        .bind(p.valid_range[1])
        .execute(&mut **tx)
        .await?;
        let existing: Option<(i64, i64)> = sqlx::query(
            "SELECT id, sensor_id FROM sta_datastreams WHERE thing_id = $1 AND observed_property_id = $2",
        )
        .bind(thing)
        .bind(property)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| -> Result<_, sqlx::Error> { Ok((r.try_get(0)?, r.try_get(1)?)) })
        .transpose()?;
        let (datastream, sensor) = match existing {
            Some(ids) => ids,
            None => (
                or_next_id(tx, None, "sta_datastreams").await?,
                or_next_id(tx, None, "sta_sensors").await?,
            ),
        };
        sqlx::query(
            "INSERT INTO sta_sensors (id, name, description, encoding_type, metadata, properties) \
             VALUES ($1, $2, $3, 'text/plain', $4, $5) ON CONFLICT (id) DO UPDATE SET \
             name = excluded.name, description = excluded.description, metadata = excluded.metadata, \
             properties = excluded.properties",
        )
        .bind(sensor)
        .bind(format!("{} probe, {}", p.name.en, s.name.en))
        .bind(format!("{} sensor of {}", p.name.vi, s.name.vi))
        .bind(
            "The station's make and model are not published; its readings here are simulated \
             (observations carry parameters.simulated = true).",
        )
        .bind(json!({ "parameter": p.code }).to_string())
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO sta_datastreams (id, thing_id, sensor_id, observed_property_id, name, description, \
             observation_type, unit_name, unit_symbol, unit_definition, properties) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO UPDATE SET \
             name = excluded.name, description = excluded.description, unit_name = excluded.unit_name, \
             unit_symbol = excluded.unit_symbol, unit_definition = excluded.unit_definition, \
             properties = excluded.properties",
        )
        .bind(datastream)
        .bind(thing)
        .bind(sensor)
        .bind(property)
        .bind(format!("{} — {}", p.name.vi, s.name.vi))
        .bind(format!("{} at {}", p.name.en, s.name.en))
        .bind(OM_MEASUREMENT)
        .bind(if p.unit.is_empty() { &p.ucum } else { &p.unit })
        .bind(&p.ucum)
        .bind(UCUM)
        .bind(json!({ "parameter": p.code, "station_id": s.id }).to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
