//! The embedding model, loaded once at start when configured.

use std::path::Path;
use std::sync::Arc;

use rapport_kb::Embedder;

/// The model in `dir`, or none (with the reason logged): the product works
/// without it, searching by keywords alone.
pub fn load_model(dir: Option<&Path>) -> Option<Arc<Embedder>> {
    let dir = dir?;
    match Embedder::load(dir) {
        Ok(model) => {
            tracing::info!(model = rapport_kb::MODEL_NAME, dir = %dir.display(), "the knowledge base is searched by keywords and meaning");
            Some(Arc::new(model))
        }
        Err(err) => {
            tracing::error!(dir = %dir.display(), error = %err, "the embedding model could not be loaded; the knowledge base is searched by keywords alone");
            None
        }
    }
}
