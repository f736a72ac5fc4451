//! Knowledge-base search for Rapport: each workspace's published articles,
//! cut into passages, indexed in memory for BM25 ([`bm25`]) and, when the
//! embedding model is installed, as sentence vectors ([`embed`]); the two
//! rankings are fused ([`hybrid`]). An index is rebuilt when the
//! workspace's knowledge version moves on (any article written, on any
//! server sharing the database).

pub mod bm25;
pub mod embed;
mod hybrid;
pub mod sample;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::knowledge::{Article, Passage, passages};
use rapport_core::ports::knowledge::{Knowledge, RetrievalMode, SearchHit};
use rapport_core::ports::store::{Store, StoreError};

use crate::bm25::Bm25;
pub use crate::embed::{Embedder, MODEL_NAME};
pub use crate::hybrid::Mode;

/// The most workspaces whose index is held at once; beyond it, one is
/// dropped and rebuilt when next searched.
const MAX_CACHED: usize = 1_000;
/// The most passage vectors kept between rebuilds (each 1.5 KiB).
const MAX_CACHED_VECTORS: usize = 200_000;

/// Vectors already computed, by the text they were computed from: a
/// rebuild after one article changed embeds only that article's passages.
#[derive(Default)]
pub struct VectorCache(Mutex<HashMap<String, Arc<[f32]>>>);

impl VectorCache {
    fn get(&self, text: &str) -> Option<Arc<[f32]>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(text)
            .cloned()
    }

    fn put(&self, text: String, vector: Arc<[f32]>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CACHED_VECTORS {
            map.clear();
        }
        map.insert(text, vector);
    }
}

/// What a passage's vector is computed from.
fn embedded_text(p: &Passage) -> String {
    match &p.heading {
        Some(h) => format!("{}. {h}. {}", p.title, p.text),
        None => format!("{}. {}", p.title, p.text),
    }
}

/// One workspace's index, built at one knowledge version.
pub struct Built {
    pub version: i64,
    pub passages: Vec<Passage>,
    pub bm25: Bm25,
    /// One unit vector per passage, when the model is installed.
    vectors: Option<Vec<Arc<[f32]>>>,
    embedder: Option<Arc<Embedder>>,
}

impl Built {
    /// Cuts the articles into passages and indexes them; with a model,
    /// embeds every passage too (the slow part: milliseconds a passage).
    pub fn new(
        version: i64,
        articles: &[Article],
        embedder: Option<Arc<Embedder>>,
    ) -> Result<Self, StoreError> {
        Self::with_cache(version, articles, embedder, &VectorCache::default())
    }

    /// As [`Built::new`], taking the vectors of passages already embedded
    /// from `cache` (and keeping the new ones there).
    pub fn with_cache(
        version: i64,
        articles: &[Article],
        embedder: Option<Arc<Embedder>>,
        cache: &VectorCache,
    ) -> Result<Self, StoreError> {
        let mut built = Self::keywords(version, articles)?;
        if let Some(embedder) = embedder {
            built = built.with_vectors(embedder, cache)?;
        }
        Ok(built)
    }

    /// The BM25 index alone.
    fn keywords(version: i64, articles: &[Article]) -> Result<Self, StoreError> {
        let passages: Vec<Passage> = articles.iter().flat_map(passages).collect();
        let bm25 = Bm25::build(&passages).map_err(|e| StoreError::Other(Box::new(e)))?;
        Ok(Self {
            version,
            passages,
            bm25,
            vectors: None,
            embedder: None,
        })
    }

    /// The same index with every passage's vector.
    fn with_vectors(
        mut self,
        embedder: Arc<Embedder>,
        cache: &VectorCache,
    ) -> Result<Self, StoreError> {
        let texts: Vec<String> = self.passages.iter().map(embedded_text).collect();
        // Each distinct text once: the cache's, or computed now.
        let mut missing: Vec<&str> = texts
            .iter()
            .map(String::as_str)
            .filter(|t| cache.get(t).is_none())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let mut computed: HashMap<&str, Arc<[f32]>> = HashMap::with_capacity(missing.len());
        for batch in missing.chunks(64) {
            let vectors = embedder
                .embed(batch)
                .map_err(|e| StoreError::Other(Box::new(e)))?;
            for (text, vector) in batch.iter().zip(vectors) {
                let vector: Arc<[f32]> = vector.into();
                cache.put((*text).to_owned(), vector.clone());
                computed.insert(text, vector);
            }
        }
        let vectors = texts
            .iter()
            .map(|t| {
                computed
                    .get(t.as_str())
                    .cloned()
                    .or_else(|| cache.get(t))
                    .unwrap_or_else(|| Arc::from([]))
            })
            .collect();
        self.vectors = Some(vectors);
        self.embedder = Some(embedder);
        Ok(self)
    }

    /// How this index searches by default: hybrid once vectors are in.
    pub fn mode(&self) -> Mode {
        if self.vectors.is_some() {
            Mode::Hybrid
        } else {
            Mode::Keywords
        }
    }

    /// The best passages for `query`, the default way.
    pub fn search(&self, query: &str, languages: &[String], limit: usize) -> Vec<SearchHit> {
        self.search_with(self.mode(), query, languages, limit)
    }

