-- A walk of the People list's order (shared/contact_sets.rs) reads the
-- sort key and the id of many contacts. PostgreSQL answers from an index
-- alone only when the index holds the columns a query reads, not only an
-- expression of them, so these indexes on COALESCE(...) visited every
-- row's table page (about 2 microseconds a row, 60 ms per 32,768). With
-- the column included, the walk is an index-only scan.
DROP INDEX contacts_by_last_seen;
CREATE INDEX contacts_by_last_seen ON contacts (workspace_id, (COALESCE(last_seen_at, 0)), id) INCLUDE (last_seen_at);
DROP INDEX contacts_by_first_seen;
CREATE INDEX contacts_by_first_seen ON contacts (workspace_id, (COALESCE(first_seen_at, 0)), id) INCLUDE (first_seen_at);
