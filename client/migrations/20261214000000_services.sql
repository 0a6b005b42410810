-- Online public services on the device: documents attached to applications, applications
-- being written, the resident's dossiers, and their notices. The outbox learns two more kinds
-- of operation: an application, and a move on a dossier (a supplement, a rating).

-- Documents as attached: a PDF as picked, an image stripped of its metadata. The id is also
-- the upload's id; `uploaded` is how many bytes the gateway confirmed.
CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    name          TEXT    NOT NULL,
    media_type    TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    data          BLOB    NOT NULL,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
);

-- Applications being written, several at once, saved on every change.
CREATE TABLE application_drafts (
    id            TEXT PRIMARY KEY,
    procedure_id  TEXT    NOT NULL,
    answers       TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- The resident's dossiers: the application as sent, the receipt once the gateway took it,
-- and the dossier as the gateway last told it. `seen_revision` is the revision the resident
-- was last told about.
CREATE TABLE my_dossiers (
    id            TEXT PRIMARY KEY,
    procedure_id  TEXT    NOT NULL,
    application   TEXT    NOT NULL,
    receipt       TEXT,
    dossier       TEXT,
    seen_revision INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL
);

-- Changes of a dossier not yet announced to the resident.
CREATE TABLE dossier_notices (
    dossier_id TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    status     TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    at_ms      INTEGER NOT NULL,
    shown      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dossier_id, revision)
);

-- The outbox, rebuilt to take the new kinds (SQLite cannot change a CHECK in place).
CREATE TABLE outbox_new (
    op_id           TEXT PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('report', 'support', 'application', 'dossier_op')),
    target          TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    refused         INTEGER NOT NULL DEFAULT 0,
    last_problem    TEXT,
    last_attempt_ms INTEGER
);
INSERT INTO outbox_new SELECT op_id, kind, target, body, created_at_ms, attempts,
    next_attempt_ms, last_error, refused, last_problem, last_attempt_ms FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
