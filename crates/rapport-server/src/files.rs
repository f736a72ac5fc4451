//! Attachments' bytes, behind `object_store`: on local disk under the data
//! directory (`attachments/<workspace>/<attachment>`). A file is written to
//! a temporary name and renamed into place by `object_store`; here it is
//! also flushed to disk before the upload is answered, so a 201 means the
//! bytes survive a crash.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rapport_core::model::ids::{AttachmentId, WorkspaceId};

#[derive(Clone, Debug)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
    /// The directory, for flushing what was written.
    local: Option<PathBuf>,
}

fn key(workspace: WorkspaceId, id: AttachmentId) -> Key {
    Key::from(format!("{workspace}/{id}"))
}

impl Files {
    /// Files under `dir` (created if missing).
    pub fn local(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        Ok(Files {
            store: Arc::new(LocalFileSystem::new_with_prefix(&dir)?),
            local: Some(dir),
        })
    }

    pub async fn put(
        &self,
        workspace: WorkspaceId,
        id: AttachmentId,
        bytes: Bytes,
    ) -> anyhow::Result<()> {
        self.store
            .put(&key(workspace, id), PutPayload::from(bytes))
            .await?;
        if let Some(dir) = &self.local {
            let folder = dir.join(workspace.to_string());
            let file = folder.join(id.to_string());
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::File::open(&file)?.sync_all()?;
                std::fs::File::open(&folder)?.sync_all()
            })
            .await??;
        }
        Ok(())
    }

    pub async fn get(&self, workspace: WorkspaceId, id: AttachmentId) -> anyhow::Result<Bytes> {
        Ok(self.store.get(&key(workspace, id)).await?.bytes().await?)
    }

    /// Deletes a file; one already gone is not an error.
    pub async fn delete(&self, workspace: WorkspaceId, id: AttachmentId) -> anyhow::Result<()> {
        match self.store.delete(&key(workspace, id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

/// Deletes the files whose rows erasures and retention deleted (their
/// outbox, `AttachmentStore::deleted_attachments`), a hundred at a time
/// until none is left. A file that cannot be deleted now stays listed for
/// the next run.
pub async fn delete_dropped(
    state: &crate::AppState,
) -> Result<(), rapport_core::ports::store::StoreError> {
    loop {
        let dropped = state.store.deleted_attachments(100).await?;
        if dropped.is_empty() {
            return Ok(());
        }
        let mut done = Vec::new();
        for (workspace, id) in dropped.iter().copied() {
            match state.files.delete(workspace, id).await {
                Ok(()) => done.push((workspace, id)),
                Err(err) => {
                    tracing::warn!(%workspace, attachment = %id, error = %err, "an attachment's file could not be deleted yet")
                }
            }
        }
        state.store.forget_deleted_attachments(&done).await?;
        if done.len() < dropped.len() {
            return Ok(());
        }
    }
}
