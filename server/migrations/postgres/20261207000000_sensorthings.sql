-- Stations as OGC SensorThings API v1.1 entities (OGC 18-088), made from the city pack, and
-- their observations. Readings are stored here only: the sync feed's `reading` records are
-- these rows too (an observation's id is the feed position it was published at), so the two
-- views cannot disagree.

-- A station.
CREATE TABLE sta_things (
    id                  BIGINT PRIMARY KEY,
    station_id          TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    properties          TEXT    NOT NULL,
    -- Observations timed before this are refused.
    in_service_since_ms BIGINT  NOT NULL
);

-- Where a station stands (one per station), GeoJSON point in WGS 84.
CREATE TABLE sta_locations (
    id            BIGINT PRIMARY KEY,
    thing_id      BIGINT  NOT NULL REFERENCES sta_things (id),
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    encoding_type TEXT    NOT NULL,
    longitude     DOUBLE PRECISION NOT NULL,
    latitude      DOUBLE PRECISION NOT NULL,
    properties    TEXT    NOT NULL
);

CREATE TABLE sta_historical_locations (
    id          BIGINT PRIMARY KEY,
    thing_id    BIGINT  NOT NULL REFERENCES sta_things (id),
    location_id BIGINT  NOT NULL REFERENCES sta_locations (id),
    time_ms     BIGINT  NOT NULL
);

-- The instrument behind one datastream.
CREATE TABLE sta_sensors (
    id            BIGINT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    encoding_type TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    properties    TEXT NOT NULL
);

-- A quantity (salinity, pH, water temperature), with the values physically possible.
CREATE TABLE sta_observed_properties (
    id          BIGINT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    description TEXT NOT NULL,
    properties  TEXT NOT NULL,
    min_value   DOUBLE PRECISION NOT NULL,
    max_value   DOUBLE PRECISION NOT NULL
);

-- One quantity measured at one station.
CREATE TABLE sta_datastreams (
    id                   BIGINT PRIMARY KEY,
    thing_id             BIGINT  NOT NULL REFERENCES sta_things (id),
    sensor_id            BIGINT  NOT NULL REFERENCES sta_sensors (id),
    observed_property_id BIGINT  NOT NULL REFERENCES sta_observed_properties (id),
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
    id            BIGINT PRIMARY KEY,
    thing_id      BIGINT  NOT NULL UNIQUE REFERENCES sta_things (id),
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    encoding_type TEXT    NOT NULL,
    longitude     DOUBLE PRECISION NOT NULL,
    latitude      DOUBLE PRECISION NOT NULL,
    properties    TEXT    NOT NULL
);

-- Every observation, once. `id` is the feed position it was published at. `result_json` is
-- the result exactly as it is served (shortest text that reads back as the same number);
-- `result` is the same number for filtering and ordering. One observation per datastream and
-- time: a logger sending a batch again creates nothing new.
CREATE TABLE observations (
    id                 BIGINT PRIMARY KEY,
    datastream_id      BIGINT  NOT NULL REFERENCES sta_datastreams (id),
    feature_id         BIGINT  NOT NULL REFERENCES sta_features (id),
    phenomenon_time_ms BIGINT  NOT NULL,
    result_time_ms     BIGINT,
    result             DOUBLE PRECISION NOT NULL,
    result_json        TEXT    NOT NULL,
    parameters         TEXT,
    -- 1 when `parameters` says the value comes from a simulation, not an instrument.
    simulated          SMALLINT NOT NULL CHECK (simulated IN (0, 1)),
    received_at_ms     BIGINT  NOT NULL,
    UNIQUE (datastream_id, phenomenon_time_ms)
);
CREATE INDEX observations_time ON observations (phenomenon_time_ms, id);

-- The newest observation of each datastream, kept with every write, so "the latest of every
-- station" reads one row per datastream instead of the history.
CREATE TABLE latest_observations (
    datastream_id      BIGINT PRIMARY KEY REFERENCES sta_datastreams (id),
    observation_id     BIGINT  NOT NULL,
    phenomenon_time_ms BIGINT  NOT NULL,
    first_time_ms      BIGINT  NOT NULL
);

-- Readings used to be records of the feed; they are observations now. Those published before
-- were simulated and are not carried over (devices keep theirs until they age out).
DELETE FROM entities WHERE kind = 'reading';

-- Stations get tokens of their own (role `station`, for one Thing) to post observations.
ALTER TABLE credentials DROP CONSTRAINT credentials_role_check;
ALTER TABLE credentials ADD CONSTRAINT credentials_role_check
    CHECK (role IN ('staff', 'client', 'station'));
ALTER TABLE credentials ADD COLUMN thing_id BIGINT;

-- A new observation moves the feed too: tell the instances listening.
CREATE TRIGGER observations_notify AFTER INSERT ON observations
    FOR EACH STATEMENT EXECUTE FUNCTION citizen_feed_notify();
