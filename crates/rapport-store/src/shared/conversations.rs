//! Conversations and their messages: the one place messages are written.

use super::*;

pub(super) const CONVERSATION_COLUMNS: &str = "id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, contact_read_at, created_at, updated_at";

pub(super) fn conversation_from_row(row: &DbRow) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: ConversationId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        contact_id: ContactId::from_uuid(uuid(row, "contact_id")?),
        status: parsed(row, "status")?,
        assignee_id: opt_uuid(row, "assignee_id")?.map(AgentId::from_uuid),
        snoozed_until: opt_ts(row, "snoozed_until")?,
        waiting_since: opt_ts(row, "waiting_since")?,
        contact_read_at: opt_ts(row, "contact_read_at")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

pub(super) fn message_from_row(row: &DbRow) -> Result<Message, StoreError> {
    let author_id = opt_uuid(row, "author_id")?;
    let author = match (text(row, "author_type")?.as_str(), author_id) {
        ("agent", Some(id)) => Author::Agent(AgentId::from_uuid(id)),
        ("contact", Some(id)) => Author::Contact(ContactId::from_uuid(id)),
        ("bot", _) => Author::Bot,
        (other, _) => return Err(StoreError::Other(format!("bad author {other:?}").into())),
    };
    Ok(Message {
        id: MessageId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        conversation_id: ConversationId::from_uuid(uuid(row, "conversation_id")?),
        author,
        kind: parsed::<PartKind>(row, "kind")?,
        body: text(row, "body")?,
        created_at: ts(row, "created_at")?,
    })
}

