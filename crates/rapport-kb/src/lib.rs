//! Knowledge-base search for Rapport: each workspace's published articles,
//! cut into passages, indexed in memory for BM25 ([`bm25`]) and rebuilt
//! when the workspace's knowledge version moves on (any article written,
//! on any server sharing the database).

pub mod bm25;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::knowledge::{Article, Passage, passages};
use rapport_core::ports::knowledge::{Knowledge, RetrievalMode, SearchHit};
use rapport_core::ports::store::{Store, StoreError};

use crate::bm25::Bm25;

/// The most workspaces whose index is held at once; beyond it, one is
/// dropped and rebuilt when next searched.
const MAX_CACHED: usize = 1_000;

/// One workspace's index, built at one knowledge version.
pub struct Built {
    pub version: i64,
    pub passages: Vec<Passage>,
    pub bm25: Bm25,
}

impl Built {
    /// Cuts the articles into passages and indexes them.
    pub fn new(version: i64, articles: &[Article]) -> Result<Self, StoreError> {
        let passages: Vec<Passage> = articles.iter().flat_map(passages).collect();
        let bm25 = Bm25::build(&passages).map_err(|e| StoreError::Other(Box::new(e)))?;
        Ok(Self {
            version,
            passages,
            bm25,
        })
    }

    /// The best passages for `query`.
    pub fn search(&self, query: &str, languages: &[String], limit: usize) -> Vec<SearchHit> {
        self.bm25
            .search(query, languages, limit)
            .into_iter()
            .map(|found| {
                let p = &self.passages[found.passage];
                SearchHit {
                    article_id: p.article_id,
                    slug: p.slug.clone(),
                    title: p.title.clone(),
                    collection: p.collection.clone(),
                    language: p.language.clone(),
                    heading: p.heading.clone(),
                    text: p.text.clone(),
                    confidence: found.coverage,
                }
            })
            .collect()
    }
}

/// The knowledge port on the store: indexes built on first search and
/// again whenever the workspace's knowledge version has moved.
pub struct Library {
    store: Arc<dyn Store>,
    cache: Mutex<HashMap<WorkspaceId, Arc<Built>>>,
    /// One build at a time: a burst of searches after a publish builds once.
    building: tokio::sync::Mutex<()>,
}

impl Library {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Mutex::new(HashMap::new()),
            building: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self, workspace: WorkspaceId, version: i64) -> Option<Arc<Built>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(&workspace)
            .filter(|b| b.version == version)
            .cloned()
    }

    /// The workspace's index at its current knowledge version.
    pub async fn index(&self, workspace: WorkspaceId) -> Result<Arc<Built>, StoreError> {
        let version = self.store.knowledge_version(workspace).await?;
        if let Some(built) = self.cached(workspace, version) {
            return Ok(built);
        }
        let _one = self.building.lock().await;
        if let Some(built) = self.cached(workspace, version) {
            return Ok(built);
        }
        // Read after the version: an article written in between makes the
        // index newer than its version says, and the next search rebuilds.
        let articles = self.store.published_articles(workspace).await?;
        let built = tokio::task::spawn_blocking(move || Built::new(version, &articles))
            .await
            .map_err(|e| StoreError::Other(Box::new(e)))??;
        let built = Arc::new(built);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED
            && !cache.contains_key(&workspace)
            && let Some(drop) = cache.keys().next().copied()
        {
            cache.remove(&drop);
        }
        cache.insert(workspace, built.clone());
        Ok(built)
    }
}

#[async_trait]
impl Knowledge for Library {
    async fn search(
        &self,
        workspace: WorkspaceId,
        query: &str,
        languages: &[String],
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let built = self.index(workspace).await?;
        let query = query.to_owned();
        let languages = languages.to_vec();
        tokio::task::spawn_blocking(move || built.search(&query, &languages, limit))
            .await
            .map_err(|e| StoreError::Other(Box::new(e)))
    }

    fn mode(&self) -> RetrievalMode {
        RetrievalMode::Keywords
    }
}
