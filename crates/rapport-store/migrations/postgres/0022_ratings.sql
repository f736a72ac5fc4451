-- Contacts' ratings of their closed conversations: one each.
CREATE TABLE conversation_ratings (
    conversation_id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    contact_id UUID NOT NULL,
    score BIGINT NOT NULL,
    comment TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX conversation_ratings_by_time ON conversation_ratings (workspace_id, created_at);
