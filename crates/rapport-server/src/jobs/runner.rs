//! The runner's state as its handlers see it, and how a job's outcome is
//! settled: done, retried after a back-off, or failed for good with its
//! reason. The loop that claims and dispatches is in `jobs/mod.rs`.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use rapport_core::Timestamp;
use rapport_core::model::job::{ClaimedJob, Job, JobParseError, RetryPolicy};
use rapport_core::ports::store::StoreError;
use tokio::sync::watch;
use tracing::Instrument;

use crate::AppState;
use crate::containment::panic_message;

/// What a handler made of one job.
pub(super) enum Outcome {
    /// Finished, settled or put back by the handler: nothing left to do.
    Handled,
    /// It did not work this time: tried again after a back-off, or failed
    /// for good once its kind's tries are used up.
    Failed(String),
}

/// Runs due jobs; `serve` runs one (`run`), tests call `run_due`.
#[derive(Clone)]
pub struct Runner {
    pub(super) state: AppState,
    pub(super) stop: watch::Receiver<bool>,
    bulk_batch: u32,
    pub(super) date_scans: super::automations::DateScans,
}

impl Runner {
    pub fn new(state: AppState) -> Self {
        Self {
            stop: state.stopping(),
            state,
            bulk_batch: rapport_core::services::bulk_sends::BATCH,
            date_scans: Default::default(),
        }
    }

    /// Recipients a bulk send's job sends per claim (tests use small ones).
    pub fn bulk_batch(mut self, recipients: u32) -> Self {
        self.bulk_batch = recipients.max(1);
        self
    }

    pub(super) fn state(&self) -> &AppState {
        &self.state
    }

    pub(super) fn bulk_batch_size(&self) -> u32 {
        self.bulk_batch
    }

    /// Whether the server is stopping: claimed jobs that have not started
    /// are put back, and a bulk send stops between chunks.
    pub(super) fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Records how a job went. `None`: it panicked, and was failed for good
    /// by `run_contained`.
    pub(super) async fn conclude(
        &self,
        job: &ClaimedJob,
        result: Option<Result<Outcome, StoreError>>,
    ) {
        let outcome = match &result {
            None => "panicked",
            Some(Ok(Outcome::Handled)) => "handled",
            Some(Err(StoreError::Conflict(_))) => "taken",
            Some(_) => "failed",
        };
        metrics::counter!("rapport_jobs_run_total", "kind" => job.kind.clone(), "outcome" => outcome)
            .increment(1);
        let reason = match result {
            None | Some(Ok(Outcome::Handled)) => return,
            // Another runner holds it now: it carries on.
            Some(Err(StoreError::Conflict(_))) => return,
            Some(Err(err)) => err.to_string(),
            Some(Ok(Outcome::Failed(reason))) => reason,
        };
        let Some(policy) = retry_policy(job) else {
            return fail_for_good(&self.state, job, &reason).await;
        };
        let failures = job.failures + 1;
        if policy.gives_up(failures) {
            let reason = format!("failed {failures} times in a row; the last: {reason}");
            return fail_for_good(&self.state, job, &reason).await;
        }
        let now = self.state.clock.now().as_millis();
        let due = Timestamp::from_millis(now + policy.delay_millis(failures));
        tracing::warn!(job = %job.id, kind = %job.kind, request_id = job.request_id.as_deref().unwrap_or("-"), failures, error = %reason, "a job failed; it will be tried again");
        if let Err(err) = self.state.store.retry_job(job, due, &reason).await {
            tracing::warn!(job = %job.id, error = %err, "a failed job could not be put back; it runs again when its claim runs out");
        }
    }

    /// Runs a round's jobs of one kind one after the other (each is a
    /// write that holds the writer, or a batch of emails), putting back
    /// those not started once the server is stopping.
    pub(super) async fn one_at_a_time<K, Work>(
        &self,
        jobs: Vec<(K, ClaimedJob)>,
        work: impl Fn(K, ClaimedJob) -> Work,
    ) where
        Work: Future<Output = Result<Outcome, StoreError>>,
    {
        for (key, job) in jobs {
            if self.stopping() {
                self.put_back(&job).await;
                continue;
            }
            let result = run_contained(&self.state, &job, work(key, job.clone())).await;
            self.conclude(&job, result).await;
        }
    }

    /// Puts back a claimed job that has not started (the server is
    /// stopping), due as it was.
    pub(super) async fn put_back(&self, job: &ClaimedJob) {
        if let Err(err) = self.state.store.release_job(job, job.due_at).await {
            tracing::warn!(job = %job.id, error = %err, "a job could not be put back; it runs again when its claim runs out");
        }
    }
}

/// Whether this failure of `job` is the last its kind allows, for handlers
/// that end a job their own way then (the email fallback records the
/// messages as not emailed).
pub(super) fn is_last_try(job: &ClaimedJob) -> bool {
    retry_policy(job).is_none_or(|policy| policy.gives_up(job.failures + 1))
}

/// `None`: never tried again (its payload will never fit).
fn retry_policy(job: &ClaimedJob) -> Option<RetryPolicy> {
    match &job.job {
        Ok(known) => Some(known.retry_policy()),
        Err(JobParseError::UnknownKind(_)) => Some(RetryPolicy::UNKNOWN_KIND),
        Err(JobParseError::BadPayload { .. }) => None,
    }
}

/// Fails a held job for good with `reason`, then ends what it was doing so
/// that nothing waits for it forever.
pub async fn fail_for_good(state: &AppState, job: &ClaimedJob, reason: &str) {
    tracing::error!(job = %job.id, kind = %job.kind, request_id = job.request_id.as_deref().unwrap_or("-"), error = %reason, "a job failed for good");
    let now = state.clock.now();
    if let Err(err) = state.store.fail_job(job, now, reason).await {
        tracing::error!(job = %job.id, error = %err, "a failed job could not be recorded; it runs again when its claim runs out");
        return;
    }
    if let Ok(Job::AutomationRun { run_id }) = &job.job {
        let why = format!("its job failed: {reason}");
        if let Err(err) = state
            .store
            .stop_run(job.workspace_id, *run_id, &why, now)
            .await
        {
            tracing::error!(run = %run_id, error = %err, "a failed automation run could not be stopped");
        }
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

/// Runs one job's work; if it panics, the job is failed for good with the
/// panic's message as its reason (`fail_for_good`) and `None` is returned,
/// so the runner carries on with the other jobs.
pub async fn run_contained<T>(
    state: &AppState,
    job: &ClaimedJob,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Option<Result<T, StoreError>> {
    // The job's log lines name it and the request that caused it; jobs it
    // enqueues carry that request on.
    let span = tracing::info_span!(
        "job",
        id = %job.id,
        kind = %job.kind,
        request_id = job.request_id.as_deref().unwrap_or("-"),
    );
    let work = rapport_core::request_id::scope(job.request_id.clone(), work);
    match AssertUnwindSafe(work.instrument(span)).catch_unwind().await {
        Ok(result) => Some(result),
        Err(payload) => {
            let reason = format!("the job panicked: {}", panic_message(&*payload));
            fail_for_good(state, job, &reason).await;
            None
        }
    }
}
