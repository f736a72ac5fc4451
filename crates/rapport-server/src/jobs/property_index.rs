//! Property index jobs: copy every contact's value of a custom property a
//! filter named into the property index, a chunk per transaction, so the
//! writer is never held for long. A round copies for at most `ROUND_WORK`
//! and puts its jobs back, due at once, while contacts are left; the
//! position is kept with the property, so a restart resumes there.

use std::time::{Duration, Instant};

use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;

use super::runner::{Outcome, Runner, run_contained};

/// How long one round copies (well within a claim) before its jobs are
/// put back.
const ROUND_WORK: Duration = Duration::from_secs(20);

pub(super) async fn run(runner: &Runner, jobs: Vec<(WorkspaceId, String, ClaimedJob)>) {
    let until = Instant::now() + ROUND_WORK;
    // One at a time: each chunk is a write, and the writer is shared.
    for (workspace, name, job) in jobs {
        if runner.stopping() || Instant::now() >= until {
            runner.put_back(&job).await;
            continue;
        }
        let result = run_contained(
            runner.state(),
            &job,
            run_job(runner, &job, workspace, name, until),
        )
        .await;
        runner.conclude(&job, result).await;
    }
}

async fn run_job(
    runner: &Runner,
    job: &ClaimedJob,
    workspace: WorkspaceId,
    name: String,
    until: Instant,
) -> Result<Outcome, StoreError> {
    let state = runner.state();
    loop {
        if state
            .store
            .index_property_chunk(workspace, name.clone())
            .await?
        {
            state.store.finish_job(job).await?;
            tracing::info!(%workspace, property = %name, "property index ready");
            return Ok(Outcome::Handled);
        }
        if runner.stopping() || Instant::now() >= until {
            state.store.release_job(job, state.clock.now()).await?;
            return Ok(Outcome::Handled);
        }
    }
}
