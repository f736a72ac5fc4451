//! The store contract: every backend must pass these, one database per
//! test. Each module declares its tests once per backend with
//! `both_backends!`: SQLite always, PostgreSQL when
//! `RAPPORT_TEST_POSTGRES_URL` is set.

mod fixtures;

mod activity;
mod automation_reads;
mod automation_runs;
mod automation_steps;
mod automations;
mod bulk;
mod contact_batch;
mod contacts;
mod conversations;
mod jobs;
mod knowledge;
mod messages;
mod people;
mod sessions;
mod webhooks;
mod workspaces;
