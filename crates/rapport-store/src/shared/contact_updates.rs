//! Writes that change a contact's properties, tags or visits, each with
//! the log entry that says what changed: `contact_updated` (the properties
//! and tags, by whom or by which automation) and the `$session_start` event
//! of a visit that starts a session. Triggers read these entries, so the
//! API, the Inbox, the widget and automations all change contacts here.

use super::*;

/// What changed between two states of a contact, as a `contact_updated`
/// entry says it (`None` when nothing a trigger reads changed): the
/// properties whose value changed (the identity fields, system properties
/// and custom ones, by name) and the tags added and removed.
pub(super) fn contact_update(
    before: &Contact,
    after: &Contact,
    cause: Option<Cause>,
) -> Option<Activity> {
    let mut properties: Vec<String> = Vec::new();
    let (b, a) = (&before.system, &after.system);
    let fields = [
        ("user_id", before.user_id != after.user_id),
        ("email", before.email != after.email),
        ("name", before.name != after.name),
        ("phone", before.phone != after.phone),
        ("first_seen_at", b.first_seen_at != a.first_seen_at),
        ("last_seen_at", b.last_seen_at != a.last_seen_at),
        ("sessions", b.sessions != a.sessions),
        ("country", b.country != a.country),
        ("city", b.city != a.city),
        ("browser", b.browser != a.browser),
        ("os", b.os != a.os),
        ("last_page", b.last_page != a.last_page),
    ];
    properties.extend(
        fields
            .iter()
            .filter(|(_, changed)| *changed)
            .map(|(name, _)| (*name).to_owned()),
    );
    let names: std::collections::BTreeSet<&String> =
        before.props.keys().chain(after.props.keys()).collect();
    properties.extend(
        names
            .into_iter()
            .filter(|name| before.props.get(*name) != after.props.get(*name))
            .cloned(),
    );
    let tags_added: Vec<String> = after
        .tags
        .iter()
        .filter(|t| !before.tags.contains(t))
        .cloned()
        .collect();
    let tags_removed: Vec<String> = before
        .tags
        .iter()
        .filter(|t| !after.tags.contains(t))
        .cloned()
        .collect();
    if properties.is_empty() && tags_added.is_empty() && tags_removed.is_empty() {
        return None;
    }
    Some(Activity::ContactUpdated {
        properties,
        tags_added,
        tags_removed,
        cause,
    })
}

/// Writes a changed contact and, if anything a trigger reads changed, its
/// `contact_updated` entry; returns that entry's position.
async fn save_changed(
    conn: &mut Conn,
    before: &Contact,
    after: &Contact,
    cause: Option<Cause>,
    at: Timestamp,
) -> Result<Option<i64>, StoreError> {
    save_contact(conn, after, false).await?;
    match contact_update(before, after, cause) {
        Some(entry) => {
            let seq = log(conn, after.workspace_id, after.id, None, &entry, at).await?;
            Ok(Some(seq))
        }
        None => Ok(None),
    }
}

/// A contact read for update with changes applied, and any property types
/// they fix for the first time recorded.
async fn applied(
    conn: &mut Conn,
    contact: &Contact,
    changes: &ContactUpsert,
    now: Timestamp,
) -> Result<Contact, StoreError> {
    let before = load_types(&mut *conn, contact.workspace_id).await?;
    let mut types = before.clone();
    let mut after = contact.clone();
    after.apply(changes, &mut types, now)?;
    save_new_types(conn, contact.workspace_id, &before, &types, now).await?;
    Ok(after)
}

/// Applies changes to a contact read for update, writes it, and logs what
/// changed (`contact_updated`, with `cause` when an automation made it);
/// returns the contact and that entry's position.
pub(super) async fn apply_and_save(
    conn: &mut Conn,
    contact: Contact,
    changes: &ContactUpsert,
    cause: Option<Cause>,
    now: Timestamp,
) -> Result<(Contact, Option<i64>), StoreError> {
    let after = applied(conn, &contact, changes, now).await?;
    let seq = save_changed(conn, &contact, &after, cause, now).await?;
    Ok((after, seq))
}

/// Applies changes to a contact read for update and writes it without a
/// `contact_updated` entry: for the first properties of a contact just
/// created, whose `contact_created` entry stands for them.
pub(super) async fn apply_quietly(
    conn: &mut Conn,
    contact: Contact,
    changes: &ContactUpsert,
    now: Timestamp,
) -> Result<Contact, StoreError> {
    let after = applied(conn, &contact, changes, now).await?;
    save_contact(conn, &after, false).await?;
    Ok(after)
}

