//! The email fallback: what waits for an email, how a job settles, and replies.

use super::*;

/// Sets the email state of the listed messages that are still pending.
pub(super) async fn mark_email_status(
    conn: &mut Conn,
    workspace: WorkspaceId,
    ids: &[MessageId],
    status: &str,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = QueryBuilder::<Db>::new("UPDATE messages SET email_status = ");
    sql.push_bind(status.to_owned())
        .push(" WHERE workspace_id = ")
        .push_bind(workspace.as_uuid())
        .push(" AND email_status = 'pending' AND id IN (");
    let mut list = sql.separated(", ");
    for id in ids {
        list.push_bind(id.as_uuid());
    }
    sql.push(")");
    sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

pub(super) async fn settle_emails(
    conn: &mut Conn,
    settlements: Vec<EmailSettlement>,
) -> Result<Vec<Result<Option<i64>, StoreError>>, StoreError> {
    // The log locks first (in one order, so concurrent batches cannot
    // deadlock): a message appended meanwhile either committed before (and
    // is seen pending below) or inserts its job after this commits.
    let mut workspaces: Vec<WorkspaceId> = settlements.iter().map(|s| s.workspace_id).collect();
    workspaces.sort();
    workspaces.dedup();
    for workspace in workspaces {
        lock_log(conn, workspace).await?;
    }
    let mut results = Vec::with_capacity(settlements.len());
    for settlement in settlements {
        match settle_email(conn, settlement).await {
            // A lost claim changes nothing; the others go on.
            Err(StoreError::Conflict(why)) => results.push(Err(StoreError::Conflict(why))),
            Err(other) => return Err(other),
            Ok(seq) => results.push(Ok(seq)),
        }
    }
    Ok(results)
}

/// One settlement, under its workspace's log lock (see `settle_emails`).
pub(super) async fn settle_email(
    conn: &mut Conn,
    s: EmailSettlement,
) -> Result<Option<i64>, StoreError> {
    check_claim(conn, &s.job).await?;
    mark_email_status(conn, s.workspace_id, &s.emailed, "emailed").await?;
    mark_email_status(conn, s.workspace_id, &s.skipped, "skipped").await?;
    let seq = if s.activities.is_empty() {
        None
    } else {
        let entries: Vec<_> = s.activities.iter().map(|a| (a, s.at)).collect();
        Some(
            log_all(
                conn,
                s.workspace_id,
                s.contact_id,
                Some(s.conversation_id),
                &entries,
            )
            .await?,
        )
    };
    let oldest_pending: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(created_at) FROM messages
         WHERE workspace_id = $1 AND conversation_id = $2 AND email_status = 'pending'",
    )
    .bind(s.workspace_id.as_uuid())
    .bind(s.conversation_id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    match oldest_pending {
        // More came while this ran: the job waits for them now.
        Some(oldest) => {
            sqlx::query(
                "UPDATE jobs SET due_at = $2, claimed_until = NULL, last_error = NULL, created_at = $3
                 WHERE id = $1",
            )
            .bind(s.job.id.as_uuid())
            .bind(oldest + s.delay_millis)
            .bind(ms(s.at))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        None => {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(s.job.id.as_uuid())
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
    }
    Ok(seq)
}

#[async_trait]
impl EmailStore for Backend {
    async fn email_pending(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE workspace_id = $1 AND conversation_id = $2 AND email_status = 'pending'
             ORDER BY created_at, id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(conversation.as_uuid())
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(message_from_row)
            .collect()
    }

    async fn settle_emails(
        &self,
        settlements: Vec<EmailSettlement>,
    ) -> Result<Vec<Result<Option<i64>, StoreError>>, StoreError> {
        self.write(op!(settle_emails, settlements)).await
    }

    async fn reply_target(&self, conversation: ConversationId) -> Result<ReplyTarget, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(conversation.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        let conversation = conversation_from_row(&row)?;
        let workspace = self.workspace(conversation.workspace_id).await?;
        let contact = self
            .contact(conversation.workspace_id, conversation.contact_id)
            .await?;
        Ok(ReplyTarget {
            workspace,
            conversation,
            contact,
        })
    }
}
