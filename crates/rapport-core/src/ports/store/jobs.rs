//! Durable jobs: claimed, retried, finished or failed by the job runner.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::job::ClaimedJob;

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Claims up to `limit` jobs of these kinds that are due at `now` and
    /// unclaimed (or whose claim ran out), until `until`. Two workers never
    /// hold the same job.
    async fn claim_jobs(
        &self,
        kinds: &[&'static str],
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;
    /// Releases a held job to run again at `due_at`. `Conflict` when the
    /// claim was lost to another worker.
    async fn retry_job(
        &self,
        job: &ClaimedJob,
        due_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Removes a held job that has nothing left to do.
    async fn finish_job(&self, job: &ClaimedJob) -> Result<(), StoreError>;
    /// Fails a held job for good (its worker panicked on it): it is kept
    /// with `error` and never claimed again, and its key is freed.
    /// `Conflict` when the claim was lost.
    async fn fail_job(
        &self,
        job: &ClaimedJob,
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
}
