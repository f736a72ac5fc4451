//! Creating a workspace with its owner and first API token: what
//! `rapport admin bootstrap` and the first-run setup page do.

use rapport_core::Timestamp;
use rapport_core::model::agent::{Agent, ApiToken, Email, NewAgent, NewToken, Role};
use rapport_core::model::ids::{AgentId, TokenId, WorkspaceId};
use rapport_core::model::validation::{Validator, single_line_text};
use rapport_core::model::workspace::{NewWorkspace, Workspace};
use rapport_core::ports::clock::Clock;
use rapport_core::ports::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::credentials::{self, PasswordHashing};
use crate::error::ApiError;

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BootstrapRequest {
    pub workspace: String,
    pub email: String,
    pub password: String,
    pub name: Option<String>,
}

/// What a script needs to start using the workspace. The token and the
/// identity secret are shown here once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Bootstrapped {
    pub workspace_id: WorkspaceId,
    pub app_id: String,
    pub api_token: String,
    pub identity_secret: String,
    pub owner_id: AgentId,
    pub owner_email: String,
}

/// Creates a workspace, as `rapport admin bootstrap` does (any number).
pub async fn bootstrap_workspace(
    store: &dyn Store,
    clock: &dyn Clock,
    request: BootstrapRequest,
) -> Result<Bootstrapped, ApiError> {
    create(store, clock, request, None).await
}

/// The first-run setup page: creates the installation's first workspace,
/// or `Conflict` if any exists, decided by the database (two racing first
/// visits create one). The password is hashed in turn with requests'.
pub async fn set_up_first_workspace(
    store: &dyn Store,
    clock: &dyn Clock,
    passwords: &PasswordHashing,
    request: BootstrapRequest,
) -> Result<Bootstrapped, ApiError> {
    create(store, clock, request, Some(passwords)).await
}

pub fn already_set_up() -> ApiError {
    ApiError::Conflict("this Rapport is set up already: sign in instead".into())
}

async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    request: BootstrapRequest,
    first_run: Option<&PasswordHashing>,
) -> Result<Bootstrapped, ApiError> {
    let mut v = Validator::default();
    let workspace_name = v.check("workspace", single_line_text(&request.workspace, 120));
    let email = v.check("email", Email::parse(&request.email));
    v.check(
        "password",
        credentials::check_password_strength(&request.password),
    );
    let name = match &request.name {
        Some(name) => v.check("name", single_line_text(name, 120)),
        None => email
            .as_ref()
            .map(|e| e.as_str().split('@').next().unwrap_or_default().to_owned()),
    };
    v.finish()?;
    let (Some(workspace_name), Some(email), Some(name)) = (workspace_name, email, name) else {
        unreachable!("the validator reported every missing field");
    };

    let now: Timestamp = clock.now();
    let workspace = Workspace {
        id: WorkspaceId::generate(),
        name: workspace_name,
        app_id: credentials::new_app_id(),
        identity_secret: credentials::new_identity_secret(),
        previous_identity_secret: None,
        // On from the start: a widget may not name a user without proof
        // (docs/security.md). Admins may turn it off, with a warning.
        identity_verification: true,
        allowed_origins: Vec::new(),
        bulk_sends_admins_only: false,
        retention_days: None,
        attachments: Default::default(),
        email: Default::default(),
        created_at: now,
    };
    let owner = Agent {
        id: AgentId::generate(),
        workspace_id: workspace.id,
        email: email.clone(),
        name,
        role: Role::Owner,
        created_at: now,
    };
    let (api_token, secret_hash) = credentials::new_api_token();
    let token = NewToken {
        token: ApiToken {
            id: TokenId::generate(),
            workspace_id: workspace.id,
            agent_id: owner.id,
            created_by: owner.id,
            name: "bootstrap".into(),
            created_at: now,
            revoked_at: None,
        },
        secret_hash,
    };
    let password_hash = match first_run {
        Some(passwords) => passwords.hash(request.password).await??,
        None => credentials::hash_password(request.password).await?,
    };
    let created = Bootstrapped {
        workspace_id: workspace.id,
        app_id: workspace.app_id.clone(),
        api_token,
        identity_secret: workspace.identity_secret.clone(),
        owner_id: owner.id,
        owner_email: email.as_str().to_owned(),
    };
    let new = NewWorkspace {
        workspace,
        owner: NewAgent {
            agent: owner,
            password_hash,
        },
        token,
    };
    let stored = match first_run {
        Some(_) => store.set_up_first_workspace(new).await,
        None => store.bootstrap_workspace(new).await,
    };
    stored.map_err(|err| match err {
        StoreError::Conflict(_) if first_run.is_some() => already_set_up(),
        StoreError::Conflict(_) => {
            ApiError::Conflict(format!("{} already owns a workspace", email.as_str()))
        }
        other => other.into(),
    })?;
    Ok(created)
}
