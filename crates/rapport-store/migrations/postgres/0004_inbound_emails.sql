-- Emailed replies already taken, by their Message-ID, so a mail server or a
-- webhook that delivers the same email again does not post it twice.
CREATE TABLE inbound_emails (
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    email_key TEXT NOT NULL,
    message_id UUID NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, email_key)
);