pub(super) async fn locked_conversation(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ConversationId,
) -> Result<Conversation, StoreError> {
    let row = sqlx::query(for_update!(
        "SELECT id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, contact_read_at, created_at, updated_at
         FROM conversations WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    conversation_from_row(&row)
}

pub(super) async fn save_conversation_state(
    conn: &mut Conn,
    c: &Conversation,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET status = $3, assignee_id = $4, snoozed_until = $5, waiting_since = $6, updated_at = $7
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(c.workspace_id.as_uuid())
    .bind(c.id.as_uuid())
    .bind(c.status.as_str())
    .bind(c.assignee_id.map(|a| a.as_uuid()))
    .bind(c.snoozed_until.map(ms))
    .bind(c.waiting_since.map(ms))
    .bind(ms(c.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A message's email state as stored, and the timeline entry of a skip.
pub(super) fn email_state(
    message: &Message,
    plan: Option<&EmailPlan>,
) -> (Option<&'static str>, Option<Activity>) {
    match plan {
        None => (None, None),
        Some(EmailPlan::Schedule(_)) => (Some("pending"), None),
        Some(EmailPlan::Skip(reason)) => (
            Some("skipped"),
            Some(Activity::NotEmailed {
                reason: *reason,
                message_ids: vec![message.id],
                error: None,
            }),
        ),
    }
}

/// How many messages `start_conversations` writes per statement (the
/// activity insert binds 18 values per message, well under both drivers'
/// limits).
pub(super) const START_CHUNK: usize = 500;

/// The ids among `ids` that name contacts of the workspace.
pub(super) async fn existing_contacts(
    conn: &mut Conn,
    workspace: WorkspaceId,
    ids: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    let mut found = std::collections::HashSet::new();
    for chunk in ids.chunks(START_CHUNK) {
        let mut sql = QueryBuilder::<Db>::new("SELECT id FROM contacts WHERE workspace_id = ");
        sql.push_bind(workspace.as_uuid()).push(" AND id IN ");
        push_ids(&mut sql, chunk);
        found.extend(fetch_ids(sql, conn).await?);
    }
    Ok(found)
}

/// The listed recipients of a bulk send that are still pending, if the send
/// is still sending (locked on PostgreSQL until commit).
pub(super) async fn pending_recipients(
    conn: &mut Conn,
    bulk_send: Uuid,
    contacts: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    let mut pending = std::collections::HashSet::new();
    for chunk in contacts.chunks(START_CHUNK) {
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT contact_id FROM bulk_send_recipients WHERE bulk_send_id = ",
        );
        sql.push_bind(bulk_send)
            .push(" AND message_id IS NULL AND error IS NULL AND contact_id IN ");
        push_ids(&mut sql, chunk);
        sql.push(" AND EXISTS (SELECT 1 FROM bulk_sends WHERE id = ")
            .push_bind(bulk_send)
            .push(" AND status = 'sending')")
            .push(ROW_LOCK);
        pending.extend(fetch_ids(sql, conn).await?);
    }
    Ok(pending)
}

/// `append_message` for many messages that each start a conversation, with
/// a few statements per 500 messages instead of a few per message: the
/// same rows, entries, recipient marks and jobs. A message whose contact
/// is not in the workspace is `NotFound`; one whose bulk recipient was sent
/// already (or whose send stopped) is `Conflict`; the others are stored.
pub(super) async fn start_conversations(
    conn: &mut Conn,
    news: Vec<NewMessage>,
) -> Result<Vec<Result<StoredMessage, StoreError>>, StoreError> {
    let Some(first) = news.first() else {
        return Ok(Vec::new());
    };
    let ws = first.message.workspace_id;
    let shape_ok = news.iter().all(|n| {
        n.message.workspace_id == ws
            && n.email_key.is_none()
            && n.new_conversation.as_ref().is_some_and(|c| {
                c.id == n.message.conversation_id
                    && c.workspace_id == ws
                    && c.contact_id == n.contact_id
            })
    });
    if !shape_ok {
        return Err(StoreError::Other(
            "start_conversations takes new conversations of one workspace".into(),
        ));
    }
    let contact_ids: Vec<Uuid> = news.iter().map(|n| n.contact_id.as_uuid()).collect();
    let existing = existing_contacts(conn, ws, &contact_ids).await?;
    let mut pending = std::collections::HashMap::new();
    let sends: std::collections::BTreeSet<BulkSendId> =
        news.iter().filter_map(|n| n.bulk_send).collect();
    for send in sends {
        let listed: Vec<Uuid> = news
            .iter()
            .filter(|n| n.bulk_send == Some(send))
            .map(|n| n.contact_id.as_uuid())
            .collect();
        pending.insert(
            send,
            pending_recipients(conn, send.as_uuid(), &listed).await?,
        );
    }
    let mut results = Vec::with_capacity(news.len());
    let mut accepted = Vec::new();
    for new in news {
        let contact = new.contact_id.as_uuid();
        if !existing.contains(&contact) {
            results.push(Some(Err(StoreError::NotFound)));
        } else if new
            .bulk_send
            .is_some_and(|send| !pending.get(&send).is_some_and(|p| p.contains(&contact)))
        {
            results.push(Some(Err(StoreError::Conflict(
                "this recipient was sent already, or the bulk send stopped".into(),
            ))));
        } else {
            results.push(None);
            accepted.push((results.len() - 1, new));
        }
    }
    for chunk in accepted.chunks(START_CHUNK) {
        let conversations: Vec<Conversation> = chunk
            .iter()
            .filter_map(|(_, n)| {
                n.new_conversation
                    .as_ref()
                    .map(|c| c.with_message(&n.message))
            })
            .collect();
        let mut sql = QueryBuilder::<Db>::new(
            "INSERT INTO conversations (id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, created_at, updated_at) ",
        );
        sql.push_values(&conversations, |mut row, c| {
            row.push_bind(c.id.as_uuid())
                .push_bind(c.workspace_id.as_uuid())
                .push_bind(c.contact_id.as_uuid())
                .push_bind(c.status.as_str())
                .push_bind(c.assignee_id.map(|a| a.as_uuid()))
                .push_bind(c.snoozed_until.map(ms))
                .push_bind(c.waiting_since.map(ms))
                .push_bind(ms(c.created_at))
                .push_bind(ms(c.updated_at));
        });
        sql.build().execute(&mut *conn).await.map_err(db_err)?;

        let states: Vec<_> = chunk
            .iter()
            .map(|(_, n)| email_state(&n.message, n.email.as_ref()))
            .collect();
        let messages: Vec<_> = chunk
            .iter()
            .zip(&states)
            .map(|((_, n), (status, _))| (&n.message, *status))
            .collect();
        insert_messages(conn, &messages).await?;

        let marks: Vec<_> = chunk
            .iter()
            .filter_map(|(_, n)| n.bulk_send.map(|send| (send, n)))
            .collect();
        if !marks.is_empty() {
            let mut sql = QueryBuilder::<Db>::new(
                "WITH sent (bulk_send_id, contact_id, message_id, conversation_id, sent_at) AS (",
            );
            sql.push_values(&marks, |mut row, (send, n)| {
                row.push_bind(send.as_uuid())
                    .push_bind(n.contact_id.as_uuid())
                    .push_bind(n.message.id.as_uuid())
                    .push_bind(n.message.conversation_id.as_uuid())
                    .push_bind(ms(n.message.created_at));
            });
            sql.push(
                ") UPDATE bulk_send_recipients SET message_id = sent.message_id,
                   conversation_id = sent.conversation_id, sent_at = sent.sent_at
                 FROM sent WHERE bulk_send_recipients.bulk_send_id = sent.bulk_send_id
                   AND bulk_send_recipients.contact_id = sent.contact_id",
            );
            sql.build().execute(&mut *conn).await.map_err(db_err)?;
        }

        let started = Activity::ConversationStarted;
        let entries: Vec<(Activity, Option<Activity>, Option<Activity>)> = chunk
            .iter()
            .zip(states)
            .map(|((_, n), (_, skipped))| {
                (
                    Activity::Message(n.message.clone()),
                    skipped,
                    n.bulk_send
                        .map(|bulk_send_id| Activity::BulkSendReceived { bulk_send_id }),
                )
            })
            .collect();
        let mut rows: Vec<LogRow<'_>> = Vec::with_capacity(chunk.len() * 4);
        for ((_, n), (message, skipped, bulk)) in chunk.iter().zip(&entries) {
            let (contact, conversation, at) = (
                n.contact_id,
                Some(n.message.conversation_id),
                n.message.created_at,
            );
            rows.push((contact, conversation, &started, at));
            rows.push((contact, conversation, message, at));
            rows.extend(skipped.iter().map(|a| (contact, conversation, a, at)));
            rows.extend(bulk.iter().map(|a| (contact, conversation, a, at)));
        }
        let logged = log_rows(conn, ws, &rows).await?;
        let mut last_seq = std::collections::HashMap::new();
        for (conversation, seq) in logged {
            let last = last_seq.entry(conversation).or_insert(seq);
            *last = (*last).max(seq);
        }
        // After the log append, as in `append_message`.
        let jobs: Vec<&NewJob> = chunk
            .iter()
            .filter_map(|(_, n)| match &n.email {
                Some(EmailPlan::Schedule(job)) => Some(job),
                _ => None,
            })
            .collect();
        insert_jobs(conn, &jobs, first_created_at(chunk)).await?;

        for ((index, n), conversation) in chunk.iter().zip(conversations) {
            let seq = last_seq
                .get(&Some(n.message.conversation_id.as_uuid()))
                .copied()
                .ok_or_else(|| StoreError::Other("a message was not logged".into()))?;
            results[*index] = Some(Ok(StoredMessage {
                message: n.message.clone(),
                conversation,
                seq,
            }));
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StoreError::Other("a message was left out".into()))))
        .collect())
}

pub(super) fn first_created_at(chunk: &[(usize, NewMessage)]) -> Timestamp {
    chunk
        .first()
        .map_or(Timestamp::from_millis(0), |(_, n)| n.message.created_at)
}

pub(super) async fn append_message(
    conn: &mut Conn,
    new: NewMessage,
) -> Result<StoredMessage, StoreError> {
    // Few statements: on SQLite each is a round trip to the driver's thread,
    // and the single writer runs them one after another.
    let message = new.message;
    let ws = message.workspace_id;
    let (email_status, skipped) = email_state(&message, new.email.as_ref());
    let mut entries = vec![(Activity::Message(message.clone()), message.created_at)];
    if let Some(skipped) = skipped {
        entries.push((skipped, message.created_at));
    }
    if let Some(bulk_send_id) = new.bulk_send {
        // First, so a recipient sent already (or a send cancelled) costs
        // one statement.
        mark_bulk_recipient_sent(conn, bulk_send_id, new.contact_id, &message).await?;
        entries.push((
            Activity::BulkSendReceived { bulk_send_id },
            message.created_at,
        ));
    }
    let (conversation, seq) = match new.new_conversation {
        Some(started) => {
            if started.id != message.conversation_id || started.workspace_id != ws {
                return Err(StoreError::Other(
                    "message and new conversation disagree".into(),
                ));
            }
            // Inserted in its state after the message, and only if the
            // contact is in this workspace.
            let c = started.with_message(&message);
            let inserted = sqlx::query(
                "INSERT INTO conversations (id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, created_at, updated_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM contacts WHERE workspace_id = $2 AND id = $3",
            )
            .bind(c.id.as_uuid())
            .bind(ws.as_uuid())
            .bind(c.contact_id.as_uuid())
            .bind(c.status.as_str())
            .bind(c.assignee_id.map(|a| a.as_uuid()))
            .bind(c.snoozed_until.map(ms))
            .bind(c.waiting_since.map(ms))
            .bind(ms(c.created_at))
            .bind(ms(c.updated_at))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            if inserted.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            insert_message(conn, &message, email_status).await?;
            entries.insert(0, (Activity::ConversationStarted, started.created_at));
            let seq = log_all(conn, ws, c.contact_id, Some(c.id), &entries).await?;
            (c, seq)
        }
        None => {
            let current = locked_conversation(conn, ws, message.conversation_id).await?;
            if current.contact_id != new.contact_id {
                return Err(StoreError::NotFound);
            }
            let c = current.with_message(&message);
            insert_message(conn, &message, email_status).await?;
            save_conversation_state(conn, &c).await?;
            let seq = log_all(conn, ws, c.contact_id, Some(c.id), &entries).await?;
            (c, seq)
        }
    };
    if let Some(key) = &new.email_key {
        let taken = sqlx::query(
            "INSERT INTO inbound_emails (workspace_id, email_key, message_id, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, email_key) DO NOTHING",
        )
        .bind(ws.as_uuid())
        .bind(key)
        .bind(message.id.as_uuid())
        .bind(ms(message.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        if taken.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "this email was already received".into(),
            ));
        }
    }
    // After the log append, under its lock (PostgreSQL), so that an email
    // job settling this conversation either sees this message pending and
    // stays, or is gone before this insert looks for it.
    if let Some(EmailPlan::Schedule(job)) = &new.email {
        insert_job(conn, job, message.created_at).await?;
    }
    Ok(StoredMessage {
        message,
        conversation,
        seq,
    })
}

pub(super) async fn insert_message(
    conn: &mut Conn,
    message: &Message,
    email_status: Option<&str>,
) -> Result<(), StoreError> {
    insert_messages(conn, &[(message, email_status)]).await
}

/// Inserts messages, each with its email state, in one statement.
pub(super) async fn insert_messages(
    conn: &mut Conn,
    messages: &[(&Message, Option<&str>)],
) -> Result<(), StoreError> {
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO messages (id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at, email_status) ",
    );
    sql.push_values(messages, |mut row, (message, email_status)| {
        let (author_type, author_id) = match message.author {
            Author::Agent(id) => ("agent", Some(id.as_uuid())),
            Author::Contact(id) => ("contact", Some(id.as_uuid())),
            Author::Bot => ("bot", None),
        };
        row.push_bind(message.id.as_uuid())
            .push_bind(message.workspace_id.as_uuid())
            .push_bind(message.conversation_id.as_uuid())
            .push_bind(author_type)
            .push_bind(author_id)
            .push_bind(message.kind.as_str())
            .push_bind(message.body.clone())
            .push_bind(ms(message.created_at))
            .push_bind(*email_status);
    });
    sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

pub(super) async fn change_conversation(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ConversationId,
    change: ConversationChange,
    by: Option<AgentId>,
    at: Timestamp,
) -> Result<(Conversation, Option<i64>), StoreError> {
    let current = locked_conversation(conn, workspace, id).await?;
    let Some(next) = current.after(change, at) else {
        return Ok((current, None));
    };
    save_conversation_state(conn, &next).await?;
    let activity = match change {
        ConversationChange::Assign { assignee_id } => Activity::Assigned { assignee_id, by },
        _ => Activity::StatusChanged {
            status: next.status,
            snoozed_until: next.snoozed_until,
            by,
        },
    };
    let seq = log(
        conn,
        workspace,
        next.contact_id,
        Some(next.id),
        &activity,
        at,
    )
    .await?;
    Ok((next, Some(seq)))
}

pub(super) async fn mark_read(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
    contact: ContactId,
    at: Timestamp,
) -> Result<Option<i64>, StoreError> {
    let current = locked_conversation(conn, workspace, conversation).await?;
    if current.contact_id != contact {
        return Err(StoreError::NotFound);
    }
    if current.contact_read_at.is_some_and(|read| read >= at) {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE conversations SET contact_read_at = $3 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(workspace.as_uuid())
    .bind(conversation.as_uuid())
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let seq = log(
        conn,
        workspace,
        contact,
        Some(conversation),
        &Activity::Read { read_at: at },
        at,
    )
    .await?;
    Ok(Some(seq))
}

#[async_trait]
impl ConversationStore for Backend {
    async fn last_parts(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
        comments_only: bool,
    ) -> Result<Vec<Message>, StoreError> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at FROM messages m
             WHERE m.workspace_id = ",
        );
        sql.push_bind(workspace.as_uuid())
            .push(" AND m.conversation_id IN (");
        let mut ids = sql.separated(", ");
        for id in conversations {
            ids.push_bind(id.as_uuid());
        }
        let kinds = if comments_only {
            " AND {t}.kind = 'comment'"
        } else {
            ""
        };
        sql.push(format!(
            "){} AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.conversation_id = m.conversation_id{}
               AND (n.created_at > m.created_at OR (n.created_at = m.created_at AND n.id > m.id)))",
            kinds.replace("{t}", "m"),
            kinds.replace("{t}", "n"),
        ));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(message_from_row)
            .collect()
    }

    async fn unread_counts(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Vec<(ConversationId, u32)>, StoreError> {
        sqlx::query(
            "SELECT m.conversation_id, COUNT(*) AS unread FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             WHERE c.workspace_id = $1 AND c.contact_id = $2 AND m.kind = 'comment'
               AND m.author_type <> 'contact' AND m.created_at > COALESCE(c.contact_read_at, 0)
             GROUP BY m.conversation_id",
        )
        .bind(workspace.as_uuid())
        .bind(contact.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| {
            let unread: i64 = row.try_get("unread").map_err(db_err)?;
            Ok((
                ConversationId::from_uuid(uuid(row, "conversation_id")?),
                u32::try_from(unread).unwrap_or(u32::MAX),
            ))
        })
        .collect()
    }

    async fn mark_read(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        self.write(op!(mark_read, workspace, conversation, contact, at))
            .await
    }

    async fn message_context(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        agent: Option<AgentId>,
    ) -> Result<MessageContext, StoreError> {
        let row = sqlx::query(
            "SELECT c.*,
                    w.id AS w_id, w.name AS w_name, w.app_id AS w_app_id, w.identity_secret AS w_identity_secret,
                    w.previous_identity_secret AS w_previous_identity_secret,
                    w.previous_identity_secret_until AS w_previous_identity_secret_until,
                    w.identity_verification AS w_identity_verification, w.allowed_origins AS w_allowed_origins,
                    w.email_fallback_enabled AS w_email_fallback_enabled,
                    w.email_fallback_delay_minutes AS w_email_fallback_delay_minutes,
                    w.email_from_address AS w_email_from_address, w.created_at AS w_created_at,
                    w.bulk_sends_admins_only AS w_bulk_sends_admins_only,
                    a.id AS a_id, a.workspace_id AS a_workspace_id, a.email AS a_email, a.name AS a_name,
                    a.role AS a_role, a.created_at AS a_created_at
             FROM contacts c
             JOIN workspaces w ON w.id = c.workspace_id
             LEFT JOIN agents a ON a.workspace_id = c.workspace_id AND a.id = $3 AND a.removed_at IS NULL
             WHERE c.workspace_id = $1 AND c.id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(contact.as_uuid())
        .bind(agent.map(|a| a.as_uuid()))
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        let agent = match opt_uuid(&row, "a_id")? {
            Some(_) => Some(agent_from_row(&row, "a_")?),
            None => None,
        };
        Ok(MessageContext {
            workspace: workspace_from_row(&row, "w_")?,
            contact: contact_from_row(&row)?,
            agent,
        })
    }

    async fn append_message(&self, new: NewMessage) -> Result<StoredMessage, StoreError> {
        self.write(op!(append_message, new)).await
    }

    async fn start_conversations(
        &self,
        new: Vec<NewMessage>,
    ) -> Result<Vec<Result<StoredMessage, StoreError>>, StoreError> {
        self.write(op!(start_conversations, new)).await
    }

    async fn conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE workspace_id = $1 AND id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        conversation_from_row(&row)
    }

    async fn conversation_parts(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Vec<Message>, StoreError> {
        // Existence first, so an unknown id is NotFound rather than empty.
        self.conversation(workspace, id).await?;
        sqlx::query(
            "SELECT id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at FROM messages
             WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY created_at, id",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(message_from_row)
        .collect()
    }

    async fn list_conversations(
        &self,
        workspace: WorkspaceId,
        query: ConversationQuery,
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE workspace_id = "
        ));
        sql.push_bind(workspace.as_uuid());
        if let Some(status) = query.status {
            sql.push(" AND status = ").push_bind(status.as_str());
        }
        match query.assignee {
            Some(AssigneeFilter::Unassigned) => {
                sql.push(" AND assignee_id IS NULL");
            }
            Some(AssigneeFilter::Agent(agent)) => {
                sql.push(" AND assignee_id = ").push_bind(agent.as_uuid());
            }
            None => {}
        }
        if let Some(contact) = query.contact_id {
            sql.push(" AND contact_id = ").push_bind(contact.as_uuid());
        }
        // Newest: latest activity first. Waiting: longest-waiting first,
        // only where someone waits. The cursor is the last row's sort key.
        let (column, older, order) = match query.sort {
            ConversationSort::Newest => ("updated_at", " < ", " ORDER BY updated_at DESC, id DESC"),
            ConversationSort::Waiting => (
                "waiting_since",
                " > ",
                " ORDER BY waiting_since ASC, id ASC",
            ),
        };
        if query.sort == ConversationSort::Waiting {
            sql.push(" AND waiting_since IS NOT NULL");
        }
        if let Some((at, id)) = query.after {
            sql.push(format!(" AND ({column}{older}"))
                .push_bind(ms(at))
                .push(format!(" OR ({column} = "))
                .push_bind(ms(at))
                .push(format!(" AND id{older}"))
                .push_bind(id.as_uuid())
                .push("))");
        }
        sql.push(order)
            .push(" LIMIT ")
            .push_bind(i64::from(query.limit));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(conversation_from_row)
            .collect()
    }

    async fn change_conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
        change: ConversationChange,
        by: Option<AgentId>,
        at: Timestamp,
    ) -> Result<(Conversation, Option<i64>), StoreError> {
        self.write(op!(change_conversation, workspace, id, change, by, at))
            .await
    }
}
