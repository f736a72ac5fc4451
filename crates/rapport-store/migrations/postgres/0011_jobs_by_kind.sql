-- A lane claims the due jobs of its own kinds. With only `jobs_due`
-- (due_at) and `jobs_one_per_key` (kind, dedupe_key), a claim of one kind
-- walked every job of that kind, due or not: a bulk send queues an email
-- job per recipient (due an hour later), so each claim of the email lane
-- read them all, and each send ran slower than the one before. This index
-- lets a claim read only the due jobs of its kinds.
CREATE INDEX jobs_kind_due ON jobs (kind, due_at) WHERE failed_at IS NULL;
