//! Conversations: list, read, reply, and triage (assign, close, snooze, open).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::Timestamp;
use rapport_core::model::contact::{Contact, parse_tag};
use rapport_core::model::conversation::{
    AssigneeFilter, Author, Conversation, ConversationChange, ConversationQuery, ConversationSort,
    ConversationStatus, Message, PartKind,
};
use rapport_core::model::ids::{AgentId, AttachmentId, ContactId, ConversationId};
use rapport_core::services::conversations::change_conversation;
use rapport_core::services::messages::{ChatMessage, send_chat_message};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::shared::attachments::unsent;
use super::shared::conversation_rows::{ConversationRow, conversation_rows};
use super::shared::page::{Page, PageParams, cursor_part};
use super::shared::sending::{SentMessage, yes};
use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, sender};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// open, snoozed or closed.
    pub status: Option<ConversationStatus>,
    /// An agent id, `me`, or `unassigned`.
    #[param(schema_with = crate::openapi::fields::assignee)]
    pub assignee: Option<String>,
    /// Only this contact's conversations.
    #[param(value_type = Option<String>, format = Uuid)]
    pub contact_id: Option<ContactId>,
    /// Only conversations with this tag.
    #[param(schema_with = crate::openapi::fields::tag)]
    pub tag: Option<String>,
    /// `newest` (latest activity first, the default) or `waiting` (the
    /// contacts who have waited longest for the team first).
    #[param(schema_with = crate::openapi::fields::conversation_sort)]
    pub sort: Option<ConversationSort>,
    /// How many conversations, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/conversations", tag = "conversations", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = Page<ConversationRow>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_conversations(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Page<ConversationRow>>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let limit = page.limit()?;
    let after = page
        .cursor()?
        .map(|cursor| {
            let mut parts = cursor.splitn(2, '/');
            Ok::<_, ApiError>((
                Timestamp::from_millis(cursor_part(parts.next())?),
                cursor_part(parts.next())?,
            ))
        })
        .transpose()?;
    let assignee = match params.assignee.as_deref() {
        None => None,
        Some("unassigned") => Some(AssigneeFilter::Unassigned),
        Some("me") => Some(AssigneeFilter::Agent(principal.agent_id)),
        Some(id) => Some(AssigneeFilter::Agent(id.parse::<AgentId>().map_err(
            |_| ApiError::field("assignee", "an agent id, `me` or `unassigned`"),
        )?)),
    };
    let sort = params.sort.unwrap_or_default();
    let query = ConversationQuery {
        status: params.status,
        assignee,
        contact_id: params.contact_id,
        tag: params
            .tag
            .as_deref()
            .map(parse_tag)
            .transpose()
            .map_err(|e| ApiError::field("tag", e))?,
        sort,
        after,
        limit,
    };
    let ws = principal.workspace_id;
    let conversations = state.store.list_conversations(ws, query).await?;
    let rows = conversation_rows(&state, ws, conversations).await?;
    Ok(Json(Page::new(rows, limit, |row| {
        format!(
            "{}/{}",
            row.conversation.sort_time(sort).as_millis(),
            row.conversation.id
        )
    })))
}

/// A conversation with its contact and every part, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub contact: Contact,
    pub parts: Vec<Message>,
    /// A bot is answering here: an automation's waits for the contact's
    /// answer, or the AI bot has the conversation.
    pub with_bot: bool,
    /// The contact's rating, once they rated the closed conversation.
    pub rating: Option<rapport_core::model::rating::Rating>,
    /// The team's tags on it, sorted.
    pub tags: Vec<String>,
}

