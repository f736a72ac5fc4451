//! The email fallback's jobs: per conversation, email the unread burst
//! once or record why not.
//!
//! Exactly once: a job is claimed atomically (two runners never hold it),
//! the messages it emails are settled in the same transaction that removes
//! the job, and settling is refused if the claim was lost. A crash before
//! the send leaves the job to be claimed again when its claim runs out; a
//! crash after the mail server accepted the email but before the settle
//! commits (a window of one database write) resends it with the same
//! Message-ID, which mail clients show once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use rapport_core::model::activity::Activity;
use rapport_core::model::agent::Agent;
use rapport_core::model::email::{self, Decision, Situation, SkipReason};
use rapport_core::model::ids::{ConversationId, MessageId, WorkspaceId};
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::{EmailSettlement, StoreError};
use tokio::sync::{OnceCell, mpsc};

use super::runner::{Outcome, Runner, is_last_try, run_contained};
use crate::AppState;
use crate::email::SendFailure;
use crate::email::compose::{EmailContent, compose};

/// Outcomes settled in one transaction at most: about as many as the
/// emails in flight (`email_concurrency`, 32 by default). On PostgreSQL a
/// live message waits for the workspace's log lock while a batch settles,
/// so a larger batch is a longer wait: during a drain of 10,000 emails,
/// batches of 128 gave live delivery a p99 of 32 ms, of 32 22 ms and of 16
/// 26 ms, at 1,322, 1,299 and 1,230 emails a second (one run each).
const SETTLE_BATCH: usize = 32;

/// Runs one round's email jobs, `email_concurrency` at a time; their
/// outcomes go to one settling task that writes whatever is waiting (up to
/// `SETTLE_BATCH`) in one transaction: one commit serves many emails, and
/// on PostgreSQL the workspace's log lock is taken once per batch instead
/// of once per email.
pub(super) async fn run(runner: &Runner, jobs: Vec<(ConversationId, ClaimedJob)>) {
    if jobs.is_empty() {
        return;
    }
    let state = runner.state();
    let (outcomes, waiting) = mpsc::channel(SETTLE_BATCH);
    let settler = tokio::spawn(settle_batches(state.clone(), waiting));
    let teams = Teams::default();
    futures::stream::iter(jobs)
        .for_each_concurrent(state.email.concurrency, |(conversation_id, job)| {
            let outcomes = outcomes.clone();
            let teams = &teams;
            async move {
                if runner.stopping() {
                    return runner.put_back(&job).await;
                }
                // A panic fails this job alone (recorded on it); the round
                // goes on.
                let work = run_job(state, &job, conversation_id, teams);
                match run_contained(state, &job, work).await {
                    Some(Ok(Step::Settle(settlement))) => {
                        metrics::counter!("rapport_jobs_run_total", "kind" => job.kind.clone(), "outcome" => "handled")
                            .increment(1);
                        // The settler outlives every sender.
                        let _ = outcomes.send(*settlement).await;
                    }
                    Some(Ok(Step::Done(outcome))) => runner.conclude(&job, Some(Ok(outcome))).await,
                    Some(Err(err)) => runner.conclude(&job, Some(Err(err))).await,
                    None => {
                        metrics::counter!("rapport_jobs_run_total", "kind" => job.kind.clone(), "outcome" => "panicked")
                            .increment(1);
                    }
                }
            }
        })
        .await;
    drop(outcomes);
    if let Err(err) = settler.await {
        tracing::error!(error = %err, "the email settling task failed");
    }
}

/// What one email job came to.
enum Step {
    /// Its messages' outcome, settled with others (which removes the job).
    Settle(Box<EmailSettlement>),
    /// Finished here, or failed this time.
    Done(Outcome),
}

/// Settles outcomes in batches until every job of the round has reported.
async fn settle_batches(state: AppState, mut waiting: mpsc::Receiver<EmailSettlement>) {
    let mut batch = Vec::with_capacity(SETTLE_BATCH);
    while waiting.recv_many(&mut batch, SETTLE_BATCH).await > 0 {
        let settled: Vec<_> = batch.iter().map(|s| (s.job.id, s.workspace_id)).collect();
        match state.store.settle_emails(std::mem::take(&mut batch)).await {
            Ok(results) => {
                for ((job, workspace), result) in settled.into_iter().zip(results) {
                    match result {
                        Ok(Some(seq)) => state.bus.publish(workspace, seq),
                        Ok(None) => {}
                        Err(err) => {
                            tracing::warn!(job = %job, error = %err, "an email job's outcome was not recorded")
                        }
                    }
                }
            }
            Err(err) => tracing::error!(
                error = %err,
                jobs = settled.len(),
                "email outcomes were not recorded; their jobs run again when their claims run out"
            ),
        }
    }
}

