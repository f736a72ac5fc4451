//! The files a message names by `attachment_ids`.

use rapport_core::model::attachment::{AttachmentRef, MAX_PER_MESSAGE};
use rapport_core::model::conversation::Author;
use rapport_core::model::ids::{AttachmentId, WorkspaceId};
use rapport_core::ports::store::StoreError;

use crate::AppState;
use crate::error::ApiError;

/// The unsent attachments a message names, as its sender uploaded them:
/// at most `MAX_PER_MESSAGE`, each the sender's own (`attachment_ids`).
pub async fn unsent(
    state: &AppState,
    workspace: WorkspaceId,
    uploader: Author,
    ids: &[AttachmentId],
) -> Result<Vec<AttachmentRef>, ApiError> {
    if ids.len() > MAX_PER_MESSAGE {
        return Err(ApiError::field(
            "attachment_ids",
            format!("at most {MAX_PER_MESSAGE} files on a message"),
        ));
    }
    state
        .store
        .unsent_attachments(workspace, uploader, ids)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => ApiError::field(
                "attachment_ids",
                "names a file that is not yours to send, or was sent already",
            ),
            other => other.into(),
        })
}
