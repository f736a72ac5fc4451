//! Running the durable jobs (`rapport_core::model::job::Job`): one [`Runner`]
//! claims due jobs of every kind, hands each kind's batch to its handler
//! ([`email`]: the email fallback; [`bulk`]: bulk sends), retries a failure
//! with a back-off up to its kind's cap (`Job::retry_policy`), and fails a
//! job for good, with the reason, when it panics, reaches the cap or cannot
//! be read. `serve` starts it and, when the server stops, waits for it to
//! drain: it claims nothing more, lets the jobs in flight finish and puts
//! back the claimed ones that have not started.
//!
//! What a job failed for good leaves behind: a bulk send is ended, its
//! pending recipients marked failed with the reason; an email job's
//! messages stay pending (a later team message in the conversation
//! schedules a new job that takes them along; otherwise they are only in
//! the widget). The job row itself keeps the reason (`last_error`).

mod bulk;
mod email;
mod runner;

use rapport_core::model::job::ClaimedJob;
use rapport_core::model::job::Job;

pub use runner::{Round, Runner};

use crate::AppState;

/// Fails a held job for good with `reason`, then ends what it was doing so
/// that nothing waits for it forever.
pub async fn fail_for_good(state: &AppState, job: &ClaimedJob, reason: &str) {
    tracing::error!(job = %job.id, kind = %job.kind, error = %reason, "a job failed for good");
    let now = state.clock.now();
    if let Err(err) = state.store.fail_job(job, now, reason).await {
        tracing::error!(job = %job.id, error = %err, "a failed job could not be recorded; it runs again when its claim runs out");
        return;
    }
    if let Ok(Job::BulkSend { bulk_send_id }) = &job.job {
        let ended = state
            .store
            .fail_bulk_send(job.workspace_id, *bulk_send_id, reason, now)
            .await;
        if let Err(err) = ended {
            tracing::error!(bulk_send = %bulk_send_id, error = %err, "a failed bulk send could not be ended");
        }
    }
}
