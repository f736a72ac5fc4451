//! Data requests about one contact (GDPR articles 15 and 17): everything
//! stored about them as JSON, and their erasure, carried out by a job with
//! a record that it happened. Owners and admins only.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::activity::ActivityEntry;
use rapport_core::model::agent::Principal;
use rapport_core::model::contact::Contact;
use rapport_core::model::conversation::{Conversation, Message};
use rapport_core::model::erasure::Erasure;
use rapport_core::model::ids::{ContactId, ErasureId};
use rapport_core::model::people::EventSummary;
use rapport_core::ports::store::TimelineQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiPath, Auth};

/// Timeline entries read per query while exporting.
const EXPORT_PAGE: u32 = 500;
/// The most timeline entries one export holds: past it the export is
/// refused (409) rather than exhausting the server's memory.
const MAX_EXPORT_ENTRIES: usize = 500_000;

/// Everything stored about a contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactExport {
    pub contact: Contact,
    /// Per event name: how often, first and last time.
    pub events: Vec<EventSummary>,
    /// Their conversations, each with every message and note.
    pub conversations: Vec<ExportedConversation>,
    /// Their whole timeline, oldest first: messages, events, page views,
    /// emails sent or not, changes.
    pub timeline: Vec<ActivityEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedConversation {
    pub conversation: Conversation,
    pub parts: Vec<Message>,
}

fn owners_and_admins(principal: &Principal, what: &str) -> Result<(), ApiError> {
    if principal.role.can_manage_team() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only owners and admins {what}"
        )))
    }
}

#[utoipa::path(get, path = "/contacts/{id}/export", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path)),
    responses((status = 200, body = ContactExport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "More than 500,000 timeline entries: too large for one response", body = Problem, content_type = "application/problem+json")))]
pub async fn export_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<Json<ContactExport>, ApiError> {
    owners_and_admins(&principal, "export a contact's data")?;
    let ws = principal.workspace_id;
    let (contact, events) = tokio::try_join!(
        state.store.contact(ws, id),
        state.store.event_summaries(ws, id)
    )
    .map_err(or_not_found("contact"))?;
    let mut timeline = Vec::new();
    let mut before_seq = None;
    loop {
        let page = state
            .store
            .timeline(TimelineQuery {
                workspace_id: ws,
                contact_id: id,
                before_seq,
                kinds: Vec::new(),
                limit: EXPORT_PAGE,
            })
            .await?;
        let Some(last) = page.last() else { break };
        before_seq = Some(last.seq);
        let full = page.len() == EXPORT_PAGE as usize;
        timeline.extend(page);
        if timeline.len() > MAX_EXPORT_ENTRIES {
            return Err(ApiError::Conflict(format!(
                "this contact's timeline has more than {MAX_EXPORT_ENTRIES} entries, too many for one export"
            )));
        }
        if !full {
            break;
        }
    }
    timeline.reverse();
    let ids: BTreeSet<_> = timeline.iter().filter_map(|e| e.conversation_id).collect();
    let mut conversations = Vec::new();
    for conversation_id in ids {
        let (conversation, parts) = match tokio::try_join!(
            state.store.conversation(ws, conversation_id),
            state.store.conversation_parts(ws, conversation_id)
        ) {
            Ok(found) => found,
            // An entry may name a conversation since merged away.
            Err(rapport_core::ports::store::StoreError::NotFound) => continue,
            Err(other) => return Err(other.into()),
        };
        if conversation.contact_id == id {
            conversations.push(ExportedConversation {
                conversation,
                parts,
            });
        }
    }
    Ok(Json(ContactExport {
        contact,
        events,
        conversations,
        timeline,
    }))
}

#[utoipa::path(delete, path = "/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = ContactId, Path)),
    responses((status = 202, description = "Erasure recorded; a job deletes everything about the contact", body = Erasure),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn erase_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<(StatusCode, Json<Erasure>), ApiError> {
    owners_and_admins(&principal, "erase a contact")?;
    let erasure = state
        .store
        .request_erasure(
            principal.workspace_id,
            id,
            Some(principal.agent_id),
            state.clock.now(),
        )
        .await
        .map_err(or_not_found("contact"))?;
    Ok((StatusCode::ACCEPTED, Json(erasure)))
}

#[utoipa::path(get, path = "/erasures/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = ErasureId, Path)),
    responses((status = 200, body = Erasure),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_erasure(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ErasureId>,
) -> Result<Json<Erasure>, ApiError> {
    owners_and_admins(&principal, "read erasures")?;
    Ok(Json(
        state
            .store
            .erasure(principal.workspace_id, id)
            .await
            .map_err(or_not_found("erasure"))?,
    ))
}
