//! Saved replies: the workspace's and each member's own.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::ids::{AgentId, SavedReplyId, WorkspaceId};
use crate::model::saved_reply::{SavedReply, SavedReplyFields};

#[async_trait]
pub trait SavedReplyStore: Send + Sync + 'static {
    /// The workspace's saved replies and `agent`'s own, by shortcut (the
    /// workspace's first when both have one).
    async fn saved_replies(
        &self,
        workspace: WorkspaceId,
        agent: AgentId,
    ) -> Result<Vec<SavedReply>, StoreError>;
    async fn saved_reply(
        &self,
        workspace: WorkspaceId,
        id: SavedReplyId,
    ) -> Result<SavedReply, StoreError>;
    /// Stores a new one; `Conflict` if its scope (the workspace's, or its
    /// owner's) has the shortcut already, or has
    /// [`MAX_PER_SCOPE`](crate::model::saved_reply::MAX_PER_SCOPE).
    async fn create_saved_reply(&self, reply: SavedReply) -> Result<SavedReply, StoreError>;
    /// Replaces its title, shortcut and body; `Conflict` as above.
    async fn update_saved_reply(
        &self,
        workspace: WorkspaceId,
        id: SavedReplyId,
        fields: SavedReplyFields,
        at: Timestamp,
    ) -> Result<SavedReply, StoreError>;
    async fn delete_saved_reply(
        &self,
        workspace: WorkspaceId,
        id: SavedReplyId,
    ) -> Result<(), StoreError>;
}
