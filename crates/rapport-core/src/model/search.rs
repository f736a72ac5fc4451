//! Searching a workspace's conversations: what a query is, how it matches
//! words, and the excerpt that shows where it matched.
//!
//! The rules are the same on both databases: a query's words are its runs
//! of letters and digits, lowercased; a message matches when it holds every
//! word, the last one as a word's beginning (so a half-typed word already
//! finds); newest first. The store runs them with SQLite FTS5 or
//! PostgreSQL full-text search; the excerpt is cut here, from the text, so
//! both show the same words marked.

use serde::Serialize;

use crate::model::validation::ValidationError;

/// The longest query.
pub const MAX_QUERY_CHARS: usize = 200;
/// Words past this many are ignored: more narrow nothing in practice and
/// each costs an index look-up.
pub const MAX_WORDS: usize = 8;
/// The longest word: longer ones cannot be in the index either way.
const MAX_WORD_CHARS: usize = 64;
/// Characters of context kept before the first match.
const CONTEXT_BEFORE: usize = 40;
/// The longest excerpt, in characters.
const EXCERPT_CHARS: usize = 160;

/// A checked search query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// The whole query, trimmed and lowercased: contacts' names and emails
    /// contain it, a tag equals it.
    text: String,
    /// Its distinct words, in order, at most `MAX_WORDS`.
    words: Vec<String>,
}

/// A piece of an excerpt: the matched words are `hit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    pub text: String,
    pub hit: bool,
}

/// The runs of letters and digits in `text`, with their byte ranges.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

