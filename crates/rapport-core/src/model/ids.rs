//! Typed identifiers. Each wraps a UUIDv7 (time-ordered, so new rows append
//! to indexes) and cannot be mixed up with another kind of id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// A tenant: one business. Nothing crosses between workspaces.
    WorkspaceId
);
typed_id!(
    /// A team member (owner, admin or agent) of one workspace.
    AgentId
);
typed_id!(
    /// An end user or lead of one workspace.
    ContactId
);
typed_id!(
    /// A thread of messages between a contact and the team.
    ConversationId
);
typed_id!(
    /// One part of a conversation: a message or a note.
    MessageId
);
typed_id!(
    /// An API token (its secret is never stored, only its hash).
    TokenId
);
typed_id!(
    /// A durable job in the queue.
    JobId
);
typed_id!(
    /// The record of a contact's erasure.
    ErasureId
);
typed_id!(
    /// A saved filter: a named audience.
    SegmentId
);
typed_id!(
    /// One chat message sent to many contacts.
    BulkSendId
);
typed_id!(
    /// An automation: a trigger, an audience and a flow of steps.
    AutomationId
);
typed_id!(
    /// One contact's way through one version of an automation.
    RunId
);
typed_id!(
    /// A named group of team members that conversations are assigned to.
    TeamId
);
typed_id!(
    /// A knowledge-base article (its revisions share the id).
    ArticleId
);
typed_id!(
    /// A webhook endpoint of a workspace.
    WebhookId
);
typed_id!(
    /// One event's delivery to one webhook endpoint.
    WebhookDeliveryId
);
typed_id!(
    /// A saved reply (the workspace's or one member's).
    SavedReplyId
);
typed_id!(
    /// A file attached to a message.
    AttachmentId
);
