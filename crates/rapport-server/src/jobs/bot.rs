//! The AI bot's work in the runner: its turn on each contact message the
//! dispatcher found (`services::bot::respond`), and the check 24 hours
//! after an answer (`services::bot::settle`). Both are idempotent: a turn
//! is fenced by the conversation's bot state, a settle by the answer's
//! time.

use futures::StreamExt;
use rapport_core::Timestamp;
use rapport_core::model::ids::{ConversationId, MessageId};
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;
use rapport_core::services::bot::{respond, settle};

use super::automations::with_env;
use super::runner::{Outcome, Runner, run_contained};
use crate::AppState;

/// Bot turns taken at once.
const TURNS_AT_ONCE: usize = 8;

/// What a bot job asks.
pub(super) enum Work {
    Reply {
        conversation: ConversationId,
        message: MessageId,
        seq: i64,
    },
    Settle {
        conversation: ConversationId,
        answered_at: Timestamp,
    },
}

pub(super) async fn run(runner: &Runner, jobs: Vec<(Work, ClaimedJob)>) {
    let state = runner.state();
    futures::stream::iter(jobs)
        .for_each_concurrent(TURNS_AT_ONCE, |(work, job)| async move {
            if runner.stopping() {
                return runner.put_back(&job).await;
            }
            let result = run_contained(state, &job, run_job(state, &job, work)).await;
            runner.conclude(&job, result).await;
        })
        .await;
}

async fn run_job(state: &AppState, job: &ClaimedJob, work: Work) -> Result<Outcome, StoreError> {
    let ws = job.workspace_id;
    let done = with_env(state, async |env| match work {
        Work::Reply {
            conversation,
            message,
            seq,
        } => respond(env, ws, conversation, message, seq)
            .await
            .map(|handled| {
                tracing::debug!(%conversation, ?handled, "the bot took its turn");
            }),
        Work::Settle {
            conversation,
            answered_at,
        } => settle(env, ws, conversation, answered_at).await.map(|_| ()),
    })
    .await;
    match done {
        Ok(()) => {}
        // The conversation or its contact is gone: nothing to answer.
        Err(StoreError::NotFound) => {}
        Err(err) => return Ok(Outcome::Failed(err.to_string())),
    }
    state.store.finish_job(job).await?;
    Ok(Outcome::Handled)
}
