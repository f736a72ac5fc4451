//! People: the property schema, filters over contacts and saved segments.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::contact::{PropType, PropTypes, PropertySetting};
use crate::model::ids::{SegmentId, WorkspaceId};
use crate::model::people::{ContactPage, ContactSearch, PeopleSchema, Segment};

#[async_trait]
pub trait PeopleStore: Send + Sync + 'static {
    /// The workspace's custom properties and their types.
    async fn property_types(&self, workspace: WorkspaceId) -> Result<PropTypes, StoreError>;
    /// The workspace's custom properties with their settings, by name.
    async fn property_settings(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<PropertySetting>, StoreError>;
    /// Defines a property (`ty` is needed for a new name; for a known one
    /// it must match) and sets whether the messenger may write it.
    async fn save_property_setting(
        &self,
        workspace: WorkspaceId,
        name: String,
        ty: Option<PropType>,
        messenger_writable: Option<bool>,
        now: Timestamp,
    ) -> Result<PropertySetting, StoreError>;
    /// Property types, event names and tags, for filter builders.
    async fn people_schema(&self, workspace: WorkspaceId) -> Result<PeopleSchema, StoreError>;
    /// How many contacts match, and a page of them. A search naming custom
    /// properties that have no index yet queues the job that builds it
    /// (`Job::IndexProperty`).
    async fn search_contacts(&self, search: ContactSearch) -> Result<ContactPage, StoreError>;
    /// Copies the next chunk of contacts' values of a property into the
    /// property index; true once the index is ready (or there is nothing
    /// to build). Each call is one transaction.
    async fn index_property_chunk(
        &self,
        workspace: WorkspaceId,
        name: String,
    ) -> Result<bool, StoreError>;
    /// `Conflict` when the workspace has a segment of that name.
    async fn save_segment(&self, segment: Segment) -> Result<Segment, StoreError>;
    async fn segment(&self, workspace: WorkspaceId, id: SegmentId) -> Result<Segment, StoreError>;
    async fn segments(&self, workspace: WorkspaceId) -> Result<Vec<Segment>, StoreError>;
    async fn delete_segment(&self, workspace: WorkspaceId, id: SegmentId)
    -> Result<(), StoreError>;
}
