-- The resident's own field reports: drafts, processed photos, reports sent or waiting, and
-- the outbox of operations the gateway has not acknowledged yet.

-- Photos as processed on the device (upright, ≤ 1 920 px, no metadata). The id is also the
-- upload's id; `uploaded` is how many bytes the gateway confirmed.
CREATE TABLE photos (
    id            TEXT PRIMARY KEY,
    sha256        TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    data          BLOB    NOT NULL,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
);

-- Reports being written, saved as the resident types.
CREATE TABLE drafts (
    id            TEXT PRIMARY KEY,
    body          TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- Reports the resident sent, as sent; `receipt` once the gateway accepted them.
CREATE TABLE my_reports (
    id            TEXT PRIMARY KEY,
    submission    TEXT    NOT NULL,
    receipt       TEXT,
    created_at_ms INTEGER NOT NULL
);

-- Operations waiting for the gateway's acknowledgement, oldest op id first (UUIDv7 sorts by
-- time). A row goes only in the transaction that stores the gateway's answer.
CREATE TABLE outbox (
    op_id           TEXT PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('report', 'support')),
    target          TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);

-- "Me too"s the resident gave.
CREATE TABLE my_supports (
    report_id     TEXT PRIMARY KEY,
    op_id         TEXT    NOT NULL,
    supporters    INTEGER,
    created_at_ms INTEGER NOT NULL
);

-- Status changes of the resident's reports not yet announced to them.
CREATE TABLE report_notices (
    report_id TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    shown     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (report_id, status)
);
