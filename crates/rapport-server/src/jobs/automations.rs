//! Automations' work in the runner: dispatching the activity log to
//! triggers (`services::automations::dispatch`) and taking runs' steps
//! when their jobs come due (`services::automations::runs`).
//!
//! A run has one job for its whole life (keyed by the run): released to
//! the time its wait ends, made due early when what it waits for happens,
//! finished when the run ends. A crash leaves the job claimed; it is
//! claimed again when the claim runs out, and the run goes on from the
//! last step it wrote.

use futures::StreamExt;
use rapport_core::model::ids::{AgentId, ContactId, RunId, WorkspaceId};
use rapport_core::model::job::ClaimedJob;
use rapport_core::ports::store::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rapport_core::Timestamp;
use rapport_core::services::automations::dispatch::{dispatch, scan_dates};
use rapport_core::services::automations::runs::{Turn, awaited_by, take_turn};
use rapport_core::services::automations::{Env, Limits, Presence};

use super::runner::{Outcome, Runner, run_contained};
use crate::AppState;
use crate::live::Hub;

/// Runs whose steps are taken at once.
const RUNS_AT_ONCE: usize = 16;
/// Stretches of one workspace's log read in one pass before the next
/// workspace gets its turn.
const STRETCHES_PER_PASS: usize = 8;

/// Presence as the live hub knows it.
struct HubPresence<'a>(&'a Hub);

impl Presence for HubPresence<'_> {
    fn contact_online(&self, workspace: WorkspaceId, contact: ContactId) -> bool {
        self.0.is_online(workspace, contact)
    }

    fn agent_online(&self, workspace: WorkspaceId, agent: AgentId) -> bool {
        self.0.agent_status(workspace, agent) == "online"
    }
}

/// Runs `work` with the automation services' environment.
pub async fn with_env<T>(state: &AppState, work: impl AsyncFnOnce(Env<'_>) -> T) -> T {
    let presence = HubPresence(&state.hub);
    let env = Env {
        deps: state.deps(),
        presence: &presence,
        limits: state.automation_limits,
        knowledge: &*state.knowledge,
        public_url: &state.email.public_url,
        writer: state.writer.as_deref(),
    };
    work(env).await
}

/// How often each workspace's date triggers are looked at.
const DATE_SCAN_MILLIS: i64 = 60_000;

/// When each workspace's dates were last scanned (by this process; after a
/// restart, at once).
pub(super) type DateScans = Arc<Mutex<HashMap<WorkspaceId, Timestamp>>>;

/// Starts the runs of date triggers that came due, once a minute per
/// workspace.
async fn scan_due_dates(state: &AppState, scans: &DateScans) -> Result<usize, StoreError> {
    let now = state.clock.now();
    let mut started = 0;
    for ws in state.store.live_workspaces().await? {
        {
            let mut last = scans.lock().unwrap_or_else(|e| e.into_inner());
            if last
                .get(&ws)
                .is_some_and(|at| now.as_millis() - at.as_millis() < DATE_SCAN_MILLIS)
            {
                continue;
            }
            last.insert(ws, now);
        }
        started += with_env(state, async |env| scan_dates(env, ws).await).await?;
    }
    Ok(started)
}

/// Reads every workspace's new log entries for automations, and scans
/// due dates; returns how many runs started.
pub(super) async fn dispatch_all(state: &AppState, scans: &DateScans) -> Result<usize, StoreError> {
    let mut started = scan_due_dates(state, scans).await?;
    let work = state.store.dispatch_work().await?;
    for mut item in work {
        for _ in 0..STRETCHES_PER_PASS {
            let done = with_env(state, async |env| dispatch(env, &item).await).await;
            let done = match done {
                Ok(done) => done,
                Err(err) => {
                    tracing::warn!(workspace = %item.workspace_id, error = %err, "automations could not read the activity log");
                    break;
                }
            };
            started += done.started.len();
            if done.entries == 0 || done.lost_race {
                break;
            }
            // The stretch is written: the next starts after it.
            item.cursor = done.cursor;
        }
    }
    Ok(started)
}

/// Takes the steps of one round's due runs.
pub(super) async fn run(runner: &Runner, jobs: Vec<(RunId, ClaimedJob)>) {
    let state = runner.state();
    futures::stream::iter(jobs)
        .for_each_concurrent(RUNS_AT_ONCE, |(id, job)| async move {
            if runner.stopping() {
                return runner.put_back(&job).await;
            }
            // A panic fails this run's job (and stops the run), not the
            // others.
            let result = run_contained(state, &job, run_job(state, &job, id)).await;
            runner.conclude(&job, result).await;
        })
        .await;
}

async fn run_job(state: &AppState, job: &ClaimedJob, id: RunId) -> Result<Outcome, StoreError> {
    let ws = job.workspace_id;
    let turn = with_env(state, async |env| take_turn(env, ws, id).await).await;
    let turn = match turn {
        Ok(turn) => turn,
        Err(err) => return Ok(Outcome::Failed(err.to_string())),
    };
    match turn {
        Turn::Ended => state.store.finish_job(job).await?,
        Turn::More => state.store.release_job(job, state.clock.now()).await?,
        Turn::WaitUntil(until) => {
            state.store.release_job(job, until).await?;
            // What the run waits for may have been logged, and its wake
            // missed, between the run's last look and this release: look
            // once more now that a wake would find the job.
            let run = state.store.run(ws, id).await?;
            if run.wait.is_some() {
                let since = run.wait.as_ref().map_or(0, |w| w.since_seq);
                let entries = state
                    .store
                    .contact_activity_after(ws, run.contact_id, since, 500)
                    .await?;
                if entries.iter().any(|e| awaited_by(&run, e)) {
                    state.store.wake_runs(ws, &[id], state.clock.now()).await?;
                }
            }
        }
    }
    Ok(Outcome::Handled)
}

/// The automation settings a server runs with.
pub fn limits(overdue_minutes: u32) -> Limits {
    Limits {
        overdue_millis: i64::from(overdue_minutes.max(1)) * 60_000,
        ..Limits::default()
    }
}
