//! Email over HTTP: inbound replies as raw MIME (for businesses whose mail
//! provider posts incoming mail to a webhook), the settings page's test
//! email, and the unsubscribe page an email links to.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use lettre::message::header::ContentType;
use rapport_core::model::email::parse_unsubscribe_token;
use rapport_core::model::ids::{ConversationId, MessageId, WorkspaceId};
use rapport_core::ports::store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::email::inbound::{InboundError, receive_reply};
use crate::email::{SendFailure, mailbox};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, Auth, read_body};

/// Where an inbound reply landed.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundReply {
    pub conversation_id: ConversationId,
    /// The new message; `null` when this email was already received.
    pub message_id: Option<MessageId>,
    /// The same email (by Message-ID) came before and was kept once.
    pub duplicate: bool,
}

/// Takes one raw email (RFC 5322, as `message/rfc822`) sent to a reply
/// address of this workspace and adds its text, without the quoted history,
/// to the conversation as the contact's message. The email may be as large
/// as `inbound_email_limit` (attachments included; only the text is kept).
#[utoipa::path(post, path = "/email/inbound", tag = "email", security(("bearer" = [])),
    request_body(content = String, content_type = "message/rfc822", description = "The raw email"),
    responses(
        (status = 201, description = "Added to the conversation", body = InboundReply),
        (status = 200, description = "The same email (by Message-ID) was already added; nothing changed", body = InboundReply),
        (status = 422, description = "Not a reply to this workspace, a sender who is not the contact, or no text", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn inbound(
    State(state): State<AppState>,
    Auth(principal): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<InboundReply>), ApiError> {
    let body = read_body(&headers, body, state.inbound_email_limit).await?;
    match receive_reply(&state, &body, &[], Some(principal.workspace_id)).await {
        Ok(stored) => Ok((
            StatusCode::CREATED,
            Json(InboundReply {
                conversation_id: stored.conversation.id,
                message_id: Some(stored.message.id),
                duplicate: false,
            }),
        )),
        // A provider retrying a delivery gets a success, and nothing twice.
        Err(InboundError::Duplicate(conversation_id)) => Ok((
            StatusCode::OK,
            Json(InboundReply {
                conversation_id,
                message_id: None,
                duplicate: true,
            }),
        )),
        Err(err) => {
            tracing::warn!(error = %err, "refused an inbound email");
            Err(match err {
                InboundError::Malformed => ApiError::field("body", err.to_string()),
                InboundError::UnknownAddress => ApiError::field("to", err.to_string()),
                InboundError::SenderMismatch => ApiError::field("from", err.to_string()),
                InboundError::Empty => ApiError::field("body", err.to_string()),
                InboundError::Duplicate(_) => ApiError::Conflict(err.to_string()),
                InboundError::Send(send) => send.into(),
                InboundError::Store(store) => store.into(),
            })
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEmailRequest {
    /// Where to send it; empty or left out: the signed-in member's address.
    #[schema(schema_with = crate::openapi::fields::email_or_empty)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestEmailSent {
    pub sent_to: String,
}

/// Sends a test email through the configured SMTP server, from the
/// workspace's sender address.
#[utoipa::path(post, path = "/workspace/email/test", tag = "settings", security(("bearer" = [])),
    request_body = TestEmailRequest,
    responses(
        (status = 200, body = TestEmailSent),
        (status = 409, description = "No SMTP server is configured", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The mail server refused or could not be reached", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_test(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<TestEmailRequest>,
) -> Result<Json<TestEmailSent>, ApiError> {
    if !principal.role.can_manage_team() {
        return Err(ApiError::Forbidden(
            "only owners and admins send test emails".into(),
        ));
    }
    let workspace = state.store.workspace(principal.workspace_id).await?;
    let to = match body.to.filter(|t| !t.trim().is_empty()) {
        Some(to) => rapport_core::model::agent::Email::parse(&to)
            .map_err(|why| ApiError::field("to", why))?
            .as_str()
            .to_owned(),
        None => state
            .store
            .agent(principal.workspace_id, principal.agent_id)
            .await?
            .email
            .as_str()
            .to_owned(),
    };
    let from = state.email.sender_address(&workspace);
    let mailbox = |name: Option<String>, address: &str, field: &str| {
        mailbox(name, address).map_err(|e| ApiError::field(field, e.to_string()))
    };
    let message = lettre::Message::builder()
        .from(mailbox(Some(workspace.name.clone()), &from, "email.from_address")?)
        .to(mailbox(None, &to, "to")?)
        .subject(format!("Rapport test email for {}", workspace.name))
        .header(ContentType::TEXT_PLAIN)
        .body(format!(
            "This is a test email from Rapport for {}. If you can read it, unread chat messages will reach your contacts by email.\n",
            workspace.name
        ))
        .map_err(|e| ApiError::Internal(e.into()))?;
    match state.email.send(message).await {
        Ok(()) => Ok(Json(TestEmailSent { sent_to: to })),
        Err(SendFailure::NotConfigured) => {
            Err(ApiError::Conflict(SendFailure::NotConfigured.to_string()))
        }
        Err(err) => Err(ApiError::BadGateway(err.to_string())),
    }
}

/// The unsubscribe link's page (`GET`) and its button, also the one-click
/// `POST` of RFC 8058. A `GET` changes nothing: mail scanners open links.
pub fn public_routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/email/unsubscribe/{workspace}/{token}",
        get(unsubscribe_page).post(unsubscribe),
    )
}

async fn unsubscribe_page(
    State(state): State<AppState>,
    ApiPath((workspace, token)): ApiPath<(String, String)>,
) -> Response {
    match verified_contact(&state, &workspace, &token).await {
        Ok(_) => page(
            StatusCode::OK,
            "Stop chat emails?",
            "You will still see our replies in the chat on the website.",
            true,
        ),
        Err(response) => response,
    }
}

async fn unsubscribe(
    State(state): State<AppState>,
    ApiPath((workspace, token)): ApiPath<(String, String)>,
) -> Response {
    let (workspace, contact) = match verified_contact(&state, &workspace, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state
        .store
        .unsubscribe_contact(workspace, contact, state.clock.now())
        .await
    {
        Ok(_) => page(
            StatusCode::OK,
            "You are unsubscribed",
            "We will not email you chat messages any more; replies stay in the chat on the website.",
            false,
        ),
        Err(err) => {
            tracing::error!(error = %err, "unsubscribe failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again in a moment.",
                true,
            )
        }
    }
}

/// The workspace and contact a signed unsubscribe token names.
async fn verified_contact(
    state: &AppState,
    workspace: &str,
    token: &str,
) -> Result<(WorkspaceId, rapport_core::model::ids::ContactId), Response> {
    let invalid = || {
        page(
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "It may have been copied incompletely.",
            false,
        )
    };
    let signed = parse_unsubscribe_token(token).ok_or_else(invalid)?;
    let workspace: WorkspaceId = workspace.parse().map_err(|_| invalid())?;
    let workspace = match state.store.workspace(workspace).await {
        Ok(workspace) => workspace,
        Err(StoreError::NotFound) => return Err(invalid()),
        Err(err) => {
            tracing::error!(error = %err, "unsubscribe lookup failed");
            return Err(invalid());
        }
    };
    let now = state.clock.now();
    if !workspace
        .identity_secrets(now)
        .any(|secret| signed.is_signed_by(secret))
    {
        return Err(invalid());
    }
    Ok((workspace.id, signed.id))
}

fn page(status: StatusCode, title: &str, text: &str, button: bool) -> Response {
    let form = if button {
        r#"<form method="post"><button type="submit">Stop emailing me chat messages</button></form>"#
    } else {
        ""
    };
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2430}}button{{font:inherit;padding:.6rem 1rem;border-radius:6px;border:1px solid #4f46e5;background:#4f46e5;color:#fff;cursor:pointer}}</style>
</head><body><h1>{title}</h1><p>{text}</p>{form}</body></html>"#
    );
    (status, Html(html)).into_response()
}
