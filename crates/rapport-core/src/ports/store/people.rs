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
    /// How many contacts match, and a page of them.
    async fn search_contacts(&self, search: ContactSearch) -> Result<ContactPage, StoreError>;
    /// `Conflict` when the workspace has a segment of that name.
    async fn save_segment(&self, segment: Segment) -> Result<Segment, StoreError>;
    async fn segment(&self, workspace: WorkspaceId, id: SegmentId) -> Result<Segment, StoreError>;
    async fn segments(&self, workspace: WorkspaceId) -> Result<Vec<Segment>, StoreError>;
    async fn delete_segment(&self, workspace: WorkspaceId, id: SegmentId)
    -> Result<(), StoreError>;
}
