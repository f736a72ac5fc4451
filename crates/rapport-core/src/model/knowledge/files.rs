//! Articles as Markdown files, for import and export: a header of
//! `key: value` lines between `---` lines (title, collection, language,
//! status), then the body. The slug is the file name without `.md`.

use super::{Article, ArticleFields, ArticleStatus};
use crate::model::validation::{ValidationError, Validator};

/// An article read from a file, before it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleFile {
    pub fields: ArticleFields,
}

/// Reads one file. `name` is the file name (its stem is the slug); errors
/// name the header key at fault, under `file`.
pub fn parse_file(name: &str, text: &str) -> Result<ArticleFile, ValidationError> {
    let stem = name.rsplit('/').next().unwrap_or(name);
    let stem = stem.strip_suffix(".md").unwrap_or(stem);
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n");
    let Some(rest) = text.strip_prefix("---\n") else {
        return Err(ValidationError::field(
            "file",
            format!("{name}: must start with a --- header (title, collection, language, status)"),
        ));
    };
    let Some(end) = rest
        .find("\n---\n")
        .or_else(|| rest.strip_suffix("\n---").map(str::len))
    else {
        return Err(ValidationError::field(
            "file",
            format!("{name}: the header has no closing ---"),
        ));
    };
    let (header, body) = (&rest[..end], rest.get(end + 5..).unwrap_or(""));
    let (mut title, mut collection, mut language, mut status) = (None, None, None, None);
    let mut v = Validator::default();
    for (i, line) in header.lines().enumerate().take(50) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            v.push(
                "file",
                format!("{name}: header line {} is not key: value", i + 1),
            );
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "title" => title = Some(value),
            "collection" => collection = Some(value),
            "language" => language = Some(value),
            "status" => status = Some(value),
            other => v.push("file", format!("{name}: unknown header key {other:?}")),
        }
    }
    let status = match status.as_deref() {
        None => ArticleStatus::Draft,
        Some(s) => ArticleStatus::parse(s).unwrap_or_else(|| {
            v.push("file", format!("{name}: status must be draft or published"));
            ArticleStatus::Draft
        }),
    };
    v.finish()?;
    let fields = ArticleFields::new(
        Some(stem),
        title.as_deref().unwrap_or_default(),
        collection.as_deref().unwrap_or("General"),
        language.as_deref().unwrap_or("en"),
        status,
        body,
    )
    .map_err(|e| {
        ValidationError(
            e.0.into_iter()
                .map(|mut f| {
                    f.message = format!("{name}: {}: {}", f.field, f.message);
                    f.field = "file".into();
                    f
                })
                .collect(),
        )
    })?;
    Ok(ArticleFile { fields })
}

/// The file an article exports to: its name and its text, which
/// [`parse_file`] reads back to the same fields.
pub fn render_file(article: &Article) -> (String, String) {
    let f = &article.fields;
    let text = format!(
        "---\ntitle: {}\ncollection: {}\nlanguage: {}\nstatus: {}\n---\n{}\n",
        f.title,
        f.collection,
        f.language,
        f.status.as_str(),
        f.body
    );
    (format!("{}.md", f.slug), text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::model::ids::{ArticleId, WorkspaceId};

    #[test]
    fn a_file_reads_back_from_its_export() {
        let text = "---\ntitle: Cancel a booking\ncollection: Bookings\nlanguage: en\nstatus: published\n---\nIntro.\n\n## From the app\nTap Cancel.";
        let file = parse_file("cancel-a-booking.md", text).unwrap();
        assert_eq!(file.fields.slug, "cancel-a-booking");
        assert_eq!(file.fields.status, ArticleStatus::Published);
        let article = Article {
            id: ArticleId::generate(),
            workspace_id: WorkspaceId::generate(),
            fields: file.fields.clone(),
            author_id: None,
            revision: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        let (name, out) = render_file(&article);
        assert_eq!(parse_file(&name, &out).unwrap(), file);
    }

    #[test]
    fn bad_files_say_which_file_and_why() {
        let no_header = parse_file("a.md", "just text").unwrap_err();
        assert!(no_header.0[0].message.contains("a.md"));
        let bad = parse_file("b.md", "---\ntitle: \nmood: happy\n---\nbody").unwrap_err();
        assert!(bad.0.iter().any(|e| e.message.contains("mood")), "{bad:?}");
        let bad = parse_file("c.md", "---\ntitle: x\n---\nbody").map(|f| f.fields.language);
        assert_eq!(bad.unwrap(), "en");
    }
}
