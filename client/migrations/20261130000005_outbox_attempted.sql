-- When (this device's clock, ms since the epoch) the last attempt of an outbox operation
-- failed. A clock now earlier than that was set back: the delay computed then is void.
ALTER TABLE outbox ADD COLUMN last_attempt_ms INTEGER;
