//! Contacts, their events, and their timeline.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::activity::NewEvent;
use rapport_core::model::activity::{Activity, ActivityEntry};
use rapport_core::model::agent::Principal;
use rapport_core::model::contact::{
    Contact, ContactUpsert, ContactUpsertInput, PropOpInput, parse_tag,
};
use rapport_core::model::ids::ContactId;
use rapport_core::model::people::EventSummary;
use rapport_core::ports::store::TimelineQuery;
use rapport_core::services;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use utoipa::{IntoParams, ToSchema};

use super::shared::events::{EventRequest, parse_event};
use super::shared::page::{Page, PageParams, cursor_part};
use super::shared::tags::{TagRequest, Tags};
use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// Creates or updates a contact, matched by `user_id`, or else by `email`.
/// Fields left out keep their value; a property set to `null` is removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// The business's own id for this person.
    #[schema(schema_with = crate::openapi::text::up_to_255_or_null)]
    pub user_id: Option<String>,
    #[schema(schema_with = crate::openapi::text::email_or_null)]
    pub email: Option<String>,
    #[schema(schema_with = crate::openapi::text::line_up_to_255_or_null)]
    pub name: Option<String>,
    #[schema(schema_with = crate::openapi::text::up_to_64_or_null)]
    pub phone: Option<String>,
    /// Custom properties: string, number, boolean, RFC 3339 date-time, or a
    /// list of strings; `null` removes one.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::fields::props)]
    pub props: BTreeMap<String, Json_>,
    /// Property operations, applied after `props`, in order.
    #[serde(default, deserialize_with = "crate::extract::object::list")]
    #[schema(schema_with = crate::openapi::fields::ops)]
    pub ops: Vec<PropOpInput>,
}

impl ContactRequest {
    fn into_input(self) -> ContactUpsertInput {
        ContactUpsertInput {
            user_id: self.user_id,
            email: self.email,
            name: self.name,
            phone: self.phone,
            props: self.props,
            ops: self.ops,
        }
    }
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
    let upsert = ContactUpsert::parse(principal.workspace_id, body.into_input())?;
    let (contact, created) = services::contacts::upsert_contact(state.deps(), upsert).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(contact)))
}

/// A contact with what the profile shows beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactProfile {
    #[serde(flatten)]
    pub contact: Contact,
    /// Whether the contact has the messenger open now.
    pub online: bool,
    /// Per event name: how often, first and last time (latest first).
    pub events: Vec<EventSummary>,
}

#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path)),
    responses((status = 200, body = ContactProfile), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<Json<ContactProfile>, ApiError> {
    let ws = principal.workspace_id;
    let (contact, events) = tokio::try_join!(
        state.store.contact(ws, id),
        state.store.event_summaries(ws, id)
    )
    .map_err(or_not_found("contact"))?;
    Ok(Json(ContactProfile {
        online: state.hub.is_online(ws, id),
        contact,
        events,
    }))
}

#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path)), request_body = ContactRequest,
    responses((status = 200, body = Contact), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another contact has that `user_id` or `email`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a value of the wrong type for its property", body = Problem, content_type = "application/problem+json")))]
pub async fn update_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(body): ApiJson<ContactRequest>,
) -> Result<Json<Contact>, ApiError> {
    let changes = ContactUpsert::parse_changes(principal.workspace_id, body.into_input())?;
    let contact = state
        .store
        .update_contact(id, changes, state.clock.now())
        .await
        .map_err(or_not_found("contact"))?;
    Ok(Json(contact))
}

#[utoipa::path(post, path = "/contacts/{id}/tags", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path)), request_body = TagRequest,
    responses((status = 200, body = Tags), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_tag(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(body): ApiJson<TagRequest>,
) -> Result<Json<Tags>, ApiError> {
    set_tag(&state, &principal, id, &body.tag, true).await
}

/// `DELETE /contacts/{id}/tags/{tag}`'s path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct TagPath {
    id: ContactId,
    /// 1 to 64 printable characters.
    #[param(schema_with = crate::openapi::fields::tag)]
    tag: String,
}

#[utoipa::path(delete, path = "/contacts/{id}/tags/{tag}", tag = "contacts", security(("bearer" = [])),
    params(TagPath),
    responses((status = 200, body = Tags), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a tag: 1 to 64 printable characters", body = Problem, content_type = "application/problem+json")))]
pub async fn remove_tag(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, tag)): ApiPath<(ContactId, String)>,
) -> Result<Json<Tags>, ApiError> {
    set_tag(&state, &principal, id, &tag, false).await
}

async fn set_tag(
    state: &AppState,
    principal: &Principal,
    id: ContactId,
    tag: &str,
    present: bool,
) -> Result<Json<Tags>, ApiError> {
    let tag = parse_tag(tag).map_err(|e| ApiError::field("tag", e))?;
    let contact = state
        .store
        .tag_contact(principal.workspace_id, id, &tag, present, state.clock.now())
        .await
        .map_err(or_not_found("contact"))?;
    Ok(Json(Tags { tags: contact.tags }))
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
    let event = NewEvent::new(
        principal.workspace_id,
        id,
        name,
        params,
        body.created_at.unwrap_or_else(|| state.clock.now()),
    );
    let entry = services::contacts::track_event(state.deps(), event)
        .await
        .map_err(or_not_found("contact"))?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// `kinds`: which entries a timeline shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Comma-separated activity kinds (`message`, `emailed`, `not_emailed`,
    /// `event`, `conversation_started`, `status_changed`, `assigned`,
    /// `bulk_send_received`, ...); default all.
    #[param(schema_with = crate::openapi::fields::timeline_kinds)]
    pub kinds: Option<String>,
    /// How many entries, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/contacts/{id}/timeline", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path), TimelineParams),
    responses((status = 200, body = Page<ActivityEntry>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn timeline(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
    ApiQuery(params): ApiQuery<TimelineParams>,
) -> Result<Json<Page<ActivityEntry>>, ApiError> {
    let kinds = parse_kinds(params.kinds.as_deref())?;
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
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
            kinds,
            limit,
        })
        .await?;
    Ok(Json(Page::new(entries, limit, |e| e.seq.to_string())))
}

fn parse_kinds(kinds: Option<&str>) -> Result<Vec<String>, ApiError> {
    kinds
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|kind| {
            if Activity::KINDS.contains(&kind) {
                Ok(kind.to_owned())
            } else {
                Err(ApiError::field(
                    "kinds",
                    format!(
                        "unknown kind `{kind}`; one of: {}",
                        Activity::KINDS.join(", ")
                    ),
                ))
            }
        })
        .collect()
}
