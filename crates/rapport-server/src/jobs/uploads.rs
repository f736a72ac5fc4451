//! The sweep of unsent uploads: a file uploaded and never sent within a
//! day (a visitor who closed the tab, an agent who dropped a draft) is
//! deleted, its row and its bytes. One job per workspace, due when its
//! oldest unsent upload expires; each upload makes sure one is pending.

use rapport_core::Timestamp;
use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::{StoreError, UNSENT_KEPT_MS};

use super::runner::{Outcome, Runner};

/// Uploads dropped per transaction.
const BATCH: u32 = 200;
/// Batches one job runs before putting itself back (due at once).
const BATCHES_PER_ROUND: u32 = 25;

pub(super) async fn run(runner: &Runner, jobs: Vec<(WorkspaceId, ClaimedJob)>) {
    runner
        .one_at_a_time(jobs, |workspace, job| async move {
            run_job(runner, &job, workspace).await
        })
        .await;
}

async fn run_job(
    runner: &Runner,
    job: &ClaimedJob,
    workspace: WorkspaceId,
) -> Result<Outcome, StoreError> {
    let state = runner.state();
    let now = state.clock.now();
    let before = Timestamp::from_millis(now.as_millis() - UNSENT_KEPT_MS);
    let mut dropped = 0;
    for _ in 0..BATCHES_PER_ROUND {
        let (batch, oldest) = state
            .store
            .drop_unsent_attachments(workspace, before, BATCH)
            .await?;
        dropped += batch;
        crate::files::delete_dropped(state).await?;
        let more = oldest.is_some_and(|oldest| oldest < before);
        if !more {
            if dropped > 0 {
                tracing::info!(%workspace, dropped, "uploads never sent were deleted");
            }
            match oldest {
                // Again when the oldest one left expires.
                Some(oldest) => {
                    let due = Timestamp::from_millis(oldest.as_millis() + UNSENT_KEPT_MS);
                    state.store.release_job(job, due).await?;
                }
                None => state.store.finish_job(job).await?,
            }
            return Ok(Outcome::Handled);
        }
        if runner.stopping() {
            break;
        }
    }
    state.store.release_job(job, now).await?;
    Ok(Outcome::Handled)
}
