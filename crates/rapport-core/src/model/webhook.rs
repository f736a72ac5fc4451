//! Webhooks: a workspace's endpoints, each subscribed to some event types,
//! and the deliveries of those events to them.
//!
//! An event is made from an activity log entry ([`event_of`]) or, for the
//! few things not on a contact's timeline (a bulk send finishing), where
//! it happens. Its payload is thin: ids and what changed, never a copy of
//! the whole contact; a receiver that wants more reads it from the API.

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::Timestamp;
use crate::model::activity::{Activity, ActivityEntry};
use crate::model::conversation::ConversationStatus;
use crate::model::ids::{WebhookDeliveryId, WebhookId, WorkspaceId};
use crate::model::validation::{ValidationError, Validator, single_line_text};

/// The most endpoints a workspace may have.
pub const MAX_ENDPOINTS: usize = 20;
/// The longest endpoint URL.
pub const MAX_URL_LEN: usize = 2_048;
/// The longest description.
pub const MAX_DESCRIPTION_LEN: usize = 200;
/// How much of a receiver's answer the delivery log keeps.
pub const MAX_RESPONSE_LEN: usize = 1_024;
/// An endpoint failing every delivery for this long is disabled.
pub const DISABLE_AFTER_MILLIS: i64 = 24 * 3_600_000;

/// What an endpoint can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "conversation.started")]
    ConversationStarted,
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "conversation.closed")]
    ConversationClosed,
    #[serde(rename = "conversation.reopened")]
    ConversationReopened,
    #[serde(rename = "conversation.snoozed")]
    ConversationSnoozed,
    #[serde(rename = "contact.created")]
    ContactCreated,
    #[serde(rename = "contact.updated")]
    ContactUpdated,
    #[serde(rename = "event.tracked")]
    EventTracked,
    #[serde(rename = "bulk_send.finished")]
    BulkSendFinished,
    #[serde(rename = "automation.goal_reached")]
    AutomationGoalReached,
    /// Sent only by "send test event"; no endpoint subscribes to it.
    #[serde(rename = "webhook.test")]
    Test,
}

impl EventType {
    /// Every type an endpoint may subscribe to.
    pub const SUBSCRIBABLE: [EventType; 11] = [
        EventType::MessageCreated,
        EventType::ConversationStarted,
        EventType::ConversationAssigned,
        EventType::ConversationClosed,
        EventType::ConversationReopened,
        EventType::ConversationSnoozed,
        EventType::ContactCreated,
        EventType::ContactUpdated,
        EventType::EventTracked,
        EventType::BulkSendFinished,
        EventType::AutomationGoalReached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageCreated => "message.created",
            EventType::ConversationStarted => "conversation.started",
            EventType::ConversationAssigned => "conversation.assigned",
            EventType::ConversationClosed => "conversation.closed",
            EventType::ConversationReopened => "conversation.reopened",
            EventType::ConversationSnoozed => "conversation.snoozed",
            EventType::ContactCreated => "contact.created",
            EventType::ContactUpdated => "contact.updated",
            EventType::EventTracked => "event.tracked",
            EventType::BulkSendFinished => "bulk_send.finished",
            EventType::AutomationGoalReached => "automation.goal_reached",
            EventType::Test => "webhook.test",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        Self::SUBSCRIBABLE
            .into_iter()
            .chain([EventType::Test])
            .find(|t| t.as_str() == text)
    }
}

/// An endpoint: where a workspace's events of some types are posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    pub id: WebhookId,
    pub workspace_id: WorkspaceId,
    pub url: String,
    pub description: String,
    pub events: Vec<EventType>,
    /// The key deliveries are signed with (`Rapport-Signature`).
    pub secret: String,
    pub enabled: bool,
    /// Why it was disabled by Rapport (a day of failed deliveries), if it was.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed; `null` after a success.
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The log position it was created (or last enabled) at: only later
    /// entries are delivered to it.
    #[serde(skip)]
    pub from_seq: i64,
}

/// What an admin sets on an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSettings {
    pub url: String,
    pub description: String,
    pub events: Vec<EventType>,
    pub enabled: bool,
}

