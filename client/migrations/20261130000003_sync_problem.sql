-- What kept the last sync from reaching the city's gateway, as a code the app translates
-- (`unreachable`, `sign_in_page`, `other_city`, `gateway`, `storage`); NULL after a success.
ALTER TABLE sync_state ADD COLUMN last_problem TEXT;
