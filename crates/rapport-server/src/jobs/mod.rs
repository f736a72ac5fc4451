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

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use rapport_core::Timestamp;
use rapport_core::model::job::{ClaimedJob, Job};
use rapport_core::ports::store::StoreError;

pub use runner::{Runner, fail_for_good, run_contained};

use runner::Outcome;

use crate::containment::panic_message;

/// How long a claim lasts: far more than one email or one bulk batch takes,
/// so a job is claimed again only when its runner is gone.
const CLAIM_MILLIS: i64 = 5 * 60_000;
/// Jobs claimed at once.
const CLAIM_BATCH: u32 = 256;
/// How often an idle runner looks for due jobs.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Jobs claimed (and run, retried, failed or put back).
    pub claimed: usize,
    /// Bulk messages sent or failed.
    pub bulk_messages: u64,
}

impl Runner {
    /// Runs until the server stops: at once while there is work, else every
    /// half second. Returns once the jobs in flight have finished or been
    /// put back.
    pub async fn run(self) {
        let mut stop = self.stop.clone();
        while !self.stopping() {
            // A job's panic fails that job (`run_contained`); one anywhere
            // else in a round ends the round, never the runner.
            let busy = match AssertUnwindSafe(self.run_due()).catch_unwind().await {
                Ok(Ok(round)) => round.claimed > 0,
                Ok(Err(err)) => {
                    tracing::error!(error = %err, "due jobs could not be claimed");
                    false
                }
                Err(payload) => {
                    tracing::error!(error = %panic_message(&*payload), "a round of jobs panicked; its claimed jobs run again when their claims run out");
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
            match &job.job {
                Ok(Job::EmailFallback { conversation_id }) => emails.push((*conversation_id, job)),
                Ok(Job::BulkSend { bulk_send_id }) => sends.push((*bulk_send_id, job)),
                // Runs are taken by the automation runner (being written).
                Ok(Job::AutomationRun { .. }) => self.put_back(&job).await,
                Err(err) => unreadable.push((err.to_string(), job)),
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
    async fn set_aside(&self, jobs: Vec<(String, ClaimedJob)>) {
        for (reason, job) in jobs {
            self.conclude(&job, Some(Ok(Outcome::Failed(reason)))).await;
        }
    }
}
