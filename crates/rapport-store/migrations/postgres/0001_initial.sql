-- Rapport's first schema on PostgreSQL. Times are Unix milliseconds (the same
-- integers as on SQLite, so both backends share their queries). Never edit
-- once released: add a file.

CREATE TABLE workspaces (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    app_id TEXT NOT NULL UNIQUE,
    identity_secret TEXT NOT NULL,
    identity_verification BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT agents_email_per_workspace UNIQUE (workspace_id, email)
);
-- One email owns at most one workspace.
CREATE UNIQUE INDEX agents_one_workspace_owned_per_email ON agents (email) WHERE role = 'owner';

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    agent_id UUID NOT NULL REFERENCES agents (id),
    name TEXT NOT NULL,
    secret_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_workspace ON api_tokens (workspace_id, created_at);

CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    user_id TEXT,
    email TEXT,
    name TEXT,
    phone TEXT,
    props JSONB NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX contacts_user_id ON contacts (workspace_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX contacts_email ON contacts (workspace_id, email) WHERE email IS NOT NULL;

CREATE TABLE conversations (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    contact_id UUID NOT NULL REFERENCES contacts (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'snoozed', 'closed')),
    assignee_id UUID REFERENCES agents (id),
    snoozed_until BIGINT,
    waiting_since BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX conversations_recent ON conversations (workspace_id, updated_at DESC, id DESC);
CREATE INDEX conversations_by_status ON conversations (workspace_id, status, updated_at DESC, id DESC);
CREATE INDEX conversations_by_contact ON conversations (workspace_id, contact_id, updated_at DESC, id DESC);

CREATE TABLE messages (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    conversation_id UUID NOT NULL REFERENCES conversations (id),
    author_type TEXT NOT NULL CHECK (author_type IN ('agent', 'contact', 'bot')),
    author_id UUID,
    kind TEXT NOT NULL CHECK (kind IN ('comment', 'note')),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at, id);

-- The append-only activity log: timelines and live streams read it.
CREATE TABLE activity (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    contact_id UUID NOT NULL REFERENCES contacts (id),
    conversation_id UUID,
    kind TEXT NOT NULL,
    data JSONB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX activity_by_contact ON activity (workspace_id, contact_id, seq DESC);
CREATE INDEX activity_by_workspace ON activity (workspace_id, seq);

-- Durable jobs, inserted in the transaction that causes them.
CREATE TABLE jobs (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    kind TEXT NOT NULL,
    payload JSONB NOT NULL,
    due_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    claimed_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (due_at);
