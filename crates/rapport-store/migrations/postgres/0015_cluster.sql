-- Several `rapport serve` processes on one database: which servers are
-- alive, and what each holds open, so that "online" means a socket on any
-- of them. Rows are small and few (one per open widget's contact or Inbox
-- member per server, kept through the presence grace period); each server
-- rewrites its own and reads the others' every second.

CREATE TABLE cluster_servers (
    id UUID PRIMARY KEY,
    -- When the server last said it is alive (ms since the epoch).
    seen_at BIGINT NOT NULL
);

CREATE TABLE cluster_presence (
    server_id UUID NOT NULL REFERENCES cluster_servers (id) ON DELETE CASCADE,
    workspace_id UUID NOT NULL,
    -- 'contact' (open widgets) or 'agent' (open Inbox tabs).
    kind TEXT NOT NULL CHECK (kind IN ('contact', 'agent')),
    subject_id UUID NOT NULL,
    open INTEGER NOT NULL CHECK (open >= 0),
    -- When the last socket closed (ms), while open is 0.
    left_at BIGINT,
    PRIMARY KEY (server_id, workspace_id, kind, subject_id)
);

-- A team member's chosen status is theirs, not a server's.
CREATE TABLE agent_away (
    workspace_id UUID NOT NULL,
    agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, agent_id)
);
