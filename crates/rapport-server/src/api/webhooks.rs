//! Webhook endpoints: where a workspace's events are posted, signed, and
//! the log of each delivery. Owners and admins only (an endpoint's secret
//! is in its answers). The deliveries themselves are the job runner's
//! (`jobs::webhook_deliveries`); the events and their payloads are
//! described in the OpenAPI document's `webhooks` section.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::agent::Principal;
use rapport_core::model::ids::{WebhookDeliveryId, WebhookId};
use rapport_core::model::webhook::{Delivery, Endpoint, EndpointSettings, EventType, NewEvent};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};

#[derive(Debug, Serialize, ToSchema)]
pub struct Webhooks {
    pub data: Vec<Endpoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deliveries {
    pub data: Vec<Delivery>,
    /// Pass as `before` for the next (older) page; `null` at the end.
    pub next: Option<WebhookDeliveryId>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    #[schema(schema_with = crate::openapi::fields::webhook_url)]
    pub url: String,
    #[schema(schema_with = crate::openapi::fields::webhook_description)]
    #[serde(default)]
    pub description: Option<String>,
    /// The event types to post to it.
    #[schema(schema_with = crate::openapi::fields::webhook_events)]
    pub events: Vec<String>,
    /// `false` stops deliveries; `true` again delivers what happens from
    /// then on. Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `true` on an update: a new signing secret (the old one stops at once).
    #[serde(default)]
    pub rotate_secret: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub before: Option<WebhookDeliveryId>,
}

fn admins_only(principal: &Principal) -> Result<(), ApiError> {
    if principal.role.can_manage_team() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only owners and admins manage webhooks".into(),
        ))
    }
}

fn settings(state: &AppState, body: &WebhookRequest) -> Result<EndpointSettings, ApiError> {
    Ok(EndpointSettings::new(
        &body.url,
        body.description.as_deref(),
        &body.events,
        body.enabled.unwrap_or(true),
        state.automation_webhooks_allow_private,
    )?)
}

/// A signing secret: `whsec_` and 32 random bytes in hex.
fn new_secret() -> String {
    format!("whsec_{}", crate::credentials::new_identity_secret())
}

#[utoipa::path(get, path = "/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Webhooks),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Webhooks>, ApiError> {
    admins_only(&principal)?;
    let data = state.store.webhooks(principal.workspace_id).await?;
    Ok(Json(Webhooks { data }))
}

#[utoipa::path(post, path = "/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = WebhookRequest,
    responses((status = 201, description = "Created; events that happen from now on are posted to it", body = Endpoint),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workspace has 20 endpoints already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<WebhookRequest>,
) -> Result<(StatusCode, Json<Endpoint>), ApiError> {
    admins_only(&principal)?;
    let settings = settings(&state, &body)?;
    let endpoint = state
        .store
        .create_webhook(
            principal.workspace_id,
            WebhookId::generate(),
            settings,
            new_secret(),
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(endpoint)))
}

#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = WebhookId, Path)),
    responses((status = 200, body = Endpoint),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<Json<Endpoint>, ApiError> {
    admins_only(&principal)?;
    let endpoint = state
        .store
        .webhook(principal.workspace_id, id)
        .await
        .map_err(or_not_found("webhook"))?;
    Ok(Json(endpoint))
}

#[utoipa::path(put, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = WebhookId, Path)), request_body = WebhookRequest,
    responses((status = 200, body = Endpoint),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(body): ApiJson<WebhookRequest>,
) -> Result<Json<Endpoint>, ApiError> {
    admins_only(&principal)?;
    let settings = settings(&state, &body)?;
    let secret = body.rotate_secret.unwrap_or(false).then(new_secret);
    let endpoint = state
        .store
        .update_webhook(
            principal.workspace_id,
            id,
            settings,
            secret,
            state.clock.now(),
        )
        .await
        .map_err(or_not_found("webhook"))?;
    Ok(Json(endpoint))
}

#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = WebhookId, Path)),
    responses((status = 204, description = "Deleted with its delivery log; nothing more is posted to it"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<StatusCode, ApiError> {
    admins_only(&principal)?;
    state
        .store
        .delete_webhook(principal.workspace_id, id)
        .await
        .map_err(or_not_found("webhook"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("id" = WebhookId, Path)),
    responses((status = 202, description = "A `webhook.test` event is queued to the endpoint (even a disabled one is tried once); its delivery shows in the log", body = Delivery),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn test_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    admins_only(&principal)?;
    let now = state.clock.now();
    let event = NewEvent {
        event_type: EventType::Test,
        event_id: format!("test-{}", uuid::Uuid::now_v7()),
        created_at: now,
        data: json!({"webhook_id": id, "sent_by": principal.agent_id}),
    };
    let delivery = state
        .store
        .queue_webhook_test(principal.workspace_id, id, event)
        .await
        .map_err(or_not_found("webhook"))?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = WebhookId, Path), DeliveriesQuery),
    responses((status = 200, description = "Newest first, kept 30 days", body = Deliveries),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<WebhookId>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Deliveries>, ApiError> {
    admins_only(&principal)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 200"));
    }
    let ws = principal.workspace_id;
    state
        .store
        .webhook(ws, id)
        .await
        .map_err(or_not_found("webhook"))?;
    let data = state
        .store
        .webhook_deliveries(ws, id, query.before, limit)
        .await?;
    let next = (data.len() == limit as usize)
        .then(|| data.last().map(|d| d.id))
        .flatten();
    Ok(Json(Deliveries { data, next }))
}
