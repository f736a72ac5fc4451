//! An article cut into passages: the text before its first `##` heading,
//! then each `##` section. A passage is what search ranks and what the bot
//! answers with, so each should stand alone.

use super::Article;
use crate::model::ids::ArticleId;

/// The most passages taken from one article, and characters from one.
pub const MAX_PASSAGES: usize = 60;
pub const MAX_PASSAGE_CHARS: usize = 4_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passage {
    pub article_id: ArticleId,
    /// 0 for the introduction, then 1, 2, … for the sections.
    pub index: usize,
    pub slug: String,
    pub title: String,
    pub collection: String,
    pub language: String,
    /// The section's heading; none for the introduction.
    pub heading: Option<String>,
    /// The section's Markdown, without its heading.
    pub text: String,
}

/// The article's passages, empty ones left out.
pub fn passages(article: &Article) -> Vec<Passage> {
    let f = &article.fields;
    let mut found = Vec::new();
    let mut heading: Option<String> = None;
    let mut text = String::new();
    let mut index = 0;
    let mut in_code = false;
    let mut flush = |heading: &Option<String>, text: &mut String, index: &mut usize| {
        let body = text.trim();
        if !body.is_empty() && found.len() < MAX_PASSAGES {
            found.push(Passage {
                article_id: article.id,
                index: *index,
                slug: f.slug.clone(),
                title: f.title.clone(),
                collection: f.collection.clone(),
                language: f.language.clone(),
                heading: heading.clone(),
                text: body.chars().take(MAX_PASSAGE_CHARS).collect(),
            });
        }
        *index += 1;
        text.clear();
    };
    for line in f.body.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        if !in_code && let Some(title) = line.strip_prefix("## ") {
            flush(&heading, &mut text, &mut index);
            heading = Some(title.trim().trim_end_matches('#').trim().to_owned());
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    flush(&heading, &mut text, &mut index);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::model::ids::WorkspaceId;
    use crate::model::knowledge::{ArticleFields, ArticleStatus};

    #[test]
    fn an_article_is_cut_at_its_second_level_headings() {
        let body = "Intro line.\n\n## First\nOne.\n\n```\n## not a heading\n```\n## Second ##\nTwo.\n## Empty\n";
        let fields =
            ArticleFields::new(None, "T", "C", "en", ArticleStatus::Published, body).unwrap();
        let article = Article {
            id: ArticleId::generate(),
            workspace_id: WorkspaceId::generate(),
            fields,
            author_id: None,
            revision: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        let found = passages(&article);
        let heads: Vec<_> = found.iter().map(|p| p.heading.as_deref()).collect();
        assert_eq!(heads, [None, Some("First"), Some("Second")]);
        assert!(found[1].text.contains("## not a heading"));
        assert_eq!(found[2].text, "Two.");
        assert_eq!(found[2].index, 2);
    }
}
