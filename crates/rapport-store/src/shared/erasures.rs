//! Erasing a contact (GDPR article 17): the request (a record and its job,
//! in one transaction) and the erasure itself (every row about the
//! contact, in one transaction, then the record completed).

use super::*;
use rapport_core::model::erasure::Removed;
use rapport_core::model::job::{Job, NewJob};

/// `SELECT <an erasure's columns> FROM contact_erasures <rest>`.
macro_rules! select_erasure {
    ($rest:literal) => {
        concat!(
            "SELECT id, workspace_id, contact_id, requested_by, requested_at, done_at, removed
             FROM contact_erasures ",
            $rest
        )
    };
}

/// The contact's timeline, whose count the record keeps.
const ENTRIES: &str = "DELETE FROM activity WHERE workspace_id = $1 AND contact_id = $2";

/// Ids deleted per statement, at most.
const IDS_PER_STATEMENT: usize = 500;

fn erasure_from_row(row: &DbRow) -> Result<Erasure, StoreError> {
    let removed: Option<Json<Removed>> = row.try_get("removed").map_err(db_err)?;
    Ok(Erasure {
        id: ErasureId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        contact_id: ContactId::from_uuid(uuid(row, "contact_id")?),
        requested_by: opt_uuid(row, "requested_by")?.map(AgentId::from_uuid),
        requested_at: ts(row, "requested_at")?,
        done_at: opt_ts(row, "done_at")?,
        removed: removed.map(|Json(removed)| removed),
    })
}

pub(super) async fn read_erasure(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ErasureId,
) -> Result<Erasure, StoreError> {
    one_row(
        conn,
        select_erasure!("WHERE workspace_id = $1 AND id = $2"),
        workspace,
        id.as_uuid(),
        erasure_from_row,
    )
    .await
}

pub(super) async fn request_erasure(
    conn: &mut Conn,
    workspace: WorkspaceId,
    contact: ContactId,
    requested_by: Option<AgentId>,
    at: Timestamp,
) -> Result<Erasure, StoreError> {
    let exists: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.as_uuid())
            .bind(contact.as_uuid())
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
    if exists == 0 {
        return Err(StoreError::NotFound);
    }
    if let Some(row) = sqlx::query(select_erasure!(
        "WHERE workspace_id = $1 AND contact_id = $2 AND done_at IS NULL"
    ))
    .bind(workspace.as_uuid())
    .bind(contact.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    {
        // Waiting: its job is queued again if it failed for good (a failed
        // job frees its key), and left as it is if it still waits.
        let erasure = erasure_from_row(&row)?;
        queue_erasure(conn, &erasure, at).await?;
        return Ok(erasure);
    }
    let erasure = Erasure {
        id: ErasureId::generate(),
        workspace_id: workspace,
        contact_id: contact,
        requested_by,
        requested_at: at,
        done_at: None,
        removed: None,
    };
    sqlx::query(
        "INSERT INTO contact_erasures (id, workspace_id, contact_id, requested_by, requested_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(erasure.id.as_uuid())
    .bind(workspace.as_uuid())
    .bind(contact.as_uuid())
    .bind(requested_by.map(|agent| agent.as_uuid()))
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    queue_erasure(conn, &erasure, at).await?;
    Ok(erasure)
}

/// Enqueues the erasure's job, unless one is already waiting.
async fn queue_erasure(
    conn: &mut Conn,
    erasure: &Erasure,
    at: Timestamp,
) -> Result<(), StoreError> {
    super::jobs::insert_job(
        conn,
        &NewJob {
            id: JobId::generate(),
            request_id: rapport_core::request_id::current(),
            workspace_id: erasure.workspace_id,
            job: Job::EraseContact {
                erasure_id: erasure.id,
            },
            due_at: at,
        },
        at,
    )
    .await
}

/// The ids `sql` selects (one uuid column), binding the workspace and the
/// contact.
async fn ids_of(
    conn: &mut Conn,
    sql: &'static str,
    workspace: WorkspaceId,
    contact: ContactId,
) -> Result<Vec<Uuid>, StoreError> {
    sqlx::query_scalar(sql)
        .bind(workspace.as_uuid())
        .bind(contact.as_uuid())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

/// Runs `DELETE FROM <table> WHERE workspace_id = $w AND <column> IN (ids)`
/// a chunk at a time; the rows deleted.
async fn delete_in(
    conn: &mut Conn,
    table: &'static str,
    column: &'static str,
    workspace: WorkspaceId,
    ids: &[Uuid],
) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let mut sql = QueryBuilder::<Db>::new(format!("DELETE FROM {table} WHERE workspace_id = "));
        sql.push_bind(workspace.as_uuid())
            .push(format!(" AND {column} IN ("));
        let mut list = sql.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        sql.push(")");
        deleted += sql
            .build()
            .execute(&mut *conn)
            .await
            .map_err(db_err)?
            .rows_affected();
    }
    Ok(deleted)
}

