//! Rendering a message for a contact without sending it.

use axum::Json;
use axum::extract::State;
use rapport_core::model::ids::{AgentId, ContactId};
use rapport_core::services::messages::preview_message;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, Auth};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    pub contact_id: ContactId,
    /// A message with snippet tags.
    #[schema(schema_with = crate::openapi::text::message)]
    pub body: String,
    /// The team member it would come from (for `{{ agent.* }}`); default you.
    pub from_agent_id: Option<AgentId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// The body as this contact would see it.
    pub body: String,
}

#[utoipa::path(post, path = "/templates/preview", tag = "messages", security(("bearer" = [])),
    request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A template that does not parse, with line and column", body = Problem, content_type = "application/problem+json")))]
pub async fn preview(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PreviewRequest>,
) -> Result<Json<Preview>, ApiError> {
    let from = Some(body.from_agent_id.unwrap_or(principal.agent_id));
    let rendered = preview_message(
        state.deps(),
        principal.workspace_id,
        body.contact_id,
        from,
        &body.body,
    )
    .await?;
    Ok(Json(Preview { body: rendered }))
}
