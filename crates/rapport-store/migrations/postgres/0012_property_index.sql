-- Filters over many contacts read id sets from indexes and combine them
-- (shared/contact_sets.rs). A custom property is indexed once a filter
-- names it: `index_state` is 'building' while a job copies the existing
-- contacts' values into `contact_props`, 'ready' after; the triggers below
-- keep the rows of indexed properties current from then on, whichever
-- statement writes a contact, one statement per statement (transition
-- tables), and only for the properties a workspace indexes. Only scalar
-- values (strings, numbers, booleans) are indexed.
ALTER TABLE property_types ADD COLUMN index_state TEXT CHECK (index_state IN ('building', 'ready'));
-- While building: the last contact (by created_at, id) copied so far.
ALTER TABLE property_types ADD COLUMN index_after_at BIGINT;
ALTER TABLE property_types ADD COLUMN index_after_id UUID;

CREATE TABLE contact_props (
    workspace_id UUID NOT NULL,
    name TEXT NOT NULL,
    value JSONB NOT NULL,
    contact_id UUID NOT NULL,
    PRIMARY KEY (workspace_id, name, value, contact_id)
);

CREATE FUNCTION contact_props_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_props (workspace_id, name, value, contact_id)
    SELECT n.workspace_id, t.name, n.props -> t.name, n.id
    FROM property_types t JOIN added n ON n.workspace_id = t.workspace_id
    WHERE t.index_state IS NOT NULL
      AND jsonb_typeof(n.props -> t.name) IN ('string', 'number', 'boolean')
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- An update's old values that changed are removed here; its new values
-- are added by contact_props_added, a second trigger (the two touch
-- different rows, so their order does not matter).
CREATE FUNCTION contact_props_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contact_props c
    USING removed o, property_types t
    WHERE t.workspace_id = o.workspace_id AND t.index_state IS NOT NULL
      AND c.workspace_id = o.workspace_id AND c.name = t.name
      AND c.value = o.props -> t.name AND c.contact_id = o.id
      AND NOT EXISTS (SELECT 1 FROM added n WHERE n.id = o.id AND n.props -> t.name = o.props -> t.name);
    RETURN NULL;
END $$;

CREATE FUNCTION contact_props_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contact_props c
    USING removed o, property_types t
    WHERE t.workspace_id = o.workspace_id AND t.index_state IS NOT NULL
      AND c.workspace_id = o.workspace_id AND c.name = t.name
      AND c.value = o.props -> t.name AND c.contact_id = o.id;
    RETURN NULL;
END $$;

CREATE TRIGGER contact_props_on_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION contact_props_added();
CREATE TRIGGER contact_props_on_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION contact_props_changed();
CREATE TRIGGER contact_props_on_update_add AFTER UPDATE ON contacts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION contact_props_added();
CREATE TRIGGER contact_props_on_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION contact_props_removed();

-- Every event condition reads only this index (an index-only scan; count
-- and first_at were read from the table, row by row).
DROP INDEX contact_events_by_name;
CREATE INDEX contact_events_by_name ON contact_events (workspace_id, name, last_at, contact_id) INCLUDE (count, first_at);
