//! Bulk sends: one message to many contacts, resumable.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::bulk::{BulkSend, NewBulkSend};
use crate::model::ids::{BulkSendId, ContactId, WorkspaceId};

#[async_trait]
pub trait BulkSendStore: Send + Sync + 'static {
    /// Stores a bulk send, its recipients (the audience, resolved now) and
    /// its job in one transaction.
    async fn create_bulk_send(&self, new: NewBulkSend) -> Result<BulkSend, StoreError>;
    async fn bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
    ) -> Result<BulkSend, StoreError>;
    /// The workspace's bulk sends, newest first.
    async fn bulk_sends(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> Result<Vec<BulkSend>, StoreError>;
    /// Stops a send that is still sending (kept as it is otherwise).
    async fn cancel_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        at: Timestamp,
    ) -> Result<BulkSend, StoreError>;
    /// Recipients not yet sent or failed, in a stable order.
    async fn bulk_pending(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        limit: u32,
    ) -> Result<Vec<ContactId>, StoreError>;
    async fn fail_bulk_recipient(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        contact: ContactId,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Marks a send that is still sending done.
    async fn finish_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Ends a send that is still sending whose job failed for good: its
    /// pending recipients are marked failed with `error`, and it is done.
    async fn fail_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        error: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
}
