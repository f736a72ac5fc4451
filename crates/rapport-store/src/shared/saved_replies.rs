//! Saved replies: the workspace's and each member's own, a shortcut unique
//! in its scope (`saved_replies.scope`: `workspace`, or the owner's id).

use super::*;
use rapport_core::model::ids::SavedReplyId;
use rapport_core::model::saved_reply::{MAX_PER_SCOPE, SavedReply, SavedReplyFields};

/// `SELECT <a saved reply's columns> FROM saved_replies <rest>`.
macro_rules! select_reply {
    ($rest:literal) => {
        concat!(
            "SELECT id, workspace_id, owner_id, title, shortcut, body, created_at, updated_at
             FROM saved_replies ",
            $rest
        )
    };
}

const WORKSPACE_SCOPE: &str = "workspace";

fn scope_of(owner: Option<AgentId>) -> String {
    owner.map_or_else(|| WORKSPACE_SCOPE.to_owned(), |agent| agent.to_string())
}

fn reply_from_row(row: &DbRow) -> Result<SavedReply, StoreError> {
    Ok(SavedReply {
        id: SavedReplyId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        owner_id: opt_uuid(row, "owner_id")?.map(AgentId::from_uuid),
        title: text(row, "title")?,
        shortcut: text(row, "shortcut")?,
        body: text(row, "body")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

async fn read_reply(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: SavedReplyId,
) -> Result<SavedReply, StoreError> {
    one_row(
        conn,
        select_reply!("WHERE workspace_id = $1 AND id = $2"),
        workspace,
        id.as_uuid(),
        reply_from_row,
    )
    .await
}

/// `Conflict` when another reply of the scope has the shortcut.
async fn shortcut_free(
    conn: &mut Conn,
    workspace: WorkspaceId,
    scope: &str,
    shortcut: &str,
    except: SavedReplyId,
) -> Result<(), StoreError> {
    let taken: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM saved_replies
         WHERE workspace_id = $1 AND scope = $2 AND shortcut = $3 AND id <> $4",
    )
    .bind(workspace.as_uuid())
    .bind(scope)
    .bind(shortcut)
    .bind(except.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    if taken > 0 {
        return Err(StoreError::Conflict(format!(
            "another saved reply has the shortcut /{shortcut}"
        )));
    }
    Ok(())
}

async fn create_reply(conn: &mut Conn, reply: SavedReply) -> Result<SavedReply, StoreError> {
    lock_workspace(conn, reply.workspace_id).await?;
    let scope = scope_of(reply.owner_id);
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM saved_replies WHERE workspace_id = $1 AND scope = $2",
    )
    .bind(reply.workspace_id.as_uuid())
    .bind(&scope)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    if count >= MAX_PER_SCOPE as i64 {
        return Err(StoreError::Conflict(format!(
            "at most {MAX_PER_SCOPE} saved replies, the workspace's or one member's"
        )));
    }
    shortcut_free(conn, reply.workspace_id, &scope, &reply.shortcut, reply.id).await?;
    sqlx::query(
        "INSERT INTO saved_replies (id, workspace_id, scope, owner_id, title, shortcut, body,
           created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(reply.id.as_uuid())
    .bind(reply.workspace_id.as_uuid())
    .bind(&scope)
    .bind(reply.owner_id.map(|a| a.as_uuid()))
    .bind(&reply.title)
    .bind(&reply.shortcut)
    .bind(&reply.body)
    .bind(ms(reply.created_at))
    .bind(ms(reply.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    read_reply(conn, reply.workspace_id, reply.id).await
}

async fn update_reply(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: SavedReplyId,
    fields: SavedReplyFields,
    at: Timestamp,
) -> Result<SavedReply, StoreError> {
    lock_workspace(conn, workspace).await?;
    let before = read_reply(conn, workspace, id).await?;
    shortcut_free(
        conn,
        workspace,
        &scope_of(before.owner_id),
        &fields.shortcut,
        id,
    )
    .await?;
    sqlx::query(
        "UPDATE saved_replies SET title = $3, shortcut = $4, body = $5, updated_at = $6
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(&fields.title)
    .bind(&fields.shortcut)
    .bind(&fields.body)
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    read_reply(conn, workspace, id).await
}

async fn delete_reply(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: SavedReplyId,
) -> Result<(), StoreError> {
    let gone = sqlx::query("DELETE FROM saved_replies WHERE workspace_id = $1 AND id = $2")
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if gone.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[async_trait]
impl SavedReplyStore for Backend {
    async fn saved_replies(
        &self,
        workspace: WorkspaceId,
        agent: AgentId,
    ) -> Result<Vec<SavedReply>, StoreError> {
        sqlx::query(select_reply!(
            "WHERE workspace_id = $1 AND scope IN ($2, $3)
             ORDER BY shortcut, owner_id IS NOT NULL, id"
        ))
        .bind(workspace.as_uuid())
        .bind(WORKSPACE_SCOPE)
        .bind(agent.to_string())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(reply_from_row)
        .collect()
    }

    async fn saved_reply(
        &self,
        workspace: WorkspaceId,
        id: SavedReplyId,
    ) -> Result<SavedReply, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        read_reply(&mut conn, workspace, id).await
    }

    async fn create_saved_reply(&self, reply: SavedReply) -> Result<SavedReply, StoreError> {
        self.write(op!(create_reply, reply)).await
    }

    async fn update_saved_reply(
        &self,
        workspace: WorkspaceId,
        id: SavedReplyId,
        fields: SavedReplyFields,
        at: Timestamp,
    ) -> Result<SavedReply, StoreError> {
        self.write(op!(update_reply, workspace, id, fields, at))
            .await
    }

    async fn delete_saved_reply(
        &self,
        workspace: WorkspaceId,
        id: SavedReplyId,
    ) -> Result<(), StoreError> {
        self.write(op!(delete_reply, workspace, id)).await
    }
}
