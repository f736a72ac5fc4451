//! A run: one contact's way through one version of an automation. Its
//! whole state is a row (version, node, step count, what it waits for), so
//! a restart at any moment resumes it; each step's effect is written with
//! the run's advance in one transaction, fenced by the step count, so a
//! step is never done twice.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::flow::Awaited;
use super::trigger::Recheck;
use crate::Timestamp;
use crate::model::ids::{AutomationId, ContactId, ConversationId, RunId, WorkspaceId};

/// The most steps one run may take; the run fails when it reaches it (a
/// flow that loops without waiting ends here, not never).
pub const MAX_STEPS: u32 = 200;
/// Steps one job takes before it lets other runs go first.
pub const STEPS_PER_TURN: u32 = 25;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Its next step is due.
    Active,
    /// Waits for time or for the contact (`Run::wait`).
    Waiting,
    /// Went through to an end (or reached the goal).
    Done,
    /// Stopped: by a person, at publish, or because it was overdue or a
    /// check failed.
    Stopped,
    /// Could not go on (its step failed for good, or it hit `MAX_STEPS`).
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Active => "active",
            RunStatus::Waiting => "waiting",
            RunStatus::Done => "done",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed => "failed",
        }
    }

    /// Whether the run is still going (and so blocks another run of the
    /// same automation for the contact).
    pub fn is_going(self) -> bool {
        matches!(self, RunStatus::Active | RunStatus::Waiting)
    }
}

impl std::str::FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "active" => Ok(Self::Active),
            "waiting" => Ok(Self::Waiting),
            "done" => Ok(Self::Done),
            "stopped" => Ok(Self::Stopped),
            "failed" => Ok(Self::Failed),
            other => Err(format!("unknown run status {other:?}")),
        }
    }
}

/// What a waiting run waits for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WaitKind {
    /// A delayed trigger: checked again when due, then the flow starts.
    Trigger { recheck: Option<Recheck> },
    /// A plain wait.
    Time,
    /// Something, with a time-out.
    For { awaited: Awaited },
    /// An answer to the bot's question or buttons in the run's conversation.
    Answer { reasks: u32 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wait {
    pub kind: WaitKind,
    /// When it times out (or, for time, ends).
    pub until: Timestamp,
    /// The log position when the wait began: only what comes after counts.
    pub since_seq: i64,
}

/// What a run carries from its trigger.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    /// The tracked event that started it, for `{{ event.* }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<(String, Json)>,
    /// The log entry that started it (0 for a manual start).
    pub trigger_seq: i64,
    pub depth: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    pub id: RunId,
    pub workspace_id: WorkspaceId,
    pub automation_id: AutomationId,
    pub version: u32,
    pub contact_id: ContactId,
    pub conversation_id: Option<ConversationId>,
    pub status: RunStatus,
    /// The node it is at (to do next, or waiting at).
    pub node: String,
    /// Steps taken: the fence each advance checks and moves.
    pub step: u32,
    pub wait: Option<Wait>,
    pub context: RunContext,
    /// Why it ended, once it has.
    pub ended_reason: Option<String>,
    pub goal_reached: bool,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A run to start, with the job that will take its first step.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRun {
    pub run: Run,
    /// The frequency rule's window: refuse to start when the contact had a
    /// run of the automation that started within it (`None`: ever).
    pub window_millis: Option<i64>,
}

/// One line of a run's log: what a step did and which exit it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunLogEntry {
    pub step: u32,
    pub version: u32,
    pub node: String,
    /// The node's `type`, or `trigger` / `stop` for the run's own lines.
    pub kind: String,
    /// The exit taken (`None` when the run waits or ends there).
    pub exit: Option<String>,
    /// In words, why.
    pub detail: String,
    /// What it produced (a message id, an answer, a property).
    #[serde(default, skip_serializing_if = "Json::is_null")]
    pub data: Json,
    pub at: Timestamp,
}

/// Per node and exit of one version: how many times runs took it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeStats {
    pub version: u32,
    pub node: String,
    /// Runs that did this node.
    pub entered: u64,
    /// Messages it sent.
    pub sent: u64,
    /// Of those, read by the contact; and answered by the contact.
    pub read: u64,
    pub replied: u64,
    /// Exit name → times taken.
    pub exits: std::collections::BTreeMap<String, u64>,
}

/// One automation's headline numbers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AutomationStats {
    pub runs: u64,
    pub going: u64,
    pub done: u64,
    pub stopped: u64,
    pub failed: u64,
    pub goal_reached: u64,
    pub sent: u64,
    pub nodes: Vec<NodeStats>,
}
