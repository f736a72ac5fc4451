//! Bulk sends: one message to many contacts, resumable.

use super::*;

pub(super) async fn create_bulk_send(
    conn: &mut Conn,
    new: NewBulkSend,
) -> Result<BulkSend, StoreError> {
    sqlx::query(
        "INSERT INTO bulk_sends (id, workspace_id, created_by, from_agent_id, body, email_fallback, audience, status, total, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending', 0, $8)",
    )
    .bind(new.id.as_uuid())
    .bind(new.workspace_id.as_uuid())
    .bind(new.created_by.as_uuid())
    .bind(new.from_agent_id.as_uuid())
    .bind(&new.body)
    .bind(new.email_fallback)
    .bind(Json(&new.audience_json))
    .bind(ms(new.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    const INSERT: &str =
        "INSERT INTO bulk_send_recipients (bulk_send_id, workspace_id, contact_id) ";
    let inserted = match &new.audience {
        Audience::Filter { filter, online } => {
            let online: Vec<Uuid> = online.iter().map(|c| c.as_uuid()).collect();
            let (select, values) = sea_query::Query::select()
                .expr(sea_query::Expr::val(new.id.as_uuid()))
                .expr(sea_query::Expr::col(("contacts", "workspace_id")))
                .expr(sea_query::Expr::col(("contacts", "id")))
                .from("contacts")
                .and_where(compiler(new.workspace_id, &online).matching(filter))
                .build_sqlx(QUERY_BUILDER);
            // sea-query wrote the SELECT; every value in it is bound.
            sqlx::query_with(sqlx::AssertSqlSafe(format!("{INSERT}{select}")), values)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
        }
        Audience::Contacts(ids) => {
            let mut sql = QueryBuilder::<Db>::new(INSERT);
            sql.push("SELECT ")
                .push_bind(new.id.as_uuid())
                .push(", workspace_id, id FROM contacts WHERE ");
            let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
            push_ids_of(&mut sql, &ids, new.workspace_id);
            sql.build().execute(&mut *conn).await.map_err(db_err)?
        }
    };
    let total = inserted.rows_affected();
    if total == 0 {
        return Err(ValidationError::field("audience", "matches no contact").into());
    }
    sqlx::query("UPDATE bulk_sends SET total = $2 WHERE id = $1")
        .bind(new.id.as_uuid())
        .bind(i64::try_from(total).map_err(data_err)?)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    insert_job(conn, &new.job, new.created_at).await?;
    Ok(BulkSend {
        id: new.id,
        workspace_id: new.workspace_id,
        created_by: new.created_by,
        from_agent_id: new.from_agent_id,
        body: new.body,
        email_fallback: new.email_fallback,
        status: BulkStatus::Sending,
        total,
        sent: 0,
        failed: 0,
        pending: total,
        read: None,
        replied: None,
        created_at: new.created_at,
        finished_at: None,
    })
}

/// A bulk send with its counts (the `*_count` columns), by workspace `$1`.
/// Sent and failed recipients are counted by the transactions that mark
/// them, so a send in progress can be polled for one row's read; who read
/// or replied is counted once it ends.
macro_rules! bulk_send_select {
    () => {
        "SELECT b.id, b.workspace_id, b.created_by, b.from_agent_id, b.body, b.email_fallback,
        b.status, b.total, b.created_at, b.finished_at, b.sent_count, b.failed_count,
        CASE WHEN b.status = 'sending' THEN NULL ELSE
          (SELECT COUNT(*) FROM bulk_send_recipients r JOIN conversations c ON c.id = r.conversation_id
            WHERE r.bulk_send_id = b.id AND c.contact_read_at >= r.sent_at) END AS read_count,
        CASE WHEN b.status = 'sending' THEN NULL ELSE
          (SELECT COUNT(*) FROM bulk_send_recipients r
            WHERE r.bulk_send_id = b.id AND EXISTS (SELECT 1 FROM messages m
              WHERE m.conversation_id = r.conversation_id AND m.author_type = 'contact')) END AS replied_count
     FROM bulk_sends b WHERE b.workspace_id = $1"
    };
}

pub(super) fn bulk_send_from_row(row: &DbRow) -> Result<BulkSend, StoreError> {
    let count = |column: &str| -> Result<u64, StoreError> {
        u64::try_from(row.try_get::<i64, _>(column).map_err(db_err)?).map_err(data_err)
    };
    let total = count("total")?;
    let sent = count("sent_count")?;
    let failed = count("failed_count")?;
    let finished = |column: &str| -> Result<Option<u64>, StoreError> {
        row.try_get::<Option<i64>, _>(column)
            .map_err(db_err)?
            .map(|n| u64::try_from(n).map_err(data_err))
            .transpose()
    };
    Ok(BulkSend {
        id: BulkSendId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        created_by: AgentId::from_uuid(uuid(row, "created_by")?),
        from_agent_id: AgentId::from_uuid(uuid(row, "from_agent_id")?),
        body: text(row, "body")?,
        email_fallback: row.try_get("email_fallback").map_err(db_err)?,
        status: parsed(row, "status")?,
        total,
        sent,
        failed,
        pending: total.saturating_sub(sent + failed),
        read: finished("read_count")?,
        replied: finished("replied_count")?,
        created_at: ts(row, "created_at")?,
        finished_at: opt_ts(row, "finished_at")?,
    })
}

/// Moves a send that is still sending to `status`.
pub(super) async fn end_bulk_send(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: BulkSendId,
    status: BulkStatus,
    at: Timestamp,
) -> Result<(), StoreError> {
    let found: Option<String> = sqlx::query_scalar(for_update!(
        "SELECT status FROM bulk_sends WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match found.as_deref() {
        None => Err(StoreError::NotFound),
        Some("sending") => {
            sqlx::query("UPDATE bulk_sends SET status = $3, finished_at = $4 WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.as_uuid())
                .bind(id.as_uuid())
                .bind(status.as_str())
                .bind(ms(at))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            let event = rapport_core::model::webhook::NewEvent {
                event_type: rapport_core::model::webhook::EventType::BulkSendFinished,
                event_id: format!("bulk-{id}"),
                created_at: at,
                data: serde_json::json!({"bulk_send_id": id, "status": status.as_str()}),
            };
            super::webhooks::queue_event(conn, workspace, &event, at).await?;
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

/// Ends a send still sending, its pending recipients failed with `error`.
pub(super) async fn fail_bulk_send(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: BulkSendId,
    error: String,
    at: Timestamp,
) -> Result<(), StoreError> {
    // A send that was cancelled meanwhile keeps its pending recipients.
    let failed = sqlx::query(
        "UPDATE bulk_send_recipients SET error = $3
         WHERE workspace_id = $1 AND bulk_send_id = $2 AND message_id IS NULL AND error IS NULL
         AND EXISTS (SELECT 1 FROM bulk_sends WHERE id = $2 AND status = 'sending')",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?
    .rows_affected();
    count_failed(conn, id, failed).await?;
    end_bulk_send(conn, workspace, id, BulkStatus::Done, at).await
}

pub(super) async fn fail_bulk_recipient(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: BulkSendId,
    contact: ContactId,
    error: String,
) -> Result<(), StoreError> {
    // A recipient failed before is not counted twice.
    let failed = sqlx::query(
        "UPDATE bulk_send_recipients SET error = $4
         WHERE workspace_id = $1 AND bulk_send_id = $2 AND contact_id = $3
         AND message_id IS NULL AND error IS NULL",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(contact.as_uuid())
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?
    .rows_affected();
    count_failed(conn, id, failed).await
}

/// Adds `failed` to send `id`'s count of failed recipients.
async fn count_failed(conn: &mut Conn, id: BulkSendId, failed: u64) -> Result<(), StoreError> {
    if failed == 0 {
        return Ok(());
    }
    sqlx::query("UPDATE bulk_sends SET failed_count = failed_count + $2 WHERE id = $1")
        .bind(id.as_uuid())
        .bind(i64::try_from(failed).map_err(data_err)?)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl BulkSendStore for Backend {
    async fn create_bulk_send(&self, new: NewBulkSend) -> Result<BulkSend, StoreError> {
        self.write(op!(create_bulk_send, new)).await
    }

    async fn bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
    ) -> Result<BulkSend, StoreError> {
        let row = sqlx::query(concat!(bulk_send_select!(), " AND b.id = $2"))
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        bulk_send_from_row(&row)
    }

    async fn bulk_sends(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> Result<Vec<BulkSend>, StoreError> {
        sqlx::query(concat!(
            bulk_send_select!(),
            " ORDER BY b.created_at DESC, b.id DESC LIMIT $2"
        ))
        .bind(workspace.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(bulk_send_from_row)
        .collect()
    }

    async fn cancel_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        at: Timestamp,
    ) -> Result<BulkSend, StoreError> {
        self.write(op!(end_bulk_send, workspace, id, BulkStatus::Cancelled, at))
            .await?;
        self.bulk_send(workspace, id).await
    }

    async fn bulk_pending(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        limit: u32,
    ) -> Result<Vec<ContactId>, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT contact_id FROM bulk_send_recipients
             WHERE bulk_send_id = $1 AND workspace_id = $2 AND message_id IS NULL AND error IS NULL
             ORDER BY contact_id LIMIT $3",
        )
        .bind(id.as_uuid())
        .bind(workspace.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(ContactId::from_uuid).collect())
    }

    async fn fail_bulk_recipient(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        contact: ContactId,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(op!(fail_bulk_recipient, workspace, id, contact, error))
            .await
    }

    async fn finish_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(end_bulk_send, workspace, id, BulkStatus::Done, at))
            .await
    }

    async fn fail_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        error: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(op!(fail_bulk_send, workspace, id, error, at))
            .await
    }
}
