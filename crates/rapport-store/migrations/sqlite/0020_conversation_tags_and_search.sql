-- The team's tags on conversations.
CREATE TABLE conversation_tags (
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    tag TEXT NOT NULL,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_by_tag ON conversation_tags (workspace_id, tag);

-- Full-text search over messages. The index holds no copy of the text
-- (contentless); each message gets a stable integer row (`n`, an explicit
-- INTEGER PRIMARY KEY, which VACUUM and backups keep) that is the index's
-- rowid, in the order messages were written: newest first is rowid DESC.
-- `ws` holds the workspace id as one word, so a search intersects it with
-- the query's words inside the index. Prefixes of 2 and 3 characters
-- have their own index, for words still being typed.
CREATE TABLE message_search_rows (
    n INTEGER PRIMARY KEY,
    message_id BLOB NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE message_search USING fts5 (
    ws, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);

CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search_rows (message_id) VALUES (new.id);
    INSERT INTO message_search (rowid, ws, body)
        VALUES ((SELECT n FROM message_search_rows WHERE message_id = new.id),
                lower(hex(new.workspace_id)), new.body);
END;

CREATE TRIGGER message_search_update AFTER UPDATE OF body ON messages BEGIN
    DELETE FROM message_search
        WHERE rowid = (SELECT n FROM message_search_rows WHERE message_id = old.id);
    INSERT INTO message_search (rowid, ws, body)
        SELECT n, lower(hex(new.workspace_id)), new.body
        FROM message_search_rows WHERE message_id = new.id;
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search
        WHERE rowid = (SELECT n FROM message_search_rows WHERE message_id = old.id);
    DELETE FROM message_search_rows WHERE message_id = old.id;
END;

-- The messages written before this migration, oldest first.
INSERT INTO message_search_rows (message_id)
    SELECT id FROM messages ORDER BY created_at, id;
INSERT INTO message_search (rowid, ws, body)
    SELECT r.n, lower(hex(m.workspace_id)), m.body
    FROM message_search_rows r JOIN messages m ON m.id = r.message_id;
