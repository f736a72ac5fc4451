//! Widget visitors: a boot is one read of the browser's session and one
//! write (`VisitorStore::boot_visitor`), then a note to the bus.

use crate::model::ids::{ContactId, WorkspaceId};
use crate::model::visitor::{VisitorBoot, VisitorBooted, VisitorIdentity};
use crate::ports::store::StoreError;
use crate::services::Deps;

/// Boots a visitor of `workspace`: finds the contact the browser's session
/// (`session`, a hash) was issued for, if it still works and is of this
/// workspace, then writes the boot; `new_session` is the hash of the
/// session issued if the browser's does not stay.
pub async fn boot(
    deps: Deps<'_>,
    workspace: WorkspaceId,
    identity: VisitorIdentity,
    session: Option<[u8; 32]>,
    new_session: [u8; 32],
) -> Result<VisitorBooted, StoreError> {
    let now = deps.clock.now();
    let previous = match session {
        Some(hash) => match deps.store.widget_session(hash, now).await {
            Ok((session_ws, contact)) if session_ws == workspace => {
                match deps.store.contact(workspace, contact).await {
                    Ok(contact) => Some(contact),
                    Err(StoreError::NotFound) => None,
                    Err(other) => return Err(other),
                }
            }
            Ok(_) | Err(StoreError::NotFound) => None,
            Err(other) => return Err(other),
        },
        None => None,
    };
    let booted = deps
        .store
        .boot_visitor(VisitorBoot {
            workspace_id: workspace,
            identity,
            previous,
            session,
            new_session,
            new_contact_id: ContactId::generate(),
            now,
        })
        .await?;
    if let Some(&seq) = booted.seqs.iter().max() {
        deps.bus.publish(workspace, seq);
    }
    Ok(booted)
}
