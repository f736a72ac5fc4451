//! Pages of a list: the `limit` and `cursor` every list takes, and the
//! opaque cursors it gives out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

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
