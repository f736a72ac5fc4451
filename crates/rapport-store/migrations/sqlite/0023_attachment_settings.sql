-- What each workspace takes as attachments (JSON: the largest file in
-- bytes and the kinds taken); the defaults are 10 MiB and every kind.
ALTER TABLE workspaces ADD COLUMN attachments TEXT NOT NULL
    DEFAULT '{"max_bytes":10485760,"kinds":["image","pdf","text","zip","office"]}';

-- Unsent uploads by age, for the sweep that deletes those never sent.
CREATE INDEX attachments_unsent_by_age ON attachments (workspace_id, created_at)
    WHERE message_id IS NULL;
