//! The team's tags on conversations, and searching conversations.

use axum::Json;
use axum::extract::State;
use rapport_core::model::ids::{ConversationId, MessageId};
use rapport_core::model::search::{SearchQuery, Segment};
use rapport_core::ports::store::{Found, TagCount};
use rapport_core::services::conversations::tag_conversation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::shared::conversation_rows::{ConversationRow, conversation_rows};
use super::shared::tags::{TagRequest, Tags};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// The most tags `GET /conversation-tags` lists.
const TAGS_LISTED: u32 = 500;
/// The most hits a search answers with, and the default.
const MAX_HITS: u32 = 50;
const DEFAULT_HITS: u32 = 20;

#[utoipa::path(post, path = "/conversations/{id}/tags", tag = "conversations", operation_id = "add_conversation_tag", security(("bearer" = [])),
    params(("id" = ConversationId, Path)), request_body = TagRequest,
    responses((status = 200, body = Tags), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The conversation has 20 tags already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_tag(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<TagRequest>,
) -> Result<Json<Tags>, ApiError> {
    let tags = tag_conversation(
        state.deps(),
        principal.workspace_id,
        id,
        &body.tag,
        true,
        Some(principal.agent_id),
    )
    .await?;
    Ok(Json(Tags { tags }))
}

/// `DELETE /conversations/{id}/tags/{tag}`'s path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct TagPath {
    id: ConversationId,
    /// 1 to 64 printable characters.
    #[param(schema_with = crate::openapi::fields::tag)]
    tag: String,
}

#[utoipa::path(delete, path = "/conversations/{id}/tags/{tag}", tag = "conversations", operation_id = "remove_conversation_tag", security(("bearer" = [])),
    params(TagPath),
    responses((status = 200, body = Tags), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a tag: 1 to 64 printable characters", body = Problem, content_type = "application/problem+json")))]
pub async fn remove_tag(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, tag)): ApiPath<(ConversationId, String)>,
) -> Result<Json<Tags>, ApiError> {
    let tags = tag_conversation(
        state.deps(),
        principal.workspace_id,
        id,
        &tag,
        false,
        Some(principal.agent_id),
    )
    .await?;
    Ok(Json(Tags { tags }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    /// Most used first.
    pub data: Vec<TagCount>,
}

#[utoipa::path(get, path = "/conversation-tags", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = TagList)))]
pub async fn list_tags(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<TagList>, ApiError> {
    let data = state
        .store
        .tags_in_use(principal.workspace_id, TAGS_LISTED)
        .await?;
    Ok(Json(TagList { data }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// What to find: 1 to 200 characters, trimmed. (The pattern is
    /// `openapi::text::up_to_200`'s, spelled out: a query parameter given
    /// its schema that way would lose being required.)
    #[param(
        pattern = r"^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([\s\S]{0,198}[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub q: String,
    /// How many conversations, 1 to 50 (default 20).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// Where a search found a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchMatch {
    /// `message` (its newest message holding every word), `contact` (the
    /// contact's name or email contains the query) or `tag`.
    pub field: &'static str,
    /// The matching message, for `message`.
    pub message_id: Option<MessageId>,
    /// The text around the match; the matched words are `hit`.
    pub excerpt: Vec<Segment>,
}

/// A conversation a search found: as a list row, and where it matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationHit {
    #[serde(flatten)]
    pub row: ConversationRow,
    #[serde(rename = "match")]
    pub found: SearchMatch,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationHits {
    /// Newest first.
    pub data: Vec<ConversationHit>,
}

#[utoipa::path(get, path = "/conversations/search", tag = "conversations", operation_id = "search_conversations", security(("bearer" = [])),
    params(SearchParams),
    responses((status = 200, body = ConversationHits), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn search(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<ConversationHits>, ApiError> {
    let limit = match params.limit.unwrap_or(DEFAULT_HITS) {
        limit @ 1..=MAX_HITS => limit,
        _ => {
            return Err(ApiError::field(
                "limit",
                format!("must be from 1 to {MAX_HITS}"),
            ));
        }
    };
    let query = SearchQuery::parse(&params.q)?;
    let ws = principal.workspace_id;
    let hits = state.store.search_conversations(ws, &query, limit).await?;
    let (conversations, found): (Vec<_>, Vec<_>) = hits
        .into_iter()
        .map(|hit| (hit.conversation, hit.found))
        .unzip();
    let rows = conversation_rows(&state, ws, conversations).await?;
    let data = rows
        .into_iter()
        .zip(found)
        .map(|(row, found)| {
            let found = describe(&query, &row, found);
            ConversationHit { row, found }
        })
        .collect();
    Ok(Json(ConversationHits { data }))
}

/// The match as the Inbox shows it: the excerpt cut from the message, the
/// contact's name and email, or the tag as the conversation holds it.
fn describe(query: &SearchQuery, row: &ConversationRow, found: Found) -> SearchMatch {
    let whole = |text: &str| {
        vec![Segment {
            text: text.to_owned(),
            hit: true,
        }]
    };
    match found {
        Found::Message(message) => SearchMatch {
            field: "message",
            message_id: Some(message.id),
            excerpt: query.excerpt(&message.body),
        },
        Found::Contact => {
            let contact = row.contact.as_ref();
            let text = [
                contact.and_then(|c| c.name.as_deref()),
                contact.and_then(|c| c.email.as_deref()),
            ]
            .into_iter()
            .flatten()
            .find(|t| t.to_lowercase().contains(query.text()))
            .unwrap_or_default();
            SearchMatch {
                field: "contact",
                message_id: None,
                excerpt: whole(text),
            }
        }
        Found::Tag(tag) => {
            let held = row
                .tags
                .iter()
                .find(|t| t.to_lowercase() == tag)
                .map_or(tag.as_str(), String::as_str);
            SearchMatch {
                field: "tag",
                message_id: None,
                excerpt: whole(held),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::{RefOr, Required};

    /// `q`'s pattern is the one the other trimmed texts are described by.
    #[test]
    fn the_query_is_described_as_a_required_trimmed_text() {
        let params = super::SearchParams::into_params(|| None);
        let q = params.iter().find(|p| p.name == "q").unwrap();
        assert!(matches!(q.required, Required::True));
        let pattern = |schema: &RefOr<Schema>| match schema {
            RefOr::T(Schema::Object(object)) => object.pattern.clone(),
            _ => None,
        };
        assert_eq!(
            pattern(q.schema.as_ref().unwrap()),
            pattern(&RefOr::T(crate::openapi::text::up_to_200()))
        );
    }
}
