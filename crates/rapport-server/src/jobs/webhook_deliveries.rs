//! Workspaces' webhook endpoints in the runner: the log read for events
//! ([`fan_out_all`]: each entry that is an event one or more endpoints
//! subscribe to becomes a delivery and its job, with the move of the
//! workspace's cursor), and each delivery's job ([`run`]): one signed
//! POST, recorded with its status, latency and the start of the answer,
//! retried with back-off for about a day (`RetryPolicy::WEBHOOK`). An
//! endpoint whose every delivery failed for a day is disabled, and the
//! workspace's owners and admins are emailed.
//!
//! The POST itself, and the check of where it goes, are the automation
//! webhook step's (`webhooks::post`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use futures::StreamExt;
use rapport_core::Timestamp;
use rapport_core::model::ids::WebhookDeliveryId;
use rapport_core::model::job::{ClaimedJob, RetryPolicy};
use rapport_core::model::webhook::{DeliveryStatus, Endpoint, EventType, event_of};
use rapport_core::ports::store::{DeliveryAttempt, StoreError, Stream};

use super::runner::{Outcome, Runner, fail_for_good, is_last_try, run_contained};
use super::webhooks::{CallError, post};
use crate::AppState;

/// Deliveries made at once.
const AT_ONCE: usize = 16;
/// Log entries read per stretch.
const STRETCH: u32 = 500;
/// Stretches of one workspace's log fanned out in one pass.
const STRETCHES_PER_PASS: usize = 8;
/// Finished deliveries are kept this long in the log.
const KEEP_MILLIS: i64 = 30 * 24 * 3_600_000;
/// How often old deliveries are pruned, and how many at a time.
const PRUNE_EVERY_MILLIS: i64 = 3_600_000;
const PRUNE_BATCH: u32 = 5_000;

/// When this process last pruned.
static LAST_PRUNE: AtomicI64 = AtomicI64::new(i64::MIN);

/// Reads every workspace's new log entries for its webhooks; how many
/// deliveries were queued.
pub(super) async fn fan_out_all(state: &AppState) -> Result<usize, StoreError> {
    prune_now_and_then(state).await;
    let mut queued = 0;
    for work in state.store.webhook_work().await? {
        let ws = work.workspace_id;
        let mut cursor = work.cursor;
        for _ in 0..STRETCHES_PER_PASS {
            // One workspace's trouble is its own: the others go on.
            let entries = match state
                .store
                .activity_after(ws, Stream::Workspace, cursor, STRETCH)
                .await
            {
                Ok(entries) => entries,
                Err(err) => {
                    tracing::warn!(workspace = %ws, error = %err, "webhooks could not read a workspace's log");
                    break;
                }
            };
            let Some(last) = entries.last() else { break };
            let to = last.seq;
            let events = entries
                .iter()
                .filter_map(|entry| event_of(entry).map(|event| (entry.seq, event)))
                .collect();
            let now = state.clock.now();
            match state
                .store
                .fan_out_webhooks(ws, cursor, to, events, now)
                .await
            {
                Ok(n) => queued += n,
                // Another server read this stretch first.
                Err(StoreError::Conflict(_)) => break,
                Err(err) => {
                    tracing::warn!(workspace = %ws, error = %err, "webhook deliveries could not be queued");
                    break;
                }
            }
            if entries.len() < STRETCH as usize {
                break;
            }
            cursor = to;
        }
    }
    Ok(queued)
}

async fn prune_now_and_then(state: &AppState) {
    let now = state.clock.now().as_millis();
    let last = LAST_PRUNE.load(Ordering::Relaxed);
    if now.saturating_sub(last) < PRUNE_EVERY_MILLIS
        || LAST_PRUNE
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let before = Timestamp::from_millis(now - KEEP_MILLIS);
    match state
        .store
        .prune_webhook_deliveries(before, PRUNE_BATCH)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(deliveries = n, "old webhook deliveries pruned"),
        Err(err) => tracing::warn!(error = %err, "old webhook deliveries could not be pruned"),
    }
}

/// Makes one round's deliveries.
pub(super) async fn run(runner: &Runner, jobs: Vec<(WebhookDeliveryId, ClaimedJob)>) {
    let state = runner.state();
    futures::stream::iter(jobs)
        .for_each_concurrent(AT_ONCE, |(id, job)| async move {
            if runner.stopping() {
                return runner.put_back(&job).await;
            }
            match run_contained(state, &job, deliver(state, &job, id)).await {
                Some(Ok(Delivered::Done)) => {
                    if let Err(err) = state.store.finish_job(&job).await {
                        tracing::warn!(job = %job.id, error = %err, "a webhook delivery's job could not be settled; it may be delivered again");
                    }
                }
                Some(Ok(Delivered::Refused(why))) => fail_for_good(state, &job, &why).await,
                Some(Ok(Delivered::Failed(why))) => {
                    runner.conclude(&job, Some(Ok(Outcome::Failed(why)))).await;
                }
                Some(Err(err)) => runner.conclude(&job, Some(Err(err))).await,
                None => {}
            }
        })
        .await;
}

/// How a delivery's job went.
enum Delivered {
    /// Delivered, or nothing left to do: the job is done.
    Done,
    /// Never to succeed: failed for good.
    Refused(String),
    /// Tried again after its back-off (or failed for good on its last try).
    Failed(String),
}