/// Applies `changes` to the contact with this id and logs what changed;
/// returns the contact and the position of its `contact_updated` entry.
pub(super) async fn update_contact_by_id(
    conn: &mut Conn,
    id: ContactId,
    changes: ContactUpsert,
    cause: Option<Cause>,
    now: Timestamp,
) -> Result<(Contact, Option<i64>), StoreError> {
    let contact = locked_contact(conn, changes.workspace_id, id).await?;
    apply_and_save(conn, contact, &changes, cause, now).await
}

/// `ContactStore::update_contact`: a change by a person (the API, the
/// Inbox or the widget).
pub(super) async fn update_contact(
    conn: &mut Conn,
    id: ContactId,
    changes: ContactUpsert,
    now: Timestamp,
) -> Result<Contact, StoreError> {
    Ok(update_contact_by_id(conn, id, changes, None, now).await?.0)
}

/// Creates or updates the contact an upsert names; returns it, the
/// position of its `contact_created` entry if it was created, and that of
/// its `contact_updated` entry if an existing one changed.
pub(super) async fn upsert_logged(
    conn: &mut Conn,
    upsert: ContactUpsert,
    new_id: ContactId,
    now: Timestamp,
) -> Result<(Contact, Option<i64>, Option<i64>), StoreError> {
    // Two attempts: a concurrent upsert may create the same user_id between
    // our look-up and our insert, in which case the second look-up finds it.
    for _ in 0..2 {
        if let Some(contact) = find_upsert_target(conn, &upsert).await? {
            let (contact, updated) = apply_and_save(conn, contact, &upsert, None, now).await?;
            return Ok((contact, None, updated));
        }
        let before = load_types(&mut *conn, upsert.workspace_id).await?;
        let mut types = before.clone();
        let contact = Contact::from_upsert(new_id, &upsert, &mut types, now)?;
        save_new_types(conn, upsert.workspace_id, &before, &types, now).await?;
        if save_contact(conn, &contact, true).await? {
            let seq = log(
                conn,
                contact.workspace_id,
                contact.id,
                None,
                &Activity::ContactCreated,
                now,
            )
            .await?;
            return Ok((contact, Some(seq), None));
        }
    }
    Err(StoreError::Conflict("contacts_user_id".into()))
}

/// `ContactStore::upsert_contact`.
pub(super) async fn upsert_contact(
    conn: &mut Conn,
    upsert: ContactUpsert,
    new_id: ContactId,
    now: Timestamp,
) -> Result<(Contact, Option<i64>), StoreError> {
    let (contact, created, _) = upsert_logged(conn, upsert, new_id, now).await?;
    Ok((contact, created))
}

/// Adds (`present`) or removes a tag and, if that changed the contact,
/// logs it (`contact_updated`, with `cause` when an automation did it);
/// returns the contact and that entry's position.
pub(super) async fn tag_contact_logged(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    tag: String,
    present: bool,
    cause: Option<Cause>,
    at: Timestamp,
) -> Result<(Contact, Option<i64>), StoreError> {
    let before = locked_contact(conn, workspace, id).await?;
    let mut after = before.clone();
    if present {
        after.add_tag(&tag);
    } else {
        after.remove_tag(&tag);
    }
    after.updated_at = at;
    let seq = save_changed(conn, &before, &after, cause, at).await?;
    Ok((after, seq))
}

/// `ContactStore::tag_contact`: a tag changed by a person.
pub(super) async fn tag_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    tag: String,
    present: bool,
    at: Timestamp,
) -> Result<Contact, StoreError> {
    Ok(
        tag_contact_logged(conn, workspace, id, tag, present, None, at)
            .await?
            .0,
    )
}

/// Records a visit (last seen, sessions, the page). A visit that starts a
/// new session logs a `$session_start` event; returns the contact and that
/// entry's position.
pub(super) async fn contact_seen(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    at: Timestamp,
    page: Option<String>,
) -> Result<(Contact, Option<i64>), StoreError> {
    let mut contact = locked_contact(conn, workspace, id).await?;
    let sessions = contact.system.sessions;
    contact.system.seen(at, page.as_deref());
    save_contact(conn, &contact, false).await?;
    if contact.system.sessions == sessions {
        return Ok((contact, None));
    }
    let started = Activity::Event {
        name: SESSION_START.to_owned(),
        params: serde_json::json!({}),
    };
    let seq = log(conn, workspace, id, None, &started, at).await?;
    Ok((contact, Some(seq)))
}
