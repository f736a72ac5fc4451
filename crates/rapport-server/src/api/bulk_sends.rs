//! Bulk sends: one chat message, personalised for each of many contacts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::agent::Principal;
use rapport_core::model::bulk::{Audience, BulkSend};
use rapport_core::model::ids::{AgentId, BulkSendId, ContactId, SegmentId};
use rapport_core::services::bulk_sends::{self, BulkRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use utoipa::ToSchema;

use super::shared::filters::{online_for, resolve_filter};
use super::shared::sending::yes;
use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, Auth, sender};
use crate::request_limits::MAX_CONTACT_IDS;

/// Who receives it: exactly one of the three.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceRequest {
    /// Everyone a filter matches (see docs/people.md).
    #[schema(value_type = Object)]
    pub filter: Option<Json_>,
    /// Everyone a saved segment matches.
    pub segment_id: Option<SegmentId>,
    /// These contacts (ticked by hand), at most 10,000.
    pub contact_ids: Option<Vec<ContactId>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkSendRequest {
    #[serde(deserialize_with = "crate::extract::object::required")]
    #[schema(schema_with = crate::openapi::fields::audience)]
    pub audience: AudienceRequest,
    /// The message, with snippet tags: `Hi {{ user.name | default("there") }}`.
    #[schema(schema_with = crate::openapi::text::message)]
    pub body: String,
    /// The team member it comes from; default you.
    pub from_agent_id: Option<AgentId>,
    /// `false`: never email these messages. Default `true`.
    #[serde(default = "yes")]
    pub email_fallback: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkSends {
    pub data: Vec<BulkSend>,
}

fn check_allowed(principal: &Principal, admins_only: bool) -> Result<(), ApiError> {
    if admins_only && !principal.role.can_manage_team() {
        return Err(ApiError::Forbidden(
            "in this workspace only owners and admins send bulk messages".into(),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/bulk-sends", tag = "bulk sends", security(("bearer" = [])),
    request_body = BulkSendRequest,
    responses(
        (status = 201, description = "Stored with its recipients; sending", body = BulkSend),
        (status = 403, description = "Bulk sends are for admins in this workspace", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`from_agent_id` names no team member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad audience, filter or template", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<BulkSendRequest>,
) -> Result<(StatusCode, Json<BulkSend>), ApiError> {
    let ws = principal.workspace_id;
    let workspace = state.store.workspace(ws).await?;
    check_allowed(&principal, workspace.bulk_sends_admins_only)?;
    let AudienceRequest {
        filter,
        segment_id,
        contact_ids,
    } = body.audience;
    let audience_json = serde_json::json!({
        "filter": filter, "segment_id": segment_id, "contact_ids": contact_ids,
    });
    let audience = match (filter, segment_id, contact_ids) {
        (None, None, Some(ids)) => {
            if ids.is_empty() || ids.len() > MAX_CONTACT_IDS {
                return Err(ApiError::field(
                    "audience.contact_ids",
                    format!("must list 1 to {MAX_CONTACT_IDS} contacts"),
                ));
            }
            Audience::Contacts(ids)
        }
        (filter, segment_id, None) if filter.is_some() || segment_id.is_some() => {
            let filter = resolve_filter(&state, ws, filter.as_ref(), segment_id)
                .await
                .map_err(|e| e.under("audience"))?;
            let online = online_for(&state, ws, &filter);
            Audience::Filter { filter, online }
        }
        _ => {
            return Err(ApiError::field(
                "audience",
                "give exactly one of filter, segment_id or contact_ids",
            ));
        }
    };
    let send = bulk_sends::create(
        state.deps(),
        BulkRequest {
            workspace_id: ws,
            created_by: principal.agent_id,
            from_agent_id: sender(&principal, body.from_agent_id)?,
            body: body.body,
            email_fallback: body.email_fallback,
            audience,
            audience_json,
        },
    )
    .await?;
    state.bulk_created.notify_one();
    Ok((StatusCode::CREATED, Json(send)))
}

#[utoipa::path(get, path = "/bulk-sends", tag = "bulk sends", security(("bearer" = [])),
    responses((status = 200, body = BulkSends)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<BulkSends>, ApiError> {
    let data = state.store.bulk_sends(principal.workspace_id, 100).await?;
    Ok(Json(BulkSends { data }))
}

#[utoipa::path(get, path = "/bulk-sends/{id}", tag = "bulk sends", security(("bearer" = [])),
    params(("id" = BulkSendId, Path)),
    responses((status = 200, body = BulkSend), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<BulkSendId>,
) -> Result<Json<BulkSend>, ApiError> {
    let send = state
        .store
        .bulk_send(principal.workspace_id, id)
        .await
        .map_err(or_not_found("bulk send"))?;
    Ok(Json(send))
}

#[utoipa::path(post, path = "/bulk-sends/{id}/cancel", tag = "bulk sends", security(("bearer" = [])),
    params(("id" = BulkSendId, Path)),
    responses((status = 200, description = "Cancelled (or already finished)", body = BulkSend),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<BulkSendId>,
) -> Result<Json<BulkSend>, ApiError> {
    let workspace = state.store.workspace(principal.workspace_id).await?;
    check_allowed(&principal, workspace.bulk_sends_admins_only)?;
    let send = state
        .store
        .cancel_bulk_send(principal.workspace_id, id, state.clock.now())
        .await
        .map_err(or_not_found("bulk send"))?;
    Ok(Json(send))
}
