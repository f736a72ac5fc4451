//! Bulk sends' jobs: each claim sends one batch of recipients (see
//! `rapport_core::model::bulk`), in chunks, and puts the job back, due at once,
//! while recipients are left, so a long send never outlives its claim and
//! a stopping server leaves it to be resumed. A send that was cancelled, or
//! has no one left, is finished and its job removed.

use futures::StreamExt;
use rapport_core::model::bulk::BulkStatus;
use rapport_core::model::ids::BulkSendId;
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;
use rapport_core::services::bulk_sends as bulk;

use super::runner::{Outcome, Runner, run_contained};

/// Sends worked on at once.
const SENDS_AT_ONCE: usize = 4;

/// Runs one round's bulk send jobs; returns how many messages were sent or
/// failed.
pub(super) async fn run(runner: &Runner, jobs: Vec<(BulkSendId, ClaimedJob)>) -> u64 {
    let state = runner.state();
    futures::stream::iter(jobs)
        .map(|(id, job)| async move {
            if runner.stopping() {
                runner.put_back(&job).await;
                return 0;
            }
            // A panic fails this send's job (and ends the send), not the
            // others.
            let result = run_contained(state, &job, run_job(runner, &job, id)).await;
            let messages = match &result {
                Some(Ok((_, messages))) => *messages,
                _ => 0,
            };
            runner
                .conclude(&job, result.map(|r| r.map(|(outcome, _)| outcome)))
                .await;
            messages
        })
        .buffer_unordered(SENDS_AT_ONCE)
        .fold(0, |total, messages| async move { total + messages })
        .await
}

/// One batch of one send: its outcome and the messages sent or failed.
async fn run_job(
    runner: &Runner,
    job: &ClaimedJob,
    id: BulkSendId,
) -> Result<(Outcome, u64), StoreError> {
    let state = runner.state();
    let send = match state.store.bulk_send(job.workspace_id, id).await {
        Ok(send) => send,
        Err(StoreError::NotFound) => {
            state.store.finish_job(job).await?;
            return Ok((Outcome::Handled, 0));
        }
        Err(other) => return Err(other),
    };
    if send.status != BulkStatus::Sending {
        state.store.finish_job(job).await?;
        return Ok((Outcome::Handled, 0));
    }
    let stopping = || runner.stopping();
    let outcome =
        bulk::send_batch(state.deps(), &send, runner.bulk_batch_size(), &stopping).await?;
    let messages = outcome.sent + outcome.failed;
    if !outcome.more {
        state
            .store
            .finish_bulk_send(send.workspace_id, send.id, state.clock.now())
            .await?;
        state.store.finish_job(job).await?;
        tracing::info!(bulk_send = %send.id, total = send.total, "bulk send done");
        return Ok((Outcome::Handled, messages));
    }
    if messages == 0
        && !outcome.stopped
        && let Some(why) = outcome.error
    {
        // Nothing went through, for an error: back off rather than spin.
        return Ok((Outcome::Failed(why), 0));
    }
    // Progress (or a stop between chunks): due again at once, here or, after
    // a restart, in the next process.
    state.store.release_job(job, state.clock.now()).await?;
    Ok((Outcome::Handled, messages))
}
