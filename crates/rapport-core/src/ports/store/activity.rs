//! The activity log: the timeline and the live streams read it.

use async_trait::async_trait;

use super::StoreError;
use crate::model::activity::ActivityEntry;
use crate::model::ids::{ContactId, WorkspaceId};

/// A page of a contact's timeline, newest first.
#[derive(Clone, Debug)]
pub struct TimelineQuery {
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    /// Only entries older than this position.
    pub before_seq: Option<i64>,
    /// Only these kinds (`message`, `emailed`, ...); empty: all.
    pub kinds: Vec<String>,
    pub limit: u32,
}

/// Which part of a workspace's activity log a live stream follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Everything in the workspace (an Inbox tab).
    Workspace,
    /// One contact's entries (their messenger).
    Contact(ContactId),
}

#[async_trait]
pub trait ActivityStore: Send + Sync + 'static {
    /// The workspace's newest log position (0 when empty).
    async fn activity_head(&self, workspace: WorkspaceId) -> Result<i64, StoreError>;
    /// Entries after position `after_seq`, oldest first, at most `limit`.
    /// Within a workspace, entries become visible in position order, so a
    /// reader that resumes after the last position it saw misses nothing.
    async fn activity_after(
        &self,
        workspace: WorkspaceId,
        stream: Stream,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ActivityEntry>, StoreError>;
    async fn timeline(&self, query: TimelineQuery) -> Result<Vec<ActivityEntry>, StoreError>;
}
