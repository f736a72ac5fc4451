//! Links from each create to the reads and updates of what it made, which
//! clients (and schemathesis's stateful tests) follow.

use utoipa::openapi::RefOr;
use utoipa::openapi::link::{Link, LinkBuilder};

/// How to reach what a response made: (producing operation, its status,
/// link name, target operation, target parameter, where the value is).
pub(super) const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "create_webhook",
        "201",
        "GetWebhook",
        "get_webhook",
        "id",
        "$response.body#/id",
    ),
    (
        "create_webhook",
        "201",
        "UpdateWebhook",
        "update_webhook",
        "id",
        "$response.body#/id",
    ),
    (
        "create_webhook",
        "201",
        "TestWebhook",
        "test_webhook",
        "id",
        "$response.body#/id",
    ),
    (
        "create_webhook",
        "201",
        "WebhookDeliveries",
        "list_deliveries",
        "id",
        "$response.body#/id",
    ),
    (
        "create_webhook",
        "201",
        "DeleteWebhook",
        "delete_webhook",
        "id",
        "$response.body#/id",
    ),
    (
        "upsert_contact",
        "201",
        "GetContact",
        "get_contact",
        "id",
        "$response.body#/id",
    ),
    (
        "upsert_contact",
        "201",
        "UpdateContact",
        "update_contact",
        "id",
        "$response.body#/id",
    ),
    (
        "upsert_contact",
        "201",
        "TrackEvent",
        "track_event",
        "id",
        "$response.body#/id",
    ),
    (
        "upsert_contact",
        "201",
        "AddTag",
        "add_tag",
        "id",
        "$response.body#/id",
    ),
    (
        "upsert_contact",
        "201",
        "Timeline",
        "timeline",
        "id",
        "$response.body#/id",
    ),
    (
        "upsert_contact",
        "200",
        "GetContact",
        "get_contact",
        "id",
        "$response.body#/id",
    ),
    (
        "upsert_contact",
        "200",
        "UpdateContact",
        "update_contact",
        "id",
        "$response.body#/id",
    ),
    (
        "upsert_contact",
        "200",
        "Timeline",
        "timeline",
        "id",
        "$response.body#/id",
    ),
    (
        "add_tag",
        "200",
        "RemoveTag",
        "remove_tag",
        "id",
        "$request.path.id",
    ),
    (
        "send_message",
        "201",
        "GetConversation",
        "get_conversation",
        "id",
        "$response.body#/conversation_id",
    ),
    (
        "send_message",
        "201",
        "Reply",
        "reply",
        "id",
        "$response.body#/conversation_id",
    ),
    (
        "send_message",
        "201",
        "Assign",
        "assign",
        "id",
        "$response.body#/conversation_id",
    ),
    (
        "send_message",
        "201",
        "Close",
        "close",
        "id",
        "$response.body#/conversation_id",
    ),
    (
        "send_message",
        "201",
        "Snooze",
        "snooze",
        "id",
        "$response.body#/conversation_id",
    ),
    ("close", "200", "Open", "open", "id", "$response.body#/id"),
    ("open", "200", "Close", "close", "id", "$response.body#/id"),
    (
        "create_segment",
        "201",
        "UpdateSegment",
        "update_segment",
        "id",
        "$response.body#/id",
    ),
    (
        "create_segment",
        "201",
        "DeleteSegment",
        "delete_segment",
        "id",
        "$response.body#/id",
    ),
    (
        "create",
        "201",
        "GetBulkSend",
        "get",
        "id",
        "$response.body#/id",
    ),
    (
        "create",
        "201",
        "CancelBulkSend",
        "cancel",
        "id",
        "$response.body#/id",
    ),
    (
        "create_token",
        "201",
        "RevokeToken",
        "revoke_token",
        "id",
        "$response.body#/id",
    ),
    (
        "widget_start",
        "201",
        "Thread",
        "widget_thread",
        "id",
        "$response.body#/conversation/id",
    ),
    (
        "widget_start",
        "201",
        "Reply",
        "widget_reply",
        "id",
        "$response.body#/conversation/id",
    ),
    (
        "widget_start",
        "201",
        "Read",
        "widget_read",
        "id",
        "$response.body#/conversation/id",
    ),
];

pub(super) fn add_links(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let Some(id) = operation.operation_id.clone() else {
                continue;
            };
            for (_, status, name, target, param, value) in LINKS.iter().filter(|link| link.0 == id)
            {
                if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) {
                    let link: Link = LinkBuilder::new()
                        .operation_id(*target)
                        .parameter(*param, *value)
                        .build();
                    response.links.insert((*name).to_owned(), link.into());
                }
            }
        }
    }
}
