-- Members who turned off emails about new conversations (the default is
-- on), and how far each workspace's last such email went.
CREATE TABLE agent_email_opt_outs (
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    agent_id UUID NOT NULL,
    PRIMARY KEY (workspace_id, agent_id)
);
CREATE TABLE team_digests (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces (id),
    covered_to BIGINT NOT NULL
);
-- The conversations a digest reads: open, waiting, by when they started.
CREATE INDEX conversations_waiting_by_start ON conversations (workspace_id, created_at)
    WHERE status = 'open' AND waiting_since IS NOT NULL;
