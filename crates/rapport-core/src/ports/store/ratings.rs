//! Contacts' ratings of their closed conversations.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::ids::{ContactId, ConversationId, WorkspaceId};
use crate::model::rating::Rating;

#[async_trait]
pub trait RatingStore: Send + Sync + 'static {
    /// Stores the contact's rating of their conversation with its timeline
    /// entry, in one transaction: `NotFound` if the conversation is not
    /// theirs, `Conflict` if it is not closed or was rated already.
    async fn rate_conversation(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        conversation: ConversationId,
        score: u8,
        comment: Option<String>,
        at: Timestamp,
    ) -> Result<Rating, StoreError>;
    async fn conversation_rating(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<Rating>, StoreError>;
}