/// Each workspace's team as a round first reads it: an email names the
/// members who wrote, and a round's emails mostly share a workspace, so
/// the team is read once per round rather than once per email.
#[derive(Default)]
struct Teams(Mutex<HashMap<WorkspaceId, Arc<OnceCell<Team>>>>);

/// A workspace's members, shared by the round's emails.
type Team = Arc<Vec<Agent>>;

impl Teams {
    async fn of(&self, state: &AppState, ws: WorkspaceId) -> Result<Team, StoreError> {
        let cell = Arc::clone(
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entry(ws)
                .or_default(),
        );
        cell.get_or_try_init(|| async { state.store.list_agents(ws).await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// One conversation's email job.
async fn run_job(
    state: &AppState,
    job: &ClaimedJob,
    conversation_id: ConversationId,
    teams: &Teams,
) -> Result<Step, StoreError> {
    let finished = || async {
        state.store.finish_job(job).await?;
        Ok(Step::Done(Outcome::Handled))
    };
    let ws = job.workspace_id;
    let conversation = match state.store.conversation(ws, conversation_id).await {
        Err(StoreError::NotFound) => return finished().await,
        other => other?,
    };
    let pending = state.store.email_pending(ws, conversation_id).await?;
    if pending.is_empty() {
        return finished().await;
    }
    let loaded = state
        .store
        .message_context(ws, conversation.contact_id, None)
        .await?;
    let decision = email::decide(&Situation {
        workspace: &loaded.workspace,
        contact: &loaded.contact,
        conversation: &conversation,
        pending: &pending,
        online: state.hub.is_online(ws, conversation.contact_id),
        configured: state.email.is_configured(),
    });
    let all: Vec<MessageId> = pending.iter().map(|m| m.id).collect();
    let settle =
        |emailed: Vec<MessageId>, skipped: Vec<MessageId>, activity: Activity| EmailSettlement {
            job: job.clone(),
            workspace_id: ws,
            conversation_id,
            contact_id: conversation.contact_id,
            emailed,
            skipped,
            activities: vec![activity],
            at: state.clock.now(),
            delay_millis: loaded.workspace.email.delay_millis(),
        };
    let skip = |reason: SkipReason, error: Option<String>| {
        settle(
            Vec::new(),
            all.clone(),
            Activity::NotEmailed {
                reason,
                message_ids: all.clone(),
                error,
            },
        )
    };
    let settlement = match decision {
        Decision::Skip(reason) => skip(reason, None),
        Decision::Send { unread, read } => {
            let parts = state.store.conversation_parts(ws, conversation_id).await?;
            let agents = teams.of(state, ws).await?;
            let content = EmailContent {
                workspace: &loaded.workspace,
                contact: &loaded.contact,
                conversation_id,
                parts: &parts,
                unread: &unread,
                agents: &agents,
            };
            let to = loaded
                .contact
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default();
            let sent = match compose(&state.email, &content) {
                Ok(message) => state.email.send(message).await,
                Err(err) => Err(SendFailure::Permanent(err.to_string())),
            };
            let outcome = match &sent {
                Ok(()) => "sent",
                Err(SendFailure::NotConfigured) => "not_configured",
                Err(SendFailure::Transient(_)) if !is_last_try(job) => "retried",
                Err(_) => "failed",
            };
            metrics::counter!("rapport_emails_total", "outcome" => outcome).increment(1);
            match sent {
                Ok(()) => settle(
                    unread.clone(),
                    read,
                    Activity::Emailed {
                        to,
                        message_ids: unread,
                    },
                ),
                Err(SendFailure::NotConfigured) => skip(SkipReason::NotConfigured, None),
                Err(SendFailure::Permanent(why)) => {
                    tracing::warn!(job = %job.id, error = %why, "email refused for good");
                    skip(SkipReason::Failed, Some(why))
                }
                Err(SendFailure::Transient(why)) if is_last_try(job) => {
                    tracing::warn!(job = %job.id, error = %why, "email kept failing; giving up");
                    skip(SkipReason::Failed, Some(why))
                }
                Err(SendFailure::Transient(why)) => return Ok(Step::Done(Outcome::Failed(why))),
            }
        }
    };
    Ok(Step::Settle(Box::new(settlement)))
}
