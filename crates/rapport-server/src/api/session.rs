//! Signing in to the Inbox (a cookie session) and the first-run setup.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rapport_core::model::agent::AgentSession;
use rapport_core::model::agent::{Agent, Email, Principal};
use rapport_core::model::ids::WorkspaceId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::bootstrap::{BootstrapRequest, already_set_up, set_up_first_workspace};
use crate::client_addr::ClientIp;
use crate::credentials::{self, hash_token};
use crate::error::{ApiError, Problem, with_retry_after};
use crate::extract::{ApiJson, Auth, SESSION_COOKIE, cookie};

/// How long a sign-in lasts.
const SESSION_DAYS: i64 = 30;

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceSummary {
    pub id: WorkspaceId,
    pub name: String,
    pub app_id: String,
    /// The email fallback's settings (the composer offers its toggle only
    /// when the fallback is on).
    pub email: rapport_core::model::workspace::EmailSettings,
    /// Only owners and admins may create bulk sends.
    pub bulk_sends_admins_only: bool,
}

/// Who is signed in, and where.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub agent: Agent,
    pub workspace: WorkspaceSummary,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SetupState {
    /// True on a fresh install: the first visit creates the workspace.
    pub needed: bool,
}

async fn session_info(state: &AppState, principal: &Principal) -> Result<SessionInfo, ApiError> {
    let agent = state
        .store
        .agent(principal.workspace_id, principal.agent_id)
        .await?;
    let workspace = state.store.workspace(principal.workspace_id).await?;
    Ok(SessionInfo {
        agent,
        workspace: WorkspaceSummary {
            id: workspace.id,
            name: workspace.name,
            app_id: workspace.app_id,
            email: workspace.email,
            bulk_sends_admins_only: workspace.bulk_sends_admins_only,
        },
    })
}

/// `; Secure` when the server is reached over https (`public_url`): the
/// browser then never sends the cookie over plain http.
fn secure_attribute(state: &AppState) -> &'static str {
    if state
        .email
        .public_url
        .to_ascii_lowercase()
        .starts_with("https://")
    {
        "; Secure"
    } else {
        ""
    }
}

/// Starts a session for `agent` and answers with its cookie.
async fn start_session(
    state: &AppState,
    agent: &Agent,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (secret, secret_hash) = credentials::new_secret("rps_");
    let now = state.clock.now();
    state
        .store
        .create_agent_session(AgentSession {
            secret_hash,
            workspace_id: agent.workspace_id,
            agent_id: agent.id,
            created_at: now,
            expires_at: now.plus_millis(SESSION_DAYS * 24 * 3600 * 1000),
        })
        .await?;
    let principal = Principal {
        workspace_id: agent.workspace_id,
        agent_id: agent.id,
        role: agent.role,
    };
    let info = session_info(state, &principal).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_DAYS * 24 * 3600,
        secure_attribute(state)
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.into()))?,
    );
    Ok((status, headers, Json(info)).into_response())
}

#[utoipa::path(post, path = "/session", tag = "session", request_body = SignIn,
    responses((status = 200, description = "Signed in; sets the session cookie", body = SessionInfo),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts for this account or from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password checks queued; see Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    // Counted before any work, wrong or right, so guessing is slow.
    if let Err(wait) = state.sign_in_limits.check(ip, Some(&body.email)) {
        return Ok(with_retry_after(ApiError::TooManyRequests, wait));
    }
    let email = Email::parse(&body.email).map_err(|_| ApiError::Unauthorized)?;
    let candidates = state.store.login_candidates(email.as_str()).await?;
    if candidates.is_empty() {
        // Spend the same time as a wrong password, so timing does not tell
        // which emails are members.
        state.passwords.check_against_decoy(body.password).await?;
        return Err(ApiError::Unauthorized);
    }
    for (agent, hash) in candidates {
        if state.passwords.verify(body.password.clone(), hash).await? {
            return start_session(&state, &agent, StatusCode::OK).await;
        }
    }
    Err(ApiError::Unauthorized)
}

#[utoipa::path(get, path = "/session", tag = "session",
    responses((status = 200, body = SessionInfo), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn current_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<SessionInfo>, ApiError> {
    Ok(Json(session_info(&state, &principal).await?))
}

#[utoipa::path(delete, path = "/session", tag = "session", responses((status = 204, description = "Signed out")))]
pub async fn sign_out(State(state): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    if let Some(session) = cookie(&parts.headers, SESSION_COOKIE) {
        state
            .store
            .delete_agent_session(hash_token(session))
            .await?;
    }
    let clear = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure_attribute(&state)
    );
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear)]).into_response())
}

#[utoipa::path(get, path = "/setup", tag = "session", responses((status = 200, body = SetupState)))]
pub async fn setup_state(State(state): State<AppState>) -> Result<Json<SetupState>, ApiError> {
    Ok(Json(SetupState {
        needed: state.store.workspace_count().await? == 0,
    }))
}

#[utoipa::path(post, path = "/setup", tag = "session", request_body = BootstrapRequest,
    responses((status = 201, description = "Created and signed in", body = SessionInfo),
        (status = 409, description = "Already set up", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password hashes queued; see Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn setup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<BootstrapRequest>,
) -> Result<Response, ApiError> {
    if let Err(wait) = state.sign_in_limits.check(ip, None) {
        return Ok(with_retry_after(ApiError::TooManyRequests, wait));
    }
    // A quick answer for the usual case; the database decides a race.
    if state.store.workspace_count().await? > 0 {
        return Err(already_set_up());
    }
    let created =
        set_up_first_workspace(&*state.store, &*state.clock, &state.passwords, body).await?;
    let owner = state
        .store
        .agent(created.workspace_id, created.owner_id)
        .await?;
    start_session(&state, &owner, StatusCode::CREATED).await
}
