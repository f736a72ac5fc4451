//! Teams: named groups of members that automations assign conversations
//! to (round robin among the available ones) and ask about. Anyone on the
//! team reads them; owners and admins change them. (Members themselves
//! are in `team.rs`.)

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::ids::{AgentId, TeamId};
use rapport_core::model::teams::Team;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::automations::check_admin;
use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, Auth};

#[derive(Debug, Serialize, ToSchema)]
pub struct Teams {
    pub data: Vec<Team>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    /// One line; unique in the workspace.
    #[schema(schema_with = crate::openapi::text::line_up_to_120)]
    pub name: String,
    /// Members of the workspace, at most 500.
    #[schema(schema_with = crate::openapi::fields::team_members)]
    pub members: Vec<AgentId>,
}

#[utoipa::path(get, path = "/teams", tag = "team", security(("bearer" = [])),
    responses((status = 200, body = Teams)))]
pub async fn list_teams(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Teams>, ApiError> {
    let data = state.store.teams(principal.workspace_id).await?;
    Ok(Json(Teams { data }))
}

async fn save(
    state: &AppState,
    principal: &rapport_core::model::agent::Principal,
    id: TeamId,
    body: TeamRequest,
    created: bool,
) -> Result<Team, ApiError> {
    check_admin(principal)?;
    let ws = principal.workspace_id;
    let created_at = if created {
        state.clock.now()
    } else {
        state
            .store
            .teams(ws)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| ApiError::not_found("team"))?
            .created_at
    };
    let team = Team::new(id, ws, &body.name, body.members, created_at)?;
    state
        .store
        .save_team(team)
        .await
        .map_err(or_not_found("team"))
}

#[utoipa::path(post, path = "/teams", tag = "team", security(("bearer" = [])),
    request_body = TeamRequest,
    responses((status = 201, body = Team),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another team has the name", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_team(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<TeamRequest>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    let team = save(&state, &principal, TeamId::generate(), body, true).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

#[utoipa::path(put, path = "/teams/{id}", tag = "team", security(("bearer" = [])),
    params(("id" = TeamId, Path)), request_body = TeamRequest,
    responses((status = 200, body = Team),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_team(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TeamId>,
    ApiJson(body): ApiJson<TeamRequest>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(save(&state, &principal, id, body, false).await?))
}

#[utoipa::path(delete, path = "/teams/{id}", tag = "team", security(("bearer" = [])),
    params(("id" = TeamId, Path)),
    responses((status = 204, description = "Deleted; a run reaching a step that names it fails, saying so"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_team(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<TeamId>,
) -> Result<StatusCode, ApiError> {
    check_admin(&principal)?;
    state
        .store
        .delete_team(principal.workspace_id, id)
        .await
        .map_err(or_not_found("team"))?;
    Ok(StatusCode::NO_CONTENT)
}
