-- A send's sent and failed recipients, counted in the transactions that
-- mark them, so that reading a send's progress costs one row however many
-- recipients it has. Counting the partial indexes instead visited every
-- recipient a send had marked since the table was last vacuumed (41 ms a
-- read of a send of 100,000 on PostgreSQL while it ran).
ALTER TABLE bulk_sends ADD COLUMN sent_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bulk_sends ADD COLUMN failed_count BIGINT NOT NULL DEFAULT 0;
UPDATE bulk_sends SET
    sent_count = (SELECT COUNT(*) FROM bulk_send_recipients r
                  WHERE r.bulk_send_id = bulk_sends.id AND r.message_id IS NOT NULL),
    failed_count = (SELECT COUNT(*) FROM bulk_send_recipients r
                    WHERE r.bulk_send_id = bulk_sends.id AND r.error IS NOT NULL);
