-- Failures in a row, for the job runner's back-off and its cap. `attempts`
-- counts claims (and fences a holder whose claim ran out); a bulk send's
-- job is claimed once per batch, so it cannot tell failures apart.
ALTER TABLE jobs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;

-- One runner claims due jobs of every kind, oldest due first; failed jobs
-- are kept (with their reason) but are never claimed.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (due_at) WHERE failed_at IS NULL;
