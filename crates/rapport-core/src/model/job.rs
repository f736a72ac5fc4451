//! Durable jobs. A job is enqueued in the same transaction as the write that
//! causes it, so a crash can never keep the write and lose the job.

use serde_json::Value as Json;

use crate::Timestamp;
use crate::model::ids::{JobId, WorkspaceId};

/// A job to insert. Workers (arriving with the email fallback) claim due
/// jobs atomically and run them idempotently.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    pub workspace_id: WorkspaceId,
    pub kind: &'static str,
    /// At most one pending job per kind and key (e.g. one email job per
    /// conversation): inserting a second is a no-op.
    pub key: Option<String>,
    pub payload: Json,
    pub due_at: Timestamp,
}

/// A job a worker holds until `claimed_until`. `attempts` counts claims and
/// fences the holder: settling with an older count is refused.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub due_at: Timestamp,
    pub attempts: u32,
    pub created_at: Timestamp,
}
