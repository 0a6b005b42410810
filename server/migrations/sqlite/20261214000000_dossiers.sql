-- Online public services: residents identified by phone and one-time code, dossiers with their
-- documents, and the operations already applied to them (each at most once).

-- One-time codes sent to a phone (only their SHA-256 is kept). Limits on sending and on
-- guessing are counted from these rows, so they hold across instances.
CREATE TABLE one_time_codes (
    id            TEXT    PRIMARY KEY,
    phone         TEXT    NOT NULL,
    code_hash     TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    used          INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
);
CREATE INDEX one_time_codes_phone ON one_time_codes (phone, created_at_ms);

-- Residents get device tokens (role `resident`, for one phone number).
CREATE TABLE credentials_new (
    token_hash    TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('staff', 'client', 'station', 'resident')),
    department    TEXT,
    label         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    thing_id      INTEGER,
    phone         TEXT
) WITHOUT ROWID;
INSERT INTO credentials_new (token_hash, role, department, label, created_at_ms, thing_id)
SELECT token_hash, role, department, label, created_at_ms, thing_id FROM credentials;
DROP TABLE credentials;
ALTER TABLE credentials_new RENAME TO credentials;

-- An upload is a report's photo or a dossier's document; each is checked as what it is.
ALTER TABLE uploads ADD COLUMN kind TEXT NOT NULL DEFAULT 'photo' CHECK (kind IN ('photo', 'document'));

-- Completed document uploads that passed the checks (images without metadata). Bound to a
-- dossier when an application, a supplement or a result refers to them; never public.
CREATE TABLE documents (
    id         TEXT PRIMARY KEY REFERENCES uploads (id),
    media_type TEXT    NOT NULL,
    pages      INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    dossier_id TEXT
) WITHOUT ROWID;
CREATE INDEX documents_dossier ON documents (dossier_id);

-- A dossier: its columns for the queues, its whole state as JSON (`body`, a core Dossier).
CREATE TABLE dossiers (
    id              TEXT PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,
    phone           TEXT    NOT NULL,
    procedure_id    TEXT    NOT NULL,
    department      TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    due_at_ms       INTEGER,
    request_hash    TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    revision        INTEGER NOT NULL,
    submitted_at_ms INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dossiers_phone ON dossiers (phone, submitted_at_ms);
CREATE INDEX dossiers_queue ON dossiers (department, status, submitted_at_ms);
CREATE INDEX dossiers_due ON dossiers (department, due_at_ms);

-- Operations a device sent on a dossier (a supplement, a rating), by their op id: a resend
-- answers the dossier as it is and changes nothing.
CREATE TABLE dossier_ops (
    op_id        TEXT PRIMARY KEY,
    dossier_id   TEXT    NOT NULL REFERENCES dossiers (id),
    request_hash TEXT    NOT NULL,
    revision     INTEGER NOT NULL
) WITHOUT ROWID;
