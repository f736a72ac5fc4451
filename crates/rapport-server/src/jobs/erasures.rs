//! Erasure jobs: delete everything stored about a contact, in one
//! transaction, and complete the erasure's record (see
//! `ContactStore::erase_contact`). Running one again finds the record done
//! and only finishes the job.

use rapport_core::model::ids::ErasureId;
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;

use super::runner::{Outcome, Runner};

pub(super) async fn run(runner: &Runner, jobs: Vec<(ErasureId, ClaimedJob)>) {
    // One at a time: each is one (possibly large) write.
    runner
        .one_at_a_time(jobs, |erasure, job| async move {
            run_job(runner, &job, erasure).await
        })
        .await;
}

async fn run_job(
    runner: &Runner,
    job: &ClaimedJob,
    erasure: ErasureId,
) -> Result<Outcome, StoreError> {
    let state = runner.state();
    match state
        .store
        .erase_contact(job.workspace_id, erasure, state.clock.now())
        .await
    {
        Ok(done) => {
            tracing::info!(erasure = %done.id, removed = ?done.removed, "a contact was erased");
        }
        // The record is gone with its workspace: nothing left to do.
        Err(StoreError::NotFound) => {}
        Err(other) => return Err(other),
    }
    crate::files::delete_dropped(state).await?;
    state.store.finish_job(job).await?;
    Ok(Outcome::Handled)
}
