//! The email fallback: what waits for an email, how a job settles, and replies.

use std::collections::HashMap;

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::activity::Activity;
use crate::model::contact::Contact;
use crate::model::conversation::{Conversation, Message};
use crate::model::ids::{ContactId, ConversationId, MessageId, WorkspaceId};
use crate::model::job::ClaimedJob;
use crate::model::workspace::Workspace;

/// How an email job ends for the messages it looked at. The store marks
/// them, logs `activity`, and then either removes the job or, when more
/// messages came while it ran, makes it due again for those.
#[derive(Clone, Debug)]
pub struct EmailSettlement {
    pub job: ClaimedJob,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    /// Messages settled by email or by a skip.
    pub emailed: Vec<MessageId>,
    pub skipped: Vec<MessageId>,
    /// The timeline entries to write (at most one per outcome).
    pub activities: Vec<Activity>,
    pub at: Timestamp,
    /// The workspace's delay, for messages still pending.
    pub delay_millis: i64,
}

/// The most conversations one [`EmailStore::email_work`] reads.
pub const EMAIL_WORK_MAX: usize = 256;

/// What a batch of one workspace's email jobs reads before sending: a few
/// reads for the batch instead of five for each email.
#[derive(Clone, Debug)]
pub struct EmailWork {
    pub workspace: Workspace,
    /// Each conversation asked for that is in the workspace; one that is
    /// not (erased, or never there) is missing.
    pub conversations: HashMap<ConversationId, EmailConversation>,
}

/// One conversation of an [`EmailWork`].
#[derive(Clone, Debug)]
pub struct EmailConversation {
    pub conversation: Conversation,
    pub contact: Contact,
    /// Its messages waiting for an email, oldest first.
    pub pending: Vec<Message>,
    /// Every part of it, oldest first (the pending ones among them).
    pub parts: Vec<Message>,
}

/// A conversation as an inbound email reply finds it: from the id in the
/// reply address, before its signature is checked against the workspace.
#[derive(Clone, Debug)]
pub struct ReplyTarget {
    pub workspace: Workspace,
    pub conversation: Conversation,
    pub contact: Contact,
}

#[async_trait]
pub trait EmailStore: Send + Sync + 'static {
    /// What the email jobs of these conversations of one workspace need
    /// (see [`EmailWork`]), at most [`EMAIL_WORK_MAX`] of them;
    /// `NotFound` when the workspace is gone, `Invalid` past the cap.
    async fn email_work(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
    ) -> Result<EmailWork, StoreError>;
    /// Records email jobs' outcomes (see `EmailSettlement`) in one
    /// transaction, so that many settle for one commit. Per settlement, in
    /// order: the last log position written, or `Conflict` when its claim
    /// was lost (the others still settle).
    async fn settle_emails(
        &self,
        settlements: Vec<EmailSettlement>,
    ) -> Result<Vec<Result<Option<i64>, StoreError>>, StoreError>;
    /// The conversation an inbound reply names, with its workspace and
    /// contact: the one lookup not scoped to a workspace, made only to
    /// check the signature that then scopes it.
    async fn reply_target(&self, conversation: ConversationId) -> Result<ReplyTarget, StoreError>;
}
