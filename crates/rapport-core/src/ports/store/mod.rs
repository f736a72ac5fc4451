//! The storage port, split by role. `rapport-store` implements every role
//! for SQLite and PostgreSQL; one contract test suite holds both to the same
//! behaviour. Every write method is one transaction, including the activity
//! entries and jobs it causes.
//!
//! [`Store`] is all the roles together: what the server holds. Code that
//! calls a role's methods imports the role traits (`use
//! rapport_core::ports::store::*` brings them all).

use crate::model::validation::ValidationError;

mod activity;
mod attachments;
mod automations;
mod bulk_sends;
mod contacts;
mod conversation_tags;
mod conversations;
mod email;
mod jobs;
mod knowledge;
mod people;
mod ratings;
mod reports;
mod saved_replies;
mod team;
mod team_notices;
mod visitors;
mod webhooks;
mod workspaces;

pub use activity::*;
pub use attachments::*;
pub use automations::*;
pub use bulk_sends::*;
pub use contacts::*;
pub use conversation_tags::*;
pub use conversations::*;
pub use email::*;
pub use jobs::*;
pub use knowledge::*;
pub use people::*;
pub use ratings::*;
pub use reports::*;
pub use saved_replies::*;
pub use team::*;
pub use team_notices::*;
pub use visitors::*;
pub use webhooks::*;
pub use workspaces::*;

/// The one storage error type; drivers' errors are converted in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row in this workspace (other workspaces' rows do not exist).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule would be broken; the text names it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The change breaks a rule only the stored data can check (a property
    /// keeps its type); nothing was changed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Every role of the store: what a backend implements and the server holds.
pub trait Store:
    WorkspaceStore
    + TeamStore
    + VisitorStore
    + ContactStore
    + PeopleStore
    + ConversationStore
    + ActivityStore
    + JobStore
    + EmailStore
    + BulkSendStore
    + AutomationStore
    + RunStore
    + ConditionStore
    + ArticleStore
    + BotStore
    + WebhookStore
    + SavedReplyStore
    + TeamNoticeStore
    + RatingStore
    + ConversationTagStore
    + ReportStore
    + AttachmentStore
{
}

impl<T> Store for T where
    T: WorkspaceStore
        + TeamStore
        + VisitorStore
        + ContactStore
        + PeopleStore
        + ConversationStore
        + ActivityStore
        + JobStore
        + EmailStore
        + BulkSendStore
        + AutomationStore
        + RunStore
        + ConditionStore
        + ArticleStore
        + BotStore
        + WebhookStore
        + SavedReplyStore
        + TeamNoticeStore
        + RatingStore
        + ConversationTagStore
        + ReportStore
        + AttachmentStore
{
}
