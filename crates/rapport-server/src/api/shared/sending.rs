//! What the handlers that send messages share: the answer they give, and
//! the default of `email_fallback`.

use rapport_core::model::conversation::{Conversation, Message};
use rapport_core::ports::store::StoredMessage;
use serde::Serialize;
use utoipa::ToSchema;

/// `email_fallback`'s default: on.
pub fn yes() -> bool {
    true
}

/// A stored message (body rendered) and the conversation it is in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentMessage {
    #[serde(flatten)]
    pub message: Message,
    pub conversation: Conversation,
}

impl From<StoredMessage> for SentMessage {
    fn from(stored: StoredMessage) -> Self {
        Self {
            message: stored.message,
            conversation: stored.conversation,
        }
    }
}
