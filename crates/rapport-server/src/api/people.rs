//! Finding contacts: the filter language over `GET /contacts` and
//! `POST /contacts/search`, what filters can name, and saved segments.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::contact::{
    Contact, PropType, PropertySetting, SYSTEM_PROPERTIES, parse_prop_name, system_property,
};
use rapport_core::model::filter::{EVENT_OPERATORS, TAG_OPERATORS, operators};
use rapport_core::model::ids::{ContactId, SegmentId, WorkspaceId};
use rapport_core::model::people::{ContactSearch, ContactSort, Segment, SortValue};
use rapport_core::model::validation::non_empty_text;
use rapport_core::ports::store::TagCount;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use utoipa::{IntoParams, ToSchema};

use super::shared::filters::{online_for, resolve_filter};
use super::shared::page::{decode_cursor, encode_cursor};
use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use rapport_core::model::filter::Filter;

/// The most contacts one page lists.
pub const MAX_PAGE: u32 = 100;

/// A search: the same fields as `GET /contacts`' query.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// A filter tree (see docs/people.md); default everyone.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Json_>,
    /// A saved segment, in place of `filter`.
    pub segment_id: Option<SegmentId>,
    /// `last_seen_at` (default), `first_seen_at`, `name` or `created_at`.
    #[schema(schema_with = crate::openapi::fields::contact_sort_or_null)]
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    #[schema(schema_with = crate::openapi::fields::order_or_null)]
    pub order: Option<String>,
    /// 0 to 100 (default 50); 0 answers only the count.
    #[schema(maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /contacts`' query: the filter is JSON in `filter`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// A filter tree as JSON (URL-encoded).
    pub filter: Option<String>,
    pub segment_id: Option<SegmentId>,
    /// `last_seen_at` (default), `first_seen_at`, `name` or `created_at`.
    #[param(schema_with = crate::openapi::fields::contact_sort)]
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    #[param(schema_with = crate::openapi::fields::order)]
    pub order: Option<String>,
    /// 0 to 100 (default 50); 0 answers only the count.
    #[param(maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A contact in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRow {
    #[serde(flatten)]
    pub contact: Contact,
    pub online: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// How many contacts match in all.
    pub count: u64,
    pub data: Vec<ContactRow>,
    /// For the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/contacts", tag = "people", security(("bearer" = [])),
    params(SearchParams),
    responses((status = 200, body = SearchResult),
        (status = 422, description = "A bad filter, naming the node", body = Problem, content_type = "application/problem+json")))]
pub async fn list_contacts(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResult>, ApiError> {
    let filter = params
        .filter
        .as_deref()
        .map(serde_json::from_str::<Json_>)
        .transpose()
        .map_err(|e| ApiError::field("filter", format!("is not JSON: {e}")))?;
    let request = SearchRequest {
        filter,
        segment_id: params.segment_id,
        sort: params.sort,
        order: params.order,
        limit: params.limit,
        cursor: params.cursor,
    };
    search(&state, principal.workspace_id, request)
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/contacts/search", tag = "people", security(("bearer" = [])),
    request_body = SearchRequest,
    responses((status = 200, body = SearchResult),
        (status = 422, description = "A bad filter, naming the node", body = Problem, content_type = "application/problem+json")))]
pub async fn search_contacts(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(request): ApiJson<SearchRequest>,
) -> Result<Json<SearchResult>, ApiError> {
    search(&state, principal.workspace_id, request)
        .await
        .map(Json)
}

async fn search(
    state: &AppState,
    workspace: WorkspaceId,
    request: SearchRequest,
) -> Result<SearchResult, ApiError> {
    let sort = match request.sort.as_deref() {
        None => ContactSort::LastSeen,
        Some(text) => ContactSort::parse(text).ok_or_else(|| {
            ApiError::field(
                "sort",
                "must be last_seen_at, first_seen_at, name or created_at",
            )
        })?,
    };
    let descending = match request.order.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(ApiError::field("order", "must be asc or desc")),
    };
    let limit = request.limit.unwrap_or(50);
    if limit > MAX_PAGE {
        return Err(ApiError::field(
            "limit",
            format!("must be from 0 to {MAX_PAGE}"),
        ));
    }
    let after = request
        .cursor
        .as_deref()
        .map(|c| parse_cursor(c, sort))
        .transpose()?;
    let filter = resolve_filter(
        state,
        workspace,
        request.filter.as_ref(),
        request.segment_id,
    )
    .await?;
    let online = online_for(state, workspace, &filter);
    let page = state
        .store
        .search_contacts(ContactSearch {
            workspace_id: workspace,
            filter,
            online,
            sort,
            descending,
            after,
            limit,
            now: state.clock.now(),
        })
        .await?;
    let next_cursor = (limit > 0 && page.contacts.len() == limit as usize)
        .then(|| page.contacts.last().map(|last| cursor_of(sort, last)))
        .flatten();
    let data = page
        .contacts
        .into_iter()
        .map(|contact| ContactRow {
            online: state.hub.is_online(workspace, contact.id),
            contact,
        })
        .collect();
    Ok(SearchResult {
        count: page.count,
        data,
        next_cursor,
    })
}

