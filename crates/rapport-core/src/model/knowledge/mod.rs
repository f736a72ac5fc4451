//! The knowledge base: Markdown articles with a title, a collection, a
//! language and a status, each change kept as a revision. Published
//! articles are what the help center shows and what the bot answers from,
//! one passage (a `##` section) at a time.

mod files;
mod passages;

pub use files::{ArticleFile, parse_file, render_file};
pub use passages::{Passage, passages};

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::model::ids::{AgentId, ArticleId, WorkspaceId};
use crate::model::validation::{ValidationError, Validator, non_empty_text, single_line_text};

/// The most articles one workspace may have (every published one is held
/// in the search index in memory).
pub const MAX_ARTICLES: u64 = 20_000;
/// The longest article body, in characters.
pub const MAX_BODY_CHARS: usize = 100_000;
/// The most revisions kept of one article; older ones are dropped.
pub const MAX_REVISIONS: u32 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Seen only by the team.
    Draft,
    /// In the help center, the search and the bot's answers.
    Published,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ArticleStatus::Draft => "draft",
            ArticleStatus::Published => "published",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(ArticleStatus::Draft),
            "published" => Some(ArticleStatus::Published),
            _ => None,
        }
    }
}

/// What an author writes: checked by [`ArticleFields::new`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleFields {
    /// Lowercase letters, digits and hyphens; unique in the workspace.
    pub slug: String,
    pub title: String,
    pub collection: String,
    /// A language tag such as `en` or `pt-br`.
    pub language: String,
    pub status: ArticleStatus,
    /// Markdown.
    pub body: String,
}

impl ArticleFields {
    /// The fields as given, trimmed and checked; a missing slug is made
    /// from the title. Errors name each field at fault.
    pub fn new(
        slug: Option<&str>,
        title: &str,
        collection: &str,
        language: &str,
        status: ArticleStatus,
        body: &str,
    ) -> Result<Self, ValidationError> {
        let mut v = Validator::default();
        let title = v.check("title", single_line_text(title, 200));
        let collection = v.check("collection", single_line_text(collection, 80));
        let language = v.check("language", language_tag(language));
        let body = v.check("body", article_body(body));
        let slug = match slug {
            Some(slug) => v.check("slug", check_slug(slug)),
            None => title.as_deref().map(slugify),
        };
        v.finish()?;
        Ok(Self {
            slug: slug.unwrap_or_default(),
            title: title.unwrap_or_default(),
            collection: collection.unwrap_or_default(),
            language: language.unwrap_or_default(),
            status,
            body: body.unwrap_or_default(),
        })
    }
}

/// An article as stored: its current revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Article {
    pub id: ArticleId,
    pub workspace_id: WorkspaceId,
    #[serde(flatten)]
    pub fields: ArticleFields,
    /// Who wrote the current revision (none when imported by the command
    /// line).
    pub author_id: Option<AgentId>,
    /// 1 for the first version, one more for each change.
    pub revision: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One kept version of an article.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleRevision {
    pub article_id: ArticleId,
    pub revision: u32,
    #[serde(flatten)]
    pub fields: ArticleFields,
    pub author_id: Option<AgentId>,
    pub created_at: Timestamp,
}

/// A language tag: a 2–3 letter language and optional subtags, lowercase.
pub fn language_tag(text: &str) -> Result<String, String> {
    let tag = text.trim().to_ascii_lowercase();
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && tag.len() <= 24 {
        Ok(tag)
    } else {
        Err("must be a language tag such as en, de or pt-br".into())
    }
}

fn article_body(body: &str) -> Result<String, String> {
    non_empty_text(body, MAX_BODY_CHARS)
}

fn check_slug(slug: &str) -> Result<String, String> {
    let ok = !slug.is_empty()
        && slug.len() <= 100
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(slug.to_owned())
    } else {
        Err("must be 1 to 100 lowercase letters, digits and inner hyphens".into())
    }
}

/// A slug made from a title: ASCII letters and digits, the rest as single
/// hyphens ("Reset your password!" → "reset-your-password").
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 80 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "article".into()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_one_by_one() {
        let err = ArticleFields::new(
            Some("Bad Slug"),
            "",
            "x",
            "english",
            ArticleStatus::Draft,
            " ",
        )
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "language", "body", "slug"]);
        let ok = ArticleFields::new(
            None,
            " Reset your password! ",
            "Account",
            "EN",
            ArticleStatus::Published,
            "Go to Settings.",
        )
        .unwrap();
        assert_eq!(ok.slug, "reset-your-password");
        assert_eq!(ok.language, "en");
        assert_eq!(ok.title, "Reset your password!");
    }

    #[test]
    fn slugs_and_languages() {
        assert_eq!(slugify("Zoë's  café & bar"), "zo-s-caf-bar");
        assert_eq!(slugify("日本"), "article");
        assert!(language_tag("pt-BR").is_ok());
        assert!(language_tag("e").is_err());
        assert!(language_tag("en_US").is_err());
        assert!(check_slug("a--b").is_ok());
        assert!(check_slug("-a").is_err());
    }
}
