//! Retention jobs: delete a workspace's closed conversations untouched for
//! longer than its retention period (`retention_days`), a batch per
//! transaction, then run again a day later. A workspace that no longer
//! keeps a period has its job end.

use rapport_core::Timestamp;
use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;

use super::runner::{Outcome, Runner};

/// Conversations deleted per transaction.
const BATCH: u32 = 200;
/// Batches one job runs before putting itself back (due at once), so a
/// large backlog does not hold a lane for long.
const BATCHES_PER_ROUND: u32 = 25;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

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
    let days = match state.store.workspace(workspace).await {
        Ok(found) => found.retention_days,
        Err(StoreError::NotFound) => None,
        Err(other) => return Err(other),
    };
    let Some(days) = days else {
        state.store.finish_job(job).await?;
        return Ok(Outcome::Handled);
    };
    let now = state.clock.now();
    let before = Timestamp::from_millis(now.as_millis() - i64::from(days) * DAY_MS);
    let mut deleted = 0;
    for _ in 0..BATCHES_PER_ROUND {
        let (batch, more) = state
            .store
            .delete_closed_conversations(workspace, before, BATCH)
            .await?;
        deleted += batch;
        crate::files::delete_dropped(state).await?;
        if !more {
            if deleted > 0 {
                tracing::info!(%workspace, deleted, days, "old closed conversations deleted");
            }
            let tomorrow = Timestamp::from_millis(now.as_millis() + DAY_MS);
            state.store.release_job(job, tomorrow).await?;
            return Ok(Outcome::Handled);
        }
        if runner.stopping() {
            break;
        }
    }
    // More left: again at once, after the other lanes' work.
    state.store.release_job(job, now).await?;
    Ok(Outcome::Handled)
}
