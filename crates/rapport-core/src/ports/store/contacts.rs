//! Contacts: their properties, tags, visits and tracked events.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::activity::{ActivityEntry, NewEvent};
use crate::model::contact::{Contact, ContactUpsert};
use crate::model::erasure::Erasure;
use crate::model::ids::{AgentId, ContactId, ErasureId, WorkspaceId};
use crate::model::people::EventSummary;
use crate::model::validation::ValidationError;

/// The most rows [`ContactStore::upsert_contacts`] takes at once.
pub const MAX_UPSERT_BATCH: usize = 500;

/// What a batch of upserts came to.
#[derive(Debug)]
pub struct UpsertBatch {
    /// Per row, in order: whether it created a contact (`false`: it
    /// updated one), or why it was refused (nothing of it was written).
    pub rows: Vec<Result<bool, ValidationError>>,
    /// The position of the last log entry the batch wrote, if any.
    pub last_seq: Option<i64>,
}

#[async_trait]
pub trait ContactStore: Send + Sync + 'static {
    /// Creates or updates the contact the upsert matches. When it created
    /// one, also returns the position of the `contact_created` entry.
    async fn upsert_contact(
        &self,
        upsert: ContactUpsert,
        new_id: ContactId,
        now: Timestamp,
    ) -> Result<(Contact, Option<i64>), StoreError>;
    /// Runs up to [`MAX_UPSERT_BATCH`] upserts of one workspace in one
    /// write, with the outcome of [`ContactStore::upsert_contact`] run on
    /// each in order (each row with its new contact's id). A row refused
    /// for its values fails alone; an error of the whole batch writes none
    /// of it.
    async fn upsert_contacts(
        &self,
        workspace: WorkspaceId,
        rows: Vec<(ContactUpsert, ContactId)>,
        now: Timestamp,
    ) -> Result<UpsertBatch, StoreError>;
    async fn contact(&self, workspace: WorkspaceId, id: ContactId) -> Result<Contact, StoreError>;
    /// Applies `changes` (parsed with `ContactUpsert::parse_changes`) to the
    /// contact with this id.
    async fn update_contact(
        &self,
        id: ContactId,
        changes: ContactUpsert,
        now: Timestamp,
    ) -> Result<Contact, StoreError>;
    /// The listed contacts of the workspace (unknown ids are skipped).
    async fn contacts(
        &self,
        workspace: WorkspaceId,
        ids: &[ContactId],
    ) -> Result<Vec<Contact>, StoreError>;
    async fn record_event(&self, event: NewEvent) -> Result<ActivityEntry, StoreError>;
    /// Adds (`present`) or removes a tag; returns the contact.
    async fn tag_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        tag: &str,
        present: bool,
        at: Timestamp,
    ) -> Result<Contact, StoreError>;
    /// Records a visit: last seen, sessions, the page.
    async fn contact_seen(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        at: Timestamp,
        page: Option<String>,
    ) -> Result<Contact, StoreError>;
    /// Per event name, what the contact did (most recent first).
    async fn event_summaries(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Vec<EventSummary>, StoreError>;
    /// Turns emails of chat messages off for a contact (kept if already
    /// off). Returns the contact.
    async fn unsubscribe_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Contact, StoreError>;
    /// Records that `contact` is to be erased and enqueues the job that
    /// does it (`Job::EraseContact`), in one transaction; an erasure of the
    /// contact still waiting is returned instead. `NotFound` when there is
    /// no such contact.
    async fn request_erasure(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        requested_by: Option<AgentId>,
        at: Timestamp,
    ) -> Result<Erasure, StoreError>;
    /// Deletes everything stored about the erasure's contact (their
    /// conversations and messages, timeline, events, properties, sessions,
    /// automation runs and the jobs about them, then the contact) in one
    /// transaction, and completes the record with what was removed. One
    /// already done is returned as it is.
    async fn erase_contact(
        &self,
        workspace: WorkspaceId,
        erasure: ErasureId,
        at: Timestamp,
    ) -> Result<Erasure, StoreError>;
    /// An erasure's record.
    async fn erasure(&self, workspace: WorkspaceId, id: ErasureId) -> Result<Erasure, StoreError>;
}
