//! Automations: drafts as JSON (docs/automations.md has the format),
//! publishing, pausing, versions, stats, export and a dry run. Anyone on
//! the team may read them; owners and admins change them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::agent::Principal;
use rapport_core::model::automation::run::AutomationStats;
use rapport_core::model::automation::{
    Automation, AutomationStatus, Definition, RunsOnPublish, Version,
};
use rapport_core::model::ids::{AutomationId, ContactId};
use rapport_core::services::automations::manage;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::jobs::with_automation_env;

/// Owners and admins change automations.
pub(super) fn check_admin(principal: &Principal) -> Result<(), ApiError> {
    if principal.role.can_manage_team() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only owners and admins change automations".into(),
        ))
    }
}

/// The headline numbers beside an automation.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Headline {
    pub runs: u64,
    pub going: u64,
    pub goal_reached: u64,
    pub sent: u64,
}

/// An automation with its draft, status and headline numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct AutomationView {
    pub id: AutomationId,
    pub name: String,
    /// `draft` (never published), `live` or `paused`.
    pub status: String,
    /// The definition being edited (see docs/automations.md).
    #[schema(value_type = Object)]
    pub draft: Json_,
    /// The version new runs start on; `null` before the first publish.
    pub live_version: Option<u32>,
    /// Whether the draft has changes the live version does not.
    pub draft_changed: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub stats: Headline,
}

impl AutomationView {
    fn new(automation: Automation, stats: &AutomationStats) -> Self {
        Self {
            id: automation.id,
            name: automation.name,
            status: automation.status.as_str().into(),
            draft: serde_json::to_value(&automation.draft).unwrap_or_default(),
            live_version: automation.live_version,
            draft_changed: automation.draft_changed,
            created_at: automation.created_at.as_millis(),
            updated_at: automation.updated_at.as_millis(),
            stats: Headline {
                runs: stats.runs,
                going: stats.going,
                goal_reached: stats.goal_reached,
                sent: stats.sent,
            },
        }
    }
}

/// The workspace's automation with this id, or a 404 naming it.
async fn find(
    state: &AppState,
    principal: &Principal,
    id: AutomationId,
) -> Result<Automation, ApiError> {
    state
        .store
        .automation(principal.workspace_id, id)
        .await
        .map_err(or_not_found("automation"))
}

async fn view(state: &AppState, automation: Automation) -> Result<AutomationView, ApiError> {
    let stats = state
        .store
        .automation_stats(automation.workspace_id, automation.id)
        .await?;
    Ok(AutomationView::new(automation, &stats))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Automations {
    pub data: Vec<AutomationView>,
}

/// A new automation: a name and a draft, or one of the shipped templates
/// (`greeting`, `autoresponder`, `lead_bot`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAutomationRequest {
    /// Needed with a draft; with a template, its own name by default.
    #[schema(schema_with = crate::openapi::text::line_up_to_120_or_null)]
    pub name: Option<String>,
    /// The definition (docs/automations.md): give a draft or a template.
    #[schema(value_type = Option<Object>)]
    pub draft: Option<Json_>,
    #[schema(schema_with = crate::openapi::fields::automation_template_or_null)]
    pub template: Option<String>,
}

/// A draft to save (an export, edited or not).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftRequest {
    #[schema(schema_with = crate::openapi::text::line_up_to_120)]
    pub name: String,
    #[schema(value_type = Object)]
    pub draft: Json_,
}

/// Reads a draft, naming the field at fault.
fn parse_draft(draft: Json_) -> Result<Definition, ApiError> {
    serde_path_to_error::deserialize(draft).map_err(|err| {
        let path = err.path().to_string();
        let at = if path == "." {
            "draft".to_owned()
        } else {
            format!("draft.{path}")
        };
        ApiError::field(&at, err.into_inner().to_string())
    })
}

#[utoipa::path(get, path = "/automations", tag = "automations", security(("bearer" = [])),
    responses((status = 200, body = Automations)))]
