-- A bulk send's messages join the search index after the send, while the
-- writer is idle, instead of inside the send's transactions: each one's
-- share of the index's merges had made every send slower than the one
-- before (docs/benchmarks.md, "Bulk sends no longer slow down"). Such a
-- message is marked by the bulk send that wrote it, and its index row
-- waits in `message_search_backlog` until the writer copies it into the
-- index (sqlite.rs, `index_backlog`). Every other message is indexed as
-- before, in the transaction that writes it.
ALTER TABLE messages ADD COLUMN bulk_send_id BLOB;

CREATE TABLE message_search_backlog (
    n INTEGER PRIMARY KEY
);

DROP TRIGGER message_search_insert;
CREATE TRIGGER message_search_insert AFTER INSERT ON messages
WHEN new.bulk_send_id IS NULL BEGIN
    INSERT INTO message_search_rows (message_id) VALUES (new.id);
    INSERT INTO message_search (rowid, ws, body)
        VALUES ((SELECT n FROM message_search_rows WHERE message_id = new.id),
                lower(hex(new.workspace_id)), new.body);
END;

CREATE TRIGGER message_search_insert_later AFTER INSERT ON messages
WHEN new.bulk_send_id IS NOT NULL BEGIN
    INSERT INTO message_search_rows (message_id) VALUES (new.id);
    INSERT INTO message_search_backlog (n)
        SELECT n FROM message_search_rows WHERE message_id = new.id;
END;

-- A message still in the backlog is not in the index yet: its edit or
-- removal leaves the index alone (the backlog reads the current text).
DROP TRIGGER message_search_update;
CREATE TRIGGER message_search_update AFTER UPDATE OF body ON messages BEGIN
    DELETE FROM message_search
        WHERE rowid = (SELECT r.n FROM message_search_rows r WHERE r.message_id = old.id
                         AND NOT EXISTS (SELECT 1 FROM message_search_backlog b WHERE b.n = r.n));
    INSERT INTO message_search (rowid, ws, body)
        SELECT r.n, lower(hex(new.workspace_id)), new.body
        FROM message_search_rows r WHERE r.message_id = new.id
          AND NOT EXISTS (SELECT 1 FROM message_search_backlog b WHERE b.n = r.n);
END;

DROP TRIGGER message_search_delete;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search
        WHERE rowid = (SELECT r.n FROM message_search_rows r WHERE r.message_id = old.id
                         AND NOT EXISTS (SELECT 1 FROM message_search_backlog b WHERE b.n = r.n));
    DELETE FROM message_search_backlog
        WHERE n = (SELECT n FROM message_search_rows WHERE message_id = old.id);
    DELETE FROM message_search_rows WHERE message_id = old.id;
END;
