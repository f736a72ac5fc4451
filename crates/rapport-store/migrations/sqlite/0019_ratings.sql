-- Contacts' ratings of their closed conversations: one each.
CREATE TABLE conversation_ratings (
    conversation_id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    contact_id BLOB NOT NULL,
    score INTEGER NOT NULL,
    comment TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX conversation_ratings_by_time ON conversation_ratings (workspace_id, created_at);
