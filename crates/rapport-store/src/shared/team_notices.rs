//! Emails to the team about conversations started while nobody is online:
//! who opted out, and how far the last one went.

use super::*;

async fn set_opt_out(
    conn: &mut Conn,
    workspace: WorkspaceId,
    agent: AgentId,
    on: bool,
) -> Result<(), StoreError> {
    let sql = if on {
        "DELETE FROM agent_email_opt_outs WHERE workspace_id = $1 AND agent_id = $2"
    } else {
        "INSERT INTO agent_email_opt_outs (workspace_id, agent_id) VALUES ($1, $2)
         ON CONFLICT (workspace_id, agent_id) DO NOTHING"
    };
    sqlx::query(sql)
        .bind(workspace.as_uuid())
        .bind(agent.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn set_mark(
    conn: &mut Conn,
    workspace: WorkspaceId,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO team_digests (workspace_id, covered_to) VALUES ($1, $2)
         ON CONFLICT (workspace_id) DO UPDATE SET covered_to = excluded.covered_to
           WHERE team_digests.covered_to < excluded.covered_to",
    )
    .bind(workspace.as_uuid())
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl TeamNoticeStore for Backend {
    async fn emails_new_conversations(
        &self,
        workspace: WorkspaceId,
        agent: AgentId,
    ) -> Result<bool, StoreError> {
        let out: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM agent_email_opt_outs WHERE workspace_id = $1 AND agent_id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(agent.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        Ok(out == 0)
    }

    async fn set_emails_new_conversations(
        &self,
        workspace: WorkspaceId,
        agent: AgentId,
        on: bool,
    ) -> Result<(), StoreError> {
        self.write(op!(set_opt_out, workspace, agent, on)).await
    }

    async fn new_conversation_recipients(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<Agent>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, email, name, role, created_at FROM agents a
             WHERE workspace_id = $1 AND removed_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM agent_email_opt_outs o
                 WHERE o.workspace_id = a.workspace_id AND o.agent_id = a.id)
             ORDER BY created_at, id",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| super::team::agent_from_row(row, ""))
        .collect()
    }

    async fn team_digest_mark(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT covered_to FROM team_digests WHERE workspace_id = $1")
                .bind(workspace.as_uuid())
                .fetch_optional(self.reader())
                .await
                .map_err(db_err)?;
        Ok(at.map(Timestamp::from_millis))
    }

    async fn waiting_conversations_since(
        &self,
        workspace: WorkspaceId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {} FROM conversations
             WHERE workspace_id = $1 AND status = 'open' AND waiting_since IS NOT NULL
               AND created_at > $2
             ORDER BY created_at, id LIMIT $3",
            super::conversations::CONVERSATION_COLUMNS
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(ms(since))
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(super::conversations::conversation_from_row)
            .collect()
    }

    async fn set_team_digest_mark(
        &self,
        workspace: WorkspaceId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(set_mark, workspace, at)).await
    }
}
