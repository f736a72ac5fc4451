//! Automations at work.
//!
//! - [`dispatch`] reads each workspace's activity log from its cursor,
//!   matches entries against live automations' triggers and audiences,
//!   and starts runs (or wakes runs waiting for what an entry says) in one
//!   transaction with the cursor's move.
//! - [`runs`] takes a run's next steps when its job comes due: each step's
//!   effect and the run's advance are one store write
//!   (`RunStore::advance_run`), fenced by the run's step count, so a job
//!   claimed again after a crash finds the step done and goes on from
//!   there.
//! - [`steps`] decides what one node does (which exit, which effect),
//!   reading what it needs but writing nothing: the runner and the dry run
//!   (`manage::simulate`) share it.
//! - [`manage`] is what the team does: create, edit, publish, start by
//!   hand, simulate.

pub mod dispatch;
pub mod manage;
pub mod runs;
pub mod steps;

use crate::model::ids::{AgentId, ContactId, WorkspaceId};
use crate::services::Deps;

/// Who is online now: the live hub knows, the store does not.
pub trait Presence: Send + Sync {
    /// The contact has a messenger open (or had, within the grace period).
    fn contact_online(&self, workspace: WorkspaceId, contact: ContactId) -> bool;
    /// The member has an Inbox open and has not set themselves away.
    fn agent_online(&self, workspace: WorkspaceId, agent: AgentId) -> bool;
}

/// Bounds the runner keeps to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A wait (or a delayed trigger) found due more than this late (after
    /// downtime) ends the run with a reason instead of firing.
    pub overdue_millis: i64,
    /// Log entries read per dispatch.
    pub dispatch_batch: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            overdue_millis: 60 * 60_000,
            dispatch_batch: 1_000,
        }
    }
}

/// What automation services need: the ports, presence and the bounds.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub deps: Deps<'a>,
    pub presence: &'a dyn Presence,
    pub limits: Limits,
    /// The knowledge base's search, for the AI bot and its flow step.
    pub knowledge: &'a dyn crate::ports::knowledge::Knowledge,
    /// The address the help center's links start with (no trailing `/`).
    pub public_url: &'a str,
    /// Writes answers from passages, when a language model is configured.
    pub writer: Option<&'a dyn crate::ports::writer::AnswerWriter>,
}
