//! Durable jobs: claimed, retried, released, finished or failed by the job
//! runner.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::job::ClaimedJob;

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Claims up to `limit` jobs of these kinds (no kinds: of any kind) that
    /// are due at `now` and unclaimed (or whose claim ran out), until
    /// `until`, oldest due first. Two workers never hold the same job.
    async fn claim_jobs(
        &self,
        kinds: &[&'static str],
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;
    /// As `claim_jobs`, of every kind but these: the kinds no lane of the
    /// runner claims on its own (ones a newer version added).
    async fn claim_jobs_except(
        &self,
        kinds: &[&'static str],
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;
    /// Releases a held job that failed to run again at `due_at`, keeping
    /// `error` and counting the failure. `Conflict` when the claim was lost
    /// to another worker.
    async fn retry_job(
        &self,
        job: &ClaimedJob,
        due_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Releases a held job that did not fail (it made progress, or never
    /// started) to run again at `due_at`; its failures in a row restart.
    async fn release_job(&self, job: &ClaimedJob, due_at: Timestamp) -> Result<(), StoreError>;
    /// Removes a held job that has nothing left to do.
    async fn finish_job(&self, job: &ClaimedJob) -> Result<(), StoreError>;
    /// Fails a held job for good (it panicked, kept failing, or cannot be
    /// read): it is kept with `error` and never claimed again, and its key
    /// is freed. `Conflict` when the claim was lost.
    async fn fail_job(
        &self,
        job: &ClaimedJob,
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Up to `limit` jobs due at `now` that nobody holds and that have not
    /// failed for good: what a runner would claim next. Read only.
    async fn due_jobs(&self, now: Timestamp, limit: u32) -> Result<Vec<ClaimedJob>, StoreError>;
    /// How many jobs of each kind are waiting, due (or held) and failed for
    /// good at `now`, and when the oldest due one came due: the job
    /// runner's backlog, for `/metrics`. Read only.
    async fn job_counts(&self, now: Timestamp) -> Result<Vec<JobCount>, StoreError>;
}

/// One kind's jobs at a moment (see `JobStore::job_counts`); the default is
/// a kind with none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    /// Not yet due.
    pub waiting: i64,
    /// Due now, held by a runner or not.
    pub due: i64,
    pub failed: i64,
    /// When the oldest due job came due.
    pub oldest_due_at: Option<Timestamp>,
}
