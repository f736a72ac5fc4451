-- Reports by member read each conversation's assignee. It is kept on the
-- summary, by triggers, so that a report reads the summaries alone instead
-- of looking up a million conversations: set when the summary is written,
-- and whenever the conversation's assignee changes (a reply, an assignment,
-- a member removed), in the same transaction.
ALTER TABLE conversation_stats ADD COLUMN assignee_id BLOB;
UPDATE conversation_stats
SET assignee_id = (SELECT c.assignee_id FROM conversations c WHERE c.id = conversation_stats.conversation_id);

CREATE TRIGGER conversation_stats_assignee_written AFTER INSERT ON conversation_stats
BEGIN
    UPDATE conversation_stats
    SET assignee_id = (SELECT c.assignee_id FROM conversations c WHERE c.id = NEW.conversation_id)
    WHERE conversation_id = NEW.conversation_id;
END;

CREATE TRIGGER conversation_stats_assignee_changed AFTER UPDATE OF assignee_id ON conversations
WHEN OLD.assignee_id IS NOT NEW.assignee_id
BEGIN
    UPDATE conversation_stats SET assignee_id = NEW.assignee_id WHERE conversation_id = NEW.id;
END;

-- Each report query reads one of these indexes and nothing else: the time
-- that puts a conversation in the period first, then what it is grouped
-- by and measured with.
DROP INDEX conversation_stats_started;
DROP INDEX conversation_stats_responded;
DROP INDEX conversation_stats_closed;
CREATE INDEX conversation_stats_started
    ON conversation_stats (workspace_id, started_at, channel, assignee_id);
CREATE INDEX conversation_stats_responded
    ON conversation_stats (workspace_id, first_response_at, started_at, channel, first_responder_id)
    WHERE first_response_at IS NOT NULL;
CREATE INDEX conversation_stats_closed
    ON conversation_stats (workspace_id, closed_at, started_at, channel, assignee_id)
    WHERE closed_at IS NOT NULL;
