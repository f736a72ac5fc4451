//! Files attached to messages: their rows (the bytes are the server's file
//! store's), and the outbox of files whose rows erasures and retention
//! deleted.

use super::*;
use rapport_core::model::attachment::AttachmentRef;
use rapport_core::model::ids::{AttachmentId, JobId};
use rapport_core::model::job::{Job, NewJob};
use rapport_core::ports::store::UNSENT_KEPT_MS;

const ATTACHMENT_COLUMNS: &str = "id, workspace_id, uploader_type, uploader_id, name, content_type, size, width, height, conversation_id, created_at";

fn dimension(row: &DbRow, column: &str) -> Result<Option<u32>, StoreError> {
    row.try_get::<Option<i64>, _>(column)
        .map_err(db_err)?
        .map(|n| u32::try_from(n).map_err(data_err))
        .transpose()
}

fn reference(row: &DbRow) -> Result<AttachmentRef, StoreError> {
    Ok(AttachmentRef {
        id: AttachmentId::from_uuid(uuid(row, "id")?),
        name: text(row, "name")?,
        content_type: text(row, "content_type")?,
        size: u64::try_from(row.try_get::<i64, _>("size").map_err(db_err)?).map_err(data_err)?,
        width: dimension(row, "width")?,
        height: dimension(row, "height")?,
    })
}

fn uploader_parts(uploader: Author) -> Result<(&'static str, Uuid), StoreError> {
    match uploader {
        Author::Agent(id) => Ok(("agent", id.as_uuid())),
        Author::Contact(id) => Ok(("contact", id.as_uuid())),
        Author::Bot => Err(StoreError::Other("a bot uploads nothing".into())),
    }
}

async fn add(
    conn: &mut Conn,
    workspace: WorkspaceId,
    uploader: Author,
    file: AttachmentRef,
    at: Timestamp,
) -> Result<(), StoreError> {
    let (kind, id) = uploader_parts(uploader)?;
    lock_workspace(conn, workspace).await?;
    let unsent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM attachments
         WHERE workspace_id = $1 AND uploader_id = $2 AND message_id IS NULL",
    )
    .bind(workspace.as_uuid())
    .bind(id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    if u64::try_from(unsent).unwrap_or(0) >= MAX_UNSENT_ATTACHMENTS {
        return Err(StoreError::Conflict(format!(
            "at most {MAX_UNSENT_ATTACHMENTS} files wait to be sent: send or drop some first"
        )));
    }
    sqlx::query(
        "INSERT INTO attachments (id, workspace_id, uploader_type, uploader_id, name, content_type, size, width, height, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(file.id.as_uuid())
    .bind(workspace.as_uuid())
    .bind(kind)
    .bind(id)
    .bind(&file.name)
    .bind(&file.content_type)
    .bind(i64::try_from(file.size).map_err(data_err)?)
    .bind(file.width.map(i64::from))
    .bind(file.height.map(i64::from))
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    super::jobs::insert_job(
        conn,
        &NewJob {
            id: JobId::generate(),
            request_id: rapport_core::request_id::current(),
            workspace_id: workspace,
            job: Job::SweepUploads {
                workspace_id: workspace,
            },
            due_at: Timestamp::from_millis(at.as_millis() + UNSENT_KEPT_MS),
        },
        at,
    )
    .await
}

async fn drop_unsent(
    conn: &mut Conn,
    workspace: WorkspaceId,
    before: Timestamp,
    limit: u32,
) -> Result<(u32, Option<Timestamp>), StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM attachments
         WHERE workspace_id = $1 AND message_id IS NULL AND created_at < $2
         ORDER BY created_at LIMIT $3",
    )
    .bind(workspace.as_uuid())
    .bind(ms(before))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for statement in [
        "INSERT INTO attachment_deletions (workspace_id, attachment_id)
         SELECT workspace_id, id FROM attachments WHERE workspace_id = ",
        "DELETE FROM attachments WHERE workspace_id = ",
    ] {
        if ids.is_empty() {
            break;
        }
        let mut sql = QueryBuilder::<Db>::new(statement);
        sql.push_bind(workspace.as_uuid())
            .push(" AND message_id IS NULL AND id IN (");
        let mut list = sql.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        sql.push(")");
        if statement.starts_with("INSERT") {
            sql.push(" ON CONFLICT DO NOTHING");
        }
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(created_at) FROM attachments WHERE workspace_id = $1 AND message_id IS NULL",
    )
    .bind(workspace.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok((
        u32::try_from(ids.len()).map_err(data_err)?,
        oldest.map(Timestamp::from_millis),
    ))
}

