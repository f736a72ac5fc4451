//! The messenger's "Search help" tab: the help center's search, for a
//! page that carries the app id (public, as the help center is).

use axum::Json;
use axum::extract::State;
use rapport_core::ports::store::StoreError;
use rapport_core::services::bot::article_url;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::help_center::snippet;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HelpQuery {
    /// The workspace's public app id.
    #[param(min_length = 1, max_length = 100)]
    pub app_id: String,
    #[param(min_length = 1, max_length = 500)]
    pub q: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HelpResult {
    pub title: String,
    pub heading: Option<String>,
    /// Plain text, shortened.
    pub snippet: String,
    /// The article's help center page.
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HelpResults {
    /// Best first, at most 8.
    pub data: Vec<HelpResult>,
}

#[utoipa::path(get, path = "/help/search", tag = "widget",
    params(HelpQuery),
    responses((status = 200, body = HelpResults),
        (status = 404, description = "Unknown app_id", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn help_search(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HelpQuery>,
) -> Result<Json<HelpResults>, ApiError> {
    let n = query.app_id.chars().count();
    if n == 0 || n > 100 {
        return Err(ApiError::field("app_id", "must be 1 to 100 characters"));
    }
    crate::api::articles::check_query(&query.q)?;
    let ws = match state.store.workspace_by_app_id(&query.app_id).await {
        Ok(ws) => ws,
        Err(StoreError::NotFound) => return Err(ApiError::not_found("app_id")),
        Err(err) => return Err(err.into()),
    };
    let q: String = query.q.chars().take(500).collect();
    let hits = state.knowledge.search(ws.id, &q, &[], 8).await?;
    let data = hits
        .into_iter()
        .map(|h| HelpResult {
            url: article_url(&state.email.public_url, &ws.app_id, &h.slug),
            snippet: snippet(&h.text),
            title: h.title,
            heading: h.heading,
        })
        .collect();
    Ok(Json(HelpResults { data }))
}
