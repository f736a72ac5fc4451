-- Erasures of contacts (GDPR article 17): the record stays once the
-- contact and everything about them is deleted. No foreign key on
-- contact_id: it outlives the contact.
CREATE TABLE contact_erasures (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    contact_id BLOB NOT NULL,
    requested_by BLOB,
    requested_at INTEGER NOT NULL,
    done_at INTEGER,
    -- What was deleted (JSON), once done.
    removed TEXT
);
CREATE INDEX contact_erasures_waiting ON contact_erasures (workspace_id, contact_id)
    WHERE done_at IS NULL;
