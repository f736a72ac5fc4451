-- Webhook endpoints of a workspace and the deliveries of events to them.
CREATE TABLE webhooks (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    -- The event types it subscribes to (a JSON array of names).
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    disabled_reason TEXT,
    failing_since INTEGER,
    -- Entries logged after this position are delivered to it.
    from_seq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_of_workspace ON webhooks (workspace_id, created_at);

CREATE TABLE webhook_deliveries (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    webhook_id BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The contact the event is about, if one: an erasure deletes these.
    contact_id BLOB,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER,
    response_body TEXT,
    latency_ms INTEGER,
    error TEXT,
    created_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    next_attempt_at INTEGER
);
CREATE INDEX webhook_deliveries_of_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_of_contact ON webhook_deliveries (workspace_id, contact_id)
    WHERE contact_id IS NOT NULL;
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (created_at);

-- How far each workspace's log has been fanned out to its webhooks.
CREATE TABLE webhook_cursors (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces (id),
    seq INTEGER NOT NULL
);
