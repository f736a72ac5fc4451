//! What automations' conditions and waits read: contacts matching a
//! filter, recent messages and replies, page views, a contact's log, the
//! office and the team's availability.

use std::collections::HashSet;

use super::*;
use rapport_core::model::automation::hours::Office;
use rapport_core::model::filter::Filter;
use rapport_core::model::ids::TeamId;
use rapport_core::model::teams::Team;

/// How many contacts one statement looks at.
const CHUNK: usize = 500;

/// Stores the workspace's office (`NotFound` for an unknown workspace).
async fn save_office(
    conn: &mut Conn,
    workspace: WorkspaceId,
    office: Office,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO offices (workspace_id, settings) SELECT id, $2 FROM workspaces WHERE id = $1
         ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings",
    )
    .bind(workspace.as_uuid())
    .bind(Json(&office))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// Stores a member's availability (`NotFound` unless they are a member of
/// the workspace), keeping when they were last assigned.
async fn set_availability(
    conn: &mut Conn,
    workspace: WorkspaceId,
    agent: AgentId,
    away: bool,
    max_open: Option<u32>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO agent_availability (agent_id, workspace_id, away, max_open)
         SELECT id, workspace_id, $3, $4 FROM agents
         WHERE workspace_id = $1 AND id = $2 AND removed_at IS NULL
         ON CONFLICT (agent_id) DO UPDATE SET away = excluded.away, max_open = excluded.max_open",
    )
    .bind(workspace.as_uuid())
    .bind(agent.as_uuid())
    .bind(away)
    .bind(max_open.map(i64::from))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// A member with their availability (defaults when they set none).
fn availability_from_row(row: &DbRow) -> Result<Availability, StoreError> {
    let open: i64 = row.try_get("open_count").map_err(db_err)?;
    Ok(Availability {
        agent_id: AgentId::from_uuid(uuid(row, "id")?),
        away: row.try_get("away").map_err(db_err)?,
        max_open: row
            .try_get::<Option<i64>, _>("max_open")
            .map_err(db_err)?
            .map(u32::try_from)
            .transpose()
            .map_err(data_err)?,
        open: u32::try_from(open).unwrap_or(u32::MAX),
        last_assigned_at: opt_ts(row, "last_assigned_at")?,
    })
}

#[async_trait]
impl ConditionStore for Backend {
    async fn matching_contacts(
        &self,
        workspace: WorkspaceId,
        filter: &Filter,
        online: &[ContactId],
        among: &[ContactId],
    ) -> Result<Vec<ContactId>, StoreError> {
        use sea_query::{Expr, ExprTrait, Query};
        let online: Vec<Uuid> = online.iter().map(|c| c.as_uuid()).collect();
        let matching = compiler(workspace, &online).matching(filter);
        let mut found = HashSet::new();
        for chunk in among.chunks(CHUNK) {
            let ids: Vec<Uuid> = chunk.iter().map(|c| c.as_uuid()).collect();
            let (sql, values) = Query::select()
                .expr(Expr::col(("contacts", "id")))
                .from("contacts")
                .and_where(matching.clone())
                .and_where(Expr::col(("contacts", "id")).is_in(ids))
                .build_sqlx(QUERY_BUILDER);
            // sea-query wrote the statement; every value in it is bound.
            let rows: Vec<Uuid> =
                sqlx::query_scalar_with(sqlx::AssertSqlSafe(sql.as_str()), values)
                    .fetch_all(self.reader())
                    .await
                    .map_err(db_err)?;
            found.extend(rows);
        }
        // In the order asked, once each.
        Ok(among
            .iter()
            .filter(|c| found.remove(&c.as_uuid()))
            .copied()
            .collect())
    }

