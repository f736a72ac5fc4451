//! Attachments' bytes, behind `object_store`: on local disk under the data
//! directory (`attachments/<workspace>/<attachment>`), or in an
//! S3-compatible bucket (`attachment_s3_bucket`) under the same keys. On
//! disk, a file is written to a temporary name and renamed into place by
//! `object_store`, and here also flushed to disk before the upload is
//! answered; in a bucket, a PUT that succeeded is stored. Either way a 201
//! means the bytes survive a crash.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rapport_core::model::attachment::{AttachmentRef, clean_name, sniff};
use rapport_core::model::conversation::Author;
use rapport_core::model::ids::{AttachmentId, WorkspaceId};
use rapport_core::model::workspace::Workspace;
use rapport_core::ports::store::StoreError;

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
    /// The store the configuration names: its S3 bucket, or else
    /// `data_dir/attachments`.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let Some(bucket) = &config.attachment_s3_bucket else {
            return Files::local(&config.data_dir.join("attachments"));
        };
        let mut s3 = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &config.attachment_s3_endpoint {
            s3 = s3
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &config.attachment_s3_region {
            s3 = s3.with_region(region);
        }
        if let Some(key) = &config.attachment_s3_access_key_id {
            s3 = s3.with_access_key_id(key);
        }
        if let Some(secret) = &config.attachment_s3_secret_access_key {
            s3 = s3.with_secret_access_key(secret.expose());
        }
        Ok(Files {
            store: Arc::new(s3.build()?),
            local: None,
        })
    }

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

/// Why an uploaded file was not kept.
#[derive(Debug)]
pub enum NotKept {
    /// Not taken (its kind, its size, an image's pixels, or too many of
    /// the uploader's files unsent): the fault of the `file`.
    Refused(String),
    Failed(StoreError),
}

impl From<StoreError> for NotKept {
    fn from(err: StoreError) -> Self {
        NotKept::Failed(err)
    }
}

/// Keeps a file for `uploader`, unsent, if `workspace` takes it: sniffs
/// what it is, writes its bytes, then records it (a row never names bytes
/// that are not there). Uploads and emailed replies' files come here.
pub async fn keep(
    state: &crate::AppState,
    workspace: &Workspace,
    uploader: Author,
    name: &str,
    bytes: Bytes,
) -> Result<AttachmentRef, NotKept> {
    let limit = workspace.attachments.limit(state.attachment_max_bytes);
    if bytes.len() as u64 > limit {
        return Err(NotKept::Refused(format!("larger than {limit} bytes")));
    }
    let sniffed = sniff(&bytes).map_err(|refused| NotKept::Refused(refused.to_string()))?;
    workspace
        .attachments
        .takes(&sniffed)
        .map_err(NotKept::Refused)?;
    let reference = AttachmentRef {
        id: AttachmentId::generate(),
        name: clean_name(name),
        content_type: sniffed.content_type.to_owned(),
        size: bytes.len() as u64,
        width: sniffed.width,
        height: sniffed.height,
    };
    state
        .files
        .put(workspace.id, reference.id, bytes)
        .await
        .map_err(|err| NotKept::Failed(StoreError::Other(err.into())))?;
    state
        .store
        .add_attachment(workspace.id, uploader, reference.clone(), state.clock.now())
        .await
        .map_err(|err| match err {
            StoreError::Conflict(reason) => NotKept::Refused(reason),
            other => NotKept::Failed(other),
        })?;
    Ok(reference)
}

/// Deletes the files whose rows erasures and retention deleted (their
/// outbox, `AttachmentStore::deleted_attachments`), a hundred at a time
/// until none is left. A file that cannot be deleted now stays listed for
/// the next run.
pub async fn delete_dropped(state: &crate::AppState) -> Result<(), StoreError> {
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
