-- A bulk send's recipients stored in the order of their key (send,
-- contact) instead of the order the audience's search returned them. A
-- send marks its recipients in contact order, a chunk of a few hundred at a
-- time; in a table with a rowid each mark landed on its own page wherever
-- the search had put the row, so every commit of a send rewrote hundreds
-- of the send's pages: more than half of what a send of 100,000 wrote to
-- the log (docs/benchmarks.md, "A bulk send's recipients in key order").
-- Without a rowid the rows are the key's B-tree, so a chunk's marks share a
-- few neighbouring pages, and the key's separate index is gone.
CREATE TABLE bulk_send_recipients_in_order (
    bulk_send_id BLOB NOT NULL REFERENCES bulk_sends (id),
    workspace_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    message_id BLOB,
    conversation_id BLOB,
    sent_at INTEGER,
    error TEXT,
    PRIMARY KEY (bulk_send_id, contact_id)
) WITHOUT ROWID;

INSERT INTO bulk_send_recipients_in_order
    (bulk_send_id, workspace_id, contact_id, message_id, conversation_id, sent_at, error)
SELECT bulk_send_id, workspace_id, contact_id, message_id, conversation_id, sent_at, error
FROM bulk_send_recipients;

DROP TABLE bulk_send_recipients;
ALTER TABLE bulk_send_recipients_in_order RENAME TO bulk_send_recipients;

CREATE INDEX bulk_send_recipients_pending ON bulk_send_recipients (bulk_send_id, contact_id)
    WHERE message_id IS NULL AND error IS NULL;
CREATE INDEX bulk_send_recipients_failed ON bulk_send_recipients (bulk_send_id)
    WHERE error IS NOT NULL;
