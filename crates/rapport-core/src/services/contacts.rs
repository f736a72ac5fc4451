//! Contact changes and tracked events: each one write, logged on the
//! contact's timeline and announced on the bus.

use crate::model::activity::ActivityEntry;
use crate::model::activity::NewEvent;
use crate::model::contact::{Contact, ContactUpsert};
use crate::model::ids::{ContactId, WorkspaceId};
use crate::ports::store::{MAX_UPSERT_BATCH, StoreError};
use crate::services::Deps;

/// Creates or updates the contact an upsert matches; `true` if created.
pub async fn upsert_contact(
    deps: Deps<'_>,
    upsert: ContactUpsert,
) -> Result<(Contact, bool), StoreError> {
    let (contact, created_seq) = deps
        .store
        .upsert_contact(upsert, ContactId::generate(), deps.clock.now())
        .await?;
    if let Some(seq) = created_seq {
        deps.bus.publish(contact.workspace_id, seq);
    }
    Ok((contact, created_seq.is_some()))
}

/// Creates or updates many contacts of one workspace, as
/// [`upsert_contact`] would one after the other: one write per
/// [`MAX_UPSERT_BATCH`] rows (the import's path). A batch the store cannot
/// write as one (on PostgreSQL, a concurrent write created a user id it was
/// creating) is run again one row at a time. Per row, in order: `true` if
/// it created a contact.
pub async fn upsert_contacts(
    deps: Deps<'_>,
    workspace: WorkspaceId,
    upserts: Vec<ContactUpsert>,
) -> Vec<Result<bool, StoreError>> {
    let mut out = Vec::with_capacity(upserts.len());
    let mut upserts = upserts.into_iter().peekable();
    while upserts.peek().is_some() {
        let batch: Vec<_> = upserts
            .by_ref()
            .take(MAX_UPSERT_BATCH)
            .map(|upsert| (upsert, ContactId::generate()))
            .collect();
        let written = deps
            .store
            .upsert_contacts(workspace, batch.clone(), deps.clock.now())
            .await;
        match written {
            Ok(written) => {
                if let Some(seq) = written.last_seq {
                    deps.bus.publish(workspace, seq);
                }
                out.extend(
                    written
                        .rows
                        .into_iter()
                        .map(|row| row.map_err(StoreError::Invalid)),
                );
            }
            Err(err) => {
                tracing::info!(error = %err, rows = batch.len(), "a batch of upserts is run one row at a time");
                for (upsert, _) in batch {
                    out.push(
                        upsert_contact(deps, upsert)
                            .await
                            .map(|(_, created)| created),
                    );
                }
            }
        }
    }
    out
}

/// Records an event on a contact's timeline, in one write (a page view
/// also moves the contact's last seen time and last page).
pub async fn track_event(deps: Deps<'_>, event: NewEvent) -> Result<ActivityEntry, StoreError> {
    let entry = deps.store.record_event(event).await?;
    deps.bus.publish(entry.workspace_id, entry.seq);
    Ok(entry)
}
