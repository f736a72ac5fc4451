//! Replies by email: a raw MIME message (from the SMTP listener in
//! [`super::listener`] or the HTTP endpoint) becomes the contact's message in the conversation its reply
//! address names, live in the Inbox. Refused, logged and not stored: an
//! unknown or forged reply address, or a sender who is not the contact.

use mail_parser::{MessageParser, MimeHeaders};
use rapport_core::model::attachment::{AttachmentRef, MAX_PER_MESSAGE};
use rapport_core::model::conversation::Author;
use rapport_core::model::email::{SignedId, parse_reply_address, strip_quoted};
use rapport_core::model::ids::{ConversationId, WorkspaceId};
use rapport_core::ports::store::{ReplyTarget, StoreError, StoredMessage};
use rapport_core::services::SendError;
use rapport_core::services::replies::post_emailed_reply;

use crate::AppState;
use crate::files::{NotKept, keep};

/// Why a reply was not added to a conversation.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("the message is not a readable email")]
    Malformed,
    #[error("no recipient is a reply address of a conversation")]
    UnknownAddress,
    #[error("the sender is not the contact of the conversation")]
    SenderMismatch,
    #[error("the reply has no text once the quoted email is removed")]
    Empty,
    /// Already posted (same Message-ID): a redelivery, accepted and ignored.
    #[error("this email was already received")]
    Duplicate(ConversationId),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Adds an emailed reply to its conversation. `recipients` are the SMTP
/// envelope's (the headers' are looked at too); `scope`, when given, is the
/// only workspace the reply may land in.
pub async fn receive_reply(
    state: &AppState,
    raw: &[u8],
    recipients: &[String],
    scope: Option<WorkspaceId>,
) -> Result<StoredMessage, InboundError> {
    let parsed = MessageParser::default()
        .parse(raw)
        .ok_or(InboundError::Malformed)?;
    let mut candidates: Vec<String> = recipients.to_vec();
    for list in [parsed.to(), parsed.cc()].into_iter().flatten() {
        candidates.extend(list.iter().filter_map(|a| a.address()).map(str::to_owned));
    }
    for header in ["Delivered-To", "X-Original-To"] {
        if let Some(raw) = parsed.header_raw(header) {
            candidates.push(raw.trim().to_owned());
        }
    }
    let signed = candidates
        .iter()
        .find_map(|address| parse_reply_address(address))
        .ok_or(InboundError::UnknownAddress)?;
    let target = verified_target(state, &signed).await?;
    if scope.is_some_and(|ws| ws != target.workspace.id) {
        return Err(InboundError::UnknownAddress);
    }
    let sender = parsed
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .map(str::to_lowercase);
    let expected = target.contact.email.as_ref().map(|e| e.as_str().to_owned());
    if sender.is_none() || sender != expected {
        return Err(InboundError::SenderMismatch);
    }
    let text = parsed
        .body_text(0)
        .map(|t| strip_quoted(&t))
        .unwrap_or_default();
    // Files attached to the reply (not the images a signature shows
    // inline) come into the thread with it.
    let files: Vec<(String, &[u8])> = parsed
        .attachments()
        .filter(|part| {
            part.content_disposition()
                .is_some_and(|d| d.is_attachment())
        })
        .take(MAX_PER_MESSAGE)
        .map(|part| {
            (
                part.attachment_name().unwrap_or("file").to_owned(),
                part.contents(),
            )
        })
        .collect();
    if text.trim().is_empty() && files.is_empty() {
        return Err(InboundError::Empty);
    }
    let key = parsed
        .message_id()
        .map(|id| id.chars().take(250).collect::<String>());
    let attachments = keep_files(state, &target, files).await?;
    let stored = match post_emailed_reply(
        state.deps(),
        target.workspace.id,
        target.contact.id,
        target.conversation.id,
        &text,
        attachments,
        key,
    )
    .await
    {
        Err(SendError::Duplicate) => {
            tracing::info!(conversation = %target.conversation.id, "the same emailed reply came again; kept once");
            return Err(InboundError::Duplicate(target.conversation.id));
        }
        other => other?,
    };
    tracing::info!(
        conversation = %target.conversation.id,
        message = %stored.message.id,
        "emailed reply added to the conversation"
    );
    Ok(stored)
}

/// Keeps the files of an emailed reply as the contact's uploads, ready to
/// be sent with it. A file the workspace does not take (its kind, its size,
/// an image too large in pixels) is left out and logged; the reply stays.
async fn keep_files(
    state: &AppState,
    target: &ReplyTarget,
    files: Vec<(String, &[u8])>,
) -> Result<Vec<AttachmentRef>, InboundError> {
    let mut kept = Vec::new();
    for (name, bytes) in files {
        let size = bytes.len();
        let uploader = Author::Contact(target.contact.id);
        match keep(
            state,
            &target.workspace,
            uploader,
            &name,
            bytes.to_vec().into(),
        )
        .await
        {
            Ok(reference) => kept.push(reference),
            Err(NotKept::Refused(reason)) => {
                tracing::info!(conversation = %target.conversation.id, reason, size, "left out an emailed file");
            }
            Err(NotKept::Failed(err)) => return Err(err.into()),
        }
    }
    Ok(kept)
}

/// The conversation a reply address names, if its signature holds.
pub(super) async fn verified_target(
    state: &AppState,
    signed: &SignedId<ConversationId>,
) -> Result<ReplyTarget, InboundError> {
    let target = match state.store.reply_target(signed.id).await {
        Err(StoreError::NotFound) => return Err(InboundError::UnknownAddress),
        other => other?,
    };
    let now = state.clock.now();
    if target
        .workspace
        .identity_secrets(now)
        .any(|secret| signed.is_signed_by(secret))
    {
        Ok(target)
    } else {
        Err(InboundError::UnknownAddress)
    }
}
