//! The append-only activity log. Everything a person must see about a
//! contact is one entry, written in the same transaction as the change. The
//! timeline reads it; live streams replay it by sequence number.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::Timestamp;
use crate::model::automation::Cause;
use crate::model::conversation::{ConversationStatus, Message};
use crate::model::email::SkipReason;
use crate::model::ids::{
    AgentId, AutomationId, BulkSendId, ContactId, ConversationId, MessageId, RunId, WorkspaceId,
};

/// What happened. Serialised as `{"kind": ..., "data": ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Activity {
    ContactCreated,
    /// An event the business tracked (`$page_view` and friends included).
    Event {
        name: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        params: Json,
    },
    /// A conversation was started (by a message from either side).
    ConversationStarted,
    /// A message or note was added to a conversation.
    Message(Message),
    StatusChanged {
        status: ConversationStatus,
        snoozed_until: Option<Timestamp>,
        by: Option<AgentId>,
        /// The automation that changed it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<Cause>,
    },
    Assigned {
        assignee_id: Option<AgentId>,
        by: Option<AgentId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<Cause>,
    },
    /// Properties or tags of the contact changed (by the team, the API,
    /// the widget or an automation).
    ContactUpdated {
        /// The names of the properties set, changed or unset.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        properties: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags_added: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags_removed: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<Cause>,
    },
    /// An automation's run started, ended, or took a step the team should
    /// see on the timeline.
    Automation {
        automation_id: AutomationId,
        run_id: RunId,
        /// `started`, `done`, `goal_reached`, `stopped`, `failed`.
        what: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The contact read the conversation's team messages up to `read_at`.
    Read {
        read_at: Timestamp,
    },
    /// The email fallback emailed these messages to the contact.
    Emailed {
        to: String,
        message_ids: Vec<MessageId>,
    },
    /// The email fallback settled these messages without an email.
    NotEmailed {
        reason: SkipReason,
        message_ids: Vec<MessageId>,
        /// The mail server's last answer, when sending failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The contact was sent a bulk send's message (logged beside it).
    BulkSendReceived {
        bulk_send_id: BulkSendId,
    },
    /// The contact rated the closed conversation: 1 bad, 2 OK, 3 great.
    Rated {
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// The team put a tag on the conversation.
    Tagged {
        tag: String,
        by: Option<AgentId>,
    },
    /// The team took a tag off the conversation.
    Untagged {
        tag: String,
        by: Option<AgentId>,
    },
}

impl Activity {
    /// Every [`kind`](Self::kind): what a timeline can be narrowed to.
    pub const KINDS: &[&str] = &[
        "contact_created",
        "event",
        "conversation_started",
        "message",
        "status_changed",
        "assigned",
        "read",
        "emailed",
        "not_emailed",
        "bulk_send_received",
        "contact_updated",
        "automation",
        "rated",
        "tagged",
        "untagged",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            Activity::ContactCreated => "contact_created",
            Activity::Event { .. } => "event",
            Activity::ConversationStarted => "conversation_started",
            Activity::Message(_) => "message",
            Activity::StatusChanged { .. } => "status_changed",
            Activity::Assigned { .. } => "assigned",
            Activity::Read { .. } => "read",
            Activity::Emailed { .. } => "emailed",
            Activity::NotEmailed { .. } => "not_emailed",
            Activity::BulkSendReceived { .. } => "bulk_send_received",
            Activity::ContactUpdated { .. } => "contact_updated",
            Activity::Automation { .. } => "automation",
            Activity::Rated { .. } => "rated",
            Activity::Tagged { .. } => "tagged",
            Activity::Untagged { .. } => "untagged",
        }
    }

    /// Whether the contact's own messenger shows this: messages (not team
    /// notes), conversations starting, and their status. Events, notes and
    /// assignments stay with the team.
    pub fn visible_to_contact(&self) -> bool {
        match self {
            Activity::Message(message) => {
                message.kind == crate::model::conversation::PartKind::Comment
            }
            Activity::ConversationStarted | Activity::StatusChanged { .. } => true,
            Activity::ContactCreated
            | Activity::Event { .. }
            | Activity::Assigned { .. }
            | Activity::Read { .. }
            | Activity::Emailed { .. }
            | Activity::NotEmailed { .. }
            | Activity::BulkSendReceived { .. }
            | Activity::ContactUpdated { .. }
            | Activity::Automation { .. }
            | Activity::Rated { .. }
            | Activity::Tagged { .. }
            | Activity::Untagged { .. } => false,
        }
    }

    /// The `data` half of the serialised form, as stored beside `kind`.
    pub fn data(&self) -> Json {
        match serde_json::to_value(self) {
            Ok(Json::Object(mut map)) => map.remove("data").unwrap_or(Json::Null),
            _ => Json::Null,
        }
    }

    /// Rebuilds an activity from its stored `kind` and `data`.
    pub fn from_parts(kind: &str, data: Json) -> Result<Self, serde_json::Error> {
        let mut map = serde_json::Map::new();
        map.insert("kind".into(), Json::String(kind.to_owned()));
        if !data.is_null() {
            map.insert("data".into(), data);
        }
        serde_json::from_value(Json::Object(map))
    }
}

/// An activity as stored: with its place in the log.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityEntry {
    /// Position in the log, increasing; the cursor for timelines and streams.
    pub seq: i64,
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub conversation_id: Option<ConversationId>,
    #[serde(flatten)]
    pub activity: Activity,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conversation::{Author, PartKind};

    /// One activity of each kind.
    fn one_of_each() -> Vec<Activity> {
        let message = Message {
            id: MessageId::generate(),
            workspace_id: WorkspaceId::generate(),
            conversation_id: ConversationId::generate(),
            author: Author::Bot,
            kind: PartKind::Comment,
            body: "Hi there".into(),
            created_at: Timestamp::from_millis(7),
            origin: None,
            attachments: Vec::new(),
        };
        let cause = Cause {
            automation_id: AutomationId::generate(),
            run_id: RunId::generate(),
            node: "greet".into(),
            depth: 1,
        };
        vec![
            Activity::ContactCreated,
            Activity::ConversationStarted,
            Activity::Event {
                name: "signed_up".into(),
                params: serde_json::json!({"plan": "pro"}),
            },
            Activity::Message(message),
            Activity::StatusChanged {
                status: ConversationStatus::Snoozed,
                snoozed_until: Some(Timestamp::from_millis(9)),
                by: None,
                cause: None,
            },
            Activity::Assigned {
                assignee_id: Some(AgentId::generate()),
                by: None,
                cause: Some(cause.clone()),
            },
            Activity::ContactUpdated {
                properties: vec!["plan".into()],
                tags_added: vec!["vip".into()],
                tags_removed: Vec::new(),
                cause: Some(cause),
            },
            Activity::Automation {
                automation_id: AutomationId::generate(),
                run_id: RunId::generate(),
                what: "stopped".into(),
                detail: Some("by hand".into()),
            },
            Activity::Read {
                read_at: Timestamp::from_millis(3),
            },
            Activity::Emailed {
                to: "ann@example.com".into(),
                message_ids: vec![MessageId::generate()],
            },
            Activity::NotEmailed {
                reason: SkipReason::NoEmailAddress,
                message_ids: vec![MessageId::generate()],
                error: None,
            },
            Activity::BulkSendReceived {
                bulk_send_id: BulkSendId::generate(),
            },
            Activity::Rated {
                score: 3,
                comment: Some("Quick".into()),
            },
            Activity::Tagged {
                tag: "refund".into(),
                by: Some(AgentId::generate()),
            },
            Activity::Untagged {
                tag: "refund".into(),
                by: None,
            },
        ]
    }

    #[test]
    fn activities_round_trip_through_kind_and_data() {
        for activity in one_of_each() {
            let back = Activity::from_parts(activity.kind(), activity.data()).unwrap();
            assert_eq!(back, activity);
        }
    }

    #[test]
    fn kinds_lists_every_kind_once() {
        let mut kinds: Vec<_> = one_of_each().iter().map(Activity::kind).collect();
        let mut listed = Activity::KINDS.to_vec();
        kinds.sort_unstable();
        listed.sort_unstable();
        assert_eq!(kinds, listed);
    }
}

/// The event the widget tracks for each page a visitor opens.
pub const PAGE_VIEW: &str = "$page_view";

/// An event to record on a contact's timeline.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub name: String,
    pub params: serde_json::Value,
    pub created_at: Timestamp,
    /// A page view also moves the contact's last seen time, sessions and
    /// last page (`Some(page)`), in the same write.
    pub seen_on: Option<Option<String>>,
}

impl NewEvent {
    /// An event at `created_at`; a [`PAGE_VIEW`] marks the contact seen on
    /// the page its `url` parameter names.
    pub fn new(
        workspace_id: WorkspaceId,
        contact_id: ContactId,
        name: String,
        params: serde_json::Value,
        created_at: Timestamp,
    ) -> Self {
        let seen_on = (name == PAGE_VIEW).then(|| {
            params
                .get("url")
                .and_then(|url| url.as_str())
                .map(str::to_owned)
        });
        Self {
            workspace_id,
            contact_id,
            name,
            params,
            created_at,
            seen_on,
        }
    }
}
