//! Searching the knowledge base: implemented by `rapport-kb` (BM25, and
//! sentence embeddings when a model is installed).

use async_trait::async_trait;
use serde::Serialize;

use crate::model::ids::{ArticleId, WorkspaceId};
use crate::ports::store::StoreError;

/// One passage found, best first.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub article_id: ArticleId,
    pub slug: String,
    pub title: String,
    pub collection: String,
    pub language: String,
    /// The section's heading; none for the article's introduction.
    pub heading: Option<String>,
    /// The passage's Markdown.
    pub text: String,
    /// How sure the search is that the passage answers the query, from 0
    /// to 1 (what the bot's threshold is compared with).
    pub confidence: f64,
}

/// How the knowledge base is searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RetrievalMode {
    /// BM25 over title and text, with stemming: no model installed.
    Keywords,
    /// BM25 and sentence embeddings, ranks fused.
    Hybrid,
}

#[async_trait]
pub trait Knowledge: Send + Sync {
    /// Published passages for `query`, best first, at most `limit`, only
    /// in `languages` (all when empty).
    async fn search(
        &self,
        workspace: WorkspaceId,
        query: &str,
        languages: &[String],
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError>;

    fn mode(&self) -> RetrievalMode;
}
