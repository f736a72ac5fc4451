//! The messenger's API under `/widget/v1`, called from the iframe Rapport
//! serves (same origin). Anyone can call it, so every request is treated
//! as an attacker's until proven otherwise (docs/security.md):
//!
//! - A visitor is a lead until the host page boots the widget with an
//!   identity the business vouched for: a `user_id` (or, without one, an
//!   `email`) signed as `user_hash`. New workspaces enforce this; an email
//!   or name typed in the widget is a claim that never finds, merges into
//!   or re-keys another contact.
//! - A session token is bound to the identity it was issued for and only
//!   ever reaches its own contact's conversations.
//! - A visitor may only set the properties the workspace made writable
//!   from the messenger.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use hmac::{Hmac, Mac};
use rapport_core::Timestamp;
use rapport_core::model::activity::NewEvent;
use rapport_core::model::contact::{Contact, ContactUpsert, ContactUpsertInput, system_property};
use rapport_core::model::conversation::{Author, Conversation, ConversationQuery, PartKind};
use rapport_core::model::ids::{ContactId, ConversationId, WorkspaceId};
use rapport_core::model::validation::Validator;
use rapport_core::model::visitor::VisitorIdentity;
use rapport_core::model::workspace::Workspace;
use rapport_core::services;
use rapport_core::services::replies::post_contact_message;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use sha2::Sha256;
use utoipa::ToSchema;

use super::shared::attachments::unsent;
use super::shared::events::{EventRequest, parse_event};
pub use super::shared::visitor::Visitor;
use crate::AppState;
use crate::credentials::{self, hash_token};
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, bearer};
use crate::views::visitor::{Authors, VisitorPart};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BootRequest {
    /// The workspace's public id, from the install snippet.
    pub app_id: String,
    /// The session this browser was given before, if any.
    pub session: Option<String>,
    /// The signed-in user's id in the business's own system.
    pub user_id: Option<String>,
    /// `hex(HMAC-SHA256(identity_secret, user_id))` (or of `email` when
    /// there is no `user_id`), computed by the business's server.
    pub user_hash: Option<String>,
    /// With a `user_id`, or without a `user_hash`, a claim: shown to the
    /// team, never used to find the contact.
    #[schema(schema_with = crate::openapi::text::email_or_null)]
    pub email: Option<String>,
    #[schema(schema_with = crate::openapi::text::line_up_to_255_or_null)]
    pub name: Option<String>,
    /// Properties an admin lets the messenger set (Settings > Properties).
    #[serde(default)]
    #[schema(schema_with = crate::openapi::fields::props)]
    pub props: BTreeMap<String, Json_>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorView {
    pub id: ContactId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub user_id: Option<String>,
}

impl From<&Contact> for VisitorView {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id,
            name: c.name.clone(),
            email: c.email.as_ref().map(|e| e.as_str().to_owned()),
            user_id: c.user_id.clone(),
        }
    }
}

