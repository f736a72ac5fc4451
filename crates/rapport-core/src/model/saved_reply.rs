//! Saved replies: answers a team gives again and again, kept with a title
//! and a shortcut, typed in the composer after `/`. A reply is the
//! workspace's (everyone sees it; owners and admins change it) or one
//! member's own. Its body is a message with snippet tags.

use serde::Serialize;

use crate::Timestamp;
use crate::model::ids::{AgentId, SavedReplyId, WorkspaceId};
use crate::model::template::SnippetTemplate;
use crate::model::validation::{ValidationError, Validator, single_line_text};

/// The most saved replies of one scope (the workspace's, or one member's).
pub const MAX_PER_SCOPE: usize = 500;
/// The longest title, and shortcut.
pub const MAX_TITLE: usize = 120;
pub const MAX_SHORTCUT: usize = 40;
/// The longest body: as any message.
pub const MAX_BODY: usize = crate::model::template::MAX_TEMPLATE_CHARS;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedReply {
    pub id: SavedReplyId,
    pub workspace_id: WorkspaceId,
    /// The member whose own reply it is; `null` for the workspace's.
    pub owner_id: Option<AgentId>,
    pub title: String,
    /// Typed after `/` in the composer: lower-case letters, digits, `-`, `_`.
    pub shortcut: String,
    /// The message, with snippet tags.
    pub body: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A saved reply's fields as a member sets them, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedReplyFields {
    pub title: String,
    pub shortcut: String,
    pub body: String,
}

impl SavedReplyFields {
    /// Checks every field, naming each bad one; the body must parse as a
    /// template (`body` names where it does not).
    pub fn new(title: &str, shortcut: &str, body: &str) -> Result<Self, ValidationError> {
        let mut v = Validator::default();
        let title = v.check("title", single_line_text(title, MAX_TITLE));
        let shortcut = v.check("shortcut", check_shortcut(shortcut));
        let body = v.check(
            "body",
            SnippetTemplate::parse(body)
                .map(|t| t.source().to_owned())
                .map_err(|e| e.to_string()),
        );
        v.finish()?;
        Ok(Self {
            title: title.unwrap_or_default(),
            shortcut: shortcut.unwrap_or_default(),
            body: body.unwrap_or_default(),
        })
    }
}

/// 1 to 40 of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit.
fn check_shortcut(shortcut: &str) -> Result<String, String> {
    let ok = (1..=MAX_SHORTCUT).contains(&shortcut.len())
        && shortcut
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && shortcut
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(shortcut.to_owned())
    } else {
        Err(format!(
            "1 to {MAX_SHORTCUT} lower-case letters, digits, - or _, starting with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_field_is_named() {
        let bad = SavedReplyFields::new("a\nb", "Refund!", "Hi {{ user.name").unwrap_err();
        let fields: Vec<_> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "shortcut", "body"]);
        assert!(SavedReplyFields::new("t", "-x", "b").is_err());
        assert!(SavedReplyFields::new("t", &"x".repeat(41), "b").is_err());
        assert!(SavedReplyFields::new("t", "x", &"b".repeat(MAX_BODY + 1)).is_err());
        let ok = SavedReplyFields::new(
            " Refund policy ",
            "refund-30d",
            "Hi {{ user.name | default(\"there\") }}",
        )
        .unwrap();
        assert_eq!(
            (ok.title.as_str(), ok.shortcut.as_str()),
            ("Refund policy", "refund-30d")
        );
    }
}
