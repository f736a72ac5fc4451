//! The knowledge base's articles and the AI bot's state.

use async_trait::async_trait;

use super::{Advanced, NewMessage, StoreError};
use crate::Timestamp;
use crate::model::bot::{BotAnswer, BotConversation, BotSettings, Outcome};
use crate::model::conversation::ConversationChange;
use crate::model::ids::{AgentId, ArticleId, ContactId, ConversationId, WorkspaceId};
use crate::model::job::NewJob;
use crate::model::knowledge::{Article, ArticleFields, ArticleRevision, ArticleStatus};

/// Which articles to list: newest change first, a page at a time.
#[derive(Clone, Debug, Default)]
pub struct ArticleQuery {
    pub status: Option<ArticleStatus>,
    pub collection: Option<String>,
    /// The `(updated_at, id)` of the last article of the previous page.
    pub after: Option<(Timestamp, ArticleId)>,
    pub limit: u32,
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub created: u32,
    pub updated: u32,
    /// Files identical to the stored article: no new revision.
    pub unchanged: u32,
}

#[async_trait]
pub trait ArticleStore: Send + Sync {
    /// Stores a new article as revision 1. `Conflict` when the slug is
    /// taken or the workspace has `MAX_ARTICLES`.
    async fn create_article(&self, article: Article) -> Result<Article, StoreError>;
    /// Writes a new revision (one more than the current).
    async fn update_article(
        &self,
        workspace: WorkspaceId,
        id: ArticleId,
        fields: ArticleFields,
        author: Option<AgentId>,
        at: Timestamp,
    ) -> Result<Article, StoreError>;
    async fn delete_article(&self, workspace: WorkspaceId, id: ArticleId)
    -> Result<(), StoreError>;
    async fn article(&self, workspace: WorkspaceId, id: ArticleId) -> Result<Article, StoreError>;
    async fn article_by_slug(
        &self,
        workspace: WorkspaceId,
        slug: &str,
    ) -> Result<Article, StoreError>;
    async fn articles(
        &self,
        workspace: WorkspaceId,
        query: ArticleQuery,
    ) -> Result<Vec<Article>, StoreError>;
    /// Every published article (at most `MAX_ARTICLES`), for the index.
    async fn published_articles(&self, workspace: WorkspaceId) -> Result<Vec<Article>, StoreError>;
    /// Newest first.
    async fn article_revisions(
        &self,
        workspace: WorkspaceId,
        id: ArticleId,
    ) -> Result<Vec<ArticleRevision>, StoreError>;
    /// A number that changes with every write to the workspace's articles:
    /// a search index built at one value is current while it holds.
    async fn knowledge_version(&self, workspace: WorkspaceId) -> Result<i64, StoreError>;
    /// Creates or updates articles by slug, in one transaction.
    async fn import_articles(
        &self,
        workspace: WorkspaceId,
        files: Vec<ArticleFields>,
        author: Option<AgentId>,
        at: Timestamp,
    ) -> Result<Imported, StoreError>;
}

/// One bot turn: its messages and other effects, the conversation's new
/// bot state and the question it answered, in one transaction.
#[derive(Clone, Debug)]
pub struct BotTurn {
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    /// The bot state's `handled_seq` the turn was worked out from (none:
    /// the bot had no state for the conversation). `Conflict`, and nothing
    /// written, when it has moved: the turn was taken.
    pub from_seq: Option<i64>,
    pub next: BotConversation,
    /// The bot's messages, in order.
    pub messages: Vec<NewMessage>,
    /// A handover's assignment.
    pub change: Option<ConversationChange>,
    /// Jobs enqueued with the turn (the check 24 hours after an answer).
    pub jobs: Vec<NewJob>,
    pub answer: Option<BotAnswer>,
}

/// A period of the bot's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    /// Minutes east of UTC the days are counted in.
    pub utc_offset_minutes: i32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BotDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub conversations: u32,
    pub resolved_confirmed: u32,
    pub resolved_assumed: u32,
    pub handed_over: u32,
    pub unanswered: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BotReport {
    pub days: Vec<BotDay>,
    /// Questions it could not answer, most asked first.
    pub unanswered: Vec<(String, u32)>,
    /// Articles by answers given, most first.
    pub articles: Vec<(ArticleId, String, u32)>,
}

#[async_trait]
pub trait BotStore: Send + Sync {
    /// The workspace's settings (the defaults, off, until saved).
    async fn bot_settings(&self, workspace: WorkspaceId) -> Result<BotSettings, StoreError>;
    async fn save_bot_settings(
        &self,
        workspace: WorkspaceId,
        settings: BotSettings,
        at: Timestamp,
    ) -> Result<BotSettings, StoreError>;
    async fn bot_conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<BotConversation>, StoreError>;
    /// Of these conversations, those the bot is answering in now.
    async fn bot_engaged(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
    ) -> Result<Vec<ConversationId>, StoreError>;
    async fn bot_turn(&self, turn: BotTurn) -> Result<Advanced, StoreError>;
    /// Records `outcome` if the conversation's last answer is still the
    /// one given at `answered_at` and it has no outcome yet.
    async fn settle_bot_outcome(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        answered_at: Timestamp,
        outcome: Outcome,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn bot_report(
        &self,
        workspace: WorkspaceId,
        query: ReportQuery,
    ) -> Result<BotReport, StoreError>;
}
