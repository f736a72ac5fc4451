//! Running the durable jobs (`rapport_core::model::job::Job`): one [`Runner`]
//! claims due jobs, one lane per kind, hands each kind's batch to its
//! handler ([`email`]: the email fallback; [`bulk`]: bulk sends;
//! [`automations`]: automation runs, after reading the activity log for
//! automations' triggers), retries a failure
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

mod automations;
mod bot;
mod bulk;
mod email;
mod erasures;
mod property_index;
mod retention;
mod runner;
mod team_digest;
mod uploads;
mod webhook_deliveries;
mod webhooks;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use rapport_core::Timestamp;
use rapport_core::model::job::{ClaimedJob, Job};
use rapport_core::ports::store::StoreError;

pub use automations::{limits as automation_limits, with_env as with_automation_env};
pub use runner::{Runner, fail_for_good, run_contained};
pub use webhooks::signature as webhook_signature;

use runner::Outcome;

use crate::containment::panic_message;

/// How long a claim lasts: far more than one email or one bulk batch takes,
/// so a job is claimed again only when its runner is gone.
const CLAIM_MILLIS: i64 = 5 * 60_000;
/// How long the automations' lane claims its jobs: a turn of a run (at
/// most 25 steps) takes far less, and a
/// run held by a process that died is taken up again within it.
const AUTOMATION_CLAIM_MILLIS: i64 = 60_000;
/// How long the webhooks' lane claims its jobs: a round of 256 calls, 16
/// at once, to receivers that answer only at the timeouts (10 s to
/// resolve, 10 s to answer) takes 320 s; claimed again only after that.
const WEBHOOK_CLAIM_MILLIS: i64 = 10 * 60_000;
/// Jobs claimed at once.
const CLAIM_BATCH: u32 = 256;
/// How often an idle lane looks for due jobs.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// How often the automations' lane looks when nothing rang: due waits are
/// found within this.
const AUTOMATION_POLL: Duration = Duration::from_millis(200);
/// How often the lane for every kind looks (it is there for kinds no other
/// lane claims: ones a newer version added).
const ANY_KIND_POLL: Duration = Duration::from_secs(10);
/// The least time from one round of the automations' lane to the next
/// that the log's growth starts: a stream of messages grows the log
/// hundreds of times a second, and one round reads everything new, so
/// without it the lane would read the log as fast as the database answers,
/// taking its time from the messages themselves.
const LOG_ROUND_GAP: Duration = Duration::from_millis(20);

/// The runner's lanes: each claims its kinds and waits only for its own
/// jobs, so a long bulk send never holds up a greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    Email,
    Bulk,
    /// Reads the log for triggers, then takes due runs' steps; woken as
    /// soon as the log grows.
    Automations,
    /// Building property indexes: long, so never in another lane's round.
    PropertyIndex,
    /// Calls to other servers (webhooks), which may take seconds each:
    /// never in the way of an automation's next step.
    Webhooks,
    AnyKind,
}

impl Lane {
    const ALL: [Lane; 6] = [
        Lane::Email,
        Lane::Bulk,
        Lane::Automations,
        Lane::PropertyIndex,
        Lane::Webhooks,
        Lane::AnyKind,
    ];

    /// The kinds this lane claims (the lane for every kind: none of its
    /// own, see [`Lane::claim`]).
    fn kinds(self) -> &'static [&'static str] {
        match self {
            Lane::Email => &["email_fallback", "team_digest"],
            Lane::Bulk => &["bulk_send"],
            Lane::Automations => &["automation_run", "bot_reply", "bot_settle"],
            Lane::PropertyIndex => &["index_property"],
            Lane::Webhooks => &["automation_webhook", "webhook_delivery"],
            Lane::AnyKind => &[],
        }
    }

    /// What a round of this lane claims: its kinds, or for the lane for
    /// every kind, every kind no other lane claims (so no kind runs in two
    /// lanes and past its lane's concurrency).
    fn claim(self) -> Kinds {
        match self {
            Lane::AnyKind => Kinds::Except(
                Lane::ALL
                    .iter()
                    .flat_map(|lane| lane.kinds())
                    .copied()
                    .collect(),
            ),
            lane => Kinds::Only(lane.kinds().to_vec()),
        }
    }

    fn poll(self) -> Duration {
        match self {
            Lane::Automations | Lane::Webhooks => AUTOMATION_POLL,
            Lane::AnyKind => ANY_KIND_POLL,
            Lane::Email | Lane::Bulk | Lane::PropertyIndex => IDLE_POLL,
        }
    }
}