pub async fn list_automations(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Automations>, ApiError> {
    let mut data = Vec::new();
    for automation in state.store.automations(principal.workspace_id).await? {
        data.push(view(&state, automation).await?);
    }
    Ok(Json(Automations { data }))
}

#[utoipa::path(post, path = "/automations", tag = "automations", security(("bearer" = [])),
    request_body = NewAutomationRequest,
    responses(
        (status = 201, description = "Created as a draft", body = AutomationView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad draft: each fault names its field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<NewAutomationRequest>,
) -> Result<(StatusCode, Json<AutomationView>), ApiError> {
    check_admin(&principal)?;
    let ws = principal.workspace_id;
    let automation = match (body.draft, body.template) {
        (Some(draft), None) => {
            let name = body
                .name
                .ok_or_else(|| ApiError::field("name", "is required with a draft"))?;
            let draft = parse_draft(draft)?;
            with_automation_env(&state, async |env| {
                manage::create(env, ws, &name, draft).await
            })
            .await?
        }
        (None, Some(template)) => {
            with_automation_env(&state, async |env| {
                manage::create_from_template(
                    env,
                    ws,
                    &template,
                    body.name.as_deref(),
                    principal.agent_id,
                )
                .await
            })
            .await?
        }
        _ => {
            return Err(ApiError::field(
                "draft",
                "give a draft or a template, not both",
            ));
        }
    };
    Ok((StatusCode::CREATED, Json(view(&state, automation).await?)))
}

#[utoipa::path(get, path = "/automations/{id}", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)),
    responses((status = 200, body = AutomationView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
) -> Result<Json<AutomationView>, ApiError> {
    let automation = find(&state, &principal, id).await?;
    Ok(Json(view(&state, automation).await?))
}

#[utoipa::path(put, path = "/automations/{id}", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)), request_body = DraftRequest,
    responses((status = 200, description = "The draft is saved; versions are untouched", body = AutomationView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn save_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
    ApiJson(body): ApiJson<DraftRequest>,
) -> Result<Json<AutomationView>, ApiError> {
    check_admin(&principal)?;
    let ws = principal.workspace_id;
    let draft = parse_draft(body.draft)?;
    let automation = with_automation_env(&state, async |env| {
        manage::save(env, ws, id, &body.name, draft).await
    })
    .await?;
    Ok(Json(view(&state, automation).await?))
}

#[utoipa::path(delete, path = "/automations/{id}", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)),
    responses((status = 204, description = "Deleted; its going runs were stopped"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
) -> Result<StatusCode, ApiError> {
    check_admin(&principal)?;
    state
        .store
        .delete_automation(principal.workspace_id, id, state.clock.now())
        .await
        .map_err(or_not_found("automation"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// What happens to runs on older versions: `finish` (default) on their
    /// version, `migrate` to the new one by node id, or `stop`.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::fields::runs_on_publish)]
    pub runs: RunsOnPublish,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedView {
    pub version: u32,
    pub runs_moved: u64,
    pub runs_stopped: u64,
    pub automation: AutomationView,
}

#[utoipa::path(post, path = "/automations/{id}/publish", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)), request_body = PublishRequest,
    responses((status = 200, description = "The draft is the new live version", body = PublishedView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The flow is not ready (unreachable nodes, dangling exits), or runs cannot move", body = Problem, content_type = "application/problem+json")))]
pub async fn publish_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
    ApiJson(body): ApiJson<PublishRequest>,
) -> Result<Json<PublishedView>, ApiError> {
    check_admin(&principal)?;
    let ws = principal.workspace_id;
    let published = with_automation_env(&state, async |env| {
        manage::publish(env, ws, id, Some(principal.agent_id), body.runs).await
    })
    .await?;
    let automation = state.store.automation(ws, id).await?;
    Ok(Json(PublishedView {
        version: published.version,
        runs_moved: published.runs_moved,
        runs_stopped: published.runs_stopped,
        automation: view(&state, automation).await?,
    }))
}

async fn set_status(
    state: &AppState,
    principal: &Principal,
    id: AutomationId,
    status: AutomationStatus,
) -> Result<Json<AutomationView>, ApiError> {
    check_admin(principal)?;
    let ws = principal.workspace_id;
    let automation = with_automation_env(state, async |env| {
        manage::set_status(env, ws, id, status).await
    })
    .await?;
    Ok(Json(view(state, automation).await?))
}

#[utoipa::path(post, path = "/automations/{id}/pause", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)),
    responses((status = 200, description = "Starts no more runs; going runs carry on", body = AutomationView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Never published", body = Problem, content_type = "application/problem+json")))]
pub async fn pause_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
) -> Result<Json<AutomationView>, ApiError> {
    set_status(&state, &principal, id, AutomationStatus::Paused).await
}

#[utoipa::path(post, path = "/automations/{id}/resume", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)),
    responses((status = 200, body = AutomationView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Never published", body = Problem, content_type = "application/problem+json")))]
pub async fn resume_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
) -> Result<Json<AutomationView>, ApiError> {
    set_status(&state, &principal, id, AutomationStatus::Live).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    pub version: u32,
    #[schema(value_type = Object)]
    pub definition: Json_,
    pub published_at: i64,
    pub published_by: Option<rapport_core::model::ids::AgentId>,
}

impl From<Version> for VersionView {
    fn from(v: Version) -> Self {
        Self {
            version: v.version,
            definition: serde_json::to_value(&v.definition).unwrap_or_default(),
            published_at: v.published_at.as_millis(),
            published_by: v.published_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Versions {
    pub data: Vec<VersionView>,
}

#[utoipa::path(get, path = "/automations/{id}/versions", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)),
    responses((status = 200, description = "Newest first", body = Versions), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn automation_versions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
) -> Result<Json<Versions>, ApiError> {
    let ws = principal.workspace_id;
    find(&state, &principal, id).await?;
    let data = state.store.versions(ws, id).await?;
    Ok(Json(Versions {
        data: data.into_iter().map(VersionView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/automations/{id}/stats", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)),
    responses((status = 200, description = "Runs by status; per version, node and exit what runs did", body = Object),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn automation_stats(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
) -> Result<Json<AutomationStats>, ApiError> {
    let ws = principal.workspace_id;
    find(&state, &principal, id).await?;
    Ok(Json(state.store.automation_stats(ws, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub name: String,
    #[schema(value_type = Object)]
    pub draft: Json_,
}

#[utoipa::path(get, path = "/automations/{id}/export", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)),
    responses((status = 200, description = "The name and draft: POST it to /automations in any workspace to import it", body = Export),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn export_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
) -> Result<Json<Export>, ApiError> {
    let automation = find(&state, &principal, id).await?;
    Ok(Json(Export {
        name: automation.name,
        draft: serde_json::to_value(&automation.draft).unwrap_or_default(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    pub contact_id: ContactId,
}

#[utoipa::path(post, path = "/automations/{id}/simulate", tag = "automations", security(("bearer" = [])),
    params(("id" = AutomationId, Path)), request_body = SimulateRequest,
    responses((status = 200, description = "The path the draft would take for the contact now and the messages it would send; nothing is written", body = Object),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn simulate_automation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AutomationId>,
    ApiJson(body): ApiJson<SimulateRequest>,
) -> Result<Json<manage::Simulation>, ApiError> {
    let ws = principal.workspace_id;
    let simulation = with_automation_env(&state, async |env| {
        manage::simulate(env, ws, id, body.contact_id).await
    })
    .await?;
    Ok(Json(simulation))
}
