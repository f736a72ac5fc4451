//! Conversations and their messages: the one place messages are written.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::agent::Agent;
use crate::model::contact::Contact;
use crate::model::conversation::{Conversation, ConversationChange, ConversationQuery, Message};
use crate::model::email::EmailPlan;
use crate::model::ids::{AgentId, BulkSendId, ContactId, ConversationId, WorkspaceId};
use crate::model::workspace::Workspace;

/// A message to append, and the conversation it goes into.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub message: Message,
    /// The contact the conversation is with: the store refuses (`NotFound`)
    /// an existing conversation that is someone else's.
    pub contact_id: ContactId,
    /// `Some` starts this new conversation with the message.
    pub new_conversation: Option<Conversation>,
    /// What happens about emailing it (team comments only): its job is
    /// enqueued, or the skip is logged, in the same transaction.
    pub email: Option<EmailPlan>,
    /// For a reply that came by email: its Message-ID. The store refuses
    /// (`Conflict`) a second message with the same key in the workspace.
    pub email_key: Option<String>,
    /// For a bulk send's message: the send. The store marks the recipient
    /// sent in the same transaction, and refuses (`Conflict`) a recipient
    /// already sent or failed.
    pub bulk_send: Option<BulkSendId>,
}

/// What `append_message` stored.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub message: Message,
    pub conversation: Conversation,
    /// The last activity-log position the write produced for the message's
    /// conversation.
    pub seq: i64,
}

/// What rendering a message for a contact reads, in one go.
#[derive(Clone, Debug)]
pub struct MessageContext {
    pub workspace: Workspace,
    pub contact: Contact,
    /// The sending team member, when one was asked for and exists.
    pub agent: Option<Agent>,
}

#[async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    /// The workspace, a contact of it and (if asked for and in the same
    /// workspace) a team member, in one read. `NotFound` when the contact is
    /// not in the workspace.
    async fn message_context(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        agent: Option<AgentId>,
    ) -> Result<MessageContext, StoreError>;
    /// Stores messages of one workspace, each with the conversation it
    /// starts (or the state it moves its existing conversation to), its
    /// activity entries, its bulk recipient mark, its email job or skip,
    /// and its emailed reply's key, all in one transaction: the one write
    /// of messages. A batch starts each new conversation once, and appends
    /// only to conversations that existed before it.
    ///
    /// Per message, in order: what was stored; `NotFound` when its contact
    /// or conversation is not in the workspace or the conversation is
    /// another contact's; `Conflict` when its bulk recipient was sent
    /// already (or the send stopped) or its email key was seen. `Err` of
    /// the whole: nothing was stored.
    async fn append_messages(
        &self,
        new: Vec<NewMessage>,
    ) -> Result<Vec<Result<StoredMessage, StoreError>>, StoreError>;
    async fn conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError>;
    async fn conversation_parts(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Vec<Message>, StoreError>;
    async fn list_conversations(
        &self,
        workspace: WorkspaceId,
        query: ConversationQuery,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// The newest part of each listed conversation: any part, or with
    /// `comments_only` the newest the contact can see.
    async fn last_parts(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
        comments_only: bool,
    ) -> Result<Vec<Message>, StoreError>;
    /// Per conversation of the contact, how many team comments are newer
    /// than what the contact has read (conversations with none are left out).
    async fn unread_counts(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Vec<(ConversationId, u32)>, StoreError>;
    /// Records that the contact read the conversation's team messages up
    /// to `at`; logs it when it moves the read position forward.
    async fn mark_read(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Option<i64>, StoreError>;
    /// Applies a status or assignment change and logs it; returns the
    /// conversation and, when something changed, the activity position.
    async fn change_conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
        change: ConversationChange,
        by: Option<AgentId>,
        at: Timestamp,
    ) -> Result<(Conversation, Option<i64>), StoreError>;
}
