//! The email fallback: what waits for an email, how a job settles, and replies.

use std::collections::HashMap;

use super::*;

/// Sets the email state of the listed messages that are still pending.
pub(super) async fn mark_email_status(
    conn: &mut Conn,
    workspace: WorkspaceId,
    ids: &[MessageId],
    status: &str,
) -> Result<(), StoreError> {
    // A batch's messages in statements of at most `IDS_PER_STATEMENT`
    // ids: a conversation's burst has no fixed size, and SQLite binds at
    // most 32,766 values in one statement.
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let mut sql = QueryBuilder::<Db>::new("UPDATE messages SET email_status = ");
        sql.push_bind(status.to_owned())
            .push(" WHERE workspace_id = ")
            .push_bind(workspace.as_uuid())
            .push(" AND email_status = 'pending' AND id IN ");
        let chunk: Vec<Uuid> = chunk.iter().map(|id| id.as_uuid()).collect();
        push_ids(&mut sql, &chunk);
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

/// Message ids marked in one statement.
const IDS_PER_STATEMENT: usize = 1000;

/// Settles a batch of email jobs in a few statements for the whole batch
/// (not a few per job): the claims are checked and the messages marked,
/// then, under the log locks, the timeline entries are appended and each
/// job deleted or made due again for messages that arrived meanwhile. The
/// locks are thus held for a handful of round trips whatever the batch's
/// size, which is what a live message waiting for the same lock feels;
/// marking the messages (an update of every index of the table on
/// PostgreSQL, its search index included) happens before them.
pub(super) async fn settle_emails(
    conn: &mut Conn,
    settlements: Vec<EmailSettlement>,
) -> Result<Vec<Result<Option<i64>, StoreError>>, StoreError> {
    // A lost claim changes nothing; the others go on. The jobs' rows stay
    // locked to the end: an append that meets one inserts nothing
    // (`ON CONFLICT DO NOTHING` does not wait on a row lock), so this
    // cannot deadlock with an append that holds the log lock.
    let attempts = claim_attempts(conn, &settlements).await?;
    let mut results: Vec<Result<Option<i64>, StoreError>> = settlements
        .iter()
        .map(
            |s| match attempts.get(&s.job.id.as_uuid()) == Some(&i64::from(s.job.attempts)) {
                true => Ok(None),
                false => Err(StoreError::Conflict(
                    "the job was claimed again by another worker".into(),
                )),
            },
        )
        .collect();
    let mut workspaces: Vec<WorkspaceId> = settlements.iter().map(|s| s.workspace_id).collect();
    workspaces.sort();
    workspaces.dedup();
    let batches: Vec<(WorkspaceId, Vec<(usize, &EmailSettlement)>)> = workspaces
        .into_iter()
        .map(|workspace| {
            let batch = settlements
                .iter()
                .enumerate()
                .filter(|(i, s)| s.workspace_id == workspace && results[*i].is_ok())
                .collect();
            (workspace, batch)
        })
        .filter(|(_, batch): &(_, Vec<_>)| !batch.is_empty())
        .collect();
    // The messages are marked before the locks: only an erasure also
    // writes them, and should it hold its log lock and wait for one of
    // these rows, the database breaks the deadlock and the write that
    // lost is tried again (`write`).
    for (workspace, batch) in &batches {
        let ids = |pick: fn(&EmailSettlement) -> &Vec<MessageId>| -> Vec<MessageId> {
            batch.iter().flat_map(|(_, s)| pick(s)).copied().collect()
        };
        mark_email_status(conn, *workspace, &ids(|s| &s.emailed), "emailed").await?;
        mark_email_status(conn, *workspace, &ids(|s| &s.skipped), "skipped").await?;
    }
    // The log locks (in one order, so concurrent batches cannot deadlock):
    // a message appended meanwhile either committed before (and is seen
    // pending below) or inserts its job after this commits.
    for (workspace, _) in &batches {
        lock_log(conn, *workspace).await?;
    }
    for (workspace, batch) in batches {
        let entries: Vec<LogRow<'_>> = batch
            .iter()
            .flat_map(|(_, s)| {
                s.activities
                    .iter()
                    .map(|a| (s.contact_id, Some(s.conversation_id), a, s.at))
            })
            .collect();
        // One job per conversation: its entries are told apart by that.
        let mut positions: HashMap<Uuid, i64> = HashMap::new();
        if !entries.is_empty() {
            for (conversation, seq) in append_log(conn, workspace, &entries).await? {
                if let Some(conversation) = conversation {
                    let position = positions.entry(conversation).or_insert(seq);
                    *position = (*position).max(seq);
                }
            }
        }
        let conversations: Vec<Uuid> = batch
            .iter()
            .map(|(_, s)| s.conversation_id.as_uuid())
            .collect();
        let oldest = oldest_pending(conn, workspace, &conversations).await?;
        let mut done: Vec<Uuid> = Vec::new();
        for (i, s) in &batch {
            let conversation = s.conversation_id.as_uuid();
            results[*i] = Ok(positions.get(&conversation).copied());
            match oldest.get(&conversation) {
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
                None => done.push(s.job.id.as_uuid()),
            }
        }
        if !done.is_empty() {
            let mut sql = QueryBuilder::<Db>::new("DELETE FROM jobs WHERE id IN ");
            push_ids(&mut sql, &done);
            sql.build().execute(&mut *conn).await.map_err(db_err)?;
        }
    }
    Ok(results)
}

/// The claim count of each job of `settlements` still there (their rows
/// locked to the end of the transaction): a settlement holds its job if its
/// claim is the latest.
async fn claim_attempts(
    conn: &mut Conn,
    settlements: &[EmailSettlement],
) -> Result<HashMap<Uuid, i64>, StoreError> {
    if settlements.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = QueryBuilder::<Db>::new("SELECT id, attempts FROM jobs WHERE id IN ");
    let ids: Vec<Uuid> = settlements.iter().map(|s| s.job.id.as_uuid()).collect();
    push_ids(&mut sql, &ids);
    sql.push(ROW_LOCK);
    let rows: Vec<(Uuid, i64)> = sql
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().collect())
}

