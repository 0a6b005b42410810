-- Salinity alerts the resident subscribed to (a station and a use of the water), with the
-- state of each (what it last said, the newest reading considered), kept across restarts.
CREATE TABLE salinity_subscriptions (
    station_id    TEXT    NOT NULL,
    use_id        TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (station_id, use_id)
) WITHOUT ROWID;

-- Alerts to announce once.
CREATE TABLE salinity_notices (
    id         INTEGER PRIMARY KEY,
    station_id TEXT    NOT NULL,
    use_id     TEXT    NOT NULL,
    alert      TEXT    NOT NULL,
    shown      INTEGER NOT NULL DEFAULT 0
);

-- Readings by time, to drop those older than the history kept.
CREATE INDEX readings_time ON readings (observed_at_ms);
