//! Telling the team by email of conversations started while nobody is
//! online: who wants to be told, and how far the last email went.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::agent::Agent;
use crate::model::conversation::Conversation;
use crate::model::ids::{AgentId, WorkspaceId};

#[async_trait]
pub trait TeamNoticeStore: Send + Sync + 'static {
    /// Whether the member is emailed about new conversations (the default).
    async fn emails_new_conversations(
        &self,
        workspace: WorkspaceId,
        agent: AgentId,
    ) -> Result<bool, StoreError>;
    async fn set_emails_new_conversations(
        &self,
        workspace: WorkspaceId,
        agent: AgentId,
        on: bool,
    ) -> Result<(), StoreError>;
    /// The members (not removed) who are emailed about new conversations.
    async fn new_conversation_recipients(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<Agent>, StoreError>;
    /// Conversations created up to this time were covered by the last
    /// email (or found someone online); `None` before the first.
    async fn team_digest_mark(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<Timestamp>, StoreError>;
    /// Open conversations still waiting for the team that were created
    /// after `since`, oldest first, at most `limit`.
    async fn waiting_conversations_since(
        &self,
        workspace: WorkspaceId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError>;
    async fn set_team_digest_mark(
        &self,
        workspace: WorkspaceId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
}
