//! Workspaces: the tenant, its settings and its identity secret.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::ids::WorkspaceId;
use crate::model::workspace::{NewWorkspace, Workspace, WorkspaceSettings};

#[async_trait]
pub trait WorkspaceStore: Send + Sync + 'static {
    /// Answers when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// The read pool's connections now (for `/metrics`).
    fn pool_use(&self) -> PoolUse;
    /// Creates a workspace with its owner and first token. `Conflict` when
    /// the owner's email already owns a workspace.
    async fn bootstrap_workspace(&self, new: NewWorkspace) -> Result<(), StoreError>;
    /// The first-run setup: creates the installation's first workspace, as
    /// `bootstrap_workspace` does, only if no workspace was ever created
    /// (`Conflict` otherwise, decided by the database, so two racing
    /// setups create one workspace).
    async fn set_up_first_workspace(&self, new: NewWorkspace) -> Result<(), StoreError>;
    async fn workspace(&self, id: WorkspaceId) -> Result<Workspace, StoreError>;
    /// How many workspaces exist (0 on a fresh install).
    async fn workspace_count(&self) -> Result<u64, StoreError>;
    /// The workspace the widget's public `app_id` names.
    async fn workspace_by_app_id(&self, app_id: &str) -> Result<Workspace, StoreError>;
    /// Changes the settings; a retention period set enqueues the job that
    /// applies it (`Job::ApplyRetention`, due at `at`), in the same
    /// transaction.
    async fn update_workspace(
        &self,
        id: WorkspaceId,
        settings: WorkspaceSettings,
        at: Timestamp,
    ) -> Result<Workspace, StoreError>;
    /// Deletes up to `limit` of the workspace's closed conversations last
    /// changed before `before`, with their messages, timeline entries and
    /// the jobs about them, in one transaction; how many, and whether more
    /// are left.
    async fn delete_closed_conversations(
        &self,
        workspace: WorkspaceId,
        before: Timestamp,
        limit: u32,
    ) -> Result<(u64, bool), StoreError>;
    /// Replaces the identity secret; hashes made with the old one keep
    /// working until `previous_until`.
    async fn rotate_identity_secret(
        &self,
        id: WorkspaceId,
        new_secret: String,
        previous_until: Timestamp,
    ) -> Result<Workspace, StoreError>;
}

/// A connection pool's use at a moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}