/// Which kinds of jobs a round claims.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kinds {
    /// These (none: every kind).
    Only(Vec<&'static str>),
    /// Every kind but these.
    Except(Vec<&'static str>),
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Jobs claimed (and run, retried, failed or put back).
    pub claimed: usize,
    /// Bulk messages sent or failed.
    pub bulk_messages: u64,
    /// Automation runs the log's new entries started.
    pub runs_started: usize,
    /// Webhook deliveries the log's new entries queued.
    pub webhooks_queued: usize,
}

impl Runner {
    /// Runs until the server stops, one loop per [`Lane`]. Returns once
    /// the jobs in flight have finished or been put back.
    pub async fn run(self) {
        let running = self.state.jobs_running.clone();
        running.store(true, std::sync::atomic::Ordering::Relaxed);
        let lanes = Lane::ALL.map(|lane| {
            let runner = self.clone();
            tokio::spawn(async move { runner.run_lane(lane).await })
        });
        for lane in lanes {
            if let Err(err) = lane.await {
                tracing::error!(error = %err, "a lane of the job runner ended abnormally");
            }
        }
        running.store(false, std::sync::atomic::Ordering::Relaxed);
        tracing::info!("the job runner stopped");
    }

    /// One lane: at once while there is work, else every `lane.poll()`
    /// (the automations' lane also when the log grows, the bulk lane when
    /// a send is created).
    async fn run_lane(&self, lane: Lane) {
        let mut stop = self.stop.clone();
        let mut log_grew = self.state.log_grew.subscribe();
        while !self.stopping() {
            let started = tokio::time::Instant::now();
            // A job's panic fails that job (`run_contained`); one anywhere
            // else in a round ends the round, never the runner.
            let round = AssertUnwindSafe(self.run_kinds(lane.claim(), lane == Lane::Automations));
            let busy = match round.catch_unwind().await {
                Ok(Ok(round)) => {
                    round.claimed > 0 || round.runs_started > 0 || round.webhooks_queued > 0
                }
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
            let rang = async {
                match lane {
                    Lane::Automations => {
                        // Lagging only means notices were dropped: look now.
                        let _ = log_grew.recv().await;
                        tokio::time::sleep_until(started + LOG_ROUND_GAP).await;
                    }
                    Lane::Bulk => self.state.bulk_created.notified().await,
                    _ => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = tokio::time::sleep(lane.poll()) => {}
                () = rang => {}
                _ = stop.wait_for(|stopping| *stopping) => {}
            }
        }
    }

    /// One round of everything: reads the log for automations' triggers,
    /// then claims the jobs due now (of every kind, oldest first) and runs
    /// them, each kind's batch by its handler, the kinds side by side.
    pub async fn run_due(&self) -> Result<Round, StoreError> {
        self.run_kinds(Kinds::Only(Vec::new()), true).await
    }

    /// One round of jobs of these kinds, after reading the log for
    /// automations' triggers if `dispatch`.
    async fn run_kinds(&self, kinds: Kinds, dispatch: bool) -> Result<Round, StoreError> {
        let (runs_started, webhooks_queued) = if dispatch {
            let started = automations::dispatch_all(&self.state, &self.date_scans).await?;
            // A webhook's trouble never holds up automations.
            let queued = webhook_deliveries::fan_out_all(&self.state)
                .await
                .unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "webhooks could not read the activity log");
                    0
                });
            (started, queued)
        } else {
            (0, 0)
        };
        let now = self.state.clock.now();
        let claim = if Lane::Automations.claim() == kinds {
            AUTOMATION_CLAIM_MILLIS
        } else if Lane::Webhooks.claim() == kinds {
            WEBHOOK_CLAIM_MILLIS
        } else {
            CLAIM_MILLIS
        };
        let until = Timestamp::from_millis(now.as_millis() + claim);
        // Paced emails: a round's emails fit well inside their claim.
        let batch = if Lane::Email.claim() == kinds {
            self.state.email.round_size(CLAIM_BATCH)
        } else {
            CLAIM_BATCH
        };
        let store = &self.state.store;
        let jobs = match &kinds {
            Kinds::Only(kinds) => store.claim_jobs(kinds, now, until, batch).await?,
            Kinds::Except(kinds) => store.claim_jobs_except(kinds, now, until, batch).await?,
        };
        let claimed = jobs.len();
        let (mut indexes, mut erasures, mut retentions, mut deliveries, mut digests, mut sweeps) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let (mut emails, mut sends, mut runs, mut calls, mut turns, mut unreadable) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for job in jobs {
            match &job.job {
                Ok(Job::EmailFallback { conversation_id }) => emails.push((*conversation_id, job)),
                Ok(Job::BulkSend { bulk_send_id }) => sends.push((*bulk_send_id, job)),
                Ok(Job::AutomationRun { run_id }) => runs.push((*run_id, job)),
                Ok(Job::AutomationWebhook {
                    delivery,
                    url,
                    secret,
                    body,
                }) => calls.push((
                    webhooks::Call {
                        delivery: delivery.clone(),
                        url: url.clone(),
                        secret: secret.clone(),
                        body: body.clone(),
                    },
                    job,
                )),
                Ok(Job::BotReply {
                    conversation_id,
                    message_id,
                    seq,
                }) => turns.push((
                    bot::Work::Reply {
                        conversation: *conversation_id,
                        message: *message_id,
                        seq: *seq,
                    },
                    job,
                )),
                Ok(Job::BotSettle {
                    conversation_id,
                    answered_at,
                }) => turns.push((
                    bot::Work::Settle {
                        conversation: *conversation_id,
                        answered_at: *answered_at,
                    },
                    job,
                )),
                Ok(Job::IndexProperty { workspace_id, name }) => {
                    indexes.push((*workspace_id, name.clone(), job));
                }
                Ok(Job::EraseContact { erasure_id }) => erasures.push((*erasure_id, job)),
                Ok(Job::ApplyRetention { workspace_id }) => retentions.push((*workspace_id, job)),
                Ok(Job::WebhookDelivery { delivery_id }) => deliveries.push((*delivery_id, job)),
                Ok(Job::TeamDigest { workspace_id }) => digests.push((*workspace_id, job)),
                Ok(Job::SweepUploads { workspace_id }) => sweeps.push((*workspace_id, job)),
                Err(err) => unreadable.push((err.to_string(), job)),
            }
        }
        let ((), bulk_messages, (), (), (), (), (), (), (), (), (), ()) = tokio::join!(
            email::run(self, emails),
            bulk::run(self, sends),
            automations::run(self, runs),
            webhooks::run(self, calls),
            bot::run(self, turns),
            property_index::run(self, indexes),
            erasures::run(self, erasures),
            retention::run(self, retentions),
            webhook_deliveries::run(self, deliveries),
            team_digest::run(self, digests),
            uploads::run(self, sweeps),
            self.set_aside(unreadable),
        );
        Ok(Round {
            claimed,
            bulk_messages,
            runs_started,
            webhooks_queued,
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
