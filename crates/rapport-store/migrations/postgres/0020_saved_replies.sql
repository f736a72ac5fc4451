-- Saved replies: the workspace's (scope 'workspace') and each member's
-- own (scope: the member's id as text). A shortcut is unique in its scope.
CREATE TABLE saved_replies (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    scope TEXT NOT NULL,
    owner_id UUID,
    title TEXT NOT NULL,
    shortcut TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX saved_replies_shortcut ON saved_replies (workspace_id, scope, shortcut);
