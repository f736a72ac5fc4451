//! Conversations as a list shows them (the Inbox's list and its search):
//! each with its contact, newest part, tags and whether a bot has it.

use std::collections::{HashMap, HashSet};

use rapport_core::model::conversation::{Conversation, Message};
use rapport_core::model::ids::{ContactId, WorkspaceId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;

/// Who a conversation is with, as a list shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactSummary {
    pub id: ContactId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub user_id: Option<String>,
    /// A widget of theirs is open (or was, a moment ago).
    pub online: bool,
}

/// A conversation in a list: with its contact and newest part.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationRow {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub contact: Option<ContactSummary>,
    pub last_part: Option<Message>,
    /// A bot is answering here: an automation's waits for the contact's
    /// answer, or the AI bot has the conversation.
    pub with_bot: bool,
    /// The team's tags on it, sorted.
    pub tags: Vec<String>,
}

/// The rows of these conversations, in the same order, read with a few
/// queries for the whole list.
pub async fn conversation_rows(
    state: &AppState,
    ws: WorkspaceId,
    conversations: Vec<Conversation>,
) -> Result<Vec<ConversationRow>, ApiError> {
    let ids: Vec<_> = conversations.iter().map(|c| c.id).collect();
    let contact_ids: Vec<_> = conversations.iter().map(|c| c.contact_id).collect();
    let mut last_parts: HashMap<_, _> = state
        .store
        .last_parts(ws, &ids, false)
        .await?
        .into_iter()
        .map(|m| (m.conversation_id, m))
        .collect();
    let mut with_bot: HashSet<_> = state
        .store
        .bot_conversations(ws, &ids)
        .await?
        .into_iter()
        .collect();
    with_bot.extend(state.store.bot_engaged(ws, &ids).await?);
    let mut tags: HashMap<_, _> = state
        .store
        .conversation_tags(ws, &ids)
        .await?
        .into_iter()
        .collect();
    let contacts: HashMap<_, _> = state
        .store
        .contacts(ws, &contact_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(conversations
        .into_iter()
        .map(|conversation| ConversationRow {
            last_part: last_parts.remove(&conversation.id),
            with_bot: with_bot.contains(&conversation.id),
            tags: tags.remove(&conversation.id).unwrap_or_default(),
            contact: contacts
                .get(&conversation.contact_id)
                .map(|c| ContactSummary {
                    id: c.id,
                    name: c.name.clone(),
                    email: c.email.as_ref().map(|e| e.as_str().to_owned()),
                    user_id: c.user_id.clone(),
                    online: state.hub.is_online(ws, c.id),
                }),
            conversation,
        })
        .collect())
}