impl EndpointSettings {
    /// Checks and normalises every field, naming each bad one. `https`
    /// only, unless `allow_http` (a server that allows private receivers).
    pub fn new(
        url: &str,
        description: Option<&str>,
        events: &[String],
        enabled: bool,
        allow_http: bool,
    ) -> Result<Self, ValidationError> {
        let mut v = Validator::default();
        let url = v.check("url", check_url(url, allow_http));
        let description = v.check(
            "description",
            match description.map(str::trim).unwrap_or("") {
                "" => Ok(String::new()),
                text => single_line_text(text, MAX_DESCRIPTION_LEN),
            },
        );
        let events = v.check("events", check_events(events));
        v.finish()?;
        Ok(Self {
            url: url.unwrap_or_default(),
            description: description.unwrap_or_default(),
            events: events.unwrap_or_default(),
            enabled,
        })
    }
}

/// `https://host[:port][/path?query#fragment]`, as the API's schema says:
/// the host of letters, digits, dots and dashes, nothing blank or
/// invisible anywhere. `http://` too when `allow_http`.
fn check_url(url: &str, allow_http: bool) -> Result<String, String> {
    if url.is_empty() {
        return Err("an endpoint needs a URL".into());
    }
    if url.chars().count() > MAX_URL_LEN {
        return Err(format!("at most {MAX_URL_LEN} characters"));
    }
    let scheme_end = url.find("://").unwrap_or(0);
    let rest = match url[..scheme_end].to_ascii_lowercase().as_str() {
        "https" => &url[scheme_end + 3..],
        "http" if allow_http => &url[scheme_end + 3..],
        "http" => return Err("webhooks are sent over https only".into()),
        _ => return Err("an https:// URL".into()),
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(host_end);
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()));
    if !host_ok || !port_ok {
        return Err("the URL needs a host name or address (letters, digits, dots, dashes), and a port of digits if any".into());
    }
    if tail.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("a URL has no spaces or control characters".into());
    }
    Ok(url.to_owned())
}

fn check_events(events: &[String]) -> Result<Vec<EventType>, String> {
    if events.is_empty() {
        return Err("subscribe to at least one event type".into());
    }
    let mut types = Vec::new();
    for name in events {
        let Some(t) = EventType::parse(name).filter(|t| *t != EventType::Test) else {
            return Err(format!(
                "{name:?} is not an event type; one of {}",
                EventType::SUBSCRIBABLE.map(EventType::as_str).join(", ")
            ));
        };
        if !types.contains(&t) {
            types.push(t);
        }
    }
    types.sort();
    Ok(types)
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not tried yet, or tried and waiting for its next try.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up: a day of tries failed, the address was refused, or the
    /// endpoint was disabled or deleted meanwhile.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One event to one endpoint, with its last try.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: WebhookDeliveryId,
    pub webhook_id: WebhookId,
    pub event_type: EventType,
    /// The event as posted (`id`, `type`, `created_at`, `workspace_id`, `data`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Json,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The receiver's HTTP status on the last try, if it answered.
    pub response_status: Option<u16>,
    /// The start of its answer's body (at most 1 KiB), as text.
    pub response_body: Option<String>,
    /// How long the last try took, in milliseconds.
    pub latency_ms: Option<u32>,
    /// Why the last try failed, if it did.
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    /// When it will be tried again, while pending after a failure.
    pub next_attempt_at: Option<Timestamp>,
}

/// An event ready to be queued to its subscribers.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event_type: EventType,
    /// Unique per workspace: a log entry's is `seq-<seq>`, so one entry is
    /// one event however often it is read.
    pub event_id: String,
    pub created_at: Timestamp,
    pub data: Json,
}

impl NewEvent {
    /// The body posted to receivers.
    pub fn payload(&self, workspace: WorkspaceId) -> Json {
        json!({
            "id": self.event_id,
            "type": self.event_type.as_str(),
            "created_at": self.created_at,
            "workspace_id": workspace,
            "data": self.data,
        })
    }
}

