-- What kept an outbox operation from the gateway at its last attempt, as a code the app
-- translates (`unreachable`, `sign_in_page`, `gateway`, `refused`, `storage`).
ALTER TABLE outbox ADD COLUMN last_problem TEXT;