/// A team member as visitors see them (the API's `TeamMember` says more).
/// The messenger makes avatar initials from the name.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = VisitorTeamMember)]
pub struct TeamMember {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceName {
    pub name: String,
    /// When the team usually replies, from the office's business hours
    /// now (`reply_time_in_hours` or `reply_time_out_of_hours`).
    pub reply_time: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Booted {
    /// Keep this (the messenger stores it) and send it back next time.
    pub session: String,
    pub contact: VisitorView,
    pub workspace: WorkspaceName,
    pub team: Vec<TeamMember>,
    /// What the visitor may attach: files up to `max_bytes`, of `kinds`
    /// (none: no attachments).
    pub attachments: rapport_core::model::attachment::AttachmentSettings,
}

/// Whether `user_hash` is the HMAC of `subject` (a user_id, or an email)
/// under one of the workspace's identity secrets (the previous one counts
/// during its grace period); compared in constant time.
fn user_hash_is_valid(
    workspace: &Workspace,
    subject: &str,
    user_hash: &str,
    now: Timestamp,
) -> bool {
    let Ok(expected) = hex::decode(user_hash.trim()) else {
        return false;
    };
    workspace.identity_secrets(now).any(|secret| {
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).is_ok_and(|mut mac| {
            mac.update(subject.as_bytes());
            mac.verify_slice(&expected).is_ok()
        })
    })
}

/// Who a boot says the visitor is, once its proof is checked.
#[derive(Debug, PartialEq)]
enum Identity {
    /// Nobody in particular: a lead (any `email` is a claim).
    Anonymous,
    /// A `user_id`; `verified` when a `user_hash` proved it (otherwise the
    /// workspace turned verification off and takes the page's word).
    User { user_id: String, verified: bool },
    /// An email the business signed as `user_hash`, without a `user_id`.
    Email,
}

/// Checks the proof a boot offers. A wrong `user_hash` is always refused;
/// a missing one only where the workspace enforces verification and the
/// boot names a `user_id` or an `email` as identity.
fn claimed_identity(
    workspace: &Workspace,
    body: &BootRequest,
    now: Timestamp,
) -> Result<Identity, ApiError> {
    let hash = body.user_hash.as_deref();
    let enforced = workspace.identity_verification;
    match (&body.user_id, &body.email, hash) {
        (Some(user_id), _, Some(hash)) if user_hash_is_valid(workspace, user_id, hash, now) => {
            Ok(Identity::User {
                user_id: user_id.clone(),
                verified: true,
            })
        }
        (Some(user_id), _, None) if !enforced => Ok(Identity::User {
            user_id: user_id.clone(),
            verified: false,
        }),
        (None, Some(email), Some(hash)) if user_hash_is_valid(workspace, email, hash, now) => {
            Ok(Identity::Email)
        }
        (None, Some(_), None) if !enforced => Ok(Identity::Anonymous),
        (None, None, Some(_)) => Err(ApiError::field(
            "user_hash",
            "signs a user_id or an email: give the one it signs",
        )),
        (None, None, None) => Ok(Identity::Anonymous),
        _ => Err(ApiError::Unauthorized),
    }
}

/// Refuses properties the workspace has not made writable from the
/// messenger (system properties such as `country` are the visitor's own).
async fn check_visitor_props(
    state: &AppState,
    workspace: WorkspaceId,
    props: &BTreeMap<String, Json_>,
) -> Result<(), ApiError> {
    let custom: Vec<&String> = props
        .keys()
        .filter(|name| system_property(name).is_none())
        .collect();
    if custom.is_empty() {
        return Ok(());
    }
    let writable: HashSet<String> = state
        .store
        .property_settings(workspace)
        .await?
        .into_iter()
        .filter(|p| p.messenger_writable)
        .map(|p| p.name)
        .collect();
    let mut v = Validator::default();
    for name in custom.into_iter().filter(|name| !writable.contains(*name)) {
        v.push(
            format!("props.{name}"),
            "the messenger may not set this property (an admin can allow it under Settings > Properties)",
        );
    }
    Ok(v.finish()?)
}

#[utoipa::path(post, path = "/boot", tag = "widget", operation_id = "widget_boot", request_body = BootRequest,
    responses((status = 200, body = Booted),
        (status = 401, description = "Identity verification refused the user_id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown app_id", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn boot(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<BootRequest>,
) -> Result<Json<Booted>, ApiError> {
    let workspace = state
        .store
        .workspace_by_app_id(&body.app_id)
        .await
        .map_err(or_not_found("app"))?;
    let ws = workspace.id;
    let now = state.clock.now();
    let identity = claimed_identity(&workspace, &body, now)?;
    check_visitor_props(&state, ws, &body.props).await?;
    let details = ContactUpsertInput {
        user_id: None,
        email: body.email,
        name: body.name,
        phone: None,
        props: body.props,
        ops: Vec::new(),
    };
    let identity = match identity {
        // Found by user_id alone: the email beside it is a claim (the hash
        // signs only the user_id).
        Identity::User { user_id, verified } => VisitorIdentity::Known {
            upsert: ContactUpsert::parse(
                ws,
                ContactUpsertInput {
                    user_id: Some(user_id),
                    ..details
                },
            )?
            .claimed_by_visitor(),
            verified,
        },
        // The business signed this email: it finds the contact the business
        // knows by it (or makes one).
        Identity::Email => VisitorIdentity::Known {
            upsert: ContactUpsert::parse(ws, details)?,
            verified: true,
        },
        Identity::Anonymous => VisitorIdentity::Anonymous {
            changes: ContactUpsert::parse_changes(ws, details)?.claimed_by_visitor(),
        },
    };
    let (new_session, new_hash) = credentials::new_secret("wst_");
    let booted = services::visitors::boot(
        state.deps(),
        ws,
        identity,
        body.session.as_deref().map(hash_token),
        new_hash,
    )
    .await?;
    let session = match body.session {
        Some(session) if booted.kept_session => session,
        _ => new_session,
    };
    let contact = booted.contact;
    let team = state
        .store
        .list_agents(ws)
        .await?
        .into_iter()
        .map(|a| TeamMember { name: a.name })
        .collect();
    let attachments = rapport_core::model::attachment::AttachmentSettings {
        max_bytes: workspace.attachments.limit(state.attachment_max_bytes),
        kinds: workspace.attachments.kinds.clone(),
    };
    Ok(Json(Booted {
        attachments,
        session,
        contact: (&contact).into(),
        workspace: WorkspaceName {
            reply_time: state
                .store
                .office(workspace.id)
                .await?
                .reply_time(state.clock.now())
                .to_owned(),
            name: workspace.name,
        },
        team,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorConversation {
    pub id: ConversationId,
    pub status: rapport_core::model::conversation::ConversationStatus,
    pub updated_at: rapport_core::Timestamp,
    pub last_part: Option<VisitorPart>,
    /// Team messages the visitor has not read.
    pub unread: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorConversations {
    pub data: Vec<VisitorConversation>,
}

#[utoipa::path(get, path = "/conversations", tag = "widget", operation_id = "widget_list", security(("widget_session" = [])),
    responses((status = 200, body = VisitorConversations), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Json<VisitorConversations>, ApiError> {
    let ws = visitor.workspace_id;
    let query = ConversationQuery {
        contact_id: Some(visitor.contact_id),
        limit: 50,
        ..Default::default()
    };
    let conversations = state.store.list_conversations(ws, query).await?;
    let ids: Vec<_> = conversations.iter().map(|c| c.id).collect();
    let mut last: HashMap<_, _> = state
        .store
        .last_parts(ws, &ids, true)
        .await?
        .into_iter()
        .map(|m| (m.conversation_id, m))
        .collect();
    let unread: HashMap<_, _> = state
        .store
        .unread_counts(ws, visitor.contact_id)
        .await?
        .into_iter()
        .collect();
    let authors = Authors::load(&state, ws).await?;
    let data = conversations
        .into_iter()
        .map(|c| VisitorConversation {
            last_part: last.remove(&c.id).map(|m| authors.part(m)),
            unread: unread.get(&c.id).copied().unwrap_or(0),
            id: c.id,
            status: c.status,
            updated_at: c.updated_at,
        })
        .collect();
    Ok(Json(VisitorConversations { data }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorMessage {
    /// What the visitor wrote (Markdown); may be empty with `attachment_ids`.
    #[schema(max_length = 20000)]
    pub body: String,
    /// Files this visitor uploaded (`POST /attachments`) and has not sent,
    /// at most 10.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>, max_items = 10)]
    pub attachment_ids: Vec<rapport_core::model::ids::AttachmentId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Started {
    pub conversation: VisitorConversation,
    pub message: VisitorPart,
}

#[utoipa::path(post, path = "/conversations", tag = "widget", operation_id = "widget_start", security(("widget_session" = [])),
    request_body = VisitorMessage, responses((status = 201, body = Started), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn start(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiJson(body): ApiJson<VisitorMessage>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let attachments = unsent(
        &state,
        visitor.workspace_id,
        Author::Contact(visitor.contact_id),
        &body.attachment_ids,
    )
    .await?;
    let stored = post_contact_message(
        state.deps(),
        visitor.workspace_id,
        visitor.contact_id,
        None,
        &body.body,
        attachments,
    )
    .await?;
    let authors = Authors::load(&state, visitor.workspace_id).await?;
    let conversation = stored.conversation;
    let message = authors.part(stored.message);
    Ok((
        StatusCode::CREATED,
        Json(Started {
            conversation: VisitorConversation {
                id: conversation.id,
                status: conversation.status,
                updated_at: conversation.updated_at,
                last_part: None,
                unread: 0,
            },
            message,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorThread {
    pub conversation: VisitorConversation,
    /// The conversation's messages, oldest first (team notes are never here).
    pub parts: Vec<VisitorPart>,
    /// The visitor's rating of it, once given (asked for once it is closed).
    pub rating: Option<VisitorRating>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorRating {
    /// 1 (bad), 2 (OK) or 3 (great).
    pub score: u8,
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 (bad), 2 (OK) or 3 (great).
    #[schema(minimum = 1, maximum = 3)]
    pub score: i64,
    /// Up to 1,000 characters; blank for none.
    #[schema(max_length = 1000)]
    #[serde(default)]
    pub comment: Option<String>,
}

#[utoipa::path(post, path = "/conversations/{id}/rating", tag = "widget", operation_id = "widget_rate", security(("widget_session" = [])),
    params(("id" = ConversationId, Path)), request_body = RatingRequest,
    responses((status = 201, body = VisitorRating),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not closed, or rated already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn rate(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<RatingRequest>,
) -> Result<(StatusCode, Json<VisitorRating>), ApiError> {
    let (score, comment) = rapport_core::model::rating::check(body.score, body.comment.as_deref())?;
    let rating = state
        .store
        .rate_conversation(
            visitor.workspace_id,
            visitor.contact_id,
            id,
            score,
            comment,
            state.clock.now(),
        )
        .await
        .map_err(or_not_found("conversation"))?;
    Ok((
        StatusCode::CREATED,
        Json(VisitorRating {
            score: rating.score,
            comment: rating.comment,
        }),
    ))
}

/// The visitor's own conversation, or 404.
async fn own_conversation(
    state: &AppState,
    visitor: &Visitor,
    id: ConversationId,
) -> Result<Conversation, ApiError> {
    let conversation = state
        .store
        .conversation(visitor.workspace_id, id)
        .await
        .map_err(or_not_found("conversation"))?;
    if conversation.contact_id != visitor.contact_id {
        return Err(ApiError::not_found("conversation"));
    }
    Ok(conversation)
}

#[utoipa::path(get, path = "/conversations/{id}", tag = "widget", operation_id = "widget_thread", security(("widget_session" = [])),
    params(("id" = ConversationId, Path)),
    responses((status = 200, body = VisitorThread), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn thread(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<VisitorThread>, ApiError> {
    let conversation = own_conversation(&state, &visitor, id).await?;
    let authors = Authors::load(&state, visitor.workspace_id).await?;
    let parts: Vec<_> = state
        .store
        .conversation_parts(visitor.workspace_id, id)
        .await?
        .into_iter()
        .filter(|m| m.kind == PartKind::Comment)
        .map(|m| authors.part(m))
        .collect();
    let unread = state
        .store
        .unread_counts(visitor.workspace_id, visitor.contact_id)
        .await?;
    let rating = state
        .store
        .conversation_rating(visitor.workspace_id, id)
        .await?
        .map(|r| VisitorRating {
            score: r.score,
            comment: r.comment,
        });
    Ok(Json(VisitorThread {
        conversation: VisitorConversation {
            id,
            status: conversation.status,
            updated_at: conversation.updated_at,
            last_part: None,
            unread: unread
                .into_iter()
                .find(|(c, _)| *c == id)
                .map_or(0, |(_, n)| n),
        },
        parts,
        rating,
    }))
}

#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "widget", operation_id = "widget_reply", security(("widget_session" = [])),
    params(("id" = ConversationId, Path)), request_body = VisitorMessage,
    responses((status = 201, body = VisitorPart), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn reply(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<VisitorMessage>,
) -> Result<(StatusCode, Json<VisitorPart>), ApiError> {
    own_conversation(&state, &visitor, id).await?;
    let attachments = unsent(
        &state,
        visitor.workspace_id,
        Author::Contact(visitor.contact_id),
        &body.attachment_ids,
    )
    .await?;
    let stored = post_contact_message(
        state.deps(),
        visitor.workspace_id,
        visitor.contact_id,
        Some(id),
        &body.body,
        attachments,
    )
    .await?;
    let authors = Authors::load(&state, visitor.workspace_id).await?;
    Ok((StatusCode::CREATED, Json(authors.part(stored.message))))
}

#[utoipa::path(post, path = "/conversations/{id}/read", tag = "widget", operation_id = "widget_read", security(("widget_session" = [])),
    params(("id" = ConversationId, Path)),
    responses((status = 204, description = "Read up to now"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn read(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<StatusCode, ApiError> {
    let seq = state
        .store
        .mark_read(
            visitor.workspace_id,
            id,
            visitor.contact_id,
            state.clock.now(),
        )
        .await
        .map_err(or_not_found("conversation"))?;
    if let Some(seq) = seq {
        state.bus.publish(visitor.workspace_id, seq);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/events", tag = "widget", operation_id = "widget_track", security(("widget_session" = [])),
    request_body = EventRequest, responses((status = 201, description = "Tracked"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn track(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiJson(body): ApiJson<EventRequest>,
) -> Result<StatusCode, ApiError> {
    let (name, params) = parse_event(body.name, body.params)?;
    // A browser's clock is not to be trusted with history.
    let event = NewEvent::new(
        visitor.workspace_id,
        visitor.contact_id,
        name,
        params,
        state.clock.now(),
    );
    services::contacts::track_event(state.deps(), event).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorUpdate {
    #[schema(schema_with = crate::openapi::text::email_or_null)]
    pub email: Option<String>,
    #[schema(schema_with = crate::openapi::text::line_up_to_255_or_null)]
    pub name: Option<String>,
    /// Properties an admin lets the messenger set (Settings > Properties).
    #[serde(default)]
    #[schema(schema_with = crate::openapi::fields::props)]
    pub props: BTreeMap<String, Json_>,
}

#[utoipa::path(post, path = "/update", tag = "widget", operation_id = "widget_update", security(("widget_session" = [])),
    request_body = VisitorUpdate, responses((status = 200, body = VisitorView), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiJson(body): ApiJson<VisitorUpdate>,
) -> Result<Json<VisitorView>, ApiError> {
    check_visitor_props(&state, visitor.workspace_id, &body.props).await?;
    let changes = ContactUpsert::parse_changes(
        visitor.workspace_id,
        ContactUpsertInput {
            user_id: None,
            email: body.email,
            name: body.name,
            phone: None,
            props: body.props,
            ops: Vec::new(),
        },
    )?
    .claimed_by_visitor();
    let contact = state
        .store
        .update_contact(visitor.contact_id, changes, state.clock.now())
        .await?;
    Ok(Json((&contact).into()))
}

#[utoipa::path(post, path = "/shutdown", tag = "widget", operation_id = "widget_shutdown",
    // Without a session there is nothing to end: also a 204.
    security((), ("widget_session" = [])),
    responses((status = 204, description = "The session is over; boot again for a new visitor")))]
/// Ends the visitor's session (the host page's `Rapport('shutdown')`, e.g.
/// when its user signs out): the token stops working at once.
pub async fn shutdown(State(state): State<AppState>, parts: Parts) -> Result<StatusCode, ApiError> {
    if let Some(token) = bearer(&parts) {
        state.store.delete_widget_session(hash_token(token)).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
