//! Contact changes and tracked events: each one write, logged on the
//! contact's timeline and announced on the bus.

use crate::model::activity::ActivityEntry;
use crate::model::activity::NewEvent;
use crate::model::contact::{Contact, ContactUpsert};
use crate::model::ids::ContactId;
use crate::ports::store::StoreError;
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

/// Records an event on a contact's timeline, in one write (a page view
/// also moves the contact's last seen time and last page).
pub async fn track_event(deps: Deps<'_>, event: NewEvent) -> Result<ActivityEntry, StoreError> {
    let entry = deps.store.record_event(event).await?;
    deps.bus.publish(entry.workspace_id, entry.seq);
    Ok(entry)
}
