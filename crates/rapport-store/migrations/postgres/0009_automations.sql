-- Automations: drafts, immutable published versions, runs and their logs.

CREATE TABLE automations (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'live', 'paused')),
    draft JSONB NOT NULL,
    live_version BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX automations_by_workspace ON automations (workspace_id, created_at);
CREATE INDEX automations_live ON automations (workspace_id) WHERE status = 'live';

CREATE TABLE automation_versions (
    automation_id UUID NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    definition JSONB NOT NULL,
    published_at BIGINT NOT NULL,
    published_by UUID,
    PRIMARY KEY (automation_id, version)
);

-- A run's whole state: the version it started on, the node it is at, the
-- steps it took (the fence every advance checks) and what it waits for.
CREATE TABLE automation_runs (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    automation_id UUID NOT NULL,
    version BIGINT NOT NULL,
    contact_id UUID NOT NULL REFERENCES contacts (id),
    conversation_id UUID,
    status TEXT NOT NULL CHECK (status IN ('active', 'waiting', 'done', 'stopped', 'failed')),
    node TEXT NOT NULL,
    step BIGINT NOT NULL,
    -- What a waiting run waits for (`trigger`, `time`, `for`, `answer`),
    -- and the wait itself as JSON.
    wait_kind TEXT,
    wait JSONB,
    context JSONB NOT NULL,
    ended_reason TEXT,
    goal_reached BOOLEAN NOT NULL DEFAULT FALSE,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- A contact is in at most one going run of an automation.
CREATE UNIQUE INDEX automation_runs_one_going ON automation_runs (automation_id, contact_id)
    WHERE status IN ('active', 'waiting');
CREATE INDEX automation_runs_by_automation ON automation_runs (automation_id, id);
CREATE INDEX automation_runs_by_contact ON automation_runs (workspace_id, contact_id, automation_id, started_at);
-- Conversations where a bot waits for the contact's answer ("with bot").
CREATE INDEX automation_runs_bot_conversations ON automation_runs (conversation_id)
    WHERE status = 'waiting' AND wait_kind = 'answer';
CREATE INDEX automation_runs_waiting ON automation_runs (workspace_id, contact_id)
    WHERE status = 'waiting' AND wait_kind IN ('for', 'answer');

-- One line per step, keyed by run and step: written with the step's effect,
-- so a step done before a crash is seen as done after it.
CREATE TABLE automation_run_log (
    run_id UUID NOT NULL,
    step BIGINT NOT NULL,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    automation_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    version BIGINT NOT NULL,
    node TEXT NOT NULL,
    kind TEXT NOT NULL,
    exit TEXT,
    detail TEXT NOT NULL,
    data JSONB NOT NULL,
    message_id UUID,
    at BIGINT NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE INDEX automation_run_log_by_automation ON automation_run_log (automation_id, version, node);
CREATE INDEX automation_run_log_messages ON automation_run_log (workspace_id, contact_id, at)
    WHERE message_id IS NOT NULL;

-- How far the dispatcher has read each workspace's activity log.
CREATE TABLE automation_cursors (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces (id),
    seq BIGINT NOT NULL
);

-- Business hours, reply times and the daily cap of automated messages.
CREATE TABLE offices (
    workspace_id UUID PRIMARY KEY REFERENCES workspaces (id),
    settings JSONB NOT NULL
);

-- Members' availability for assignment.
CREATE TABLE agent_availability (
    agent_id UUID PRIMARY KEY REFERENCES agents (id),
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    away BOOLEAN NOT NULL DEFAULT FALSE,
    max_open BIGINT,
    last_assigned_at BIGINT
);
-- Their open conversations, counted for assignment.
CREATE INDEX conversations_open_by_assignee ON conversations (workspace_id, assignee_id)
    WHERE status = 'open';

-- The automation that sent a message, and what a bot question offers.
ALTER TABLE messages ADD COLUMN origin JSONB;

-- Teams: named groups of members, for assignment and availability.
CREATE TABLE teams (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT teams_name_per_workspace UNIQUE (workspace_id, name)
);
CREATE TABLE team_members (
    team_id UUID NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    agent_id UUID NOT NULL REFERENCES agents (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (team_id, agent_id)
);
