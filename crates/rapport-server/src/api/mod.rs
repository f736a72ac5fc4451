//! The REST API under `/api/v1`. Handlers are thin: parse the request into
//! domain terms, call a service in `rapport-core`, shape the response.

pub mod bulk_sends;
pub mod contacts;
pub mod conversations;
pub mod email;
pub mod import;
pub mod messages;
pub mod people;
pub mod session;
pub mod settings;
pub mod team;
pub mod templates;
pub mod widget;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

/// The messenger's API, under `/widget/v1`.
pub fn widget_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(widget::boot))
        .routes(routes!(widget::list, widget::start))
        .routes(routes!(widget::thread))
        .routes(routes!(widget::reply))
        .routes(routes!(widget::read))
        .routes(routes!(widget::track))
        .routes(routes!(widget::update))
        .routes(routes!(widget::shutdown))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(contacts::upsert_contact, people::list_contacts))
        .routes(routes!(contacts::get_contact, contacts::update_contact))
        .routes(routes!(people::search_contacts))
        .routes(routes!(import::import))
        .routes(routes!(people::schema))
        .routes(routes!(people::list_properties))
        .routes(routes!(people::save_property))
        .routes(routes!(people::list_segments, people::create_segment))
        .routes(routes!(people::update_segment, people::delete_segment))
        .routes(routes!(contacts::add_tag))
        .routes(routes!(contacts::remove_tag))
        .routes(routes!(bulk_sends::create, bulk_sends::list))
        .routes(routes!(bulk_sends::get))
        .routes(routes!(bulk_sends::cancel))
        .routes(routes!(contacts::track_event))
        .routes(routes!(contacts::timeline))
        .routes(routes!(messages::send_message))
        .routes(routes!(conversations::list_conversations))
        .routes(routes!(conversations::get_conversation))
        .routes(routes!(conversations::reply))
        .routes(routes!(conversations::assign))
        .routes(routes!(conversations::close))
        .routes(routes!(conversations::open))
        .routes(routes!(conversations::snooze))
        .routes(routes!(team::list_agents, team::create_agent))
        .routes(routes!(team::remove_agent))
        .routes(routes!(team::change_password))
        .routes(routes!(team::list_tokens, team::create_token))
        .routes(routes!(team::revoke_token))
        .routes(routes!(templates::preview))
        .routes(routes!(
            session::sign_in,
            session::current_session,
            session::sign_out
        ))
        .routes(routes!(session::setup_state, session::setup))
        .routes(routes!(settings::get_workspace, settings::update_workspace))
        .routes(routes!(settings::rotate_identity_secret))
        .routes(routes!(settings::set_presence))
        // Raw emails may carry attachments: read to `inbound_email_limit`.
        .routes(routes!(email::inbound))
        .routes(routes!(email::send_test))
}

/// One page of a list, newest first, and the cursor of the next page
/// (`null` on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `limit` and `cursor` query parameters of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// How many items, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: u32 = 25;
pub const MAX_LIMIT: u32 = 100;

impl PageParams {
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            limit @ 1..=MAX_LIMIT => Ok(limit),
            _ => Err(ApiError::field(
                "limit",
                format!("must be from 1 to {MAX_LIMIT}"),
            )),
        }
    }

    /// The cursor's text, as written by [`Page::new`]'s `cursor_of`.
    pub fn cursor(&self) -> Result<Option<String>, ApiError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

/// A cursor as callers see it: opaque (URL-safe base64 of its text).
pub fn encode_cursor(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// The text of a cursor made by [`encode_cursor`], or a `cursor` field
/// error.
pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ApiError::field("cursor", "not a cursor this API gave out"))
}

impl<T> Page<T> {
    /// A page of at most `limit` items; the cursor (opaque to callers) is
    /// made from the last item when the page is full.
    pub fn new(data: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = (data.len() == limit as usize)
            .then(|| data.last().map(|last| encode_cursor(&cursor_of(last))))
            .flatten();
        Self { data, next_cursor }
    }
}

/// Parses a cursor's text, mapping anything odd to a `cursor` field error.
pub fn cursor_part<T: std::str::FromStr>(part: Option<&str>) -> Result<T, ApiError> {
    part.and_then(|p| p.parse().ok())
        .ok_or_else(|| ApiError::field("cursor", "not a cursor this API gave out"))
}
