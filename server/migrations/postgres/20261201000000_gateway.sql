-- The gateway's schema on PostgreSQL: the same tables, columns and meaning as the SQLite
-- migrations (see `../sqlite`), in PostgreSQL's types. Integers are BIGINT and flags 0/1, as
-- on SQLite, so one set of queries serves both.

-- Everything the gateway publishes, one row per record, with the feed position of its latest
-- change. A record's newest state replaces its older ones, so the feed stays compact.
CREATE TABLE entities (
    kind    TEXT     NOT NULL,
    id      TEXT     NOT NULL,
    body    TEXT     NOT NULL,
    seq     BIGINT   NOT NULL UNIQUE,
    deleted SMALLINT NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (kind, id)
);

-- The last feed position handed out, and the identity of this feed's history (made once,
-- kept by backups and migrations). One row. Every transaction that writes the feed locks this
-- row first and holds it to its commit, so positions are handed out in commit order: a reader
-- never sees a position while a smaller one is still uncommitted.
CREATE TABLE feed_seq (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    last       BIGINT NOT NULL,
    history_id TEXT   NOT NULL
);
INSERT INTO feed_seq (id, last, history_id)
VALUES (1, 0, replace(gen_random_uuid()::text, '-', ''));

-- Tells every gateway instance listening on `citizen_feed` that the feed moved, once per
-- committing transaction (PostgreSQL folds identical notifications of one transaction).
CREATE FUNCTION citizen_feed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('citizen_feed', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER entities_notify AFTER INSERT OR UPDATE ON entities
    FOR EACH STATEMENT EXECUTE FUNCTION citizen_feed_notify();

-- City packs imported, by content, so a restart does not import again.
CREATE TABLE pack_imports (
    pack_id        TEXT PRIMARY KEY,
    content_hash   TEXT   NOT NULL,
    imported_at_ms BIGINT NOT NULL
);

-- An upload announced by a device (id made on the device); chunks arrive in order.
CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    size          BIGINT   NOT NULL,
    sha256        TEXT     NOT NULL,
    received      BIGINT   NOT NULL DEFAULT 0,
    complete      SMALLINT NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),
    created_at_ms BIGINT   NOT NULL
);

-- The bytes of an upload not yet complete, one row per accepted chunk.
CREATE TABLE upload_chunks (
    upload_id TEXT   NOT NULL REFERENCES uploads (id),
    start     BIGINT NOT NULL,
    data      BYTEA  NOT NULL,
    PRIMARY KEY (upload_id, start)
);

-- Completed uploads that passed validation, without metadata. Published once a report or a
-- department's reply refers to them.
CREATE TABLE photos (
    id         TEXT PRIMARY KEY REFERENCES uploads (id),
    media_type TEXT   NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    data       BYTEA  NOT NULL,
    report_id  TEXT
);

-- The private side of a report; its public view is the feed's `report` entity of the same id.
CREATE TABLE reports (
    id             TEXT PRIMARY KEY,
    number         BIGINT NOT NULL UNIQUE,
    tracking_code  TEXT   NOT NULL UNIQUE,
    -- Who sent it: a device id, or `open311:<client>`.
    source         TEXT   NOT NULL,
    -- SHA-256 of the submission as first accepted: a resend must match it.
    request_hash   TEXT   NOT NULL,
    category       TEXT   NOT NULL,
    department     TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    contact        TEXT   NOT NULL,
    received_at_ms BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
CREATE INDEX reports_queue ON reports (department, status, received_at_ms);

-- "Me too": one per device and report.
CREATE TABLE supports (
    report_id TEXT NOT NULL REFERENCES reports (id),
    device_id TEXT NOT NULL,
    op_id     TEXT NOT NULL UNIQUE,
    PRIMARY KEY (report_id, device_id)
);

-- Access tokens, stored as their SHA-256 only: `staff` ones act for a department, `client`
-- ones are Open311 api_keys.
CREATE TABLE credentials (
    token_hash    TEXT PRIMARY KEY,
    role          TEXT   NOT NULL CHECK (role IN ('staff', 'client')),
    department    TEXT,
    label         TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);
