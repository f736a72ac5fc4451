//! Conversations and their parts (messages and team notes).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::model::ids::{AgentId, ContactId, ConversationId, MessageId, WorkspaceId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Snoozed,
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Snoozed => "snoozed",
            ConversationStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for ConversationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConversationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Self::Open),
            "snoozed" => Ok(Self::Snoozed),
            "closed" => Ok(Self::Closed),
            other => Err(format!(
                "unknown status {other:?}: use open, snoozed or closed"
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub status: ConversationStatus,
    pub assignee_id: Option<AgentId>,
    pub snoozed_until: Option<Timestamp>,
    /// When the contact started waiting for the team (their oldest message
    /// with no team reply after it); `None` when nobody waits.
    pub waiting_since: Option<Timestamp>,
    /// How far the contact has read: team messages up to this time.
    pub contact_read_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Who wrote a part of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Author {
    Agent(AgentId),
    Contact(ContactId),
    Bot,
}

impl Author {
    pub fn is_team(self) -> bool {
        !matches!(self, Author::Contact(_))
    }
}

/// A comment is seen by the contact; a note only by the team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    #[default]
    Comment,
    Note,
}

impl PartKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartKind::Comment => "comment",
            PartKind::Note => "note",
        }
    }
}

impl FromStr for PartKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "comment" => Ok(Self::Comment),
            "note" => Ok(Self::Note),
            other => Err(format!("unknown part type {other:?}: use comment or note")),
        }
    }
}

/// One part of a conversation. `body` is the text as the contact sees it
/// (templates are rendered before storing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub author: Author,
    #[serde(rename = "type")]
    pub kind: PartKind,
    pub body: String,
    pub created_at: Timestamp,
    /// The automation that sent it, and what a bot question offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<crate::model::automation::MessageOrigin>,
    /// Files sent with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::model::attachment::AttachmentRef>,
}

/// Which conversation-listing slice to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationQuery {
    pub status: Option<ConversationStatus>,
    pub assignee: Option<AssigneeFilter>,
    pub contact_id: Option<ContactId>,
    /// Only conversations with this tag.
    pub tag: Option<String>,
    pub sort: ConversationSort,
    /// Resume after this (sort time, id) of the previous page's last row.
    pub after: Option<(Timestamp, ConversationId)>,
    pub limit: u32,
}

/// The order of a conversation list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationSort {
    /// Latest activity first.
    #[default]
    Newest,
    /// Contacts who have waited longest for the team first; only
    /// conversations where someone waits.
    Waiting,
}

