-- Stations as OGC SensorThings API v1.1 entities (OGC 18-088), made from the city pack, and
-- their observations. Readings are stored here only: the sync feed's `reading` records are
-- these rows too (an observation's id is the feed position it was published at), so the two
-- views cannot disagree.

-- A station.
CREATE TABLE sta_things (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    properties          TEXT    NOT NULL,
    -- Observations timed before this are refused.
    in_service_since_ms INTEGER NOT NULL
);

-- Where a station stands (one per station), GeoJSON point in WGS 84.
CREATE TABLE sta_locations (
    id            INTEGER PRIMARY KEY,
    thing_id      INTEGER NOT NULL REFERENCES sta_things (id),
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    encoding_type TEXT    NOT NULL,
    longitude     REAL    NOT NULL,
    latitude      REAL    NOT NULL,
    properties    TEXT    NOT NULL
);

CREATE TABLE sta_historical_locations (
    id          INTEGER PRIMARY KEY,
    thing_id    INTEGER NOT NULL REFERENCES sta_things (id),
    location_id INTEGER NOT NULL REFERENCES sta_locations (id),
    time_ms     INTEGER NOT NULL
);

-- The instrument behind one datastream.
CREATE TABLE sta_sensors (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    encoding_type TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    properties    TEXT NOT NULL
);

-- A quantity (salinity, pH, water temperature), with the values physically possible.
CREATE TABLE sta_observed_properties (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    description TEXT NOT NULL,
    properties  TEXT NOT NULL,
    min_value   REAL NOT NULL,
    max_value   REAL NOT NULL
);

-- One quantity measured at one station.
CREATE TABLE sta_datastreams (
    id                   INTEGER PRIMARY KEY,
    thing_id             INTEGER NOT NULL REFERENCES sta_things (id),
    sensor_id            INTEGER NOT NULL REFERENCES sta_sensors (id),
    observed_property_id INTEGER NOT NULL REFERENCES sta_observed_properties (id),
    name                 TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    observation_type     TEXT    NOT NULL,
    unit_name            TEXT    NOT NULL,
    unit_symbol          TEXT    NOT NULL,
    unit_definition      TEXT    NOT NULL,
    properties           TEXT    NOT NULL,
    UNIQUE (thing_id, observed_property_id)
);

-- The water sampled at a station.
CREATE TABLE sta_features (
    id            INTEGER PRIMARY KEY,
    thing_id      INTEGER NOT NULL UNIQUE REFERENCES sta_things (id),
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    encoding_type TEXT    NOT NULL,
    longitude     REAL    NOT NULL,
    latitude      REAL    NOT NULL,
    properties    TEXT    NOT NULL
);

-- Every observation, once. `id` is the feed position it was published at. `result_json` is
-- the result exactly as it is served (shortest text that reads back as the same number);
-- `result` is the same number for filtering and ordering. One observation per datastream and
-- time: a logger sending a batch again creates nothing new.
CREATE TABLE observations (
    id                 INTEGER PRIMARY KEY,
    datastream_id      INTEGER NOT NULL REFERENCES sta_datastreams (id),
    feature_id         INTEGER NOT NULL REFERENCES sta_features (id),
    phenomenon_time_ms INTEGER NOT NULL,
    result_time_ms     INTEGER,
    result             REAL    NOT NULL,
    result_json        TEXT    NOT NULL,
    parameters         TEXT,
    -- 1 when `parameters` says the value comes from a simulation, not an instrument.
    simulated          INTEGER NOT NULL CHECK (simulated IN (0, 1)),
    received_at_ms     INTEGER NOT NULL,
    UNIQUE (datastream_id, phenomenon_time_ms)
);
CREATE INDEX observations_time ON observations (phenomenon_time_ms, id);

-- The newest observation of each datastream, kept with every write, so "the latest of every
-- station" reads one row per datastream instead of the history.
CREATE TABLE latest_observations (
    datastream_id      INTEGER PRIMARY KEY REFERENCES sta_datastreams (id),
    observation_id     INTEGER NOT NULL,
    phenomenon_time_ms INTEGER NOT NULL,
    first_time_ms      INTEGER NOT NULL
);

-- Readings used to be records of the feed; they are observations now. Those published before
-- were simulated and are not carried over (devices keep theirs until they age out).
DELETE FROM entities WHERE kind = 'reading';

-- Stations get tokens of their own (role `station`, for one Thing) to post observations.
CREATE TABLE credentials_new (
    token_hash    TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('staff', 'client', 'station')),
    department    TEXT,
    label         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    thing_id      INTEGER
) WITHOUT ROWID;
INSERT INTO credentials_new (token_hash, role, department, label, created_at_ms)
SELECT token_hash, role, department, label, created_at_ms FROM credentials;
DROP TABLE credentials;
ALTER TABLE credentials_new RENAME TO credentials;
