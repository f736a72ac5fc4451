//! A conversation's parts as a visitor sees them, with authors named: team
//! members by name, the bot by the workspace's name, the visitor as "You".
//! The widget API and the messenger's live socket both show parts so.

use std::collections::HashMap;

use rapport_core::model::conversation::{Author, Message};
use rapport_core::model::ids::{ConversationId, WorkspaceId};
use rapport_core::ports::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// Who wrote a part, as the visitor sees it (the messenger makes avatar
/// initials from the name).
#[derive(Debug, Serialize, ToSchema)]
pub struct PartAuthor {
    /// `agent`, `bot` or `contact` (the visitor).
    pub r#type: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorPart {
    pub id: rapport_core::model::ids::MessageId,
    pub conversation_id: ConversationId,
    pub author: PartAuthor,
    pub body: String,
    pub created_at: rapport_core::Timestamp,
    /// What a bot's question offers: reply buttons, or the kind of answer
    /// the composer should take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<BotPrompt>,
    /// Files sent with it (`GET /widget/v1/attachments/{id}` reads one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<rapport_core::model::attachment::AttachmentRef>,
}

/// A bot question's buttons or answer type, as the messenger shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BotPrompt {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
    /// `text`, `email`, `phone`, `number` or `choice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub input: Option<rapport_core::model::automation::flow::AnswerType>,
    /// The articles an AI bot's answer came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<rapport_core::model::bot::Source>,
}

/// Names the authors of parts as the visitor sees them: team members by
/// name, the AI bot by its name, an automation's bot by the workspace's
/// name, the visitor as "You".
pub struct Authors {
    agents: HashMap<rapport_core::model::ids::AgentId, String>,
    workspace: String,
    bot: String,
}

impl Authors {
    pub async fn load(state: &AppState, workspace: WorkspaceId) -> Result<Self, StoreError> {
        let agents = state
            .store
            .list_agents(workspace)
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        let bot = state.store.bot_settings(workspace).await?.name;
        let workspace = state.store.workspace(workspace).await?.name;
        Ok(Self {
            agents,
            workspace,
            bot,
        })
    }

    /// Whether `author` is a team member these names do not include yet.
    pub fn is_new(&self, author: &Author) -> bool {
        matches!(author, Author::Agent(id) if !self.agents.contains_key(id))
    }

    pub fn author(&self, author: &Author) -> PartAuthor {
        let (kind, name) = match author {
            Author::Agent(id) => (
                "agent",
                self.agents
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| self.workspace.clone()),
            ),
            Author::Bot => ("bot", self.workspace.clone()),
            Author::Contact(_) => ("contact", "You".to_owned()),
        };
        PartAuthor {
            r#type: kind.to_owned(),
            name,
        }
    }

    pub fn part(&self, message: Message) -> VisitorPart {
        let mut author = self.author(&message.author);
        // The AI bot's messages carry an origin with no automation.
        if message.author == Author::Bot
            && message.origin.as_ref().is_some_and(|o| o.cause.is_none())
        {
            author.name = self.bot.clone();
        }
        VisitorPart {
            id: message.id,
            conversation_id: message.conversation_id,
            author,
            body: message.body,
            created_at: message.created_at,
            attachments: message.attachments,
            origin: message
                .origin
                .filter(|o| !o.buttons.is_empty() || o.input.is_some() || !o.sources.is_empty())
                .map(|o| BotPrompt {
                    buttons: o.buttons,
                    input: o.input,
                    sources: o.sources,
                }),
        }
    }
}