/// The event a log entry is, if it is one endpoints can subscribe to.
pub fn event_of(entry: &ActivityEntry) -> Option<NewEvent> {
    let conversation = entry.conversation_id;
    let contact = entry.contact_id;
    let (event_type, data) = match &entry.activity {
        Activity::ContactCreated => (EventType::ContactCreated, json!({"contact_id": contact})),
        Activity::ContactUpdated {
            properties,
            tags_added,
            tags_removed,
            cause,
        } => (
            EventType::ContactUpdated,
            json!({"contact_id": contact, "properties": properties,
                   "tags_added": tags_added, "tags_removed": tags_removed, "cause": cause}),
        ),
        Activity::Event { name, params } => (
            EventType::EventTracked,
            json!({"contact_id": contact, "name": name, "params": params}),
        ),
        Activity::ConversationStarted => (
            EventType::ConversationStarted,
            json!({"conversation_id": conversation, "contact_id": contact}),
        ),
        Activity::Message(message) => (
            EventType::MessageCreated,
            json!({"conversation_id": conversation, "contact_id": contact, "message": message}),
        ),
        Activity::StatusChanged {
            status,
            snoozed_until,
            by,
            cause,
        } => (
            match status {
                ConversationStatus::Open => EventType::ConversationReopened,
                ConversationStatus::Closed => EventType::ConversationClosed,
                ConversationStatus::Snoozed => EventType::ConversationSnoozed,
            },
            json!({"conversation_id": conversation, "contact_id": contact, "status": status,
                   "snoozed_until": snoozed_until, "by": by, "cause": cause}),
        ),
        Activity::Assigned {
            assignee_id,
            by,
            cause,
        } => (
            EventType::ConversationAssigned,
            json!({"conversation_id": conversation, "contact_id": contact,
                   "assignee_id": assignee_id, "by": by, "cause": cause}),
        ),
        Activity::Automation {
            automation_id,
            run_id,
            what,
            ..
        } if what == "goal_reached" => (
            EventType::AutomationGoalReached,
            json!({"automation_id": automation_id, "run_id": run_id, "contact_id": contact,
                   "conversation_id": conversation}),
        ),
        _ => return None,
    };
    Some(NewEvent {
        event_type,
        event_id: format!("seq-{}", entry.seq),
        created_at: entry.created_at,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::{ContactId, ConversationId};

    #[test]
    fn every_type_reads_back_from_its_name() {
        for t in EventType::SUBSCRIBABLE.into_iter().chain([EventType::Test]) {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert_eq!(EventType::parse("message"), None);
    }

    #[test]
    fn settings_name_each_bad_field() {
        let bad = EndpointSettings::new("ftp://x", Some("a\nb"), &["nope".into()], true, false)
            .unwrap_err();
        let fields: Vec<_> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["url", "description", "events"]);
        assert!(
            EndpointSettings::new(
                "http://x.test/h",
                None,
                &["message.created".into()],
                true,
                false
            )
            .is_err()
        );
        assert!(
            EndpointSettings::new(
                "https://u@x.test/h",
                None,
                &["message.created".into()],
                true,
                false
            )
            .is_err()
        );
        assert!(EndpointSettings::new("https://x.test/h", None, &[], true, false).is_err());
        assert!(
            EndpointSettings::new(
                "https://x.test/h",
                None,
                &["webhook.test".into()],
                true,
                false
            )
            .is_err()
        );
        assert!(
            EndpointSettings::new(
                " https://x.test/h",
                None,
                &["message.created".into()],
                true,
                false
            )
            .is_err()
        );
        assert!(
            EndpointSettings::new(
                "https://x.test:123456/h",
                None,
                &["message.created".into()],
                true,
                false
            )
            .is_err()
        );
        let ok = EndpointSettings::new(
            "HTTPS://x.test:8443/h?a=b#c",
            None,
            &[
                "message.created".into(),
                "contact.created".into(),
                "message.created".into(),
            ],
            true,
            false,
        )
        .unwrap();
        assert_eq!(ok.url, "HTTPS://x.test:8443/h?a=b#c");
        assert_eq!(
            ok.events,
            [EventType::MessageCreated, EventType::ContactCreated]
        );
        assert!(
            EndpointSettings::new(
                "http://127.0.0.1:9/h",
                None,
                &["message.created".into()],
                true,
                true
            )
            .is_ok()
        );
    }

    #[test]
    fn a_status_change_is_the_event_of_its_new_status() {
        let entry = |activity| ActivityEntry {
            seq: 42,
            workspace_id: WorkspaceId::generate(),
            contact_id: ContactId::generate(),
            conversation_id: Some(ConversationId::generate()),
            activity,
            created_at: Timestamp::from_millis(1_000),
        };
        let closed = event_of(&entry(Activity::StatusChanged {
            status: ConversationStatus::Closed,
            snoozed_until: None,
            by: None,
            cause: None,
        }))
        .unwrap();
        assert_eq!(closed.event_type, EventType::ConversationClosed);
        assert_eq!(closed.event_id, "seq-42");
        assert_eq!(closed.data["status"], "closed");
        let read = entry(Activity::Read {
            read_at: Timestamp::from_millis(1),
        });
        assert_eq!(event_of(&read), None, "reads are not subscribable");
    }
}
