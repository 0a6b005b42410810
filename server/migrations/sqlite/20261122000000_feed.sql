-- Everything the gateway publishes, one row per record, with the feed position of its latest
-- change. A record's newest state replaces its older ones, so the feed stays compact.
CREATE TABLE entities (
    kind    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    body    TEXT    NOT NULL,
    seq     INTEGER NOT NULL UNIQUE,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, id)
);

-- The last feed position handed out. One row.
CREATE TABLE feed_seq (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO feed_seq (id, last) VALUES (1, 0);

-- City packs imported, by content, so a restart does not import again.
CREATE TABLE pack_imports (
    pack_id        TEXT PRIMARY KEY,
    content_hash   TEXT    NOT NULL,
    imported_at_ms INTEGER NOT NULL
);