/// Deletes the jobs keyed by these ids, or by one of them and more after a
/// colon (a webhook step's delivery, a bot's settle).
async fn delete_jobs_about(
    conn: &mut Conn,
    workspace: WorkspaceId,
    ids: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let mut sql = QueryBuilder::<Db>::new("DELETE FROM jobs WHERE workspace_id = ");
        sql.push_bind(workspace.as_uuid()).push(" AND (");
        let mut any = sql.separated(" OR ");
        for id in chunk {
            let key = id.to_string();
            any.push("dedupe_key = ")
                .push_bind_unseparated(key.clone())
                .push_unseparated(" OR dedupe_key LIKE ")
                .push_bind_unseparated(format!("{key}:%"));
        }
        sql.push(")");
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

/// Deletes these conversations (and `messages`, theirs) with the jobs
/// about them, what refers to their messages, and their timeline entries;
/// the messages and entries deleted.
async fn delete_conversations(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversations: &[Uuid],
    messages: &[Uuid],
) -> Result<(u64, u64), StoreError> {
    // The jobs about them first (email and bot jobs are keyed by these
    // ids), then what refers to messages and conversations.
    delete_jobs_about(conn, workspace, conversations).await?;
    delete_jobs_about(conn, workspace, messages).await?;
    delete_in(conn, "inbound_emails", "message_id", workspace, messages).await?;
    super::attachments::delete_attachments(conn, workspace, conversations, &[]).await?;
    for table in [
        "bot_answers",
        "conversation_ratings",
        "conversation_tags",
        "conversation_stats",
    ] {
        delete_in(conn, table, "conversation_id", workspace, conversations).await?;
    }
    for chunk in conversations.chunks(IDS_PER_STATEMENT) {
        // bot_conversations has no workspace column of its own.
        let mut sql =
            QueryBuilder::<Db>::new("DELETE FROM bot_conversations WHERE conversation_id IN (");
        let mut list = sql.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        sql.push(")");
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    let messages = delete_in(
        conn,
        "messages",
        "conversation_id",
        workspace,
        conversations,
    )
    .await?;
    let entries = delete_in(
        conn,
        "activity",
        "conversation_id",
        workspace,
        conversations,
    )
    .await?;
    delete_in(conn, "conversations", "id", workspace, conversations).await?;
    Ok((messages, entries))
}

/// Retention: up to `limit` closed conversations last changed before
/// `before`, deleted; how many, and whether more are left.
pub(super) async fn delete_closed_conversations(
    conn: &mut Conn,
    workspace: WorkspaceId,
    before: Timestamp,
    limit: u32,
) -> Result<(u64, bool), StoreError> {
    // Locked until commit (on PostgreSQL), as no foreign key stands behind
    // a message's conversation (postgres 0031), and in id order, as a
    // message's write locks its conversations: a message being written to
    // one of them holds it, so this waits for its commit, then reads the
    // row again and leaves it if the message reopened or touched it (the
    // outer conditions); a message written later waits for this commit
    // and finds the conversation gone.
    let conversations: Vec<Uuid> = sqlx::query_scalar(for_delete!(
        "SELECT id FROM conversations
         WHERE workspace_id = $1 AND status = 'closed' AND updated_at < $2
         AND id IN (SELECT id FROM conversations
                    WHERE workspace_id = $1 AND status = 'closed' AND updated_at < $2
                    ORDER BY updated_at LIMIT $3)
         ORDER BY id"
    ))
    .bind(workspace.as_uuid())
    .bind(ms(before))
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let more = conversations.len() > limit as usize;
    let conversations = &conversations[..conversations.len().min(limit as usize)];
    let mut messages = Vec::new();
    for chunk in conversations.chunks(IDS_PER_STATEMENT) {
        let mut sql = QueryBuilder::<Db>::new("SELECT id FROM messages WHERE conversation_id IN (");
        let mut list = sql.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        sql.push(")");
        let ids: Vec<Uuid> = sql
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        messages.extend(ids);
    }
    delete_conversations(conn, workspace, conversations, &messages).await?;
    Ok((conversations.len() as u64, more))
}

pub(super) async fn erase_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ErasureId,
    at: Timestamp,
) -> Result<Erasure, StoreError> {
    let erasure = read_erasure(conn, workspace, id).await?;
    if erasure.done_at.is_some() {
        return Ok(erasure);
    }
    let contact = erasure.contact_id;
    // Writers about the contact (a visitor's page view, a message) wait
    // until the erasure commits, then find no contact: none adds a row
    // that would make the last delete fail.
    sqlx::query(for_delete!(
        "SELECT id FROM contacts WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(contact.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let conversations = ids_of(
        conn,
        "SELECT id FROM conversations WHERE workspace_id = $1 AND contact_id = $2",
        workspace,
        contact,
    )
    .await?;
    let messages = ids_of(
        conn,
        "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE c.workspace_id = $1 AND c.contact_id = $2",
        workspace,
        contact,
    )
    .await?;
    let runs = ids_of(
        conn,
        "SELECT id FROM automation_runs WHERE workspace_id = $1 AND contact_id = $2",
        workspace,
        contact,
    )
    .await?;
    delete_jobs_about(conn, workspace, &runs).await?;
    // What the contact uploaded and never sent goes with them.
    super::attachments::delete_attachments(conn, workspace, &[], &[contact.as_uuid()]).await?;
    let (message_count, conversation_entries) =
        delete_conversations(conn, workspace, &conversations, &messages).await?;
    // In this order: rows first, then what they refer to.
    let mut entries = 0;
    for sql in [
        "DELETE FROM automation_run_log WHERE workspace_id = $1 AND contact_id = $2",
        "DELETE FROM automation_runs WHERE workspace_id = $1 AND contact_id = $2",
        "DELETE FROM webhook_deliveries WHERE workspace_id = $1 AND contact_id = $2",
        ENTRIES,
        "DELETE FROM widget_sessions WHERE workspace_id = $1 AND contact_id = $2",
        "DELETE FROM contact_events WHERE workspace_id = $1 AND contact_id = $2",
        "DELETE FROM contact_props WHERE workspace_id = $1 AND contact_id = $2",
        "DELETE FROM contacts WHERE workspace_id = $1 AND id = $2",
    ] {
        let deleted = sqlx::query(sql)
            .bind(workspace.as_uuid())
            .bind(contact.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?
            .rows_affected();
        if sql == ENTRIES {
            entries = deleted;
        }
    }
    let removed = Removed {
        conversations: conversations.len() as u64,
        messages: message_count,
        timeline_entries: entries + conversation_entries,
        automation_runs: runs.len() as u64,
    };
    sqlx::query(
        "UPDATE contact_erasures SET done_at = $3, removed = $4 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(ms(at))
    .bind(Json(removed))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(Erasure {
        done_at: Some(at),
        removed: Some(removed),
        ..erasure
    })
}
