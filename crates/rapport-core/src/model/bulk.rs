//! A bulk send: one chat message to many contacts, and its recipients.

use serde::Serialize;
use serde_json::Value as Json;

use crate::Timestamp;
use crate::model::filter::Filter;
use crate::model::ids::{AgentId, BulkSendId, ContactId, WorkspaceId};
use crate::model::job::NewJob;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BulkStatus {
    Sending,
    Done,
    Cancelled,
}

impl BulkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Sending => "sending",
            BulkStatus::Done => "done",
            BulkStatus::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for BulkStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "sending" => Ok(BulkStatus::Sending),
            "done" => Ok(BulkStatus::Done),
            "cancelled" => Ok(BulkStatus::Cancelled),
            other => Err(format!("unknown bulk send status {other:?}")),
        }
    }
}

/// A bulk send and how far it got.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkSend {
    pub id: BulkSendId,
    pub workspace_id: WorkspaceId,
    pub created_by: AgentId,
    /// The team member the messages come from.
    pub from_agent_id: AgentId,
    /// The template, as written.
    pub body: String,
    pub email_fallback: bool,
    pub status: BulkStatus,
    pub total: u64,
    pub sent: u64,
    /// Recipients that could not be sent to (the contact was removed...).
    pub failed: u64,
    pub pending: u64,
    /// Recipients who have read their message (counted once the send has
    /// ended; `null` while it is sending).
    pub read: Option<u64>,
    /// Recipients who wrote back in its conversation (likewise).
    pub replied: Option<u64>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// Who a bulk send goes to, resolved by the store when it is created.
#[derive(Clone, Debug)]
pub enum Audience {
    /// Everyone the filter matches; `online` lists who is online now, for
    /// `online` conditions.
    Filter {
        filter: Filter,
        online: Vec<ContactId>,
    },
    /// These contacts of the workspace (others are skipped).
    Contacts(Vec<ContactId>),
}

#[derive(Clone, Debug)]
pub struct NewBulkSend {
    pub id: BulkSendId,
    pub workspace_id: WorkspaceId,
    pub created_by: AgentId,
    pub from_agent_id: AgentId,
    pub body: String,
    pub email_fallback: bool,
    pub audience: Audience,
    /// The audience as it was asked for, kept for the record.
    pub audience_json: Json,
    pub created_at: Timestamp,
    pub job: NewJob,
}
