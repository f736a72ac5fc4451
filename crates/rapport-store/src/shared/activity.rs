//! The activity log: the timeline and the live streams read it.

use super::*;

/// Orders this transaction's appends to the workspace's log after every
/// earlier committed one (see `LOG_LOCK`). Call right before appending, as
/// the last thing before commit, so the lock is held briefly.
pub(super) async fn lock_log(conn: &mut Conn, workspace: WorkspaceId) -> Result<(), StoreError> {
    if let Some(sql) = LOG_LOCK {
        sqlx::query(sql)
            .bind(workspace.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Appends one entry to the activity log; returns its position.
pub(super) async fn log(
    conn: &mut Conn,
    workspace: WorkspaceId,
    contact: ContactId,
    conversation: Option<ConversationId>,
    activity: &Activity,
    at: Timestamp,
) -> Result<i64, StoreError> {
    log_all(conn, workspace, contact, conversation, &[(activity, at)]).await
}

/// Appends several entries about one contact in one statement; returns the
/// position of the last.
pub(super) async fn log_all(
    conn: &mut Conn,
    workspace: WorkspaceId,
    contact: ContactId,
    conversation: Option<ConversationId>,
    entries: &[(impl std::borrow::Borrow<Activity>, Timestamp)],
) -> Result<i64, StoreError> {
    let rows: Vec<_> = entries
        .iter()
        .map(|(activity, at)| (contact, conversation, activity.borrow(), *at))
        .collect();
    log_rows(conn, workspace, &rows)
        .await?
        .into_iter()
        .map(|(_, seq)| seq)
        .max()
        .ok_or_else(|| StoreError::Other("no activity was logged".into()))
}

/// An activity entry to append: its contact, conversation, what, when.
pub(super) type LogRow<'a> = (ContactId, Option<ConversationId>, &'a Activity, Timestamp);

/// Appends entries (of any contacts of one workspace) in one statement,
/// taking the log lock first; returns each entry's conversation and
/// position, in no particular order.
pub(super) async fn log_rows(
    conn: &mut Conn,
    workspace: WorkspaceId,
    rows: &[LogRow<'_>],
) -> Result<Vec<(Option<Uuid>, i64)>, StoreError> {
    lock_log(conn, workspace).await?;
    append_log(conn, workspace, rows).await
}

/// [`log_rows`] for a transaction that holds the workspace's log lock
/// already.
pub(super) async fn append_log(
    conn: &mut Conn,
    workspace: WorkspaceId,
    rows: &[LogRow<'_>],
) -> Result<Vec<(Option<Uuid>, i64)>, StoreError> {
    let mut columns = LogColumns::with_capacity(rows.len());
    for (contact, conversation, activity, at) in rows {
        columns.contact.push(contact.as_uuid());
        columns.conversation.push(conversation.map(|c| c.as_uuid()));
        columns.kind.push(activity.kind());
        columns.data.push(Json(activity.data()));
        columns.created_at.push(ms(*at));
    }
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO activity (workspace_id, contact_id, conversation_id, kind, data, created_at) ",
    );
    Db::push_log_rows(&mut sql, workspace.as_uuid(), columns);
    sql.push(" RETURNING conversation_id, seq");
    sql.build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

pub(super) fn activity_from_row(row: &DbRow) -> Result<ActivityEntry, StoreError> {
    Ok(ActivityEntry {
        seq: row.try_get("seq").map_err(db_err)?,
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        contact_id: ContactId::from_uuid(uuid(row, "contact_id")?),
        conversation_id: opt_uuid(row, "conversation_id")?.map(ConversationId::from_uuid),
        activity: Activity::from_parts(&text(row, "kind")?, json(row, "data")?)
            .map_err(data_err)?,
        created_at: ts(row, "created_at")?,
    })
}

#[async_trait]
impl ActivityStore for Backend {
    async fn activity_head(&self, workspace: WorkspaceId) -> Result<i64, StoreError> {
        sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(MAX(seq), 0) FROM activity WHERE workspace_id = $1",
        )
        .bind(workspace.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)
    }

    async fn activity_after(
        &self,
        workspace: WorkspaceId,
        stream: Stream,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT seq, workspace_id, contact_id, conversation_id, kind, data, created_at FROM activity WHERE workspace_id = ",
        );
        sql.push_bind(workspace.as_uuid());
        sql.push(" AND seq > ").push_bind(after_seq);
        if let Stream::Contact(contact) = stream {
            sql.push(" AND contact_id = ").push_bind(contact.as_uuid());
        }
        sql.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(activity_from_row)
            .collect()
    }

    async fn timeline(&self, query: TimelineQuery) -> Result<Vec<ActivityEntry>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT seq, workspace_id, contact_id, conversation_id, kind, data, created_at FROM activity
             WHERE workspace_id = ",
        );
        sql.push_bind(query.workspace_id.as_uuid())
            .push(" AND contact_id = ")
            .push_bind(query.contact_id.as_uuid())
            .push(" AND seq < ")
            .push_bind(query.before_seq.unwrap_or(i64::MAX));
        if !query.kinds.is_empty() {
            sql.push(" AND kind IN (");
            let mut kinds = sql.separated(", ");
            for kind in &query.kinds {
                kinds.push_bind(kind.as_str());
            }
            sql.push(")");
        }
        sql.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(activity_from_row)
            .collect()
    }
}
