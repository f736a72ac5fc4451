//! Team digests: a contact's new conversation enqueues one (due two
//! minutes later, one pending per workspace, in the message's own write);
//! when it comes due and no member of the team is online on any server,
//! each member who has not turned it off is emailed the conversations
//! started since the last digest that still wait for the team. Someone
//! online sees them in the Inbox: then nothing is sent, and those
//! conversations are not sent later either.

use rapport_core::Timestamp;
use rapport_core::model::conversation::PartKind;
use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;

use super::runner::{Outcome, Runner};
use crate::AppState;

/// Conversations one email lists, at most (it says how many more).
const LISTED: usize = 20;
/// New conversations one digest reads, at most.
const READ: u32 = 200;
/// The batch window: a digest is due this long after the conversation
/// that asks for it (as the message's write enqueues it).
const BATCH_MILLIS: i64 = 2 * 60_000;

pub(super) async fn run(runner: &Runner, jobs: Vec<(WorkspaceId, ClaimedJob)>) {
    runner
        .one_at_a_time(jobs, |workspace, job| async move {
            run_job(runner.state(), &job, workspace).await
        })
        .await;
}

async fn run_job(
    state: &AppState,
    job: &ClaimedJob,
    ws: WorkspaceId,
) -> Result<Outcome, StoreError> {
    // The first digest starts at the conversation that asked for it: a
    // backlog from before is not "new".
    let since = match state.store.team_digest_mark(ws).await? {
        Some(mark) => mark,
        None => Timestamp::from_millis(job.created_at.as_millis() - 1),
    };
    let new = state
        .store
        .waiting_conversations_since(ws, since, READ)
        .await?;
    // The newest conversation this run covers, emailed or not: later runs
    // look only past it.
    let Some(covered) = new.last().map(|c| c.created_at) else {
        state.store.finish_job(job).await?;
        return Ok(Outcome::Handled);
    };
    let agents = state.store.list_agents(ws).await?;
    // "Away" is not there to answer.
    let someone_online = agents
        .iter()
        .any(|a| state.hub.agent_status(ws, a.id) == "online");
    let recipients = state.store.new_conversation_recipients(ws).await?;
    if someone_online || recipients.is_empty() || !state.email.is_configured() {
        // Someone is there and sees them in the Inbox (or nobody is to be
        // emailed): these are not emailed later either.
        return settle(state, job, ws, covered).await;
    }
    let workspace = state.store.workspace(ws).await?;
    let mut lines = Vec::new();
    for conversation in new.iter().take(LISTED) {
        let contact = state.store.contact(ws, conversation.contact_id).await?;
        let who = contact
            .name
            .clone()
            .or_else(|| contact.email.as_ref().map(|e| e.as_str().to_owned()))
            .unwrap_or_else(|| "A visitor".to_owned());
        let first = state
            .store
            .conversation_parts(ws, conversation.id)
            .await?
            .into_iter()
            .find(|p| p.kind == PartKind::Comment)
            .map(|p| p.body.chars().take(160).collect::<String>())
            .unwrap_or_default();
        lines.push(format!(
            "- {who}: {first}\n  {}/#/conversations/{}",
            state.email.public_url, conversation.id
        ));
    }
    if new.len() > LISTED {
        lines.push(format!("…and {} more.", new.len() - LISTED));
    }
    let count = new.len();
    let subject = if count == 1 {
        format!("A new conversation is waiting in {}", workspace.name)
    } else {
        format!(
            "{count} new conversations are waiting in {}",
            workspace.name
        )
    };
    let text = format!(
        "Nobody on the team is online in Rapport, and {} waiting:\n\n{}\n\nAnswer in the Inbox: {}/\n\nYou get this because nobody was online; turn it off in Settings > Notifications.\n",
        if count == 1 {
            "this conversation is"
        } else {
            "these conversations are"
        },
        lines.join("\n"),
        state.email.public_url,
    );
    let from = state.email.sender_address(&workspace);
    let from = crate::email::mailbox(Some(workspace.name.clone()), &from)
        .map_err(|e| StoreError::Other(format!("the sender address: {e}").into()))?;
    // Each member once: one whose address the mail server refuses does
    // not hold up (or repeat) the others'.
    let mut sent = 0;
    let mut last_error = None;
    for agent in &recipients {
        let Ok(to) = crate::email::mailbox(Some(agent.name.clone()), agent.email.as_str()) else {
            continue;
        };
        let email = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(text.clone())
            .map_err(|e| StoreError::Other(e.to_string().into()))?;
        match state.email.send(email).await {
            Ok(()) => sent += 1,
            Err(err) => {
                tracing::warn!(agent = %agent.id, error = %err, "a team digest could not be emailed");
                last_error = Some(err.to_string());
            }
        }
    }
    if let (0, Some(error)) = (sent, last_error) {
        // Nobody got it (the mail server is down): the same list again
        // after the email back-off.
        return Ok(Outcome::Failed(format!(
            "emailing the team digest: {error}"
        )));
    }
    settle(state, job, ws, covered).await
}

/// Moves the mark to `covered`, then ends the job, or puts it back for a
/// conversation that started while it ran (its own insert found this job
/// still pending and was dropped).
async fn settle(
    state: &AppState,
    job: &ClaimedJob,
    ws: WorkspaceId,
    covered: Timestamp,
) -> Result<Outcome, StoreError> {
    state.store.set_team_digest_mark(ws, covered).await?;
    let later = state
        .store
        .waiting_conversations_since(ws, covered, 1)
        .await?;
    match later.first() {
        Some(next) => {
            let due = Timestamp::from_millis(next.created_at.as_millis() + BATCH_MILLIS);
            state.store.release_job(job, due).await?;
        }
        None => state.store.finish_job(job).await?,
    }
    Ok(Outcome::Handled)
}
