-- Field issue reports and what they need: resumable uploads, validated photos, "me too"
-- supports and the credentials of departments and Open311 clients.

-- An upload announced by a device (id made on the device); chunks arrive in order.
CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    received      INTEGER NOT NULL DEFAULT 0,
    complete      INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- The bytes of an upload not yet complete, one row per accepted chunk.
CREATE TABLE upload_chunks (
    upload_id TEXT    NOT NULL REFERENCES uploads (id),
    start     INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (upload_id, start)
) WITHOUT ROWID;

-- Completed uploads that passed validation, without metadata. Published once a report or a
-- department's reply refers to them.
CREATE TABLE photos (
    id         TEXT PRIMARY KEY REFERENCES uploads (id),
    media_type TEXT    NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    report_id  TEXT
);

-- The private side of a report; its public view is the feed's `report` entity of the same id.
CREATE TABLE reports (
    id             TEXT PRIMARY KEY,
    number         INTEGER NOT NULL UNIQUE,
    tracking_code  TEXT    NOT NULL UNIQUE,
    -- Who sent it: a device id, or `open311:<client>`.
    source         TEXT    NOT NULL,
    -- SHA-256 of the submission as first accepted: a resend must match it.
    request_hash   TEXT    NOT NULL,
    category       TEXT    NOT NULL,
    department     TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    contact        TEXT    NOT NULL,
    received_at_ms INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
);
CREATE INDEX reports_queue ON reports (department, status, received_at_ms);

-- "Me too": one per device and report.
CREATE TABLE supports (
    report_id TEXT NOT NULL REFERENCES reports (id),
    device_id TEXT NOT NULL,
    op_id     TEXT NOT NULL UNIQUE,
    PRIMARY KEY (report_id, device_id)
) WITHOUT ROWID;

-- Access tokens, stored as their SHA-256 only: `staff` ones act for a department, `client`
-- ones are Open311 api_keys.
CREATE TABLE credentials (
    token_hash    TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('staff', 'client')),
    department    TEXT,
    label         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