    /// The best passages for `query`, searched as `mode` says (a mode
    /// that needs vectors falls back to keywords without them).
    pub fn search_with(
        &self,
        mode: Mode,
        query: &str,
        languages: &[String],
        limit: usize,
    ) -> Vec<SearchHit> {
        let found = match (&self.vectors, &self.embedder, mode) {
            (Some(vectors), Some(embedder), Mode::Embeddings | Mode::Hybrid) => {
                match embedder.embed(&[query]) {
                    Ok(mut q) => {
                        let q = q.pop().unwrap_or_default();
                        hybrid::search(self, vectors, &q, mode, query, languages, limit)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the query could not be embedded; searching by keywords");
                        hybrid::keywords(self, query, languages, limit)
                    }
                }
            }
            _ => hybrid::keywords(self, query, languages, limit),
        };
        found
            .into_iter()
            .map(|(i, confidence)| {
                let p = &self.passages[i];
                SearchHit {
                    article_id: p.article_id,
                    slug: p.slug.clone(),
                    title: p.title.clone(),
                    collection: p.collection.clone(),
                    language: p.language.clone(),
                    heading: p.heading.clone(),
                    text: p.text.clone(),
                    confidence,
                }
            })
            .collect()
    }
}

/// The indexes held, by workspace.
#[derive(Default)]
struct Indexes(Mutex<HashMap<WorkspaceId, Arc<Built>>>);

impl Indexes {
    fn at(&self, workspace: WorkspaceId, version: i64) -> Option<Arc<Built>> {
        let held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.get(&workspace)
            .filter(|b| b.version == version)
            .cloned()
    }

    fn keep(&self, workspace: WorkspaceId, built: Arc<Built>) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if held.len() >= MAX_CACHED
            && !held.contains_key(&workspace)
            && let Some(drop) = held.keys().next().copied()
        {
            held.remove(&drop);
        }
        // Never an older index over a newer one.
        if held
            .get(&workspace)
            .is_none_or(|b| b.version <= built.version)
        {
            held.insert(workspace, built);
        }
    }
}

/// The knowledge port on the store: indexes built on first search and
/// again whenever the workspace's knowledge version has moved. With a
/// model, a new index answers by keywords at once and by hybrid search
/// once its passages are embedded, in the background.
pub struct Library {
    store: Arc<dyn Store>,
    embedder: Option<Arc<Embedder>>,
    vectors: Arc<VectorCache>,
    indexes: Arc<Indexes>,
    /// Workspaces whose passages are being embedded.
    embedding: Arc<Mutex<std::collections::HashSet<WorkspaceId>>>,
    /// One build at a time: a burst of searches after a publish builds once.
    building: tokio::sync::Mutex<()>,
}

impl Library {
    pub fn new(store: Arc<dyn Store>, embedder: Option<Arc<Embedder>>) -> Self {
        Self {
            store,
            embedder,
            vectors: Arc::new(VectorCache::default()),
            indexes: Arc::new(Indexes::default()),
            embedding: Arc::new(Mutex::new(std::collections::HashSet::new())),
            building: tokio::sync::Mutex::new(()),
        }
    }

    /// The workspace's index at its current knowledge version.
    pub async fn index(&self, workspace: WorkspaceId) -> Result<Arc<Built>, StoreError> {
        let version = self.store.knowledge_version(workspace).await?;
        if let Some(built) = self.indexes.at(workspace, version) {
            return Ok(built);
        }
        let _one = self.building.lock().await;
        if let Some(built) = self.indexes.at(workspace, version) {
            return Ok(built);
        }
        // Read after the version: an article written in between makes the
        // index newer than its version says, and the next search rebuilds.
        let articles = self.store.published_articles(workspace).await?;
        let built = tokio::task::spawn_blocking(move || Built::keywords(version, &articles))
            .await
            .map_err(|e| StoreError::Other(Box::new(e)))??;
        let built = Arc::new(built);
        self.indexes.keep(workspace, built.clone());
        self.embed_later(workspace, version);
        Ok(built)
    }

    /// Embeds the passages of the workspace's index at `version` in the
    /// background, then puts that index in its place.
    fn embed_later(&self, workspace: WorkspaceId, version: i64) {
        let Some(embedder) = self.embedder.clone() else {
            return;
        };
        if !self
            .embedding
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(workspace)
        {
            return;
        }
        let store = self.store.clone();
        let vectors = self.vectors.clone();
        let indexes = self.indexes.clone();
        let embedding = self.embedding.clone();
        tokio::spawn(async move {
            let mut version = version;
            // Again if articles changed meanwhile (a few times at most: the
            // passages unchanged come from the cache).
            for _ in 0..3 {
                let built = async {
                    let articles = store.published_articles(workspace).await?;
                    let (embedder, vectors) = (embedder.clone(), vectors.clone());
                    tokio::task::spawn_blocking(move || {
                        Built::keywords(version, &articles)?.with_vectors(embedder, &vectors)
                    })
                    .await
                    .map_err(|e| StoreError::Other(Box::new(e)))?
                }
                .await;
                match built {
                    Ok(built) => indexes.keep(workspace, Arc::new(built)),
                    Err(e) => {
                        tracing::warn!(error = %e, "the knowledge base could not be embedded; it is searched by keywords");
                        break;
                    }
                }
                match store.knowledge_version(workspace).await {
                    Ok(now) if now != version => version = now,
                    _ => break,
                }
            }
            embedding
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&workspace);
        });
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
        if self.embedder.is_some() {
            RetrievalMode::Hybrid
        } else {
            RetrievalMode::Keywords
        }
    }
}