/// Moves the attachments of these conversations, and those the contacts
/// uploaded and never sent, to the deletion outbox, then deletes their
/// rows (erasures and retention call this before deleting messages).
pub(super) async fn delete_attachments(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversations: &[Uuid],
    contacts: &[Uuid],
) -> Result<(), StoreError> {
    for (column, ids) in [
        ("conversation_id", conversations),
        ("uploader_id", contacts),
    ] {
        for chunk in ids.chunks(500) {
            for statement in [
                "INSERT INTO attachment_deletions (workspace_id, attachment_id)
                 SELECT workspace_id, id FROM attachments WHERE workspace_id = ",
                "DELETE FROM attachments WHERE workspace_id = ",
            ] {
                let mut sql = QueryBuilder::<Db>::new(statement);
                sql.push_bind(workspace.as_uuid())
                    .push(format!(" AND {column} IN ("));
                let mut list = sql.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                sql.push(")");
                if statement.starts_with("INSERT") {
                    sql.push(" ON CONFLICT DO NOTHING");
                }
                sql.build().execute(&mut *conn).await.map_err(db_err)?;
            }
        }
    }
    Ok(())
}

#[async_trait]
impl AttachmentStore for Backend {
    async fn add_attachment(
        &self,
        workspace: WorkspaceId,
        uploader: Author,
        reference: AttachmentRef,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(add, workspace, uploader, reference, at))
            .await
    }

    async fn attachment(
        &self,
        workspace: WorkspaceId,
        id: AttachmentId,
    ) -> Result<StoredAttachment, StoreError> {
        let sql = format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE workspace_id = $1 AND id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        let uploader_id = uuid(&row, "uploader_id")?;
        let uploader = match text(&row, "uploader_type")?.as_str() {
            "agent" => Author::Agent(AgentId::from_uuid(uploader_id)),
            _ => Author::Contact(ContactId::from_uuid(uploader_id)),
        };
        Ok(StoredAttachment {
            reference: reference(&row)?,
            workspace_id: workspace,
            uploader,
            conversation_id: opt_uuid(&row, "conversation_id")?.map(ConversationId::from_uuid),
            created_at: ts(&row, "created_at")?,
        })
    }

    async fn unsent_attachments(
        &self,
        workspace: WorkspaceId,
        uploader: Author,
        ids: &[AttachmentId],
    ) -> Result<Vec<AttachmentRef>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (kind, uploader) = uploader_parts(uploader)?;
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE message_id IS NULL AND workspace_id = "
        ));
        sql.push_bind(workspace.as_uuid())
            .push(" AND uploader_type = ")
            .push_bind(kind)
            .push(" AND uploader_id = ")
            .push_bind(uploader)
            .push(" AND id IN (");
        let mut list = sql.separated(", ");
        for id in ids {
            list.push_bind(id.as_uuid());
        }
        sql.push(")");
        let found: Vec<AttachmentRef> = sql
            .build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(reference)
            .collect::<Result<_, _>>()?;
        ids.iter()
            .map(|id| {
                found
                    .iter()
                    .find(|f| f.id == *id)
                    .cloned()
                    .ok_or(StoreError::NotFound)
            })
            .collect()
    }

    async fn drop_unsent_attachments(
        &self,
        workspace: WorkspaceId,
        before: Timestamp,
        limit: u32,
    ) -> Result<(u32, Option<Timestamp>), StoreError> {
        self.write(op!(drop_unsent, workspace, before, limit)).await
    }

    async fn deleted_attachments(
        &self,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, AttachmentId)>, StoreError> {
        sqlx::query("SELECT workspace_id, attachment_id FROM attachment_deletions LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok((
                    WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
                    AttachmentId::from_uuid(uuid(row, "attachment_id")?),
                ))
            })
            .collect()
    }

    async fn forget_deleted_attachments(
        &self,
        done: &[(WorkspaceId, AttachmentId)],
    ) -> Result<(), StoreError> {
        let done = done.to_vec();
        self.write(op!(forget, done)).await
    }
}

async fn forget(conn: &mut Conn, done: Vec<(WorkspaceId, AttachmentId)>) -> Result<(), StoreError> {
    for (workspace, id) in done {
        sqlx::query(
            "DELETE FROM attachment_deletions WHERE workspace_id = $1 AND attachment_id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}