impl Conversation {
    /// The time a list sorted by `sort` orders this conversation by.
    pub fn sort_time(&self, sort: ConversationSort) -> Timestamp {
        match sort {
            ConversationSort::Newest => self.updated_at,
            ConversationSort::Waiting => self.waiting_since.unwrap_or(self.updated_at),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    Unassigned,
    Agent(AgentId),
}

/// A change of a conversation's state, made by a team member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ConversationChange {
    Open,
    Close,
    Snooze { until: Timestamp },
    Assign { assignee_id: Option<AgentId> },
}

impl Conversation {
    /// A conversation starting now, open, with nobody waiting yet.
    pub fn start(
        id: ConversationId,
        workspace_id: WorkspaceId,
        contact_id: ContactId,
        assignee_id: Option<AgentId>,
        now: Timestamp,
    ) -> Self {
        Conversation {
            id,
            workspace_id,
            contact_id,
            status: ConversationStatus::Open,
            assignee_id,
            snoozed_until: None,
            waiting_since: None,
            contact_read_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The state after `change`, or `None` when it changes nothing (so no
    /// activity is logged for a repeated click).
    pub fn after(&self, change: ConversationChange, now: Timestamp) -> Option<Conversation> {
        let mut next = self.clone();
        match change {
            ConversationChange::Open => {
                next.status = ConversationStatus::Open;
                next.snoozed_until = None;
            }
            ConversationChange::Close => {
                next.status = ConversationStatus::Closed;
                next.snoozed_until = None;
            }
            ConversationChange::Snooze { until } => {
                next.status = ConversationStatus::Snoozed;
                next.snoozed_until = Some(until);
            }
            ConversationChange::Assign { assignee_id } => next.assignee_id = assignee_id,
        }
        if next == *self {
            return None;
        }
        next.updated_at = now;
        Some(next)
    }

    /// The state after `message` was added to it.
    pub fn with_message(&self, message: &Message) -> Conversation {
        let mut next = self.clone();
        next.updated_at = message.created_at;
        match (message.author, message.kind) {
            (Author::Contact(_), _) => {
                // A contact writing again reopens the conversation.
                next.status = ConversationStatus::Open;
                next.snoozed_until = None;
                next.waiting_since.get_or_insert(message.created_at);
            }
            (_, PartKind::Comment) => next.waiting_since = None,
            (_, PartKind::Note) => {}
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation() -> Conversation {
        Conversation {
            id: ConversationId::generate(),
            workspace_id: WorkspaceId::generate(),
            contact_id: ContactId::generate(),
            status: ConversationStatus::Open,
            assignee_id: None,
            snoozed_until: None,
            waiting_since: None,
            contact_read_at: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn message(c: &Conversation, author: Author, kind: PartKind, at: i64) -> Message {
        Message {
            id: MessageId::generate(),
            workspace_id: c.workspace_id,
            conversation_id: c.id,
            author,
            kind,
            body: "hi".into(),
            created_at: Timestamp::from_millis(at),
            origin: None,
            attachments: Vec::new(),
        }
    }

    #[test]
    fn repeating_a_change_changes_nothing() {
        let open = conversation();
        assert_eq!(
            open.after(ConversationChange::Open, Timestamp::from_millis(5)),
            None
        );
        let closed = open
            .after(ConversationChange::Close, Timestamp::from_millis(5))
            .unwrap();
        assert_eq!(closed.status, ConversationStatus::Closed);
        assert_eq!(closed.updated_at.as_millis(), 5);
        assert_eq!(
            closed.after(ConversationChange::Close, Timestamp::from_millis(6)),
            None
        );
    }

    #[test]
    fn snoozing_sets_the_wake_time_and_reopening_clears_it() {
        let until = Timestamp::from_millis(1_000);
        let snoozed = conversation()
            .after(
                ConversationChange::Snooze { until },
                Timestamp::from_millis(1),
            )
            .unwrap();
        assert_eq!(
            (snoozed.status, snoozed.snoozed_until),
            (ConversationStatus::Snoozed, Some(until))
        );
        let open = snoozed
            .after(ConversationChange::Open, Timestamp::from_millis(2))
            .unwrap();
        assert_eq!(open.snoozed_until, None);
    }

    #[test]
    fn waiting_starts_at_the_contacts_first_unanswered_message_and_ends_at_a_team_reply() {
        let c = conversation()
            .after(ConversationChange::Close, Timestamp::from_millis(1))
            .unwrap();
        let contact = Author::Contact(c.contact_id);
        let c = c.with_message(&message(&c, contact, PartKind::Comment, 10));
        assert_eq!(
            (c.status, c.waiting_since),
            (ConversationStatus::Open, Some(Timestamp::from_millis(10)))
        );
        let c = c.with_message(&message(&c, contact, PartKind::Comment, 20));
        assert_eq!(c.waiting_since, Some(Timestamp::from_millis(10)));
        let agent = Author::Agent(AgentId::generate());
        let c = c.with_message(&message(&c, agent, PartKind::Note, 30));
        assert_eq!(
            c.waiting_since,
            Some(Timestamp::from_millis(10)),
            "a note is not an answer"
        );
        let c = c.with_message(&message(&c, agent, PartKind::Comment, 40));
        assert_eq!(c.waiting_since, None);
        assert_eq!(c.updated_at.as_millis(), 40);
    }
}
