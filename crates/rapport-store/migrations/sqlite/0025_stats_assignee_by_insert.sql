-- A summary's assignee is now written by the statement that inserts the
-- summary (read from its conversation there), instead of by a trigger
-- updating each row it has just inserted: that update doubled the cost of
-- every chunk's insert. The trigger that follows assignee changes stays.
DROP TRIGGER conversation_stats_assignee_written;
