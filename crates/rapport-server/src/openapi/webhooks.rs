//! The `webhooks` section of the document (OpenAPI 3.1): one entry per
//! event type an endpoint can subscribe to, with the body Rapport posts
//! and the headers it signs it with. The bodies are made by
//! `rapport_core::model::webhook::event_of`.

use rapport_core::model::webhook::EventType;
use serde_json::{Value, json};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Content, Paths, PathsBuilder, Required, Response};

use super::schemas::from_json;

/// What each event's `data` holds.
fn data_of(event: EventType) -> (&'static str, Value) {
    let id = json!({"type": "string", "format": "uuid"});
    let id_or_null = json!({"type": ["string", "null"], "format": "uuid"});
    let cause = json!({"type": ["object", "null"],
        "description": "The automation (and its run and step) that did it, if one did"});
    match event {
        EventType::MessageCreated => (
            "A message or a team note was added to a conversation, by anyone (contact, team, bot, automation, bulk send, email reply)",
            json!({"conversation_id": id, "contact_id": id, "message": {"$ref": "#/components/schemas/Message"}}),
        ),
        EventType::ConversationStarted => (
            "A conversation was started (its first message follows as `message.created`)",
            json!({"conversation_id": id, "contact_id": id}),
        ),
        EventType::ConversationAssigned => (
            "A conversation was assigned to a team member, or unassigned (`assignee_id` null)",
            json!({"conversation_id": id, "contact_id": id, "assignee_id": id_or_null, "by": id_or_null, "cause": cause}),
        ),
        EventType::ConversationClosed
        | EventType::ConversationReopened
        | EventType::ConversationSnoozed => (
            match event {
                EventType::ConversationClosed => "A conversation was closed",
                EventType::ConversationReopened => {
                    "A conversation was opened again (after being closed or snoozed)"
                }
                _ => "A conversation was snoozed until `snoozed_until`",
            },
            json!({"conversation_id": id, "contact_id": id,
                "status": {"type": "string", "enum": ["open", "snoozed", "closed"]},
                "snoozed_until": {"type": ["string", "null"], "format": "date-time"},
                "by": id_or_null, "cause": cause}),
        ),
        EventType::ContactCreated => (
            "A contact (user or lead) was created",
            json!({"contact_id": id}),
        ),
        EventType::ContactUpdated => (
            "A contact's properties or tags changed: the names of what changed (read the contact for the values)",
            json!({"contact_id": id,
                "properties": {"type": "array", "items": {"type": "string"}},
                "tags_added": {"type": "array", "items": {"type": "string"}},
                "tags_removed": {"type": "array", "items": {"type": "string"}},
                "cause": cause}),
        ),
        EventType::EventTracked => (
            "An event was tracked for a contact (by the API or the widget; page views included)",
            json!({"contact_id": id, "name": {"type": "string"}, "params": {"type": "object"}}),
        ),
        EventType::BulkSendFinished => (
            "A bulk send finished sending (or was ended by a failure)",
            json!({"bulk_send_id": id, "status": {"type": "string"}}),
        ),
        EventType::AutomationGoalReached => (
            "A contact reached an automation's goal",
            json!({"automation_id": id, "run_id": id, "contact_id": id, "conversation_id": id_or_null}),
        ),
        EventType::Test => (
            "Sent by \"Send test event\" (`POST /api/v1/webhooks/{id}/test`) to one endpoint",
            json!({"webhook_id": id, "sent_by": id}),
        ),
    }
}

/// The `webhooks` map of the document.
pub fn events() -> Paths {
    let mut paths = PathsBuilder::new();
    for event in EventType::SUBSCRIBABLE.into_iter().chain([EventType::Test]) {
        let (summary, data) = data_of(event);
        let body = from_json(json!({
            "type": "object",
            "required": ["id", "type", "created_at", "workspace_id", "data"],
            "properties": {
                "id": {"type": "string", "description": "The event's id: the same in every retry of it, and for every endpoint it goes to. Drop a repeat by it."},
                "type": {"const": event.as_str()},
                "created_at": {"type": "string", "format": "date-time"},
                "workspace_id": {"type": "string", "format": "uuid"},
                "data": {"type": "object", "properties": data},
            }
        }));
        let header = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(from_json(json!({"type": "string"}))))
                .build()
        };
        let operation = OperationBuilder::new()
            .operation_id(Some(format!("webhook {}", event.as_str())))
            .tag("webhooks")
            .summary(Some(summary))
            .description(Some(SIGNED))
            .parameters(Some([
                header(
                    "Rapport-Signature",
                    "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">",
                ),
                header(
                    "Rapport-Delivery",
                    "This delivery's id (one event to one endpoint)",
                ),
                header("Rapport-Event", "The event type"),
            ]))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", Content::new(Some(body)))
                    .build(),
            ))
            .response("2XX", Response::new("Received: not sent again"))
            .response("default", Response::new("Not received: tried again later"));
        paths = paths.path(event.as_str(), PathItem::new(HttpMethod::Post, operation));
    }
    paths.build()
}

const SIGNED: &str = "Posted to each endpoint subscribed to this type. `Rapport-Signature: t=<unix seconds>,v1=<hex>` is the HMAC-SHA256, keyed with the endpoint's secret, of `<t>.<body>`: compute it over the raw body, compare in constant time, and refuse a `t` more than five minutes old. A 2xx answer within 10 seconds is a delivery; anything else is tried again with back-off for about a day.";

#[cfg(test)]
mod tests {
    #[test]
    fn every_event_type_is_described_and_its_references_resolve() {
        let doc = crate::app::openapi();
        let webhooks = doc.webhooks.as_ref().expect("a webhooks section");
        assert_eq!(webhooks.paths.len(), 12);
        let text = serde_json::to_string(&doc).unwrap();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            let schemas = &doc.components.as_ref().unwrap().schemas;
            assert!(schemas.contains_key(name), "{name} is not a component");
        }
        assert!(text.contains("\"message.created\""));
    }
}
