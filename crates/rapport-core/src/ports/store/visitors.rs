//! Widget visitors: leads and the sessions their browsers hold.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::contact::Contact;
use crate::model::ids::{ContactId, WorkspaceId};
use crate::model::visitor::{VisitorBoot, VisitorBooted};

#[async_trait]
pub trait VisitorStore: Send + Sync + 'static {
    /// A new anonymous contact (a lead) for a widget visitor.
    async fn create_lead(
        &self,
        workspace: WorkspaceId,
        id: ContactId,
        now: Timestamp,
    ) -> Result<(Contact, i64), StoreError>;
    async fn create_widget_session(
        &self,
        secret_hash: [u8; 32],
        workspace: WorkspaceId,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// The workspace and contact a widget session belongs to. `NotFound`
    /// once its contact's identity has changed since it was issued, or it
    /// went unused for [`WIDGET_SESSION_IDLE_MILLIS`](crate::model::contact::WIDGET_SESSION_IDLE_MILLIS).
    async fn widget_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<(WorkspaceId, ContactId), StoreError>;
    /// Marks a widget session used at `now` (a boot that resumes it).
    async fn touch_widget_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Ends a widget session (the visitor shut the messenger down).
    async fn delete_widget_session(&self, secret_hash: [u8; 32]) -> Result<(), StoreError>;
    /// Moves a lead's conversations and timeline to the contact it turned
    /// out to be, ends the lead's sessions, and removes the lead.
    async fn merge_lead(
        &self,
        workspace: WorkspaceId,
        lead: ContactId,
        into: ContactId,
    ) -> Result<(), StoreError>;
    /// A widget boot's write, in one transaction: the contact it names
    /// created or updated (or the lead it keeps or makes), the lead merged
    /// on proof (`model::visitor::adoption`), the visit recorded, and the
    /// browser's session kept or a new one issued.
    async fn boot_visitor(&self, boot: VisitorBoot) -> Result<VisitorBooted, StoreError>;
}
