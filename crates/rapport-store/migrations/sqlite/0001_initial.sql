-- Rapport's first schema on SQLite. Ids are UUIDs as 16-byte blobs; times
-- are Unix milliseconds; JSON is text. Never edit once released: add a file.

CREATE TABLE workspaces (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    app_id TEXT NOT NULL UNIQUE,
    identity_secret TEXT NOT NULL,
    identity_verification BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT agents_email_per_workspace UNIQUE (workspace_id, email)
);
-- One email owns at most one workspace.
CREATE UNIQUE INDEX agents_one_workspace_owned_per_email ON agents (email) WHERE role = 'owner';

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    agent_id BLOB NOT NULL REFERENCES agents (id),
    name TEXT NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_workspace ON api_tokens (workspace_id, created_at);

CREATE TABLE contacts (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    user_id TEXT,
    email TEXT,
    name TEXT,
    phone TEXT,
    props TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX contacts_user_id ON contacts (workspace_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX contacts_email ON contacts (workspace_id, email) WHERE email IS NOT NULL;

CREATE TABLE conversations (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'snoozed', 'closed')),
    assignee_id BLOB REFERENCES agents (id),
    snoozed_until INTEGER,
    waiting_since INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX conversations_recent ON conversations (workspace_id, updated_at DESC, id DESC);
CREATE INDEX conversations_by_status ON conversations (workspace_id, status, updated_at DESC, id DESC);
CREATE INDEX conversations_by_contact ON conversations (workspace_id, contact_id, updated_at DESC, id DESC);

CREATE TABLE messages (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    author_type TEXT NOT NULL CHECK (author_type IN ('agent', 'contact', 'bot')),
    author_id BLOB,
    kind TEXT NOT NULL CHECK (kind IN ('comment', 'note')),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at, id);

-- The append-only activity log: timelines and live streams read it.
CREATE TABLE activity (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    contact_id BLOB NOT NULL REFERENCES contacts (id),
    conversation_id BLOB,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX activity_by_contact ON activity (workspace_id, contact_id, seq DESC);
CREATE INDEX activity_by_workspace ON activity (workspace_id, seq);

-- Durable jobs, inserted in the transaction that causes them.
CREATE TABLE jobs (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (due_at);
