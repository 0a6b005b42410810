-- Which history of the gateway's feed the cursor belongs to, and the record of the change at
-- the cursor, so that a gateway whose database went back to a backup is noticed.
ALTER TABLE sync_state ADD COLUMN history_id TEXT;
ALTER TABLE sync_state ADD COLUMN at_kind TEXT;
ALTER TABLE sync_state ADD COLUMN at_id TEXT;
-- 1 while the feed is read again from its start after its history changed.
ALTER TABLE sync_state ADD COLUMN rereading INTEGER NOT NULL DEFAULT 0;

-- Records not seen again yet in a re-read of the feed; those left at its end are gone from
-- the city's gateway and are removed.
ALTER TABLE entities ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0;

-- What the resident is told about their own reports after the city's gateway went back to
-- an earlier state: `resent` (the gateway had lost it; it is sent again).
CREATE TABLE sync_notices (
    report_id TEXT    PRIMARY KEY,
    kind      TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    shown     INTEGER NOT NULL DEFAULT 0
);