#[utoipa::path(get, path = "/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = ConversationId, Path)),
    responses((status = 200, body = ConversationDetail), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_conversation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<ConversationDetail>, ApiError> {
    let ws = principal.workspace_id;
    let conversation = state
        .store
        .conversation(ws, id)
        .await
        .map_err(or_not_found("conversation"))?;
    let contact = state.store.contact(ws, conversation.contact_id).await?;
    let parts = state.store.conversation_parts(ws, id).await?;
    let with_bot = !state.store.bot_conversations(ws, &[id]).await?.is_empty()
        || !state.store.bot_engaged(ws, &[id]).await?.is_empty();
    let rating = state.store.conversation_rating(ws, id).await?;
    let tags = state
        .store
        .conversation_tags(ws, &[id])
        .await?
        .pop()
        .map(|(_, tags)| tags)
        .unwrap_or_default();
    Ok(Json(ConversationDetail {
        conversation,
        contact,
        parts,
        with_bot,
        rating,
        tags,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// The reply, with snippet tags; may be empty with `attachment_ids`.
    #[schema(max_length = 20000)]
    pub body: String,
    /// Files you uploaded (`POST /attachments`) and have not sent, at most 10.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>, max_items = 10)]
    pub attachment_ids: Vec<AttachmentId>,
    /// `comment` (the contact sees it; default) or `note` (the team only).
    #[serde(rename = "type", default)]
    pub kind: PartKind,
    /// The team member replying; default the token's owner.
    pub from_agent_id: Option<AgentId>,
    /// `false`: never email this message, even if it stays unread while
    /// the contact is offline. Default `true`.
    #[serde(default = "yes")]
    pub email_fallback: bool,
}

#[utoipa::path(post, path = "/conversations/{id}/reply", tag = "conversations", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), request_body = ReplyRequest,
    responses((status = 201, body = SentMessage), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`from_agent_id` names another member and you are not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn reply(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<ReplyRequest>,
) -> Result<(StatusCode, Json<SentMessage>), ApiError> {
    let conversation = state
        .store
        .conversation(principal.workspace_id, id)
        .await
        .map_err(or_not_found("conversation"))?;
    let from = Author::Agent(sender(&principal, body.from_agent_id)?);
    let attachments = unsent(&state, principal.workspace_id, from, &body.attachment_ids).await?;
    let stored = send_chat_message(
        state.deps(),
        ChatMessage {
            workspace_id: principal.workspace_id,
            from,
            contact_id: conversation.contact_id,
            conversation_id: Some(id),
            kind: body.kind,
            body: body.body,
            event: None,
            email_fallback: body.email_fallback,
            bulk_send: None,
            origin: None,
            attachments,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The team member to assign; `null` unassigns.
    pub assignee_id: Option<AgentId>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// When the conversation reopens; must be in the future.
    #[schema(value_type = String, format = DateTime)]
    pub until: Timestamp,
}

async fn apply(
    state: &AppState,
    principal: &rapport_core::model::agent::Principal,
    id: ConversationId,
    change: ConversationChange,
) -> Result<Json<Conversation>, ApiError> {
    let conversation = change_conversation(
        state.deps(),
        principal.workspace_id,
        id,
        change,
        Some(principal.agent_id),
    )
    .await?;
    Ok(Json(conversation))
}

#[utoipa::path(post, path = "/conversations/{id}/assign", tag = "conversations", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), request_body = AssignRequest,
    responses((status = 200, body = Conversation), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn assign(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<Json<Conversation>, ApiError> {
    apply(
        &state,
        &principal,
        id,
        ConversationChange::Assign {
            assignee_id: body.assignee_id,
        },
    )
    .await
}

#[utoipa::path(post, path = "/conversations/{id}/close", tag = "conversations", security(("bearer" = [])),
    params(("id" = ConversationId, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn close(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    apply(&state, &principal, id, ConversationChange::Close).await
}

#[utoipa::path(post, path = "/conversations/{id}/open", tag = "conversations", security(("bearer" = [])),
    params(("id" = ConversationId, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn open(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    apply(&state, &principal, id, ConversationChange::Open).await
}

#[utoipa::path(post, path = "/conversations/{id}/snooze", tag = "conversations", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), request_body = SnoozeRequest,
    responses((status = 200, body = Conversation), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn snooze(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<SnoozeRequest>,
) -> Result<Json<Conversation>, ApiError> {
    if body.until <= state.clock.now() {
        return Err(ApiError::field("until", "must be in the future"));
    }
    apply(
        &state,
        &principal,
        id,
        ConversationChange::Snooze { until: body.until },
    )
    .await
}
