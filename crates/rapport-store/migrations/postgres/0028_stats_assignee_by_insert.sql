-- A summary's assignee is now written by the statement that inserts the
-- summary (read from its conversation there), as on SQLite; the trigger
-- that filled it in before each insert would only read it again. The
-- trigger that follows assignee changes stays.
DROP TRIGGER conversation_stats_assignee_written ON conversation_stats;
DROP FUNCTION conversation_stats_assignee_written();
