//! Widget visitors: leads and the sessions their browsers hold.

use super::*;

pub(super) async fn create_lead(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    now: Timestamp,
) -> Result<(Contact, i64), StoreError> {
    sqlx::query(
        "INSERT INTO contacts (id, workspace_id, props, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(id.as_uuid())
    .bind(workspace.as_uuid())
    .bind(Json(serde_json::json!({})))
    .bind(ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let seq = log(conn, workspace, id, None, &Activity::ContactCreated, now).await?;
    let contact = Contact::new(id, workspace, now);
    Ok((contact, seq))
}

pub(super) async fn create_widget_session(
    conn: &mut Conn,
    secret_hash: [u8; 32],
    workspace: WorkspaceId,
    contact: ContactId,
    now: Timestamp,
) -> Result<(), StoreError> {
    // The session is bound to the identity its contact has now.
    sqlx::query(
        "INSERT INTO widget_sessions (secret_hash, workspace_id, contact_id, created_at, last_used_at, user_id)
         SELECT $1, $2, $3, $4, $4, user_id FROM contacts WHERE workspace_id = $2 AND id = $3",
    )
    .bind(&secret_hash[..])
    .bind(workspace.as_uuid())
    .bind(contact.as_uuid())
    .bind(ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .and_then(|done| {
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    })
}

pub(super) async fn merge_lead(
    conn: &mut Conn,
    workspace: WorkspaceId,
    lead: ContactId,
    into: ContactId,
) -> Result<(), StoreError> {
    if lead == into {
        return Ok(());
    }
    // Only a lead (no user_id) merges, and only into a contact of the same
    // workspace.
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM contacts WHERE workspace_id = $1
         AND ((id = $2 AND user_id IS NULL) OR id = $3)",
    )
    .bind(workspace.as_uuid())
    .bind(lead.as_uuid())
    .bind(into.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    if found != 2 {
        return Err(StoreError::NotFound);
    }
    // The lead's visits, tags and events were the same person's.
    let lead_contact = locked_contact(conn, workspace, lead).await?;
    change_contact(conn, workspace, into, |target| {
        let (seen, theirs) = (&mut target.system, &lead_contact.system);
        seen.sessions = seen.sessions.saturating_add(theirs.sessions);
        seen.first_seen_at = match (seen.first_seen_at, theirs.first_seen_at) {
            (Some(ours), Some(lead)) => Some(ours.min(lead)),
            (ours, lead) => ours.or(lead),
        };
        if theirs.last_seen_at > seen.last_seen_at {
            seen.last_seen_at = theirs.last_seen_at;
            seen.last_page.clone_from(&theirs.last_page);
        }
        for tag in &lead_contact.tags {
            target.add_tag(tag);
        }
    })
    .await?;
    // The lead's sessions end (they were bound to no identity): the browser
    // that proved who it is gets a new one, bound to the user.
    sqlx::query("DELETE FROM widget_sessions WHERE workspace_id = $1 AND contact_id = $2")
        .bind(workspace.as_uuid())
        .bind(lead.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(MOVE_EVENTS)
        .bind(workspace.as_uuid())
        .bind(lead.as_uuid())
        .bind(into.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for sql in [
        "DELETE FROM contact_events WHERE workspace_id = $1 AND contact_id = $2",
        "UPDATE conversations SET contact_id = $3 WHERE workspace_id = $1 AND contact_id = $2",
        "UPDATE activity SET contact_id = $3 WHERE workspace_id = $1 AND contact_id = $2",
        "DELETE FROM contacts WHERE workspace_id = $1 AND id = $2",
    ] {
        sqlx::query(sql)
            .bind(workspace.as_uuid())
            .bind(lead.as_uuid())
            .bind(into.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

pub(super) async fn touch_widget_session(
    conn: &mut Conn,
    secret_hash: [u8; 32],
    now: Timestamp,
) -> Result<(), StoreError> {
    // At most once an hour per session: a boot per page view stays cheap.
    sqlx::query(
        "UPDATE widget_sessions SET last_used_at = $2 WHERE secret_hash = $1 AND last_used_at < $3",
    )
    .bind(&secret_hash[..])
    .bind(ms(now))
    .bind(ms(now) - 3_600_000)
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .map(drop)
}

pub(super) async fn delete_widget_session(
    conn: &mut Conn,
    secret_hash: [u8; 32],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM widget_sessions WHERE secret_hash = $1")
        .bind(&secret_hash[..])
        .execute(&mut *conn)
        .await
        .map_err(db_err)
        .map(drop)
}

/// A widget boot's write (see `VisitorStore::boot_visitor`).
pub(super) async fn boot_visitor(
    conn: &mut Conn,
    boot: VisitorBoot,
) -> Result<VisitorBooted, StoreError> {
    let ws = boot.workspace_id;
    let mut seqs = Vec::new();
    let (contact, kept_session) = match boot.identity {
        VisitorIdentity::Known { upsert, verified } => {
            adopt(
                conn,
                &boot.previous,
                upsert,
                verified,
                boot.new_contact_id,
                boot.now,
                &mut seqs,
            )
            .await?
        }
        VisitorIdentity::Anonymous { changes } => {
            match boot.previous.as_ref().filter(|c| c.user_id.is_none()) {
                // A returning lead; an identified user's session needs the
                // proof again.
                Some(lead) => {
                    let (lead, updated) =
                        update_contact_by_id(conn, lead.id, changes, None, boot.now).await?;
                    seqs.extend(updated);
                    (lead, true)
                }
                None => {
                    let (lead, seq) = create_lead(conn, ws, boot.new_contact_id, boot.now).await?;
                    seqs.push(seq);
                    let lead = if changes.is_empty() {
                        lead
                    } else {
                        // The lead's first properties are part of its
                        // creation, not a change to it.
                        let contact = locked_contact(conn, ws, lead.id).await?;
                        apply_quietly(conn, contact, &changes, boot.now).await?
                    };
                    (lead, false)
                }
            }
        }
    };
    let (contact, session_started) = contact_seen(conn, ws, contact.id, boot.now, None).await?;
    seqs.extend(session_started);
    let kept_session = match (kept_session, boot.session) {
        (true, Some(hash)) => {
            touch_widget_session(conn, hash, boot.now).await?;
            true
        }
        _ => {
            create_widget_session(conn, boot.new_session, ws, contact.id, boot.now).await?;
            false
        }
    };
    Ok(VisitorBooted {
        contact,
        kept_session,
        seqs,
    })
}

/// The user a boot names, created or updated, and what becomes of the lead
/// the browser was; whether the browser's session stays.
async fn adopt(
    conn: &mut Conn,
    previous: &Option<Contact>,
    upsert: ContactUpsert,
    verified: bool,
    new_id: ContactId,
    now: Timestamp,
    seqs: &mut Vec<i64>,
) -> Result<(Contact, bool), StoreError> {
    let (user, created, updated) = upsert_logged(conn, upsert, new_id, now).await?;
    seqs.extend(created);
    seqs.extend(updated);
    match adoption(previous.as_ref(), &user, verified) {
        Adoption::Keep => Ok((user, true)),
        Adoption::Merge(lead) => {
            merge_lead(conn, user.workspace_id, lead, user.id).await?;
            Ok((user, false))
        }
        Adoption::Fresh => Ok((user, false)),
    }
}

#[async_trait]
impl VisitorStore for Backend {
    async fn create_lead(
        &self,
        workspace: WorkspaceId,
        id: ContactId,
        now: Timestamp,
    ) -> Result<(Contact, i64), StoreError> {
        self.write(op!(create_lead, workspace, id, now)).await
    }

    async fn create_widget_session(
        &self,
        secret_hash: [u8; 32],
        workspace: WorkspaceId,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(
            create_widget_session,
            secret_hash,
            workspace,
            contact,
            now
        ))
        .await
    }

    async fn widget_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<(WorkspaceId, ContactId), StoreError> {
        // A session works only for the identity it was issued for, and not
        // after 90 days unused.
        let row = sqlx::query(
            "SELECT s.workspace_id, s.contact_id FROM widget_sessions s
             JOIN contacts c ON c.workspace_id = s.workspace_id AND c.id = s.contact_id
             WHERE s.secret_hash = $1 AND s.last_used_at > $2
               AND (c.user_id = s.user_id OR (c.user_id IS NULL AND s.user_id IS NULL))",
        )
        .bind(&secret_hash[..])
        .bind(ms(now) - WIDGET_SESSION_IDLE_MILLIS)
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        Ok((
            WorkspaceId::from_uuid(uuid(&row, "workspace_id")?),
            ContactId::from_uuid(uuid(&row, "contact_id")?),
        ))
    }

    async fn touch_widget_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(touch_widget_session, secret_hash, now))
            .await
    }

    async fn delete_widget_session(&self, secret_hash: [u8; 32]) -> Result<(), StoreError> {
        self.write(op!(delete_widget_session, secret_hash)).await
    }

    async fn merge_lead(
        &self,
        workspace: WorkspaceId,
        lead: ContactId,
        into: ContactId,
    ) -> Result<(), StoreError> {
        self.write(op!(merge_lead, workspace, lead, into)).await
    }

    async fn boot_visitor(&self, boot: VisitorBoot) -> Result<VisitorBooted, StoreError> {
        self.write(op!(boot_visitor, boot)).await
    }
}
