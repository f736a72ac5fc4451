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
use rapport_core::model::workspace::Workspace;
use rapport_core::ports::store::{EmailConversation, EmailSettlement, StoreError};
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

/// Email jobs whose conversations one `email_work` read covers: a few
/// reads for this many emails instead of five for each (on PostgreSQL
/// those reads, 32 emails at once, kept every pooled connection busy and
/// live messages waiting for one), and few enough that the first of them
/// is sending soon after the round claims them.
const WORK_CHUNK: usize = 64;

/// Runs one round's email jobs, `email_concurrency` at a time, reading
/// what they need a chunk of one workspace's jobs at a time; their
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
    futures::stream::iter(chunks(jobs))
        .then(|chunk| read_chunk(state, chunk))
        .flat_map(futures::stream::iter)
        .for_each_concurrent(state.email.concurrency, |(job, read)| {
            let outcomes = outcomes.clone();
            let teams = &teams;
            async move {
                if runner.stopping() {
                    return runner.put_back(&job).await;
                }
                let (workspace, conversation) = match read {
                    Read::Work(workspace, conversation) => (workspace, conversation),
                    Read::WorkspaceGone => {
                        let done = state.store.finish_job(&job).await.map(|()| Outcome::Handled);
                        return runner.conclude(&job, Some(done)).await;
                    }
                    Read::Failed(why) => {
                        let err = StoreError::Other(why.as_str().into());
                        return runner.conclude(&job, Some(Err(err))).await;
                    }
                };
                // A panic fails this job alone (recorded on it); the round
                // goes on.
                let work = run_job(state, &job, &workspace, conversation, teams);
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

/// A round's jobs in chunks of one workspace's, at most `WORK_CHUNK` each,
/// the oldest first within each workspace.
fn chunks(jobs: Vec<(ConversationId, ClaimedJob)>) -> Vec<Vec<(ConversationId, ClaimedJob)>> {
    let mut by_workspace: Vec<(WorkspaceId, Vec<(ConversationId, ClaimedJob)>)> = Vec::new();
    for job in jobs {
        let ws = job.1.workspace_id;
        match by_workspace.iter_mut().find(|(w, _)| *w == ws) {
            Some((_, list)) => list.push(job),
            None => by_workspace.push((ws, vec![job])),
        }
    }
    let mut chunks = Vec::new();
    for (_, mut list) in by_workspace {
        while !list.is_empty() {
            let rest = list.split_off(list.len().min(WORK_CHUNK));
            chunks.push(std::mem::replace(&mut list, rest));
        }
    }
    chunks
}

/// What a job's chunk read found for it.
enum Read {
    /// The workspace, and the conversation unless it is gone.
    Work(Arc<Workspace>, Option<Box<EmailConversation>>),
    /// The workspace itself is gone: nothing to email.
    WorkspaceGone,
    /// The read failed: the job is retried.
    Failed(Arc<String>),
}

/// Reads what a chunk of one workspace's jobs needs, in one `email_work`.
async fn read_chunk(
    state: &AppState,
    chunk: Vec<(ConversationId, ClaimedJob)>,
) -> Vec<(ClaimedJob, Read)> {
    let Some(ws) = chunk.first().map(|(_, job)| job.workspace_id) else {
        return Vec::new();
    };
    let ids: Vec<ConversationId> = chunk.iter().map(|(id, _)| *id).collect();
    match state.store.email_work(ws, &ids).await {
        Ok(work) => {
            let workspace = Arc::new(work.workspace);
            let mut found = work.conversations;
            chunk
                .into_iter()
                .map(|(id, job)| {
                    (
                        job,
                        Read::Work(workspace.clone(), found.remove(&id).map(Box::new)),
                    )
                })
                .collect()
        }
        Err(StoreError::NotFound) => chunk
            .into_iter()
            .map(|(_, job)| (job, Read::WorkspaceGone))
            .collect(),
        Err(err) => {
            let why = Arc::new(err.to_string());
            chunk
                .into_iter()
                .map(|(_, job)| (job, Read::Failed(why.clone())))
                .collect()
        }
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

/// One conversation's email job, from what its chunk read.
async fn run_job(
    state: &AppState,
    job: &ClaimedJob,
    workspace: &Workspace,
    read: Option<Box<EmailConversation>>,
    teams: &Teams,
) -> Result<Step, StoreError> {
    let finished = || async {
        state.store.finish_job(job).await?;
        Ok(Step::Done(Outcome::Handled))
    };
    let ws = job.workspace_id;
    let Some(read) = read else {
        return finished().await;
    };
    let EmailConversation {
        conversation,
        contact,
        pending,
        parts,
    } = *read;
    let conversation_id = conversation.id;
    if pending.is_empty() {
        return finished().await;
    }
    let decision = email::decide(&Situation {
        workspace,
        contact: &contact,
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
            delay_millis: workspace.email.delay_millis(),
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
            let agents = teams.of(state, ws).await?;
            let content = EmailContent {
                workspace,
                contact: &contact,
                conversation_id,
                parts: &parts,
                unread: &unread,
                agents: &agents,
            };
            let to = contact
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

#[cfg(test)]
mod tests {
    use rapport_core::Timestamp;
    use rapport_core::model::ids::JobId;
    use rapport_core::model::job::Job;

    use super::*;

    fn job(workspace: WorkspaceId) -> (ConversationId, ClaimedJob) {
        let conversation_id = ConversationId::generate();
        let job = ClaimedJob {
            id: JobId::generate(),
            workspace_id: workspace,
            kind: "email_fallback".into(),
            job: Ok(Job::EmailFallback { conversation_id }),
            due_at: Timestamp::from_millis(0),
            attempts: 1,
            failures: 0,
            created_at: Timestamp::from_millis(0),
            request_id: None,
        };
        (conversation_id, job)
    }

    #[test]
    fn a_round_is_read_in_chunks_of_one_workspace_in_claim_order() {
        let (a, b) = (WorkspaceId::generate(), WorkspaceId::generate());
        // 150 jobs of a, with 3 of b among them.
        let jobs: Vec<_> = (0..153)
            .map(|i| job(if i % 50 == 7 { b } else { a }))
            .collect();
        let order: Vec<ConversationId> = jobs.iter().map(|(id, _)| *id).collect();
        let chunks = chunks(jobs);
        let sizes: Vec<(WorkspaceId, usize)> = chunks
            .iter()
            .map(|c| (c[0].1.workspace_id, c.len()))
            .collect();
        let mut expected = vec![(a, WORK_CHUNK); 150 / WORK_CHUNK];
        expected.push((a, 150 % WORK_CHUNK));
        expected.push((b, 3));
        assert_eq!(sizes, expected);
        for chunk in &chunks {
            let ws = chunk[0].1.workspace_id;
            assert!(chunk.iter().all(|(_, job)| job.workspace_id == ws));
        }
        // Every job once, each workspace's in the order claimed.
        let read: Vec<ConversationId> = chunks.iter().flatten().map(|(id, _)| *id).collect();
        let of = |ws: WorkspaceId, ids: &[ConversationId]| -> Vec<ConversationId> {
            ids.iter()
                .copied()
                .filter(|id| {
                    chunks
                        .iter()
                        .flatten()
                        .any(|(c, job)| c == id && job.workspace_id == ws)
                })
                .collect()
        };
        assert_eq!(read.len(), order.len());
        assert_eq!(of(a, &read), of(a, &order));
        assert_eq!(of(b, &read), of(b, &order));
    }
}
