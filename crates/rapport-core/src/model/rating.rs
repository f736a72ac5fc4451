//! A contact's rating of a closed conversation: three faces (1 bad, 2 OK,
//! 3 great) and an optional comment. One per conversation; on the
//! contact's timeline and in the thread.

use serde::Serialize;

use crate::Timestamp;
use crate::model::ids::{ContactId, ConversationId};
use crate::model::validation::{ValidationError, Validator};

/// The longest comment.
pub const MAX_COMMENT: usize = 1_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rating {
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    /// 1 (bad), 2 (OK) or 3 (great).
    pub score: u8,
    pub comment: Option<String>,
    pub created_at: Timestamp,
}

/// A score and a comment as a visitor gives them, checked: the comment
/// trimmed (blank is none), at most `MAX_COMMENT` characters.
pub fn check(score: i64, comment: Option<&str>) -> Result<(u8, Option<String>), ValidationError> {
    let mut v = Validator::default();
    let score = v.check(
        "score",
        u8::try_from(score)
            .ok()
            .filter(|s| (1..=3).contains(s))
            .ok_or_else(|| "1 (bad), 2 (OK) or 3 (great)".to_owned()),
    );
    let comment = v.check(
        "comment",
        match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(text) if text.chars().count() > MAX_COMMENT => {
                Err(format!("at most {MAX_COMMENT} characters"))
            }
            other => Ok(other.map(str::to_owned)),
        },
    );
    v.finish()?;
    Ok((score.unwrap_or(1), comment.flatten()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_is_one_of_three_faces_and_a_comment_is_bounded() {
        assert_eq!(
            check(3, Some("  Quick, thanks! ")).unwrap(),
            (3, Some("Quick, thanks!".into()))
        );
        assert_eq!(check(1, Some("   ")).unwrap(), (1, None));
        let bad = check(4, Some(&"x".repeat(MAX_COMMENT + 1))).unwrap_err();
        let fields: Vec<_> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["score", "comment"]);
        assert!(check(0, None).is_err());
    }
}