async fn deliver(
    state: &AppState,
    job: &ClaimedJob,
    id: WebhookDeliveryId,
) -> Result<Delivered, StoreError> {
    let ws = job.workspace_id;
    let delivery = match state.store.webhook_delivery(ws, id).await {
        Ok(delivery) => delivery,
        // Its endpoint (or its contact) was deleted meanwhile.
        Err(StoreError::NotFound) => return Ok(Delivered::Done),
        Err(other) => return Err(other),
    };
    if delivery.status != DeliveryStatus::Pending {
        return Ok(Delivered::Done);
    }
    let endpoint = match state.store.webhook(ws, delivery.webhook_id).await {
        Ok(endpoint) => endpoint,
        Err(StoreError::NotFound) => return Ok(Delivered::Done),
        Err(other) => return Err(other),
    };
    let started = Instant::now();
    let at = state.clock.now();
    // A test event is tried even on a disabled endpoint: it is how an
    // admin checks a fix before enabling it again.
    if !endpoint.enabled && delivery.event_type != EventType::Test {
        let attempt = failed_attempt(at, None, "the endpoint is disabled".into(), None);
        state.store.record_webhook_attempt(ws, id, attempt).await?;
        return Ok(Delivered::Done);
    }
    let body = serde_json::to_vec(&delivery.payload).unwrap_or_default();
    let headers = [
        ("rapport-delivery", delivery.id.to_string()),
        ("rapport-event", delivery.event_type.as_str().to_owned()),
    ];
    let result = post(state, &endpoint.url, &headers, Some(&endpoint.secret), body).await;
    let latency_ms = Some(u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX));
    let next = || {
        (!is_last_try(job)).then(|| {
            let delay = RetryPolicy::WEBHOOK.delay_millis(job.failures + 1);
            Timestamp::from_millis(at.as_millis() + delay)
        })
    };
    let (attempt, outcome) = match result {
        Ok(answer) if answer.status.is_success() => (
            DeliveryAttempt {
                at,
                response_status: Some(answer.status.as_u16()),
                response_body: Some(answer.body),
                latency_ms,
                error: None,
                next_attempt_at: None,
            },
            Delivered::Done,
        ),
        Ok(answer) => {
            let why = format!("{} answered {}", answer.host, answer.status);
            let mut attempt = failed_attempt(at, latency_ms, why.clone(), next());
            attempt.response_status = Some(answer.status.as_u16());
            attempt.response_body = Some(answer.body);
            (attempt, Delivered::Failed(why))
        }
        Err(CallError::Refused(why)) => (
            failed_attempt(at, latency_ms, why.clone(), None),
            Delivered::Refused(why),
        ),
        Err(CallError::Failed(why)) => (
            failed_attempt(at, latency_ms, why.clone(), next()),
            Delivered::Failed(why),
        ),
    };
    let recorded = state.store.record_webhook_attempt(ws, id, attempt).await?;
    if recorded.disabled_now {
        tell_admins(state, &endpoint).await;
    }
    Ok(outcome)
}

fn failed_attempt(
    at: Timestamp,
    latency_ms: Option<u32>,
    error: String,
    next_attempt_at: Option<Timestamp>,
) -> DeliveryAttempt {
    DeliveryAttempt {
        at,
        response_status: None,
        response_body: None,
        latency_ms,
        error: Some(error),
        next_attempt_at,
    }
}

/// Emails the workspace's owners and admins that an endpoint was disabled.
/// Best effort: the endpoint shows as disabled in Settings whatever happens.
async fn tell_admins(state: &AppState, endpoint: &Endpoint) {
    tracing::warn!(workspace = %endpoint.workspace_id, webhook = %endpoint.id, url = %endpoint.url, "a webhook endpoint failed every delivery for a day and was disabled");
    if !state.email.is_configured() {
        return;
    }
    let ws = endpoint.workspace_id;
    let (workspace, agents) =
        match tokio::try_join!(state.store.workspace(ws), state.store.list_agents(ws)) {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "the admins of a disabled webhook could not be read");
                return;
            }
        };
    let from = state.email.sender_address(&workspace);
    let Ok(from) = crate::email::mailbox(Some(workspace.name.clone()), &from) else {
        tracing::warn!(address = %from, "the workspace's sender address is not one");
        return;
    };
    let text = format!(
        "Every delivery to the webhook endpoint\n\n  {url}\n\nhas failed for a day, so Rapport \
         has disabled it: no more events are sent to it.\n\nSee what the endpoint answered, and \
         enable it again once it is fixed, in Settings > Webhooks:\n{public}/inbox/settings\n",
        url = endpoint.url,
        public = state.email.public_url,
    );
    for agent in agents.iter().filter(|a| a.role.can_manage_team()) {
        let Ok(to) = crate::email::mailbox(Some(agent.name.clone()), agent.email.as_str()) else {
            continue;
        };
        let email = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject("A webhook endpoint was disabled")
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(text.clone());
        let sent = match email {
            Ok(email) => state.email.send(email).await.map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        if let Err(err) = sent {
            tracing::warn!(agent = %agent.id, error = %err, "an admin could not be told of a disabled webhook");
        }
    }
}
