-- How far the gateway's clock is ahead of this device's (ms; negative when behind), measured
-- at the last sync: ages and staleness are measured against the gateway's time, not a phone
-- clock that may be days off.
ALTER TABLE sync_state ADD COLUMN clock_offset_ms INTEGER;
