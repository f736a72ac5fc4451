//! Workspaces (tenants) and what creating one needs.

use serde::Serialize;

use crate::Timestamp;
use crate::agent::NewAgent;
use crate::ids::WorkspaceId;

/// One business using Rapport. Every other row belongs to exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    /// The public id the widget snippet carries.
    pub app_id: String,
    /// The HMAC key for identity verification. Never serialised by accident.
    #[serde(skip)]
    pub identity_secret: String,
    /// When set, a widget may only claim a `user_id` with a valid `user_hash`.
    pub identity_verification: bool,
    pub created_at: Timestamp,
}

/// Everything `rapport admin bootstrap` (and the first-run page) creates in
/// one transaction: the workspace, its owner and a first API token.
#[derive(Clone, Debug)]
pub struct NewWorkspace {
    pub workspace: Workspace,
    pub owner: NewAgent,
    pub token: crate::agent::NewToken,
}
