//! The labelled sample in `samples/knowledge-base`: articles as files, and
//! questions with the article that answers them (or none). The tests and
//! `rapport-bench kb-eval` read it.

use std::path::{Path, PathBuf};

use rapport_core::Timestamp;
use rapport_core::model::ids::{ArticleId, WorkspaceId};
use rapport_core::model::knowledge::{Article, ArticleFields, ArticleStatus, parse_file};

/// The sample's folder in this repository.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/knowledge-base")
}

/// One labelled question.
#[derive(Clone, Debug)]
pub struct Question {
    pub text: String,
    /// The slug of the article that answers it; none when nothing does.
    pub article: Option<String>,
    /// `keyword`, `paraphrase`, `typo`, `german`, `unanswerable` or `human`.
    pub kind: String,
}

/// An article as stored, from its fields.
pub fn article(fields: ArticleFields) -> Article {
    Article {
        id: ArticleId::generate(),
        workspace_id: WorkspaceId::generate(),
        fields,
        author_id: None,
        revision: 1,
        created_at: Timestamp::from_millis(0),
        updated_at: Timestamp::from_millis(0),
    }
}

/// The published articles of `dir/articles`.
pub fn published(dir: &Path) -> Result<Vec<Article>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("articles"))
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    let mut articles = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        let file = parse_file(&name, &text).map_err(|e| format!("{name}: {e:?}"))?;
        if file.fields.status == ArticleStatus::Published {
            articles.push(article(file.fields));
        }
    }
    Ok(articles)
}

/// `dir/questions.jsonl`.
pub fn questions(dir: &Path) -> Result<Vec<Question>, String> {
    let text = std::fs::read_to_string(dir.join("questions.jsonl")).map_err(|e| e.to_string())?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            Ok(Question {
                text: v["question"]
                    .as_str()
                    .ok_or("a question without text")?
                    .to_owned(),
                article: v["article"].as_str().map(str::to_owned),
                kind: v["kind"]
                    .as_str()
                    .ok_or("a question without a kind")?
                    .to_owned(),
            })
        })
        .collect()
}