    async fn automated_messages_since(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        since: Timestamp,
    ) -> Result<u32, StoreError> {
        let sent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM automation_run_log
             WHERE workspace_id = $1 AND contact_id = $2 AND at >= $3 AND message_id IS NOT NULL",
        )
        .bind(workspace.as_uuid())
        .bind(contact.as_uuid())
        .bind(ms(since))
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        Ok(u32::try_from(sent).unwrap_or(u32::MAX))
    }

    async fn replies_since(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        since: Timestamp,
    ) -> Result<(bool, bool), StoreError> {
        sqlx::query_as(
            "SELECT
               EXISTS (SELECT 1 FROM messages WHERE workspace_id = $1 AND conversation_id = $2
                 AND kind = 'comment' AND author_type = 'contact' AND created_at > $3),
               EXISTS (SELECT 1 FROM messages WHERE workspace_id = $1 AND conversation_id = $2
                 AND kind = 'comment' AND author_type = 'agent' AND origin IS NULL AND created_at > $3)",
        )
        .bind(workspace.as_uuid())
        .bind(conversation.as_uuid())
        .bind(ms(since))
        .fetch_one(self.reader())
        .await
        .map_err(db_err)
    }

    async fn latest_page_view(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT seq FROM activity WHERE workspace_id = $1 AND contact_id = $2
               AND kind = 'event' AND {EVENT_NAME} = $3
             ORDER BY seq DESC LIMIT 1"
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(contact.as_uuid())
            .bind(rapport_core::model::activity::PAGE_VIEW)
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)
    }

    async fn contact_activity_after(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        seq: i64,
        limit: u32,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        self.activity_after(workspace, Stream::Contact(contact), seq, limit)
            .await
    }

    async fn office(&self, workspace: WorkspaceId) -> Result<Office, StoreError> {
        let stored: Option<Json<serde_json::Value>> =
            sqlx::query_scalar("SELECT settings FROM offices WHERE workspace_id = $1")
                .bind(workspace.as_uuid())
                .fetch_optional(self.reader())
                .await
                .map_err(db_err)?;
        match stored {
            Some(settings) => serde_json::from_value(settings.0).map_err(data_err),
            None => Ok(Office::default()),
        }
    }

    async fn save_office(&self, workspace: WorkspaceId, office: Office) -> Result<(), StoreError> {
        self.write(op!(save_office, workspace, office)).await
    }

    async fn bot_conversations(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
    ) -> Result<Vec<ConversationId>, StoreError> {
        let ids: Vec<Uuid> = conversations.iter().map(|c| c.as_uuid()).collect();
        let mut found = Vec::new();
        for chunk in ids.chunks(500) {
            let mut sql = QueryBuilder::<Db>::new(
                "SELECT DISTINCT conversation_id FROM automation_runs WHERE workspace_id = ",
            );
            sql.push_bind(workspace.as_uuid())
                .push(" AND status = 'waiting' AND wait_kind = 'answer' AND conversation_id IN ");
            push_ids(&mut sql, chunk);
            found.extend(
                fetch_ids(sql, &mut *self.reader().acquire().await.map_err(db_err)?)
                    .await?
                    .into_iter()
                    .map(ConversationId::from_uuid),
            );
        }
        Ok(found)
    }

    async fn availability(&self, workspace: WorkspaceId) -> Result<Vec<Availability>, StoreError> {
        sqlx::query(
            "SELECT a.id, COALESCE(v.away, FALSE) AS away, v.max_open, v.last_assigned_at,
               (SELECT COUNT(*) FROM conversations c
                 WHERE c.workspace_id = a.workspace_id AND c.status = 'open' AND c.assignee_id = a.id) AS open_count
             FROM agents a LEFT JOIN agent_availability v ON v.agent_id = a.id
             WHERE a.workspace_id = $1 AND a.removed_at IS NULL
             ORDER BY a.created_at, a.id",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(availability_from_row)
        .collect()
    }

    async fn teams(&self, workspace: WorkspaceId) -> Result<Vec<Team>, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        teams(&mut conn, workspace).await
    }

    async fn save_team(&self, team: Team) -> Result<Team, StoreError> {
        self.write(op!(save_team, team)).await
    }

    async fn delete_team(&self, workspace: WorkspaceId, id: TeamId) -> Result<(), StoreError> {
        self.write(op!(delete_team, workspace, id)).await
    }

    async fn set_availability(
        &self,
        workspace: WorkspaceId,
        agent: AgentId,
        away: bool,
        max_open: Option<u32>,
    ) -> Result<(), StoreError> {
        self.write(op!(set_availability, workspace, agent, away, max_open))
            .await
    }
}
