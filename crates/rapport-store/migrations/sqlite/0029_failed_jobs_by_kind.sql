-- Failed jobs by kind, for the job counts `/metrics` reads on every
-- scrape: the failed ones are counted from this index alone, and the
-- others through the kinds index of the jobs not failed (0011), instead of
-- one pass over every job's row for both (docs/benchmarks.md, "Job counts
-- in two queries").
CREATE INDEX jobs_failed ON jobs (kind) WHERE failed_at IS NOT NULL;
