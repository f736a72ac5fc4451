-- Foreign keys that a chat message's write checked row by row, and that
-- guard nothing another lock does not: PostgreSQL runs a query for every
-- row's every key (nine of these for each message a bulk send writes,
-- seven on the one workspace row every write of the workspace locks). The
-- keys to the contact stay: an erasure locks the contact it deletes, and
-- a message's timeline entries and new conversation wait on that lock.
--
-- - workspace_id: a workspace row is never deleted, and every id written
--   comes from the authenticated caller's workspace;
-- - messages and conversation_stats to their conversation: written in the
--   transaction that inserts the conversation, or that holds it locked
--   (FOR NO KEY UPDATE) from the first read; a conversation is deleted
--   only by an erasure (which holds its contact) or by retention, which
--   now locks the conversations it deletes (FOR UPDATE, in id order) and
--   so waits for a message being written to one, then keeps it if the
--   message reopened or touched it.
ALTER TABLE conversations DROP CONSTRAINT conversations_workspace_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_workspace_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_fkey;
ALTER TABLE activity DROP CONSTRAINT activity_workspace_id_fkey;
ALTER TABLE jobs DROP CONSTRAINT jobs_workspace_id_fkey;
ALTER TABLE conversation_stats DROP CONSTRAINT conversation_stats_conversation_id_fkey;
ALTER TABLE conversation_stats DROP CONSTRAINT conversation_stats_workspace_id_fkey;
