-- Whether the last attempt of an outbox operation was refused by the gateway (a 4xx: it waits
-- the longest delay) or told to wait (Retry-After), rather than lost to the link (retried as
-- soon as the link is back).
ALTER TABLE outbox ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
