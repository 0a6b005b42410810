-- The identity of this feed's history: made once, when the database is created, and kept by
-- backups and migrations, so a client can tell a feed of another database from this one's.
ALTER TABLE feed_seq ADD COLUMN history_id TEXT NOT NULL DEFAULT '';
UPDATE feed_seq SET history_id = lower(hex(randomblob(16))) WHERE history_id = '';
