//! Files attached to messages: uploaded first (unsent, their uploader's
//! only), then claimed by the message that sends them, in its write.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::attachment::AttachmentRef;
use crate::model::conversation::Author;
use crate::model::ids::{AttachmentId, ConversationId, WorkspaceId};

/// The most unsent attachments one uploader holds.
pub const MAX_UNSENT_ATTACHMENTS: u64 = 50;
/// How long an upload waits to be sent before it is deleted: a day, in
/// milliseconds.
pub const UNSENT_KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// An attachment as stored, with who may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    pub reference: AttachmentRef,
    pub workspace_id: WorkspaceId,
    /// A team member or a contact.
    pub uploader: Author,
    /// The conversation its message is in; `None` until it is sent.
    pub conversation_id: Option<ConversationId>,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    /// Records an uploaded file, unsent, and makes sure the workspace's
    /// sweep of unsent uploads is pending (`Job::SweepUploads`, due when
    /// this one expires, unless one is pending already). `Conflict` when
    /// the uploader holds `MAX_UNSENT_ATTACHMENTS` unsent already.
    async fn add_attachment(
        &self,
        workspace: WorkspaceId,
        uploader: Author,
        reference: AttachmentRef,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn attachment(
        &self,
        workspace: WorkspaceId,
        id: AttachmentId,
    ) -> Result<StoredAttachment, StoreError>;
    /// The uploader's unsent attachments among `ids`, in the order asked;
    /// `NotFound` when one is not (another's, sent already, unknown).
    async fn unsent_attachments(
        &self,
        workspace: WorkspaceId,
        uploader: Author,
        ids: &[AttachmentId],
    ) -> Result<Vec<AttachmentRef>, StoreError>;
    /// Moves at most `limit` of the workspace's uploads that are still
    /// unsent and were made before `before` to the deletion outbox (as
    /// `deleted_attachments` lists them). Answers how many, and when the
    /// oldest unsent upload left was made.
    async fn drop_unsent_attachments(
        &self,
        workspace: WorkspaceId,
        before: Timestamp,
        limit: u32,
    ) -> Result<(u32, Option<Timestamp>), StoreError>;
    /// Files whose rows erasures and retention deleted, for the server to
    /// delete from storage, at most `limit`: (workspace, attachment).
    async fn deleted_attachments(
        &self,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, AttachmentId)>, StoreError>;
    /// Forgets these once their files are gone.
    async fn forget_deleted_attachments(
        &self,
        done: &[(WorkspaceId, AttachmentId)],
    ) -> Result<(), StoreError>;
}
