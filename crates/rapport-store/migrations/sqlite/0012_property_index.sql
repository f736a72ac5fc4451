-- Filters over many contacts read id sets from indexes and combine them
-- (shared/contact_sets.rs). A custom property is indexed once a filter
-- names it: `index_state` is 'building' while a job copies the existing
-- contacts' values into `contact_props`, 'ready' after; the triggers below
-- keep the rows of indexed properties current from then on, whichever
-- statement writes a contact. Only scalar values (text, numbers,
-- booleans) are indexed; booleans are stored as SQLite's JSON gives them,
-- 1 and 0.
ALTER TABLE property_types ADD COLUMN index_state TEXT CHECK (index_state IN ('building', 'ready'));
-- While building: the last contact (by created_at, id) copied so far.
ALTER TABLE property_types ADD COLUMN index_after_at INTEGER;
ALTER TABLE property_types ADD COLUMN index_after_id BLOB;

CREATE TABLE contact_props (
    workspace_id BLOB NOT NULL,
    name TEXT NOT NULL,
    value NOT NULL,
    contact_id BLOB NOT NULL,
    PRIMARY KEY (workspace_id, name, value, contact_id)
) WITHOUT ROWID;

CREATE TRIGGER contact_props_on_insert AFTER INSERT ON contacts
WHEN EXISTS (SELECT 1 FROM property_types t WHERE t.workspace_id = new.workspace_id AND t.index_state IS NOT NULL)
BEGIN
    INSERT OR IGNORE INTO contact_props (workspace_id, name, value, contact_id)
    SELECT new.workspace_id, p.key, p.value, new.id
    FROM json_each(new.props) p
    JOIN property_types t ON t.workspace_id = new.workspace_id AND t.name = p.key AND t.index_state IS NOT NULL
    WHERE p.type IN ('text', 'integer', 'real', 'true', 'false');
END;

CREATE TRIGGER contact_props_on_update AFTER UPDATE OF props ON contacts
WHEN old.props IS NOT new.props
 AND EXISTS (SELECT 1 FROM property_types t WHERE t.workspace_id = new.workspace_id AND t.index_state IS NOT NULL)
BEGIN
    DELETE FROM contact_props
    WHERE (workspace_id, name, value, contact_id) IN (
        SELECT old.workspace_id, p.key, p.value, old.id FROM json_each(old.props) p
        WHERE p.type IN ('text', 'integer', 'real', 'true', 'false'));
    INSERT OR IGNORE INTO contact_props (workspace_id, name, value, contact_id)
    SELECT new.workspace_id, p.key, p.value, new.id
    FROM json_each(new.props) p
    JOIN property_types t ON t.workspace_id = new.workspace_id AND t.name = p.key AND t.index_state IS NOT NULL
    WHERE p.type IN ('text', 'integer', 'real', 'true', 'false');
END;

CREATE TRIGGER contact_props_on_delete AFTER DELETE ON contacts
BEGIN
    DELETE FROM contact_props
    WHERE (workspace_id, name, value, contact_id) IN (
        SELECT old.workspace_id, p.key, p.value, old.id FROM json_each(old.props) p
        WHERE p.type IN ('text', 'integer', 'real', 'true', 'false'));
END;

-- Every event condition reads only this index (count and first_at were
-- looked up in the table, row by row).
DROP INDEX contact_events_by_name;
CREATE INDEX contact_events_by_name ON contact_events (workspace_id, name, last_at, contact_id, count, first_at);
