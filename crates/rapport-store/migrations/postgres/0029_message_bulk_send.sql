-- The bulk send that wrote a message (SQLite indexes such messages for
-- search after the send; PostgreSQL's index takes them as it takes any).
ALTER TABLE messages ADD COLUMN bulk_send_id UUID;
