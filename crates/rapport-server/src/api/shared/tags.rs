//! The request and answer of tagging a contact or a conversation.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagRequest {
    /// 1 to 64 printable characters.
    #[schema(schema_with = crate::openapi::text::printable_up_to_64)]
    pub tag: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tags {
    /// The tags after the change, sorted.
    pub tags: Vec<String>,
}
