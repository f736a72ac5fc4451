-- Inbox sign-in sessions, widget visitor sessions, the origins allowed to
-- embed the widget, and how far a contact has read each conversation.

CREATE TABLE agent_sessions (
    secret_hash BYTEA PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    agent_id UUID NOT NULL REFERENCES agents (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE widget_sessions (
    secret_hash BYTEA PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    contact_id UUID NOT NULL REFERENCES contacts (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX widget_sessions_by_contact ON widget_sessions (workspace_id, contact_id);

ALTER TABLE workspaces ADD COLUMN allowed_origins JSONB NOT NULL DEFAULT '[]';
ALTER TABLE conversations ADD COLUMN contact_read_at BIGINT;
