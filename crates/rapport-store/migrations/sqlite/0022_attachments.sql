-- Files attached to messages. Uploaded first (message_id NULL: unsent,
-- only their uploader's), then claimed by the message that sends them, in
-- its write. The bytes are in the file store under workspace/id.
CREATE TABLE attachments (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    uploader_type TEXT NOT NULL CHECK (uploader_type IN ('agent', 'contact')),
    uploader_id BLOB NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    message_id BLOB,
    conversation_id BLOB,
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_unsent ON attachments (workspace_id, uploader_id) WHERE message_id IS NULL;
CREATE INDEX attachments_by_conversation ON attachments (workspace_id, conversation_id)
    WHERE conversation_id IS NOT NULL;

-- What a message says about its files (JSON), read with the message.
ALTER TABLE messages ADD COLUMN attachments TEXT;

-- Files whose rows were deleted (erasures, retention), until the server
-- has deleted their bytes.
CREATE TABLE attachment_deletions (
    workspace_id BLOB NOT NULL,
    attachment_id BLOB NOT NULL,
    PRIMARY KEY (workspace_id, attachment_id)
);
