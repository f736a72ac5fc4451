//! The team: members (owner, admins, agents) and API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_core::model::agent::{Agent, ApiToken, Email, NewAgent, NewToken, Principal, Role};
use rapport_core::model::ids::{AgentId, TokenId};
use rapport_core::model::validation::{Validator, non_empty_text, single_line_text};
use rapport_core::ports::store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::credentials;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, Auth, SESSION_COOKIE, cookie};

fn require_manager(principal: &Principal) -> Result<(), ApiError> {
    if principal.role.can_manage_team() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only owners and admins manage the team and its tokens".into(),
        ))
    }
}

/// A team member and whether they are around.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMember {
    #[serde(flatten)]
    pub agent: Agent,
    /// `online`, `away`, or `offline` (no Inbox open).
    pub presence: &'static str,
}

#[utoipa::path(get, path = "/agents", tag = "team", security(("bearer" = [])),
    responses((status = 200, body = Vec<TeamMember>)))]
pub async fn list_agents(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<TeamMember>>, ApiError> {
    let ws = principal.workspace_id;
    let agents = state.store.list_agents(ws).await?;
    Ok(Json(
        agents
            .into_iter()
            .map(|agent| TeamMember {
                presence: state.hub.agent_status(ws, agent.id),
                agent,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentRequest {
    #[schema(schema_with = crate::openapi::text::email)]
    pub email: String,
    #[schema(schema_with = crate::openapi::text::line_up_to_120)]
    pub name: String,
    /// `admin` or `agent` (a workspace has one owner).
    #[schema(schema_with = crate::openapi::fields::new_member_role)]
    pub role: Role,
    /// Their first password, at least 8 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
}

#[utoipa::path(post, path = "/agents", tag = "team", security(("bearer" = [])),
    request_body = CreateAgentRequest,
    responses((status = 201, body = Agent), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password hashes queued; see Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn create_agent(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CreateAgentRequest>,
) -> Result<(StatusCode, Json<Agent>), ApiError> {
    require_manager(&principal)?;
    let mut v = Validator::default();
    let email = v.check("email", Email::parse(&body.email));
    let name = v.check("name", single_line_text(&body.name, 120));
    v.check(
        "password",
        credentials::check_password_strength(&body.password),
    );
    if body.role == Role::Owner {
        v.push("role", "a workspace has one owner: use admin or agent");
    }
    v.finish()?;
    let (Some(email), Some(name)) = (email, name) else {
        unreachable!("validated above")
    };
    let agent = Agent {
        id: AgentId::generate(),
        workspace_id: principal.workspace_id,
        email,
        name,
        role: body.role,
        created_at: state.clock.now(),
    };
    let password_hash = state.passwords.hash(body.password).await??;
    let created = state
        .store
        .create_agent(NewAgent {
            agent,
            password_hash,
        })
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => {
                ApiError::Conflict("that email is already a member of this workspace".into())
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/tokens", tag = "team", security(("bearer" = [])),
    responses((status = 200, description = "Admins see every token; agents their own", body = Vec<ApiToken>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    let mut tokens = state.store.list_tokens(principal.workspace_id).await?;
    if !principal.role.can_manage_team() {
        tokens.retain(|t| t.agent_id == principal.agent_id);
    }
    Ok(Json(tokens))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. `billing sync`.
    #[schema(schema_with = crate::openapi::text::up_to_120)]
    pub name: String,
    /// The member it acts as; default yourself (admins may choose another).
    pub agent_id: Option<AgentId>,
}

/// A new token. `secret` is shown this once; only its hash is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    pub secret: String,
}

#[utoipa::path(post, path = "/tokens", tag = "team", security(("bearer" = [])),
    request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn create_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let name =
        non_empty_text(&body.name, 120).map_err(|message| ApiError::field("name", message))?;
    let agent_id = body.agent_id.unwrap_or(principal.agent_id);
    if agent_id != principal.agent_id {
        require_manager(&principal)?;
        // Never a token with more rights than its maker (an admin cannot
        // mint the owner's); the store also caps it at the maker's role.
        let member = state
            .store
            .agent(principal.workspace_id, agent_id)
            .await
            .map_err(or_not_found("agent"))?;
        if !principal.role.outranks_or_equals(member.role) {
            return Err(ApiError::Forbidden(
                "a token may not act as a member with more rights than you".into(),
            ));
        }
    }
    let (secret, secret_hash) = credentials::new_api_token();
    let token = ApiToken {
        id: TokenId::generate(),
        workspace_id: principal.workspace_id,
        agent_id,
        created_by: principal.agent_id,
        name,
        created_at: state.clock.now(),
        revoked_at: None,
    };
    let token = state
        .store
        .create_token(NewToken { token, secret_hash })
        .await
        .map_err(or_not_found("agent"))?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

#[utoipa::path(delete, path = "/tokens/{id}", tag = "team", security(("bearer" = [])),
    params(("id" = TokenId, Path)),
    responses((status = 200, description = "Revoked", body = ApiToken), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TokenId>,
) -> Result<Json<ApiToken>, ApiError> {
    if !principal.role.can_manage_team() {
        let tokens = state.store.list_tokens(principal.workspace_id).await?;
        if !tokens
            .iter()
            .any(|t| t.id == id && t.agent_id == principal.agent_id)
        {
            return Err(ApiError::not_found("token"));
        }
    }
    let token = state
        .store
        .revoke_token(principal.workspace_id, id, state.clock.now())
        .await
        .map_err(or_not_found("token"))?;
    Ok(Json(token))
}

#[utoipa::path(delete, path = "/agents/{id}", tag = "team", security(("bearer" = [])),
    params(("id" = AgentId, Path)),
    responses((status = 204, description = "Removed: their sessions and tokens stopped working at once"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner, or yourself", body = Problem, content_type = "application/problem+json")))]
/// Removes a team member: their sign-ins end and the tokens they act as or
/// made are revoked at once; their conversations are unassigned. Their
/// messages keep their name.
pub async fn remove_agent(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AgentId>,
) -> Result<StatusCode, ApiError> {
    require_manager(&principal)?;
    let member = state
        .store
        .agent(principal.workspace_id, id)
        .await
        .map_err(or_not_found("agent"))?;
    if id == principal.agent_id {
        return Err(ApiError::Conflict(
            "you cannot remove yourself: ask another admin".into(),
        ));
    }
    if !principal.role.outranks_or_equals(member.role) {
        return Err(ApiError::Forbidden(
            "only the owner removes a member with the owner's rights".into(),
        ));
    }
    state
        .store
        .remove_agent(principal.workspace_id, id, state.clock.now())
        .await
        .map_err(|err| match err {
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::NotFound => ApiError::not_found("agent"),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 8 to 1024 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

#[utoipa::path(post, path = "/me/password", tag = "team", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204, description = "Changed; every other sign-in of yours has ended"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Changes your own password. Your other sign-in sessions end; the one
/// that made the change (if any) stays.
pub async fn change_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    credentials::check_password_strength(&body.new_password)
        .map_err(|message| ApiError::field("new_password", message))?;
    let stored = state
        .store
        .password_hash(principal.workspace_id, principal.agent_id)
        .await?;
    if !credentials::verify_password(body.current_password, stored).await {
        return Err(ApiError::field(
            "current_password",
            "is not your current password",
        ));
    }
    let hash = credentials::hash_password(body.new_password).await?;
    let keep = cookie(&headers, SESSION_COOKIE).map(credentials::hash_token);
    state
        .store
        .set_password_hash(principal.workspace_id, principal.agent_id, hash, keep)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What you are emailed about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailNotifications {
    /// Conversations contacts start while nobody on the team is online,
    /// a few minutes' worth in one email. Default `true`.
    pub new_conversations: bool,
}

#[utoipa::path(get, path = "/me/email-notifications", tag = "team", security(("bearer" = [])),
    responses((status = 200, body = EmailNotifications)))]
pub async fn get_email_notifications(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<EmailNotifications>, ApiError> {
    let new_conversations = state
        .store
        .emails_new_conversations(principal.workspace_id, principal.agent_id)
        .await?;
    Ok(Json(EmailNotifications { new_conversations }))
}

#[utoipa::path(put, path = "/me/email-notifications", tag = "team", security(("bearer" = [])),
    request_body = EmailNotifications,
    responses((status = 200, body = EmailNotifications),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_email_notifications(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<EmailNotifications>,
) -> Result<Json<EmailNotifications>, ApiError> {
    state
        .store
        .set_emails_new_conversations(
            principal.workspace_id,
            principal.agent_id,
            body.new_conversations,
        )
        .await?;
    Ok(Json(body))
}
