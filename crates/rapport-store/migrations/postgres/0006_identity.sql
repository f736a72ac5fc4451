-- Identity from proof only (docs/security.md): which emails the business
-- vouched for, widget sessions bound to the identity they were issued for
-- and idle-expired, a grace period for the previous identity secret,
-- removed team members, token creators, and the properties a visitor's
-- messenger may write.

-- An email the business set (API, import, Inbox) or signed (user_hash) is
-- verified; one typed in the widget is a claim. Emails stored before now
-- are taken as the business's unless their contact ever had a widget.
ALTER TABLE contacts ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE contacts SET email_verified = TRUE
WHERE email IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM widget_sessions s WHERE s.contact_id = contacts.id);
CREATE INDEX contacts_verified_email ON contacts (workspace_id, email) WHERE email_verified;

-- The user_id a session was issued for (NULL for a lead): a session whose
-- contact has since changed identity no longer works.
ALTER TABLE widget_sessions ADD COLUMN user_id TEXT;
ALTER TABLE widget_sessions ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
UPDATE widget_sessions SET
    user_id = (SELECT c.user_id FROM contacts c WHERE c.id = widget_sessions.contact_id),
    last_used_at = created_at;

ALTER TABLE workspaces ADD COLUMN previous_identity_secret TEXT;
ALTER TABLE workspaces ADD COLUMN previous_identity_secret_until BIGINT;

ALTER TABLE agents ADD COLUMN removed_at BIGINT;

-- Who made a token: it never carries more rights than they have.
ALTER TABLE api_tokens ADD COLUMN created_by UUID REFERENCES agents (id);
UPDATE api_tokens SET created_by = agent_id;

-- Properties a visitor may set from the messenger. Off for new names;
-- names that exist already stay writable so running widgets keep working.
ALTER TABLE property_types ADD COLUMN messenger_writable BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE property_types SET messenger_writable = TRUE;
