//! Contacts: their properties, tags, visits and tracked events.

use super::*;

/// Every column of `contacts`, for statements that must be literals.
macro_rules! contact_columns {
    () => {
        "id, workspace_id, user_id, email, email_verified, name, phone, props, unsubscribed_at, created_at,
         updated_at, first_seen_at, last_seen_at, sessions, country, city, browser, os, last_page, tags"
    };
}

pub(super) const CONTACT_COLUMNS: &str = contact_columns!();

pub(super) fn contact_from_row(row: &DbRow) -> Result<Contact, StoreError> {
    Ok(Contact {
        id: ContactId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        user_id: opt_text(row, "user_id")?,
        email: opt_text(row, "email")?.map(Email::from_stored),
        email_verified: row.try_get("email_verified").map_err(db_err)?,
        name: opt_text(row, "name")?,
        phone: opt_text(row, "phone")?,
        system: SystemProps {
            first_seen_at: opt_ts(row, "first_seen_at")?,
            last_seen_at: opt_ts(row, "last_seen_at")?,
            sessions: u32::try_from(row.try_get::<i64, _>("sessions").map_err(db_err)?)
                .map_err(data_err)?,
            country: opt_text(row, "country")?,
            city: opt_text(row, "city")?,
            browser: opt_text(row, "browser")?,
            os: opt_text(row, "os")?,
            last_page: opt_text(row, "last_page")?,
        },
        props: Contact::props_from_json(&json(row, "props")?),
        tags: row
            .try_get::<Json<Vec<String>>, _>("tags")
            .map_err(db_err)?
            .0,
        unsubscribed_at: opt_ts(row, "unsubscribed_at")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

/// The contact an upsert names: by `user_id`; else by email, if both the
/// upsert's email and the contact's are vouched for by the business (a
/// visitor's claimed email never finds anyone), among contacts without a
/// `user_id` when one was given (never re-keying another identified user).
pub(super) async fn find_upsert_target(
    conn: &mut Conn,
    upsert: &ContactUpsert,
) -> Result<Option<Contact>, StoreError> {
    let ws = upsert.workspace_id.as_uuid();
    if let Some(user_id) = &upsert.user_id {
        let row = sqlx::query(for_update!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE workspace_id = $1 AND user_id = $2"
        ))
        .bind(ws)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
        if let Some(row) = row {
            return contact_from_row(&row).map(Some);
        }
    }
    let Some(email) = upsert.email.as_ref().filter(|_| upsert.email_verified) else {
        return Ok(None);
    };
    let row = sqlx::query(for_update!(
        "SELECT ",
        contact_columns!(),
        " FROM contacts WHERE workspace_id = $1 AND email = $2 AND email_verified
         AND ($3 OR user_id IS NULL)
         ORDER BY updated_at DESC, id DESC LIMIT 1"
    ))
    .bind(ws)
    .bind(email.as_str())
    .bind(upsert.user_id.is_none())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref().map(contact_from_row).transpose()
}

/// Writes every field of a contact: an insert, or an update of its row.
pub(super) async fn save_contact(
    conn: &mut Conn,
    contact: &Contact,
    insert: bool,
) -> Result<bool, StoreError> {
    if insert {
        return Ok(contact_batch::insert_contacts(conn, [contact]).await? == 1);
    }
    let s = &contact.system;
    let done = sqlx::query(
        "UPDATE contacts SET user_id = $3, email = $4, name = $5, phone = $6, props = $7, updated_at = $8,
            first_seen_at = $9, last_seen_at = $10, sessions = $11, country = $12, city = $13,
            browser = $14, os = $15, last_page = $16, tags = $17, email_verified = $18
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(contact.workspace_id.as_uuid())
    .bind(contact.id.as_uuid())
    .bind(&contact.user_id)
    .bind(contact.email.as_ref().map(Email::as_str))
    .bind(&contact.name)
    .bind(&contact.phone)
    .bind(Json(contact.props_json()))
    .bind(ms(contact.updated_at))
    .bind(s.first_seen_at.map(ms))
    .bind(s.last_seen_at.map(ms))
    .bind(i64::from(s.sessions))
    .bind(&s.country)
    .bind(&s.city)
    .bind(&s.browser)
    .bind(&s.os)
    .bind(&s.last_page)
    .bind(Json(&contact.tags))
    .bind(contact.email_verified)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

/// The workspace's custom property types.
pub(super) async fn load_types<'e, E>(
    executor: E,
    workspace: WorkspaceId,
) -> Result<PropTypes, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, type FROM property_types WHERE workspace_id = $1")
            .bind(workspace.as_uuid())
            .fetch_all(executor)
            .await
            .map_err(db_err)?;
    rows.into_iter()
        .map(|(name, ty)| {
            PropType::parse(&ty)
                .map(|ty| (name, ty))
                .ok_or_else(|| StoreError::Other(format!("unknown property type {ty:?}").into()))
        })
        .collect()
}

/// Records the types `after` has and `before` had not. A concurrent write
/// that fixed another type first wins, and this one is refused.
pub(super) async fn save_new_types(
    conn: &mut Conn,
    workspace: WorkspaceId,
    before: &PropTypes,
    after: &PropTypes,
    now: Timestamp,
) -> Result<(), StoreError> {
    for (name, ty) in after.iter().filter(|(name, _)| !before.contains_key(*name)) {
        sqlx::query(
            "INSERT INTO property_types (workspace_id, name, type, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace_id, name) DO NOTHING",
        )
        .bind(workspace.as_uuid())
        .bind(name)
        .bind(ty.as_str())
        .bind(ms(now))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        let stored: String = sqlx::query_scalar(
            "SELECT type FROM property_types WHERE workspace_id = $1 AND name = $2",
        )
        .bind(workspace.as_uuid())
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
        if stored != ty.as_str() {
            return Err(ValidationError::field(
                format!("props.{name}"),
                format!("this property holds {stored} values"),
            )
            .into());
        }
    }
    Ok(())
}

pub(super) async fn locked_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
) -> Result<Contact, StoreError> {
    let row = sqlx::query(for_update!(
        "SELECT ",
        contact_columns!(),
        " FROM contacts WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    contact_from_row(&row)
}

/// Reads a contact for update, changes it, and writes it back.
pub(super) async fn change_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    change: impl FnOnce(&mut Contact),
) -> Result<Contact, StoreError> {
    let mut contact = locked_contact(conn, workspace, id).await?;
    change(&mut contact);
    save_contact(conn, &contact, false).await?;
    Ok(contact)
}

pub(super) async fn require_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
) -> Result<(), StoreError> {
    sqlx::query("SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2")
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)
        .map(drop)
}

