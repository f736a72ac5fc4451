//! What contacts write: in the widget, or by replying to an email. Their
//! own words, never a template, stored by the same store write as every
//! other message (`ConversationStore::append_messages`).

use crate::model::attachment::AttachmentRef;
use crate::model::conversation::{Author, Conversation, Message, PartKind};
use crate::model::ids::{ContactId, ConversationId, MessageId, WorkspaceId};
use crate::model::template::MAX_TEMPLATE_CHARS;
use crate::model::validation::ValidationError;
use crate::ports::store::{NewMessage, StoreError, StoredMessage};
use crate::services::{Deps, SendError, not_found};

/// A message a contact writes (in the widget, or by replying to an email):
/// their own words, never a template. `None` starts a new conversation.
pub async fn post_contact_message(
    deps: Deps<'_>,
    workspace_id: WorkspaceId,
    contact_id: ContactId,
    conversation_id: Option<ConversationId>,
    body: &str,
    attachments: Vec<AttachmentRef>,
) -> Result<StoredMessage, SendError> {
    post_as_contact(
        deps,
        workspace_id,
        contact_id,
        conversation_id,
        body,
        attachments,
        None,
    )
    .await
}

/// A contact's reply by email, into the conversation its reply address
/// names. `email_key` (the email's Message-ID) makes a second delivery of
/// the same email a `Duplicate` that stores nothing.
pub async fn post_emailed_reply(
    deps: Deps<'_>,
    workspace_id: WorkspaceId,
    contact_id: ContactId,
    conversation_id: ConversationId,
    body: &str,
    attachments: Vec<AttachmentRef>,
    email_key: Option<String>,
) -> Result<StoredMessage, SendError> {
    post_as_contact(
        deps,
        workspace_id,
        contact_id,
        Some(conversation_id),
        body,
        attachments,
        email_key,
    )
    .await
}

async fn post_as_contact(
    deps: Deps<'_>,
    workspace_id: WorkspaceId,
    contact_id: ContactId,
    conversation_id: Option<ConversationId>,
    body: &str,
    attachments: Vec<AttachmentRef>,
    email_key: Option<String>,
) -> Result<StoredMessage, SendError> {
    let body = body.trim();
    if (body.is_empty() && attachments.is_empty()) || body.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(ValidationError::field(
            "body",
            format!("a message has 1 to {} characters", MAX_TEMPLATE_CHARS),
        )
        .into());
    }
    let now = deps.clock.now();
    let email_key_given = email_key.is_some();
    let message = Message {
        id: MessageId::generate(),
        workspace_id,
        conversation_id: conversation_id.unwrap_or_else(ConversationId::generate),
        author: Author::Contact(contact_id),
        kind: PartKind::Comment,
        body: body.to_owned(),
        created_at: now,
        origin: None,
        attachments,
    };
    let new_conversation = conversation_id
        .is_none()
        .then(|| Conversation::start(message.conversation_id, workspace_id, contact_id, None, now));
    let stored = deps
        .store
        .append_messages(vec![NewMessage {
            message,
            contact_id,
            new_conversation,
            email: None,
            email_key,
            bulk_send: None,
        }])
        .await?
        .pop()
        .unwrap_or_else(|| Err(StoreError::Other("the message was left out".into())))
        .map_err(|err| match err {
            StoreError::Conflict(reason) if reason.contains("attachment") => {
                ValidationError::field("attachment_ids", reason).into()
            }
            StoreError::Conflict(_) => SendError::Duplicate,
            other => not_found("conversation_id")(other),
        })?;
    deps.bus.publish(workspace_id, stored.seq);
    let source = if email_key_given { "email" } else { "visitor" };
    metrics::counter!("rapport_messages_total", "source" => source).increment(1);
    Ok(stored)
}
