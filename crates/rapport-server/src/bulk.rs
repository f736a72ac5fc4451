//! The bulk send worker: claims `bulk_send` jobs and sends each a batch of
//! recipients at a time (see `rapport_core::model::bulk`), releasing the job
//! between batches so a long send never outlives its claim. A send that was
//! cancelled, or has no one left, is finished and its job removed.

use std::time::Duration;

use rapport_core::Timestamp;
use rapport_core::model::bulk::BulkStatus;
use rapport_core::model::ids::BulkSendId;
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;
use rapport_core::services::bulk_sends as bulk;

use crate::{AppState, containment};

/// How long a claim lasts: far more than one batch takes.
const CLAIM_MILLIS: i64 = 5 * 60_000;
/// Sends worked on at once.
const JOBS: u32 = 4;

/// Runs until the server stops: every half second, or at once while there
/// is work.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut stopping = state.stopping();
        loop {
            let ran = match run_due(&state, bulk::BATCH).await {
                Ok(ran) => ran,
                Err(err) => {
                    tracing::error!(error = %err, "bulk send jobs could not be run");
                    0
                }
            };
            if ran > 0 {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stopping.changed() => return,
            }
        }
    });
}

/// Claims the due bulk send jobs and runs one batch of up to `batch`
/// recipients of each; returns how many messages were sent or failed.
/// Tests call this directly, with small batches.
pub async fn run_due(state: &AppState, batch: u32) -> Result<u64, StoreError> {
    let now = state.clock.now();
    let until = Timestamp::from_millis(now.as_millis() + CLAIM_MILLIS);
    let jobs = state
        .store
        .claim_jobs(&[bulk::JOB_KIND], now, until, JOBS)
        .await?;
    // A panic fails its own send's job (recorded on it), not the others.
    let runs = jobs
        .iter()
        .map(|job| containment::run_job(state, job, run_job(state, job.clone(), batch)));
    let done = futures::future::join_all(runs).await;
    let mut total = 0;
    for result in done.into_iter().flatten() {
        match result {
            Ok(n) => total += n,
            // Another worker holds the job now: it carries on.
            Err(StoreError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(total)
}

async fn run_job(state: &AppState, job: ClaimedJob, batch: u32) -> Result<u64, StoreError> {
    let id: BulkSendId = match job
        .payload
        .get("bulk_send_id")
        .cloned()
        .map(serde_json::from_value)
    {
        Some(Ok(id)) => id,
        _ => {
            tracing::error!(job = %job.id, "a bulk send job without its send; dropped");
            return state.store.finish_job(&job).await.map(|()| 0);
        }
    };
    let send = match state.store.bulk_send(job.workspace_id, id).await {
        Ok(send) => send,
        Err(StoreError::NotFound) => return state.store.finish_job(&job).await.map(|()| 0),
        Err(other) => return Err(other),
    };
    if send.status != BulkStatus::Sending {
        state.store.finish_job(&job).await?;
        return Ok(0);
    }
    let outcome = bulk::send_batch(state.deps(), &send, batch).await?;
    if outcome.more {
        // Released, due now: the next round claims it again.
        state
            .store
            .retry_job(&job, state.clock.now(), "more recipients to send")
            .await?;
    } else {
        state
            .store
            .finish_bulk_send(send.workspace_id, send.id, state.clock.now())
            .await?;
        state.store.finish_job(&job).await?;
        tracing::info!(bulk_send = %send.id, total = send.total, "bulk send done");
    }
    Ok(outcome.sent + outcome.failed)
}