impl SearchQuery {
    /// `q` as typed: 1 to `MAX_QUERY_CHARS` characters once trimmed. A
    /// query without letters or digits has no words: only contacts and
    /// tags can match it.
    pub fn parse(q: &str) -> Result<Self, ValidationError> {
        let text = q.trim();
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(ValidationError::field(
                "q",
                format!("at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let mut found: Vec<String> = Vec::new();
        for (_, word) in words(text) {
            let word: String = word.to_lowercase().chars().take(MAX_WORD_CHARS).collect();
            if !found.contains(&word) {
                found.push(word);
            }
            if found.len() == MAX_WORDS {
                break;
            }
        }
        if text.is_empty() {
            return Err(ValidationError::field("q", "something to search for"));
        }
        Ok(SearchQuery {
            text: text.to_lowercase(),
            words: found,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Each word as `word(w)`, the last as `prefix(w)`, joined by `and`
    /// (empty without words).
    fn terms(&self, word: fn(&str) -> String, prefix: fn(&str) -> String, and: &str) -> String {
        let last = self.words.len().saturating_sub(1);
        let terms: Vec<String> = self
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == last { prefix(w) } else { word(w) })
            .collect();
        terms.join(and)
    }

    /// The query in FTS5's syntax, within the `body` column: every word
    /// quoted (they hold only letters and digits), the last as a prefix.
    pub fn fts5(&self) -> String {
        let terms = self.terms(|w| format!("\"{w}\""), |w| format!("\"{w}\"*"), " AND ");
        format!("body : ({terms})")
    }

    /// The query as a PostgreSQL `tsquery` (for `to_tsquery('simple', ..)`):
    /// every word, the last as a prefix.
    pub fn tsquery(&self) -> String {
        self.terms(|w| format!("'{w}'"), |w| format!("'{w}':*"), " & ")
    }

    /// Whether `word` (lowercased) is one the query looks for.
    fn matches(&self, word: &str) -> bool {
        let last = self.words.len().saturating_sub(1);
        self.words
            .iter()
            .enumerate()
            .any(|(i, w)| word == w || (i == last && word.starts_with(w.as_str())))
    }

    /// Up to `EXCERPT_CHARS` characters of `text` around its first matching
    /// word, split so the matching words are their own `hit` segments; `…`
    /// marks a cut. The start of the text when nothing matches.
    pub fn excerpt(&self, text: &str) -> Vec<Segment> {
        let hits: Vec<(usize, usize)> = words(text)
            .filter(|(_, w)| self.matches(&w.to_lowercase()))
            .map(|(at, w)| (at, at + w.len()))
            .collect();
        let first = hits.first().map_or(0, |(at, _)| *at);
        // Back up to CONTEXT_BEFORE characters, then to a word's start.
        let mut start = text[..first]
            .char_indices()
            .rev()
            .nth(CONTEXT_BEFORE.saturating_sub(1))
            .map_or(0, |(i, _)| i);
        if start > 0 {
            start = text[start..first]
                .char_indices()
                .find(|(_, c)| c.is_whitespace())
                .map_or(start, |(i, c)| start + i + c.len_utf8());
        }
        let end = text[start..]
            .char_indices()
            .nth(EXCERPT_CHARS)
            .map_or(text.len(), |(i, _)| start + i);
        let mut segments = Vec::new();
        let mut push = |piece: &str, hit: bool| {
            if !piece.is_empty() {
                segments.push(Segment {
                    text: piece.to_owned(),
                    hit,
                });
            }
        };
        let mut at = start;
        if start > 0 {
            push("…", false);
        }
        for (from, to) in hits {
            if from < at || to > end {
                continue;
            }
            push(&text[at..from], false);
            push(&text[from..to], true);
            at = to;
        }
        push(&text[at..end], false);
        if end < text.len() {
            push("…", false);
        }
        segments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| {
                if s.hit {
                    format!("[{}]", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn a_query_is_its_words_lowercased_and_the_last_is_a_prefix() {
        let q = SearchQuery::parse("  Refund, ORDER #1234 ref ").unwrap();
        assert_eq!(q.words(), ["refund", "order", "1234", "ref"]);
        assert_eq!(q.text(), "refund, order #1234 ref");
        assert_eq!(
            q.fts5(),
            "body : (\"refund\" AND \"order\" AND \"1234\" AND \"ref\"*)"
        );
        assert_eq!(q.tsquery(), "'refund' & 'order' & '1234' & 'ref':*");
        // Repeats count once; past MAX_WORDS words are ignored.
        let many = SearchQuery::parse("a a b c d e f g h i j").unwrap();
        assert_eq!(many.words().len(), MAX_WORDS);
        assert_eq!(many.words()[..2], ["a", "b"]);
    }

    #[test]
    fn a_blank_or_too_long_query_is_refused_naming_q() {
        for bad in ["", "   ", &"x".repeat(MAX_QUERY_CHARS + 1)] {
            let err = SearchQuery::parse(bad).unwrap_err();
            assert_eq!(err.0[0].field, "q", "{bad:?}");
        }
        // No words: only a contact or a tag can match it.
        let q = SearchQuery::parse(" %_'\"*() ").unwrap();
        assert!(q.words().is_empty());
        assert_eq!(q.text(), "%_'\"*()");
        // Quotes and operators never reach the index's syntax.
        let q = SearchQuery::parse("\"x\" OR y*").unwrap();
        assert_eq!(q.fts5(), "body : (\"x\" AND \"or\" AND \"y\"*)");
    }

    #[test]
    fn the_excerpt_marks_whole_words_and_the_last_as_a_prefix() {
        let q = SearchQuery::parse("refund ord").unwrap();
        let got = q.excerpt("Hi! I want a Refund for order 12 (refunds? reorder)");
        assert_eq!(
            marked(&got),
            "Hi! I want a [Refund] for [order] 12 (refunds? reorder)"
        );
        // Unicode letters are words too; case folds.
        let q = SearchQuery::parse("ÉCOLE").unwrap();
        assert_eq!(marked(&q.excerpt("à l'école")), "à l'[école]");
    }

    #[test]
    fn a_long_text_is_cut_around_the_first_match() {
        let text = format!(
            "{} needle {}",
            "lorem ipsum ".repeat(30),
            "dolor ".repeat(60)
        );
        let got = q_excerpt("needle", &text);
        assert!(got.starts_with("…"), "{got}");
        assert!(got.ends_with("…"), "{got}");
        assert!(got.contains("[needle]"));
        let chars = got.chars().count();
        assert!(chars <= EXCERPT_CHARS + 4, "{chars}");
        // The cut before it falls on a word's start.
        assert!(
            got.starts_with("…lorem") || got.starts_with("…ipsum"),
            "{got}"
        );
        // No match: the text's start.
        assert_eq!(q_excerpt("zzz", "short text"), "short text");
        // The cut may fall on a space of several bytes.
        for space in ['\u{a0}', '\u{202f}', '\u{3000}'] {
            let text = format!("{}{space}{} needle", "x".repeat(30), "y".repeat(30));
            assert!(q_excerpt("needle", &text).contains("[needle]"));
        }
    }

    fn q_excerpt(q: &str, text: &str) -> String {
        marked(&SearchQuery::parse(q).unwrap().excerpt(text))
    }
}
