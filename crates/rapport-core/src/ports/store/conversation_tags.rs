//! The team's tags on conversations, and searching conversations.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::conversation::{Conversation, Message};
use crate::model::ids::{AgentId, ConversationId, WorkspaceId};
use crate::model::search::SearchQuery;

/// The most tags one conversation holds.
pub const MAX_CONVERSATION_TAGS: usize = 20;

/// A tag in use in a workspace, with how many conversations have it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagCount {
    pub name: String,
    pub conversations: u64,
}

/// What a search found in a conversation.
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    /// Its newest message holding every word.
    Message(Box<Message>),
    /// Its contact's name or email contains the query.
    Contact,
    /// It has a tag equal to the query (case aside).
    Tag(String),
}

/// A conversation a search found, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    pub conversation: Conversation,
    pub found: Found,
}

#[async_trait]
pub trait ConversationTagStore: Send + Sync + 'static {
    /// Puts `tag` on the conversation (`add`) or takes it off, logging the
    /// change, in one transaction. Returns the conversation's tags after
    /// (sorted) and, when something changed, the activity position.
    /// `NotFound` for a conversation not in the workspace; `Conflict` when
    /// it has `MAX_CONVERSATION_TAGS` already.
    async fn tag_conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        tag: String,
        add: bool,
        by: Option<AgentId>,
        at: Timestamp,
    ) -> Result<(Vec<String>, Option<i64>), StoreError>;
    /// The tags of these conversations (of the workspace), sorted.
    async fn conversation_tags(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
    ) -> Result<Vec<(ConversationId, Vec<String>)>, StoreError>;
    /// The tags in use, most used first, at most `limit`.
    async fn tags_in_use(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> Result<Vec<TagCount>, StoreError>;
    /// Conversations of the workspace in any status where a message holds
    /// every word of the query, the contact's name or email contains it, or
    /// a tag equals it: newest first (a message's time, else the
    /// conversation's latest activity), each conversation once, at most
    /// `limit`.
    async fn search_conversations(
        &self,
        workspace: WorkspaceId,
        query: &SearchQuery,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError>;
}
