//! The email fallback worker: claims due `email_fallback` jobs and, per
//! conversation, emails the unread burst once or records why not.
//!
//! Exactly once: a job is claimed atomically (two workers never hold it),
//! the messages it emails are settled in the same transaction that removes
//! the job, and settling is refused if the claim was lost. A crash before
//! the send leaves the job to be claimed again when its claim runs out; a
//! crash after the mail server accepted the email but before the settle
//! commits (a window of one database write) resends it with the same
//! Message-ID, which mail clients show once.

use std::time::Duration;

use futures::StreamExt;
use rapport_core::Timestamp;
use rapport_core::model::activity::Activity;
use rapport_core::model::email::{self, Decision, GIVE_UP_AFTER_MILLIS, Situation, SkipReason};
use rapport_core::model::ids::{ConversationId, MessageId};
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::{EmailSettlement, StoreError};
use tokio::sync::mpsc;

use super::SendFailure;
use super::compose::{EmailContent, compose};
use crate::{AppState, containment};

/// How long a claim lasts: well beyond the SMTP timeout, so a job is only
/// claimed again when its worker is gone.
const CLAIM_MILLIS: i64 = 5 * 60_000;
/// Jobs claimed at once.
const BATCH: u32 = 256;
/// Outcomes settled in one transaction at most.
const SETTLE_BATCH: usize = 128;

/// Runs until the server stops: every second (and at once after a busy
/// round) runs the jobs that are due.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut stopping = state.stopping();
        loop {
            let ran = match run_due(&state).await {
                Ok(ran) => ran,
                Err(err) => {
                    tracing::error!(error = %err, "email jobs could not be claimed");
                    0
                }
            };
            if ran > 0 {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopping.changed() => return,
            }
        }
    });
}

/// Claims the jobs due now and runs them; returns how many ran. Tests call
/// this after moving the clock.
///
/// Jobs run `concurrency` at a time; their outcomes go to one settling
/// task that writes whatever is waiting (up to `SETTLE_BATCH`) in one
/// transaction: one commit serves many emails, and on PostgreSQL the
/// workspace's log lock is taken once per batch instead of once per email.
pub async fn run_due(state: &AppState) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let now = state.clock.now();
        let until = Timestamp::from_millis(now.as_millis() + CLAIM_MILLIS);
        let jobs = state
            .store
            .claim_jobs(&[email::JOB_KIND], now, until, BATCH)
            .await?;
        let claimed = jobs.len();
        let (outcomes, waiting) = mpsc::channel(SETTLE_BATCH);
        let settler = tokio::spawn(settle_batches(state.clone(), waiting));
        futures::stream::iter(jobs)
            .for_each_concurrent(state.email.concurrency, |job| {
                let outcomes = outcomes.clone();
                async move {
                    let id = job.id;
                    // A panic fails this job alone (recorded on it); the
                    // round and the worker go on.
                    match containment::run_job(state, &job, run_job(state, job.clone())).await {
                        Some(Ok(Some(settlement))) => {
                            // The settler outlives every sender.
                            let _ = outcomes.send(settlement).await;
                        }
                        Some(Ok(None)) | None => {}
                        Some(Err(err)) => {
                            tracing::warn!(job = %id, error = %err, "email job did not finish; it will run again");
                        }
                    }
                }
            })
            .await;
        drop(outcomes);
        if let Err(err) = settler.await {
            tracing::error!(error = %err, "the email settling task failed");
        }
        total += claimed;
        if claimed < BATCH as usize {
            return Ok(total);
        }
    }
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

/// One conversation's email job: its outcome to settle, or `None` when it
/// was finished or put back here.
async fn run_job(state: &AppState, job: ClaimedJob) -> Result<Option<EmailSettlement>, StoreError> {
    let conversation_id: Option<ConversationId> = job
        .payload
        .get("conversation_id")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let Some(conversation_id) = conversation_id else {
        tracing::error!(job = %job.id, payload = %job.payload, "email job without a conversation");
        return state.store.finish_job(&job).await.map(|()| None);
    };
    let ws = job.workspace_id;
    let conversation = match state.store.conversation(ws, conversation_id).await {
        Err(StoreError::NotFound) => return state.store.finish_job(&job).await.map(|()| None),
        other => other?,
    };
    let pending = state.store.email_pending(ws, conversation_id).await?;
    if pending.is_empty() {
        return state.store.finish_job(&job).await.map(|()| None);
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
            let agents = state.store.list_agents(ws).await?;
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
                Err(SendFailure::Transient(why)) => {
                    let now = state.clock.now().as_millis();
                    let next = now + email::retry_delay_millis(job.attempts);
                    if now - job.created_at.as_millis() >= GIVE_UP_AFTER_MILLIS {
                        tracing::warn!(job = %job.id, error = %why, "email failed for 24 hours; giving up");
                        skip(SkipReason::Failed, Some(why))
                    } else {
                        tracing::warn!(job = %job.id, error = %why, attempts = job.attempts, "email failed; will retry");
                        return state
                            .store
                            .retry_job(&job, Timestamp::from_millis(next), &why)
                            .await
                            .map(|()| None);
                    }
                }
            }
        }
    };
    Ok(Some(settlement))
}
