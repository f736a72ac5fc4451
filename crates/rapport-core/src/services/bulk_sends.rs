//! Bulk sends: one chat message to many contacts. The audience is resolved
//! when the send is created (its recipients are stored with it, in the same
//! transaction as the job that delivers them). The job sends each recipient
//! their own rendered message through the one message path, and the store
//! marks the recipient sent in that message's transaction: a restart
//! resumes where it stopped, and nobody gets the same bulk message twice.

use futures::StreamExt;
use serde_json::Value as Json;

use crate::model::bulk::{Audience, BulkSend, NewBulkSend};
use crate::model::conversation::{Author, PartKind};
use crate::model::ids::{AgentId, BulkSendId, ContactId, WorkspaceId};
use crate::model::job::{Job, NewJob};
use crate::model::template::SnippetTemplate;
use crate::model::validation::ValidationError;
use crate::ports::store::StoreError;
use crate::services::messages::{ChatMessage, send_chat_messages};
use crate::services::{Deps, SendError};

/// How many recipients one claim of the job sends before releasing it.
/// Each claim costs a release, a claim and two reads, and the chunks'
/// pipeline drains at its end (about 40 ms on SQLite); 10,000 takes 2 to 3 s
/// at the rate of docs/benchmarks.md, far inside the job's 5-minute claim
/// even at a twentieth of it.
pub const BATCH: u32 = 10_000;
/// Messages rendered and stored together (`messages::send_chat_messages`).
pub const CHUNK: usize = 500;
/// Chunks of a batch in flight at once: one renders while another is
/// written.
pub const CHUNKS_IN_FLIGHT: usize = 2;

/// What a caller asks for.
#[derive(Clone, Debug)]
pub struct BulkRequest {
    pub workspace_id: WorkspaceId,
    pub created_by: AgentId,
    pub from_agent_id: AgentId,
    pub body: String,
    pub email_fallback: bool,
    pub audience: Audience,
    pub audience_json: Json,
}

/// Checks the template and the sender, then stores the send with its
/// recipients and its job. `Invalid` (field `audience`) when it matches
/// nobody.
pub async fn create(deps: Deps<'_>, request: BulkRequest) -> Result<BulkSend, SendError> {
    SnippetTemplate::parse(&request.body)?;
    deps.store
        .agent(request.workspace_id, request.from_agent_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => SendError::NotFound("from_agent_id"),
            other => other.into(),
        })?;
    let id = BulkSendId::generate();
    let now = deps.clock.now();
    let send = deps
        .store
        .create_bulk_send(NewBulkSend {
            id,
            workspace_id: request.workspace_id,
            created_by: request.created_by,
            from_agent_id: request.from_agent_id,
            body: request.body,
            email_fallback: request.email_fallback,
            audience: request.audience,
            audience_json: request.audience_json,
            created_at: now,
            job: NewJob::new(
                request.workspace_id,
                Job::BulkSend { bulk_send_id: id },
                now,
            ),
        })
        .await?;
    if send.total == 0 {
        return Err(ValidationError::field("audience", "matches no contact").into());
    }
    Ok(send)
}

/// What one batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub sent: u64,
    pub failed: u64,
    /// Whether recipients are left (the batch was full, stopped, or some
    /// were left for a retry).
    pub more: bool,
    /// Whether `stop` said to stop before every chunk had started.
    pub stopped: bool,
    /// The last error that left recipients pending.
    pub error: Option<String>,
}

/// Sends the next `limit` pending recipients of a send that is still
/// sending, in chunks of `CHUNK` through `messages::send_chat_messages`.
/// A recipient already sent (by a worker whose claim ran out, say) is
/// refused by the store and skipped; one that cannot be sent is marked
/// failed with the reason; a store error leaves it pending for the next
/// batch. `stop` is asked before each chunk starts: once it says so, the
/// chunks in flight finish and the rest stay pending.
pub async fn send_batch(
    deps: Deps<'_>,
    send: &BulkSend,
    limit: u32,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<BatchOutcome, StoreError> {
    let pending = deps
        .store
        .bulk_pending(send.workspace_id, send.id, limit)
        .await?;
    let more = pending.len() == limit as usize;
    let chunks: Vec<Vec<ContactId>> = pending.chunks(CHUNK).map(<[_]>::to_vec).collect();
    let results: Vec<_> = futures::stream::iter(chunks)
        .map(|chunk| async move {
            if stop() {
                return (chunk, None);
            }
            let messages = chunk
                .iter()
                .map(|&contact_id| ChatMessage {
                    workspace_id: send.workspace_id,
                    from: Author::Agent(send.from_agent_id),
                    contact_id,
                    conversation_id: None,
                    kind: PartKind::Comment,
                    body: send.body.clone(),
                    event: None,
                    email_fallback: send.email_fallback,
                    bulk_send: Some(send.id),
                    origin: None,
                    attachments: Vec::new(),
                })
                .collect();
            let sent = send_chat_messages(deps, send.workspace_id, messages).await;
            (chunk, Some(sent))
        })
        .buffer_unordered(CHUNKS_IN_FLIGHT)
        .collect()
        .await;
    let mut outcome = BatchOutcome {
        more,
        ..BatchOutcome::default()
    };
    for (chunk, sent) in results {
        let sent = match sent {
            Some(Ok(sent)) => sent,
            None => {
                outcome.stopped = true;
                outcome.more = true;
                continue;
            }
            Some(Err(err)) => {
                // Nothing of this chunk was stored: it stays pending.
                tracing::warn!(error = %err, bulk_send = %send.id, "bulk recipients left for a retry");
                outcome.more = true;
                outcome.error = Some(err.to_string());
                continue;
            }
        };
        for (contact_id, result) in chunk.into_iter().zip(sent) {
            match result {
                Ok(_) => outcome.sent += 1,
                // Sent already (by an earlier run of this batch), or the
                // send was cancelled meanwhile.
                Err(SendError::Store(StoreError::Conflict(_))) => {}
                Err(SendError::Store(other)) => {
                    tracing::warn!(error = %other, bulk_send = %send.id, "bulk recipient left for a retry");
                    outcome.more = true;
                    outcome.error = Some(other.to_string());
                }
                Err(refused) => {
                    outcome.failed += 1;
                    deps.store
                        .fail_bulk_recipient(
                            send.workspace_id,
                            send.id,
                            contact_id,
                            &refused.to_string(),
                        )
                        .await?;
                }
            }
        }
    }
    Ok(outcome)
}
