//! Contact changes and tracked events: each one write, logged on the
//! contact's timeline and announced on the bus.

use crate::activity::ActivityEntry;
use crate::contact::{Contact, ContactUpsert};
use crate::ids::ContactId;
use crate::messaging::Deps;
use crate::store::{NewEvent, StoreError};

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

/// Records an event on a contact's timeline.
pub async fn track_event(deps: Deps<'_>, event: NewEvent) -> Result<ActivityEntry, StoreError> {
    let entry = deps.store.record_event(event).await?;
    deps.bus.publish(entry.workspace_id, entry.seq);
    Ok(entry)
}
