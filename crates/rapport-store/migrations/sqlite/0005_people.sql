-- People: system properties in columns (they sort and filter cheaply),
-- tags, each custom property's type, per-contact event summaries, saved
-- segments and bulk sends with their recipients.

ALTER TABLE contacts ADD COLUMN first_seen_at INTEGER;
ALTER TABLE contacts ADD COLUMN last_seen_at INTEGER;
ALTER TABLE contacts ADD COLUMN sessions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN country TEXT;
ALTER TABLE contacts ADD COLUMN city TEXT;
ALTER TABLE contacts ADD COLUMN browser TEXT;
ALTER TABLE contacts ADD COLUMN os TEXT;
ALTER TABLE contacts ADD COLUMN last_page TEXT;
-- A sorted JSON list of strings.
ALTER TABLE contacts ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
-- The list's sort keys (never-seen contacts count as seen at 0).
CREATE INDEX contacts_by_last_seen ON contacts (workspace_id, COALESCE(last_seen_at, 0), id);
CREATE INDEX contacts_by_first_seen ON contacts (workspace_id, COALESCE(first_seen_at, 0), id);
CREATE INDEX contacts_by_created ON contacts (workspace_id, created_at, id);

ALTER TABLE workspaces ADD COLUMN bulk_sends_admins_only BOOLEAN NOT NULL DEFAULT FALSE;

-- The first value a workspace stores under a custom property fixes its type.
CREATE TABLE property_types (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('string', 'number', 'boolean', 'datetime', 'list')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
INSERT OR IGNORE INTO property_types (workspace_id, name, type, created_at)
SELECT c.workspace_id, p.key,
       CASE p.type WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number'
                   WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean'
                   WHEN 'array' THEN 'list' ELSE 'string' END,
       MIN(c.created_at)
FROM contacts c, json_each(c.props) p
GROUP BY c.workspace_id, p.key;

-- For each contact and event name: how often, first and last time.
CREATE TABLE contact_events (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, contact_id, name)
);
CREATE INDEX contact_events_by_name ON contact_events (workspace_id, name, last_at, contact_id);
INSERT INTO contact_events (workspace_id, contact_id, name, count, first_at, last_at)
SELECT workspace_id, contact_id, json_extract(data, '$.name'), COUNT(*), MIN(created_at), MAX(created_at)
FROM activity WHERE kind = 'event'
GROUP BY workspace_id, contact_id, json_extract(data, '$.name');

CREATE TABLE segments (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    filter TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT segments_name_per_workspace UNIQUE (workspace_id, name)
);

CREATE TABLE bulk_sends (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    created_by BLOB NOT NULL REFERENCES agents (id),
    from_agent_id BLOB NOT NULL REFERENCES agents (id),
    body TEXT NOT NULL,
    email_fallback BOOLEAN NOT NULL,
    audience TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sending', 'done', 'cancelled')),
    total INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX bulk_sends_recent ON bulk_sends (workspace_id, created_at DESC);

-- A recipient is sent (message_id set) in its message's transaction, or
-- failed (error set); pending otherwise. No foreign key on contact_id: a
-- lead merged into a user keeps its row here.
CREATE TABLE bulk_send_recipients (
    bulk_send_id BLOB NOT NULL REFERENCES bulk_sends (id),
    workspace_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    message_id BLOB,
    conversation_id BLOB,
    sent_at INTEGER,
    error TEXT,
    PRIMARY KEY (bulk_send_id, contact_id)
);
CREATE INDEX bulk_send_recipients_pending ON bulk_send_recipients (bulk_send_id, contact_id)
    WHERE message_id IS NULL AND error IS NULL;
CREATE INDEX bulk_send_recipients_failed ON bulk_send_recipients (bulk_send_id)
    WHERE error IS NOT NULL;
