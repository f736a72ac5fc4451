//! The team: members, API tokens and sign-in sessions.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::agent::{Agent, AgentSession, ApiToken, NewAgent, NewToken, Principal};
use crate::model::ids::{AgentId, TokenId, WorkspaceId};

#[async_trait]
pub trait TeamStore: Send + Sync + 'static {
    /// `Conflict` when the email is already a member of the workspace.
    async fn create_agent(&self, new: NewAgent) -> Result<Agent, StoreError>;
    /// Removes a team member at once: their sign-in sessions end, the
    /// tokens they act as or made are revoked, their conversations are
    /// unassigned, and their email is free to be invited again. `Conflict`
    /// for the owner.
    async fn remove_agent(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// A member's password hash (for checking their current password).
    async fn password_hash(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
    ) -> Result<String, StoreError>;
    /// Sets a member's password hash and ends their sign-in sessions but
    /// `keep` (the one that made the change).
    async fn set_password_hash(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
        password_hash: String,
        keep: Option<[u8; 32]>,
    ) -> Result<(), StoreError>;
    async fn agent(&self, workspace: WorkspaceId, id: AgentId) -> Result<Agent, StoreError>;
    async fn list_agents(&self, workspace: WorkspaceId) -> Result<Vec<Agent>, StoreError>;
    async fn create_token(&self, new: NewToken) -> Result<ApiToken, StoreError>;
    async fn list_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>, StoreError>;
    async fn revoke_token(
        &self,
        workspace: WorkspaceId,
        id: TokenId,
        at: Timestamp,
    ) -> Result<ApiToken, StoreError>;
    /// Who a live (unrevoked) token with this secret hash acts as.
    async fn authenticate_token(&self, secret_hash: [u8; 32]) -> Result<Principal, StoreError>;
    /// Team members with this email (in any workspace), with their
    /// password hashes, oldest first: for signing in.
    async fn login_candidates(&self, email: &str) -> Result<Vec<(Agent, String)>, StoreError>;
    async fn create_agent_session(&self, session: AgentSession) -> Result<(), StoreError>;
    /// Who an unexpired sign-in session acts as.
    async fn agent_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<Principal, StoreError>;
    async fn delete_agent_session(&self, secret_hash: [u8; 32]) -> Result<(), StoreError>;
}
