//! Conversations and their messages: reads, status and assignment changes,
//! read marks. Messages are written in `messages.rs` only.

use super::*;
use rapport_core::model::attachment::AttachmentRef;
use rapport_core::model::conversation::ConversationStatus;

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

/// The columns `message_from_row` reads.
pub(super) const MESSAGE_COLUMNS: &str = "id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at, origin, attachments";

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
        // An origin this version cannot read is left out, not an error
        // that would hide the conversation.
        origin: row
            .try_get::<Option<Json<serde_json::Value>>, _>("origin")
            .map_err(db_err)?
            .and_then(|origin| serde_json::from_value(origin.0).ok()),
        attachments: row
            .try_get::<Option<Json<Vec<AttachmentRef>>>, _>("attachments")
            .map_err(db_err)?
            .map(|list| list.0)
            .unwrap_or_default(),
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

/// Records that `agent` was just assigned a conversation (round-robin
/// assignment picks, among equals, the one assigned longest ago).
async fn mark_assigned(
    conn: &mut Conn,
    workspace: WorkspaceId,
    agent: AgentId,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO agent_availability (agent_id, workspace_id, last_assigned_at)
         SELECT id, workspace_id, $3 FROM agents WHERE workspace_id = $1 AND id = $2
         ON CONFLICT (agent_id) DO UPDATE SET last_assigned_at = excluded.last_assigned_at",
    )
    .bind(workspace.as_uuid())
    .bind(agent.as_uuid())
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Changes a conversation's status or assignee and logs it (by a team
/// member `by`, or by the automation `cause` names); a change that changes
/// nothing is not logged. Returns the conversation and the entry's position.
pub(super) async fn change_conversation(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ConversationId,
    change: ConversationChange,
    by: Option<AgentId>,
    cause: Option<Cause>,
    at: Timestamp,
) -> Result<(Conversation, Option<i64>), StoreError> {
    let current = locked_conversation(conn, workspace, id).await?;
    let Some(next) = current.after(change, at) else {
        return Ok((current, None));
    };
    save_conversation_state(conn, &next).await?;
    if next.status == ConversationStatus::Closed && current.status != ConversationStatus::Closed {
        sqlx::query("UPDATE conversation_stats SET closed_at = $2 WHERE conversation_id = $1")
            .bind(id.as_uuid())
            .bind(ms(at))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    let activity = match change {
        ConversationChange::Assign { assignee_id } => {
            if let Some(agent) = assignee_id {
                mark_assigned(conn, workspace, agent, at).await?;
            }
            Activity::Assigned {
                assignee_id,
                by,
                cause,
            }
        }
        _ => Activity::StatusChanged {
            status: next.status,
            snoozed_until: next.snoozed_until,
            by,
            cause,
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
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.workspace_id = "
        ));
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
                    w.retention_days AS w_retention_days, w.attachments AS w_attachments,
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

    async fn append_messages(
        &self,
        new: Vec<NewMessage>,
    ) -> Result<Vec<Result<StoredMessage, StoreError>>, StoreError> {
        self.write_messages(new).await
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
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY created_at, id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
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
        if let Some(tag) = query.tag {
            sql.push(
                " AND id IN (SELECT conversation_id FROM conversation_tags WHERE workspace_id = ",
            )
            .push_bind(workspace.as_uuid())
            .push(" AND tag = ")
            .push_bind(tag)
            .push(")");
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
        let cause: Option<Cause> = None;
        self.write(op!(
            change_conversation,
            workspace,
            id,
            change,
            by,
            cause,
            at
        ))
        .await
    }
}
