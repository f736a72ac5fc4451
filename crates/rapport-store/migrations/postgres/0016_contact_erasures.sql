-- Erasures of contacts (GDPR article 17): the record stays once the
-- contact and everything about them is deleted. No foreign key on
-- contact_id: it outlives the contact.
CREATE TABLE contact_erasures (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    contact_id UUID NOT NULL,
    requested_by UUID,
    requested_at BIGINT NOT NULL,
    done_at BIGINT,
    -- What was deleted, once done.
    removed JSONB
);
CREATE INDEX contact_erasures_waiting ON contact_erasures (workspace_id, contact_id)
    WHERE done_at IS NULL;
