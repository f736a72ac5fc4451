//! Events as the REST API and the messenger both track them.

use rapport_core::Timestamp;
use rapport_core::model::validation::single_line_text;
use serde::Deserialize;
use serde_json::Value as Json_;
use utoipa::ToSchema;

use crate::error::ApiError;

/// Something the contact did, for their timeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// e.g. `signed_up`; at most 255 characters.
    #[schema(schema_with = crate::openapi::text::printable_up_to_255)]
    pub name: String,
    /// A JSON object of details.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<Json_>,
    /// When it happened; default now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Timestamp>,
}

/// The largest params an event may carry, as compact JSON: an event is
/// one activity entry, which must fit in one live socket frame (64 KiB)
/// with room to spare.
pub const MAX_EVENT_PARAMS_BYTES: usize = 16 * 1024;

/// Checks an event's name (1 to 255 printable characters on one line) and
/// params (a JSON object of at most `MAX_EVENT_PARAMS_BYTES`, or nothing).
pub fn parse_event(name: String, params: Option<Json_>) -> Result<(String, Json_), ApiError> {
    let name = single_line_text(&name, 255).map_err(|e| ApiError::field("name", e))?;
    let params = match params {
        None | Some(Json_::Null) => Json_::Object(Default::default()),
        Some(params @ Json_::Object(_)) => params,
        Some(_) => return Err(ApiError::field("params", "must be a JSON object")),
    };
    if params.to_string().len() > MAX_EVENT_PARAMS_BYTES {
        return Err(ApiError::field(
            "params",
            format!("must be at most {MAX_EVENT_PARAMS_BYTES} bytes as JSON"),
        ));
    }
    Ok((name, params))
}