/// How a summary row for an event name takes in more occurrences.
macro_rules! add_to_event_summary {
    () => {
        " ON CONFLICT (workspace_id, contact_id, name) DO UPDATE SET
             count = e.count + excluded.count,
             first_at = CASE WHEN excluded.first_at < e.first_at THEN excluded.first_at ELSE e.first_at END,
             last_at = CASE WHEN excluded.last_at > e.last_at THEN excluded.last_at ELSE e.last_at END"
    };
}

/// Adds `$4` occurrences between `$5` and `$6` to a contact's summary of an
/// event name.
pub(super) const ADD_EVENTS: &str = concat!(
    "INSERT INTO contact_events AS e (workspace_id, contact_id, name, count, first_at, last_at)
     VALUES ($1, $2, $3, $4, $5, $6)",
    add_to_event_summary!()
);

/// Adds contact `$2`'s event summaries to contact `$3`'s.
pub(super) const MOVE_EVENTS: &str = concat!(
    "INSERT INTO contact_events AS e (workspace_id, contact_id, name, count, first_at, last_at)
     SELECT workspace_id, $3, name, count, first_at, last_at FROM contact_events
     WHERE workspace_id = $1 AND contact_id = $2",
    add_to_event_summary!()
);

pub(super) async fn record_event(
    conn: &mut Conn,
    event: NewEvent,
) -> Result<ActivityEntry, StoreError> {
    require_contact(conn, event.workspace_id, event.contact_id).await?;
    sqlx::query(ADD_EVENTS)
        .bind(event.workspace_id.as_uuid())
        .bind(event.contact_id.as_uuid())
        .bind(&event.name)
        .bind(1_i64)
        .bind(ms(event.created_at))
        .bind(ms(event.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if let Some(page) = event.seen_on {
        contact_seen(
            conn,
            event.workspace_id,
            event.contact_id,
            event.created_at,
            page,
        )
        .await?;
    }
    let activity = Activity::Event {
        name: event.name,
        params: event.params,
    };
    let seq = log(
        conn,
        event.workspace_id,
        event.contact_id,
        None,
        &activity,
        event.created_at,
    )
    .await?;
    Ok(ActivityEntry {
        seq,
        workspace_id: event.workspace_id,
        contact_id: event.contact_id,
        conversation_id: None,
        activity,
        created_at: event.created_at,
    })
}

pub(super) async fn unsubscribe_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    at: Timestamp,
) -> Result<Contact, StoreError> {
    let row = sqlx::query(
        "UPDATE contacts SET unsubscribed_at = COALESCE(unsubscribed_at, $3)
         WHERE workspace_id = $1 AND id = $2
         RETURNING *",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(ms(at))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    contact_from_row(&row)
}

#[async_trait]
impl ContactStore for Backend {
    async fn update_contact(
        &self,
        id: ContactId,
        changes: ContactUpsert,
        now: Timestamp,
    ) -> Result<Contact, StoreError> {
        self.write(op!(update_contact, id, changes, now)).await
    }

    async fn contacts(
        &self,
        workspace: WorkspaceId,
        ids: &[ContactId],
    ) -> Result<Vec<Contact>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql =
            QueryBuilder::<Db>::new(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE "));
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        push_ids_of(&mut sql, &ids, workspace);
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(contact_from_row)
            .collect()
    }

    async fn upsert_contact(
        &self,
        upsert: ContactUpsert,
        new_id: ContactId,
        now: Timestamp,
    ) -> Result<(Contact, Option<i64>), StoreError> {
        self.write(op!(upsert_contact, upsert, new_id, now)).await
    }

    async fn upsert_contacts(
        &self,
        workspace: WorkspaceId,
        rows: Vec<(ContactUpsert, ContactId)>,
        now: Timestamp,
    ) -> Result<UpsertBatch, StoreError> {
        self.write(op!(contact_batch::upsert_contacts, workspace, rows, now))
            .await
    }

    async fn contact(&self, workspace: WorkspaceId, id: ContactId) -> Result<Contact, StoreError> {
        let sql =
            format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        contact_from_row(&row)
    }

    async fn record_event(&self, event: NewEvent) -> Result<ActivityEntry, StoreError> {
        self.write(op!(record_event, event)).await
    }

    async fn unsubscribe_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Contact, StoreError> {
        self.write(op!(unsubscribe_contact, workspace, contact, at))
            .await
    }

    async fn request_erasure(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        requested_by: Option<AgentId>,
        at: Timestamp,
    ) -> Result<Erasure, StoreError> {
        self.write(op!(
            super::erasures::request_erasure,
            workspace,
            contact,
            requested_by,
            at
        ))
        .await
    }

    async fn erase_contact(
        &self,
        workspace: WorkspaceId,
        erasure: ErasureId,
        at: Timestamp,
    ) -> Result<Erasure, StoreError> {
        self.write(op!(super::erasures::erase_contact, workspace, erasure, at))
            .await
    }

    async fn erasure(&self, workspace: WorkspaceId, id: ErasureId) -> Result<Erasure, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        super::erasures::read_erasure(&mut conn, workspace, id).await
    }

    async fn event_summaries(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Vec<EventSummary>, StoreError> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(concat!(
            "SELECT name, count, first_at, last_at FROM contact_events
                 WHERE workspace_id = $1 AND contact_id = $2 ORDER BY last_at DESC, ",
            bytewise!("name"),
            " LIMIT 500"
        ))
        .bind(workspace.as_uuid())
        .bind(contact.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(name, count, first_at, last_at)| EventSummary {
                name,
                count: u64::try_from(count).unwrap_or_default(),
                first_at: Timestamp::from_millis(first_at),
                last_at: Timestamp::from_millis(last_at),
            })
            .collect())
    }

    async fn tag_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        tag: &str,
        present: bool,
        at: Timestamp,
    ) -> Result<Contact, StoreError> {
        let tag = tag.to_owned();
        self.write(op!(tag_contact, workspace, contact, tag, present, at))
            .await
    }

    async fn contact_seen(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        at: Timestamp,
        page: Option<String>,
    ) -> Result<Contact, StoreError> {
        self.write(op!(contact_seen, workspace, contact, at, page))
            .await
            .map(|(contact, _)| contact)
    }
}
