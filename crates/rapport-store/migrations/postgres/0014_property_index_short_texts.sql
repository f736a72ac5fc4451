-- A B-tree entry holds at most about 2.7 kB, and a property's text may be
-- 2,000 characters of up to 4 bytes: indexed as it was, such a value made
-- the contact's write fail. Texts over 1,000 bytes are left out of the
-- index; a filter comparing with a text that long runs the general way
-- (filter_sql::MAX_INDEXED_TEXT_BYTES), and one comparing with a shorter
-- text needs none of them.
CREATE OR REPLACE FUNCTION contact_props_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_props (workspace_id, name, value, contact_id)
    SELECT n.workspace_id, t.name, n.props -> t.name, n.id
    FROM property_types t JOIN added n ON n.workspace_id = t.workspace_id
    WHERE t.index_state IS NOT NULL
      AND jsonb_typeof(n.props -> t.name) IN ('string', 'number', 'boolean')
      AND (jsonb_typeof(n.props -> t.name) <> 'string' OR octet_length(n.props ->> t.name) <= 1000)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
