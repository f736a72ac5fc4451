-- Webhook endpoints of a workspace and the deliveries of events to them.
CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    -- The event types it subscribes to (a JSON array of names).
    events JSONB NOT NULL,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    failing_since BIGINT,
    -- Entries logged after this position are delivered to it.
    from_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_of_workspace ON webhooks (workspace_id, created_at);

CREATE TABLE webhook_deliveries (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    webhook_id UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The contact the event is about, if one: an erasure deletes these.
    contact_id UUID,
    event_type TEXT NOT NULL,
    payload JSONB NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    response_status BIGINT,
    response_body TEXT,
    latency_ms BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    last_attempt_at BIGINT,
    next_attempt_at BIGINT
);
CREATE INDEX webhook_deliveries_of_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_of_contact ON webhook_deliveries (workspace_id, contact_id)
    WHERE contact_id IS NOT NULL;
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (created_at);

-- How far each workspace's log has been fanned out to its webhooks.
CREATE TABLE webhook_cursors (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces (id),
    seq BIGINT NOT NULL
);
