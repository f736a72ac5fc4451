-- Each conversation's summary for reports: how it started, when it was
-- first answered by a person of the team (conversations the visitor started)
-- and when it was last closed. Written in the same transaction as the
-- messages and status changes it sums up.
CREATE TABLE conversation_stats (
    conversation_id UUID PRIMARY KEY REFERENCES conversations (id),
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    channel TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    first_response_at BIGINT,
    first_responder_id UUID,
    closed_at BIGINT
);
CREATE INDEX conversation_stats_started ON conversation_stats (workspace_id, started_at);
CREATE INDEX conversation_stats_responded ON conversation_stats (workspace_id, first_response_at)
    WHERE first_response_at IS NOT NULL;
CREATE INDEX conversation_stats_closed ON conversation_stats (workspace_id, closed_at)
    WHERE closed_at IS NOT NULL;

-- The conversations before this migration, from their messages and log
-- (a bulk send's messages found through a temporary index).
CREATE INDEX bulk_send_recipients_by_message ON bulk_send_recipients (message_id);
INSERT INTO conversation_stats (conversation_id, workspace_id, channel, started_at, closed_at)
SELECT c.id, c.workspace_id,
       COALESCE((SELECT CASE
                     WHEN m.origin ->> 'automation_id' IS NOT NULL THEN 'automation'
                     WHEN m.author_type = 'contact' THEN 'widget'
                     WHEN m.author_type = 'bot' THEN 'bot'
                     WHEN EXISTS (SELECT 1 FROM bulk_send_recipients b WHERE b.message_id = m.id) THEN 'bulk'
                     ELSE 'team' END
                 FROM messages m WHERE m.conversation_id = c.id
                 ORDER BY m.created_at, m.id LIMIT 1), 'team'),
       c.created_at,
       CASE WHEN c.status = 'closed' THEN
           COALESCE((SELECT MAX(a.created_at) FROM activity a
                     WHERE a.workspace_id = c.workspace_id AND a.contact_id = c.contact_id
                       AND a.conversation_id = c.id AND a.kind = 'status_changed'
                       AND a.data ->> 'status' = 'closed'), c.updated_at)
       END
FROM conversations c;
UPDATE conversation_stats
SET (first_response_at, first_responder_id) = (
    SELECT m.created_at, m.author_id FROM messages m
    WHERE m.conversation_id = conversation_stats.conversation_id
      AND m.author_type = 'agent' AND m.kind = 'comment' AND m.origin IS NULL
    ORDER BY m.created_at, m.id LIMIT 1)
WHERE channel = 'widget';
DROP INDEX bulk_send_recipients_by_message;
