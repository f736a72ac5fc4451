//! Contacts, their events, and their timeline.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::Timestamp;
use rapport_core::activity::ActivityEntry;
use rapport_core::contact::{Contact, ContactUpsert, ContactUpsertInput};
use rapport_core::ids::ContactId;
use rapport_core::people;
use rapport_core::store::{NewEvent, TimelineQuery};
use serde::Deserialize;
use serde_json::Value as Json_;
use utoipa::ToSchema;

use super::{Page, PageParams, cursor_part};
use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// Creates or updates a contact, matched by `user_id`, or else by `email`.
/// Fields left out keep their value; a property set to `null` is removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// The business's own id for this person.
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// Custom properties: string, number, boolean, RFC 3339 date-time, or a
    /// list of strings; `null` removes one.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub props: BTreeMap<String, Json_>,
}

#[utoipa::path(post, path = "/contacts", tag = "contacts", security(("bearer" = [])),
    request_body = ContactRequest,
    responses(
        (status = 201, description = "Created", body = Contact),
        (status = 200, description = "Updated", body = Contact),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upsert_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<ContactRequest>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let upsert = ContactUpsert::parse(
        principal.workspace_id,
        ContactUpsertInput {
            user_id: body.user_id,
            email: body.email,
            name: body.name,
            phone: body.phone,
            props: body.props,
        },
    )?;
    let (contact, created) = people::upsert_contact(state.deps(), upsert).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(contact)))
}

#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path)),
    responses((status = 200, body = Contact), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<Json<Contact>, ApiError> {
    let contact = state
        .store
        .contact(principal.workspace_id, id)
        .await
        .map_err(or_not_found("contact"))?;
    Ok(Json(contact))
}

/// Something the contact did, for their timeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// e.g. `signed_up`; at most 255 characters.
    pub name: String,
    /// A JSON object of details.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Option<Json_>,
    /// When it happened; default now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Timestamp>,
}

#[utoipa::path(post, path = "/contacts/{id}/events", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path)), request_body = EventRequest,
    responses((status = 201, body = ActivityEntry), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn track_event(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(body): ApiJson<EventRequest>,
) -> Result<(StatusCode, Json<ActivityEntry>), ApiError> {
    let (name, params) = parse_event(body.name, body.params)?;
    let event = NewEvent {
        workspace_id: principal.workspace_id,
        contact_id: id,
        name,
        params,
        created_at: body.created_at.unwrap_or_else(|| state.clock.now()),
    };
    let entry = people::track_event(state.deps(), event)
        .await
        .map_err(or_not_found("contact"))?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[utoipa::path(get, path = "/contacts/{id}/timeline", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path), PageParams),
    responses((status = 200, body = Page<ActivityEntry>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn timeline(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Page<ActivityEntry>>, ApiError> {
    let limit = page.limit()?;
    let before_seq = page
        .cursor()?
        .map(|c| cursor_part::<i64>(Some(&c)))
        .transpose()?;
    state
        .store
        .contact(principal.workspace_id, id)
        .await
        .map_err(or_not_found("contact"))?;
    let entries = state
        .store
        .timeline(TimelineQuery {
            workspace_id: principal.workspace_id,
            contact_id: id,
            before_seq,
            limit,
        })
        .await?;
    Ok(Json(Page::new(entries, limit, |e| e.seq.to_string())))
}

/// Checks an event's name (1 to 255 printable characters) and params (a
/// JSON object, or nothing).
pub fn parse_event(name: String, params: Option<Json_>) -> Result<(String, Json_), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "must be 1 to 255 printable characters",
        ));
    }
    let params = match params {
        None | Some(Json_::Null) => Json_::Object(Default::default()),
        Some(params @ Json_::Object(_)) => params,
        Some(_) => return Err(ApiError::field("params", "must be a JSON object")),
    };
    Ok((name.to_owned(), params))
}
