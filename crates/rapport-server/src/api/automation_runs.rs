//! Automation runs: list them, read one with its log, stop one, start one
//! by hand; and the office the automations' conditions read (business
//! hours, reply times, the daily cap, members' availability).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::automation::hours::Office;
use rapport_core::model::automation::run::{Run, RunLogEntry};
use rapport_core::model::ids::{AgentId, AutomationId, ContactId, RunId};
use rapport_core::ports::store::RunQuery;
use rapport_core::services::automations::manage;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use utoipa::{IntoParams, ToSchema};

use super::automations::check_admin;
use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::jobs::with_automation_env;

#[derive(Debug, Serialize, ToSchema)]
pub struct Runs {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<Run>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// Only runs still going (active or waiting).
    #[serde(default)]
    pub going: bool,
    pub contact_id: Option<ContactId>,
    /// The previous page's last run.
    pub before: Option<RunId>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/automations/{id}/runs", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path), RunsQuery),
    responses((status = 200, body = Runs), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_runs(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> Result<Json<Runs>, ApiError> {
    let ws = principal.workspace_id;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 200"));
    }
    state
        .store
        .automation(ws, id)
        .await
        .map_err(or_not_found("automation"))?;
    let data = state
        .store
        .runs(
            ws,
            RunQuery {
                automation_id: Some(id),
                contact_id: query.contact_id,
                conversation_id: None,
                going: query.going,
                before: query.before,
                limit,
            },
        )
        .await?;
    Ok(Json(Runs { data }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    #[schema(value_type = Object)]
    pub run: Run,
    /// Each step: the node, the exit it took and why.
    #[schema(value_type = Vec<Object>)]
    pub log: Vec<RunLogEntry>,
}

/// The run, if it is one of this automation's in the workspace.
async fn find_run(
    state: &AppState,
    principal: &rapport_core::model::agent::Principal,
    id: AutomationId,
    run_id: RunId,
) -> Result<Run, ApiError> {
    let run = state
        .store
        .run(principal.workspace_id, run_id)
        .await
        .map_err(or_not_found("run"))?;
    if run.automation_id != id {
        return Err(ApiError::not_found("run"));
    }
    Ok(run)
}

#[utoipa::path(get, path = "/automations/{id}/runs/{run_id}", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path), ("run_id" = RunId, Path)),
    responses((status = 200, body = RunView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_run(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, run_id)): ApiPath<(AutomationId, RunId)>,
) -> Result<Json<RunView>, ApiError> {
    let run = find_run(&state, &principal, id, run_id).await?;
    let log = state.store.run_log(principal.workspace_id, run_id).await?;
    Ok(Json(RunView { run, log }))
}

#[utoipa::path(post, path = "/automations/{id}/runs/{run_id}/stop", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path), ("run_id" = RunId, Path)),
    responses((status = 200, description = "Stopped (or already over)", body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn stop_run(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, run_id)): ApiPath<(AutomationId, RunId)>,
) -> Result<Json<Run>, ApiError> {
    check_admin(&principal)?;
    find_run(&state, &principal, id, run_id).await?;
    let reason = format!("stopped by {}", principal.agent_id);
    let run = state
        .store
        .stop_run(principal.workspace_id, run_id, &reason, state.clock.now())
        .await?;
    Ok(Json(run))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub contact_id: ContactId,
}

#[utoipa::path(post, path = "/automations/{id}/runs", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)), request_body = StartRequest,
    responses((status = 201, description = "Started on the live version; its first step is due now", body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not published, or the contact is in a run of it already, or its frequency does not allow another", body = Problem, content_type = "application/problem+json")))]
pub async fn start_run(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
    ApiJson(body): ApiJson<StartRequest>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    check_admin(&principal)?;
    let ws = principal.workspace_id;
    let run = with_automation_env(&state, async |env| {
        manage::start_by_hand(env, ws, id, body.contact_id).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[utoipa::path(get, path = "/settings/office", tag = "settings", security(("bearer" = [])),
    responses((status = 200, description = "Business hours (weekly, Monday first, in the time zone), holidays, reply times and the daily cap of automated messages per contact", body = Object)))]
pub async fn get_office(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Office>, ApiError> {
    Ok(Json(state.store.office(principal.workspace_id).await?))
}

#[utoipa::path(put, path = "/settings/office", tag = "settings", security(("bearer" = [])),
    request_body(content = Object, description = "The whole office, as GET returns it"),
    responses((status = 200, body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_office(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<Json_>,
) -> Result<Json<Office>, ApiError> {
    check_admin(&principal)?;
    let office: Office = serde_path_to_error::deserialize(body).map_err(|err| {
        let path = err.path().to_string();
        ApiError::field(
            if path == "." { "office" } else { &path },
            err.into_inner().to_string(),
        )
    })?;
    office.check()?;
    state
        .store
        .save_office(principal.workspace_id, office.clone())
        .await?;
    Ok(Json(office))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityView {
    pub agent_id: AgentId,
    pub away: bool,
    pub max_open: Option<u32>,
    /// Open conversations assigned to them now.
    pub open: u32,
    /// `online`, `away` or `offline` (no Inbox open) now.
    pub presence: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Availability {
    pub data: Vec<AvailabilityView>,
}

#[utoipa::path(get, path = "/team/availability", tag = "team", security(("bearer" = [])),
    responses((status = 200, body = Availability)))]
pub async fn team_availability(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Availability>, ApiError> {
    let ws = principal.workspace_id;
    let data = state
        .store
        .availability(ws)
        .await?
        .into_iter()
        .map(|a| AvailabilityView {
            agent_id: a.agent_id,
            away: a.away,
            max_open: a.max_open,
            open: a.open,
            presence: state.hub.agent_status(ws, a.agent_id).into(),
        })
        .collect();
    Ok(Json(Availability { data }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityRequest {
    /// Away members get no assignments and do not count as available.
    pub away: bool,
    /// The most open conversations assigned at once (1 to 10,000); `null`:
    /// no limit. A whole number; JSON's `20.0` counts as 20.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000)]
    pub max_open: Option<f64>,
}

#[utoipa::path(put, path = "/team/{agent_id}/availability", tag = "team", security(("bearer" = [])),
    params(("agent_id" = AgentId, Path)), request_body = AvailabilityRequest,
    responses((status = 204, description = "Saved"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_availability(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(agent): ApiPath<AgentId>,
    ApiJson(body): ApiJson<AvailabilityRequest>,
) -> Result<StatusCode, ApiError> {
    // Members set their own; admins anyone's.
    if agent != principal.agent_id {
        check_admin(&principal)?;
    }
    let max_open = match body.max_open {
        None => None,
        // Checked as a float first, so the cast is exact.
        Some(max) if max.fract() == 0.0 && (1.0..=10_000.0).contains(&max) => Some(max as u32),
        Some(_) => {
            return Err(ApiError::field(
                "max_open",
                "a whole number from 1 to 10000, or null",
            ));
        }
    };
    state
        .store
        .set_availability(principal.workspace_id, agent, body.away, max_open)
        .await
        .map_err(or_not_found("team member"))?;
    Ok(StatusCode::NO_CONTENT)
}