/// The creation time of each listed conversation's oldest message still
/// waiting for an email (conversations with none are absent).
async fn oldest_pending(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversations: &[Uuid],
) -> Result<HashMap<Uuid, i64>, StoreError> {
    let mut sql = QueryBuilder::<Db>::new(
        "SELECT conversation_id, MIN(created_at) FROM messages WHERE workspace_id = ",
    );
    sql.push_bind(workspace.as_uuid())
        .push(" AND email_status = 'pending' AND conversation_id IN ");
    push_ids(&mut sql, conversations);
    sql.push(" GROUP BY conversation_id");
    let rows: Vec<(Uuid, i64)> = sql
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().collect())
}

#[async_trait]
impl EmailStore for Backend {
    async fn email_work(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
    ) -> Result<EmailWork, StoreError> {
        if conversations.len() > EMAIL_WORK_MAX {
            return Err(ValidationError::field(
                "conversations",
                format!("at most {EMAIL_WORK_MAX} at once"),
            )
            .into());
        }
        let settings = self.workspace(workspace).await?;
        let mut work = EmailWork {
            workspace: settings,
            conversations: HashMap::with_capacity(conversations.len()),
        };
        if conversations.is_empty() {
            return Ok(work);
        }
        let ids: Vec<Uuid> = conversations.iter().map(|id| id.as_uuid()).collect();
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE workspace_id = "
        ));
        sql.push_bind(workspace.as_uuid()).push(" AND id IN ");
        push_ids(&mut sql, &ids);
        let found = sql
            .build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(conversation_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if found.is_empty() {
            return Ok(work);
        }
        let mut contact_ids: Vec<Uuid> = found.iter().map(|c| c.contact_id.as_uuid()).collect();
        contact_ids.sort_unstable();
        contact_ids.dedup();
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = "
        ));
        sql.push_bind(workspace.as_uuid()).push(" AND id IN ");
        push_ids(&mut sql, &contact_ids);
        let contacts: HashMap<ContactId, Contact> = sql
            .build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| contact_from_row(row).map(|c| (c.id, c)))
            .collect::<Result<_, _>>()?;
        let ids: Vec<Uuid> = found.iter().map(|c| c.id.as_uuid()).collect();
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {MESSAGE_COLUMNS}, email_status FROM messages WHERE workspace_id = "
        ));
        sql.push_bind(workspace.as_uuid())
            .push(" AND conversation_id IN ");
        push_ids(&mut sql, &ids);
        // The index's own order: no sort (a conversation's parts come
        // oldest first, which is all the grouping below needs).
        sql.push(" ORDER BY conversation_id, created_at, id");
        let rows = sql.build().fetch_all(self.reader()).await.map_err(db_err)?;
        let mut parts: HashMap<ConversationId, (Vec<Message>, Vec<Message>)> = HashMap::new();
        for row in &rows {
            let message = message_from_row(row)?;
            let (pending, all) = parts.entry(message.conversation_id).or_default();
            if opt_text(row, "email_status")?.as_deref() == Some("pending") {
                pending.push(message.clone());
            }
            all.push(message);
        }
        for conversation in found {
            // A contact erased between the reads takes its conversation along.
            let Some(contact) = contacts.get(&conversation.contact_id).cloned() else {
                continue;
            };
            let (pending, parts) = parts.remove(&conversation.id).unwrap_or_default();
            work.conversations.insert(
                conversation.id,
                EmailConversation {
                    conversation,
                    contact,
                    pending,
                    parts,
                },
            );
        }
        Ok(work)
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
