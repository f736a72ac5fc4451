//! A contact's erasure (GDPR article 17): asked for, then carried out by a
//! job that deletes everything stored about them; the record stays, with
//! what was removed and no personal data.

use serde::Serialize;

use crate::Timestamp;
use crate::model::ids::{AgentId, ContactId, ErasureId, WorkspaceId};

/// The record of an erasure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Erasure {
    pub id: ErasureId,
    pub workspace_id: WorkspaceId,
    /// The contact's id (which no longer finds anything once done).
    pub contact_id: ContactId,
    /// The team member who asked, if one did.
    pub requested_by: Option<AgentId>,
    pub requested_at: Timestamp,
    /// When everything was deleted; `null` while the job waits.
    pub done_at: Option<Timestamp>,
    /// What was deleted, once done.
    pub removed: Option<Removed>,
}

/// How much an erasure deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removed {
    pub conversations: u64,
    pub messages: u64,
    /// Timeline entries (messages' entries, events, page views, changes).
    pub timeline_entries: u64,
    pub automation_runs: u64,
}
