-- The email fallback: the workspace's settings, contacts who unsubscribed,
-- each team message's email state, and at most one pending job per key
-- (one email job per conversation carries its burst of messages).

ALTER TABLE workspaces ADD COLUMN email_fallback_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE workspaces ADD COLUMN email_fallback_delay_minutes BIGINT NOT NULL DEFAULT 10;
ALTER TABLE workspaces ADD COLUMN email_from_address TEXT;

ALTER TABLE contacts ADD COLUMN unsubscribed_at BIGINT;

-- NULL for what is never emailed (notes, the contact's own messages).
ALTER TABLE messages ADD COLUMN email_status TEXT
    CHECK (email_status IN ('pending', 'emailed', 'skipped'));
CREATE INDEX messages_email_pending ON messages (conversation_id, created_at)
    WHERE email_status = 'pending';

ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX jobs_one_per_key ON jobs (kind, dedupe_key);
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (kind, due_at);