fn cursor_of(sort: ContactSort, contact: &Contact) -> String {
    let value = match sort.value_of(contact) {
        SortValue::Number(n) => Json_::from(n),
        SortValue::Text(t) => Json_::from(t),
    };
    encode_cursor(&serde_json::json!([value, contact.id]).to_string())
}

fn parse_cursor(cursor: &str, sort: ContactSort) -> Result<(SortValue, ContactId), ApiError> {
    let bad = || ApiError::field("cursor", "not a cursor this API gave out for this sort");
    let text = decode_cursor(cursor)?;
    let (value, id): (Json_, ContactId) = serde_json::from_str(&text).map_err(|_| bad())?;
    let value = match (sort, value) {
        (ContactSort::Name, Json_::String(text)) => SortValue::Text(text),
        (ContactSort::Name, _) => return Err(bad()),
        (_, value) => SortValue::Number(value.as_i64().ok_or_else(bad)?),
    };
    Ok((value, id))
}

/// A property a filter can name.
#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: PropType,
    pub system: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NameCount {
    pub name: String,
    /// How many contacts.
    pub contacts: u64,
}

/// What the workspace's filters can name, and the operators of each kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeopleSchemaView {
    pub properties: Vec<PropertyInfo>,
    /// Per property type, its operators.
    #[schema(value_type = Object)]
    pub operators: Json_,
    pub event_operators: Vec<&'static str>,
    pub tag_operators: Vec<&'static str>,
    pub events: Vec<NameCount>,
    pub tags: Vec<NameCount>,
    /// The tags on conversations (`conversation_tag` conditions), with how
    /// many conversations have each.
    pub conversation_tags: Vec<TagCount>,
}

#[utoipa::path(get, path = "/people/schema", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = PeopleSchemaView)))]
pub async fn schema(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<PeopleSchemaView>, ApiError> {
    let schema = state.store.people_schema(principal.workspace_id).await?;
    let conversation_tags = state
        .store
        .tags_in_use(principal.workspace_id, 1_000)
        .await?;
    let system = SYSTEM_PROPERTIES.iter().map(|(name, ty)| PropertyInfo {
        name: (*name).to_owned(),
        ty: *ty,
        system: true,
    });
    let custom = schema.custom.into_iter().map(|(name, ty)| PropertyInfo {
        name,
        ty,
        system: false,
    });
    let all_types = [
        PropType::String,
        PropType::Number,
        PropType::Boolean,
        PropType::Datetime,
        PropType::List,
    ];
    let counts = |items: Vec<(String, u64)>| {
        items
            .into_iter()
            .map(|(name, contacts)| NameCount { name, contacts })
            .collect()
    };
    Ok(Json(PeopleSchemaView {
        properties: system.chain(custom).collect(),
        operators: all_types
            .iter()
            .map(|ty| (ty.as_str().to_owned(), Json_::from(operators(*ty).to_vec())))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        event_operators: EVENT_OPERATORS.to_vec(),
        tag_operators: TAG_OPERATORS.to_vec(),
        events: counts(schema.events),
        tags: counts(schema.tags),
        conversation_tags,
    }))
}

/// A segment to save: a name and a filter.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSegment {
    #[schema(schema_with = crate::openapi::text::up_to_100)]
    pub name: String,
    /// A filter tree (see docs/people.md).
    #[schema(value_type = Object)]
    pub filter: Json_,
}

/// A change to a segment; fields left out (or `null`) keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentRequest {
    #[schema(schema_with = crate::openapi::text::up_to_100_or_null)]
    pub name: Option<String>,
    /// A filter tree (see docs/people.md).
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Json_>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Segments {
    pub data: Vec<Segment>,
}

