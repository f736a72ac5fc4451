//! Sending a chat message to a contact: the API's door to the one path.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::conversation::{Author, PartKind};
use rapport_core::model::ids::{AgentId, ContactId, ConversationId};
use rapport_core::services::messages::{ChatMessage, send_chat_message};
use serde::Deserialize;
use utoipa::ToSchema;

use super::shared::sending::{SentMessage, yes};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, Auth, sender};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// Who receives it.
    pub contact_id: ContactId,
    /// The message, with snippet tags: `Hi {{ user.name | default("there") }}`.
    #[schema(schema_with = crate::openapi::text::message)]
    pub body: String,
    /// The team member it comes from; default the token's owner.
    pub from_agent_id: Option<AgentId>,
    /// Append to this conversation of the contact's; default a new one.
    pub conversation_id: Option<ConversationId>,
    /// `false`: never email this message, even if it stays unread while
    /// the contact is offline. Default `true`.
    #[serde(default = "yes")]
    pub email_fallback: bool,
}

#[utoipa::path(post, path = "/messages", tag = "messages", security(("bearer" = [])),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "Stored (on disk) and delivered live", body = SentMessage),
        (status = 403, description = "`from_agent_id` names another member and you are not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "An id names nothing in this workspace", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a template that does not parse (with line and column)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_message(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> Result<(StatusCode, Json<SentMessage>), ApiError> {
    let stored = send_chat_message(
        state.deps(),
        ChatMessage {
            workspace_id: principal.workspace_id,
            from: Author::Agent(sender(&principal, body.from_agent_id)?),
            contact_id: body.contact_id,
            conversation_id: body.conversation_id,
            kind: PartKind::Comment,
            body: body.body,
            event: None,
            email_fallback: body.email_fallback,
            bulk_send: None,
            origin: None,
            attachments: Vec::new(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}
