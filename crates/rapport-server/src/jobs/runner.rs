//! The one loop that runs jobs: claim what is due, dispatch by kind, and
//! settle each job's outcome (done, retried after a back-off, or failed for
//! good with its reason).

use std::time::Duration;

use rapport_core::Timestamp;
use rapport_core::model::job::ClaimedJob;
use rapport_core::model::job::{Job, JobParseError, RetryPolicy};
use rapport_core::ports::store::StoreError;
use tokio::sync::watch;

use super::{bulk, email, fail_for_good};
use crate::AppState;

/// How long a claim lasts: far more than one email or one bulk batch takes,
/// so a job is claimed again only when its runner is gone.
const CLAIM_MILLIS: i64 = 5 * 60_000;
/// Jobs claimed at once.
const CLAIM_BATCH: u32 = 256;
/// How often an idle runner looks for due jobs.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// What a handler made of one job.
pub(super) enum Outcome {
    /// Finished, settled or put back by the handler: nothing left to do.
    Handled,
    /// It did not work this time: tried again after a back-off, or failed
    /// for good once its kind's tries are used up.
    Failed(String),
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Jobs claimed (and run, retried, failed or put back).
    pub claimed: usize,
    /// Bulk messages sent or failed.
    pub bulk_messages: u64,
}

/// Runs due jobs; `serve` runs one (`run`), tests call `run_due`.
#[derive(Clone)]
pub struct Runner {
    state: AppState,
    stop: watch::Receiver<bool>,
    bulk_batch: u32,
}

impl Runner {
    pub fn new(state: AppState) -> Self {
        Self {
            stop: state.stopping(),
            state,
            bulk_batch: rapport_core::services::bulk_sends::BATCH,
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

    /// Runs until the server stops: at once while there is work, else every
    /// half second. Returns once the jobs in flight have finished or been
    /// put back.
    pub async fn run(self) {
        let mut stop = self.stop.clone();
        while !self.stopping() {
            let busy = match self.run_due().await {
                Ok(round) => round.claimed > 0,
                Err(err) => {
                    tracing::error!(error = %err, "due jobs could not be claimed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(IDLE_POLL) => {}
                _ = stop.wait_for(|stopping| *stopping) => {}
            }
        }
        tracing::info!("the job runner stopped");
    }

    /// One round: claims the jobs due now (of every kind, oldest first) and
    /// runs them, each kind's batch by its handler, the kinds side by side.
    pub async fn run_due(&self) -> Result<Round, StoreError> {
        let now = self.state.clock.now();
        let until = Timestamp::from_millis(now.as_millis() + CLAIM_MILLIS);
        let jobs = self
            .state
            .store
            .claim_jobs(&[], now, until, CLAIM_BATCH)
            .await?;
        let claimed = jobs.len();
        let (mut emails, mut sends, mut unreadable) = (Vec::new(), Vec::new(), Vec::new());
        for job in jobs {
            match job.job {
                Ok(Job::EmailFallback { conversation_id }) => emails.push((conversation_id, job)),
                Ok(Job::BulkSend { bulk_send_id }) => sends.push((bulk_send_id, job)),
                Err(_) => unreadable.push(job),
            }
        }
        let ((), bulk_messages, ()) = tokio::join!(
            email::run(self, emails),
            bulk::run(self, sends),
            self.set_aside(unreadable),
        );
        Ok(Round {
            claimed,
            bulk_messages,
        })
    }

    /// A job that cannot be read: one of a kind this version does not know
    /// waits (a newer process may run it) within `RetryPolicy::UNKNOWN_KIND`;
    /// a known kind whose payload does not fit is failed at once.
    async fn set_aside(&self, jobs: Vec<ClaimedJob>) {
        for job in jobs {
            let reason = match &job.job {
                Err(err) => err.to_string(),
                Ok(_) => continue,
            };
            self.conclude(&job, Some(Ok(Outcome::Failed(reason)))).await;
        }
    }

    /// Records how a job went. `None`: it panicked, and was failed for good
    /// by `containment::run_job`.
    pub(super) async fn conclude(
        &self,
        job: &ClaimedJob,
        result: Option<Result<Outcome, StoreError>>,
    ) {
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
        tracing::warn!(job = %job.id, kind = %job.kind, failures, error = %reason, "a job failed; it will be tried again");
        if let Err(err) = self.state.store.retry_job(job, due, &reason).await {
            tracing::warn!(job = %job.id, error = %err, "a failed job could not be put back; it runs again when its claim runs out");
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