#[utoipa::path(get, path = "/segments", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = Segments)))]
pub async fn list_segments(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Segments>, ApiError> {
    let data = state.store.segments(principal.workspace_id).await?;
    Ok(Json(Segments { data }))
}

#[utoipa::path(post, path = "/segments", tag = "people", security(("bearer" = [])),
    request_body = NewSegment,
    responses((status = 201, body = Segment), (status = 409, description = "A segment has that name", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_segment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<NewSegment>,
) -> Result<(StatusCode, Json<Segment>), ApiError> {
    let now = state.clock.now();
    let segment = Segment {
        id: SegmentId::generate(),
        workspace_id: principal.workspace_id,
        name: String::new(),
        filter: Json_::Null,
        created_at: now,
        updated_at: now,
    };
    let body = SegmentRequest {
        name: Some(body.name),
        filter: Some(body.filter),
    };
    let segment = save(&state, segment, body).await?;
    Ok((StatusCode::CREATED, Json(segment)))
}

#[utoipa::path(patch, path = "/segments/{id}", tag = "people", security(("bearer" = [])),
    params(("id" = SegmentId, Path)), request_body = SegmentRequest,
    responses((status = 200, body = Segment), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_segment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<SegmentId>,
    ApiJson(body): ApiJson<SegmentRequest>,
) -> Result<Json<Segment>, ApiError> {
    let segment = state
        .store
        .segment(principal.workspace_id, id)
        .await
        .map_err(or_not_found("segment"))?;
    save(&state, segment, body).await.map(Json)
}

async fn save(
    state: &AppState,
    mut segment: Segment,
    body: SegmentRequest,
) -> Result<Segment, ApiError> {
    if let Some(name) = &body.name {
        segment.name = non_empty_text(name, 100).map_err(|e| ApiError::field("name", e))?;
    }
    if let Some(filter) = body.filter {
        // Checked now, so a saved segment is a filter that parsed. Not
        // expanded: a segment's filter names no segment (no chains).
        let types = state.store.property_types(segment.workspace_id).await?;
        Filter::parse(&filter, &types, state.clock.now())?;
        segment.filter = filter;
    }
    segment.updated_at = state.clock.now();
    state
        .store
        .save_segment(segment)
        .await
        .map_err(|e| match e {
            rapport_core::ports::store::StoreError::Conflict(_) => {
                ApiError::Conflict("a segment of this workspace has that name".into())
            }
            other => other.into(),
        })
}

#[utoipa::path(delete, path = "/segments/{id}", tag = "people", security(("bearer" = [])),
    params(("id" = SegmentId, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_segment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<SegmentId>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_segment(principal.workspace_id, id)
        .await
        .map_err(or_not_found("segment"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workspace's custom properties, with whether the messenger may set
/// each.
#[utoipa::path(get, path = "/people/properties", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = Vec<PropertySetting>)))]
pub async fn list_properties(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<PropertySetting>>, ApiError> {
    Ok(Json(
        state
            .store
            .property_settings(principal.workspace_id)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertySettingUpdate {
    /// Needed to define a new property; must match an existing one's.
    pub r#type: Option<PropType>,
    /// Whether a visitor's messenger (`boot`, `update`) may set it. Off
    /// for new properties: turn it on only for what a visitor may say
    /// about themselves.
    pub messenger_writable: Option<bool>,
}

/// `PUT /people/properties/{name}`'s path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct PropertyPath {
    /// The property's name: 1 to 64 letters, digits, `_` or `-`, not a
    /// system property's.
    #[param(schema_with = crate::openapi::fields::prop_name)]
    name: String,
}

#[utoipa::path(put, path = "/people/properties/{name}", tag = "people", security(("bearer" = [])),
    params(PropertyPath),
    request_body = PropertySettingUpdate,
    responses((status = 200, body = PropertySetting),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Defines a custom property, or changes whether the messenger may set it.
pub async fn save_property(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<PropertySettingUpdate>,
) -> Result<Json<PropertySetting>, ApiError> {
    if !principal.role.can_manage_team() {
        return Err(ApiError::Forbidden(
            "only owners and admins define properties".into(),
        ));
    }
    if system_property(&name).is_some() {
        return Err(ApiError::field(
            "name",
            "a system property: the messenger and the API set it already",
        ));
    }
    let name = parse_prop_name(&name).map_err(|message| ApiError::field("name", message))?;
    let setting = state
        .store
        .save_property_setting(
            principal.workspace_id,
            name,
            body.r#type,
            body.messenger_writable,
            state.clock.now(),
        )
        .await?;
    Ok(Json(setting))
}
