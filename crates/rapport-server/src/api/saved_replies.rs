//! Saved replies: the workspace's (everyone reads them; owners and admins
//! change them) and each member's own (nobody else sees them). The
//! composer lists them after `/`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::agent::Principal;
use rapport_core::model::ids::SavedReplyId;
use rapport_core::model::saved_reply::{SavedReply, SavedReplyFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, Auth};

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedReplies {
    /// The workspace's and yours, by shortcut.
    pub data: Vec<SavedReply>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedReplyRequest {
    #[schema(schema_with = crate::openapi::text::line_up_to_120)]
    pub title: String,
    /// Typed after `/` in the composer: 1 to 40 lower-case letters,
    /// digits, `-` or `_`, starting with a letter or digit; unique among
    /// the workspace's replies, or among yours.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,39}$")]
    pub shortcut: String,
    /// The message, with snippet tags.
    #[schema(schema_with = crate::openapi::text::message)]
    pub body: String,
    /// `true`: yours alone. Default `false`: the workspace's (owners and
    /// admins only). It stays what it was made as.
    #[serde(default)]
    pub personal: Option<bool>,
}

/// A saved reply's new title, shortcut and body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedReplyUpdate {
    #[schema(schema_with = crate::openapi::text::line_up_to_120)]
    pub title: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,39}$")]
    pub shortcut: String,
    #[schema(schema_with = crate::openapi::text::message)]
    pub body: String,
}

/// Whether `principal` may change `reply`: their own, or the workspace's
/// for owners and admins. Another member's own is not found.
fn may_change(principal: &Principal, reply: &SavedReply) -> Result<(), ApiError> {
    match reply.owner_id {
        Some(owner) if owner == principal.agent_id => Ok(()),
        Some(_) => Err(ApiError::not_found("saved reply")),
        None if principal.role.can_manage_team() => Ok(()),
        None => Err(ApiError::Forbidden(
            "only owners and admins change the workspace's saved replies".into(),
        )),
    }
}

/// The reply, if `principal` may see it (the workspace's, or their own).
async fn visible(
    state: &AppState,
    principal: &Principal,
    id: SavedReplyId,
) -> Result<SavedReply, ApiError> {
    let reply = state
        .store
        .saved_reply(principal.workspace_id, id)
        .await
        .map_err(or_not_found("saved reply"))?;
    match reply.owner_id {
        Some(owner) if owner != principal.agent_id => Err(ApiError::not_found("saved reply")),
        _ => Ok(reply),
    }
}

#[utoipa::path(get, path = "/saved-replies", tag = "messages", security(("bearer" = [])),
    responses((status = 200, body = SavedReplies)))]
pub async fn list_saved_replies(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<SavedReplies>, ApiError> {
    let data = state
        .store
        .saved_replies(principal.workspace_id, principal.agent_id)
        .await?;
    Ok(Json(SavedReplies { data }))
}

#[utoipa::path(post, path = "/saved-replies", tag = "messages", security(("bearer" = [])),
    request_body = SavedReplyRequest,
    responses((status = 201, body = SavedReply),
        (status = 403, description = "The workspace's replies are owners' and admins'", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The shortcut is taken, or there are 500 already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_saved_reply(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<SavedReplyRequest>,
) -> Result<(StatusCode, Json<SavedReply>), ApiError> {
    let personal = body.personal.unwrap_or(false);
    if !personal && !principal.role.can_manage_team() {
        return Err(ApiError::Forbidden(
            "only owners and admins add the workspace's saved replies; add one of your own with \"personal\": true".into(),
        ));
    }
    let fields = SavedReplyFields::new(&body.title, &body.shortcut, &body.body)?;
    let now = state.clock.now();
    let reply = state
        .store
        .create_saved_reply(SavedReply {
            id: SavedReplyId::generate(),
            workspace_id: principal.workspace_id,
            owner_id: personal.then_some(principal.agent_id),
            title: fields.title,
            shortcut: fields.shortcut,
            body: fields.body,
            created_at: now,
            updated_at: now,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(reply)))
}

#[utoipa::path(get, path = "/saved-replies/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = SavedReplyId, Path)),
    responses((status = 200, body = SavedReply),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_saved_reply(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<SavedReplyId>,
) -> Result<Json<SavedReply>, ApiError> {
    Ok(Json(visible(&state, &principal, id).await?))
}

#[utoipa::path(put, path = "/saved-replies/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = SavedReplyId, Path)), request_body = SavedReplyUpdate,
    responses((status = 200, body = SavedReply),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_saved_reply(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<SavedReplyId>,
    ApiJson(body): ApiJson<SavedReplyRequest>,
) -> Result<Json<SavedReply>, ApiError> {
    let reply = visible(&state, &principal, id).await?;
    may_change(&principal, &reply)?;
    if body
        .personal
        .is_some_and(|personal| personal != reply.owner_id.is_some())
    {
        return Err(ApiError::field(
            "personal",
            "a saved reply stays the workspace's or yours: add a new one instead",
        ));
    }
    let fields = SavedReplyFields::new(&body.title, &body.shortcut, &body.body)?;
    let saved = state
        .store
        .update_saved_reply(principal.workspace_id, id, fields, state.clock.now())
        .await
        .map_err(or_not_found("saved reply"))?;
    Ok(Json(saved))
}

#[utoipa::path(delete, path = "/saved-replies/{id}", tag = "messages", security(("bearer" = [])),
    params(("id" = SavedReplyId, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_saved_reply(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<SavedReplyId>,
) -> Result<StatusCode, ApiError> {
    let reply = visible(&state, &principal, id).await?;
    may_change(&principal, &reply)?;
    state
        .store
        .delete_saved_reply(principal.workspace_id, id)
        .await
        .map_err(or_not_found("saved reply"))?;
    Ok(StatusCode::NO_CONTENT)
}
