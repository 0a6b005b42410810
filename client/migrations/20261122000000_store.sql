-- Reference data of the city pack and of the gateway's feed, as the feed's JSON entities.
CREATE TABLE entities (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- Station readings, typed: screens ask for the latest value per station and parameter.
CREATE TABLE readings (
    station_id     TEXT    NOT NULL,
    parameter      TEXT    NOT NULL,
    observed_at_ms INTEGER NOT NULL,
    value          REAL    NOT NULL,
    simulated      INTEGER NOT NULL,
    PRIMARY KEY (station_id, parameter, observed_at_ms)
) WITHOUT ROWID;

-- Where the pull stands. One row.
CREATE TABLE sync_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    cursor           INTEGER NOT NULL,
    pack_id          TEXT,
    pack_version     TEXT,
    last_success_ms  INTEGER,
    offline_since_ms INTEGER,
    last_error       TEXT,
    data_version     INTEGER NOT NULL
);
INSERT INTO sync_state (id, cursor, data_version) VALUES (1, 0, 0);

-- The user's choices (language …).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
