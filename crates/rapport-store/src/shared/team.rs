//! The team: members, API tokens and sign-in sessions.

use super::*;

/// Reads an agent from columns named `{prefix}id`, `{prefix}email`, ...
pub(super) fn agent_from_row(row: &DbRow, prefix: &str) -> Result<Agent, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Agent {
        id: AgentId::from_uuid(uuid(row, &col("id"))?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, &col("workspace_id"))?),
        email: Email::from_stored(text(row, &col("email"))?),
        name: text(row, &col("name"))?,
        role: parsed(row, &col("role"))?,
        created_at: ts(row, &col("created_at"))?,
    })
}

pub(super) fn token_from_row(row: &DbRow) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: TokenId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        agent_id: AgentId::from_uuid(uuid(row, "agent_id")?),
        created_by: AgentId::from_uuid(uuid(row, "created_by")?),
        name: text(row, "name")?,
        created_at: ts(row, "created_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
    })
}

pub(super) async fn insert_agent(conn: &mut Conn, new: &NewAgent) -> Result<Agent, StoreError> {
    let a = &new.agent;
    sqlx::query(
        "INSERT INTO agents (id, workspace_id, email, name, role, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.id.as_uuid())
    .bind(a.workspace_id.as_uuid())
    .bind(a.email.as_str())
    .bind(&a.name)
    .bind(a.role.as_str())
    .bind(&new.password_hash)
    .bind(ms(a.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(a.clone())
}

pub(super) async fn create_agent(conn: &mut Conn, new: NewAgent) -> Result<Agent, StoreError> {
    if new.agent.role == Role::Owner {
        return Err(StoreError::Conflict("a workspace has one owner".into()));
    }
    insert_agent(conn, &new).await
}

pub(super) async fn insert_token(conn: &mut Conn, new: &NewToken) -> Result<ApiToken, StoreError> {
    let t = &new.token;
    sqlx::query(
        "INSERT INTO api_tokens (id, workspace_id, agent_id, name, secret_hash, created_at, created_by)
         SELECT $1, $2, $3, $4, $5, $6, $7 FROM agents a
         WHERE a.workspace_id = $2 AND a.id = $3 AND a.removed_at IS NULL
           AND EXISTS (SELECT 1 FROM agents c WHERE c.workspace_id = $2 AND c.id = $7 AND c.removed_at IS NULL)",
    )
    .bind(t.id.as_uuid())
    .bind(t.workspace_id.as_uuid())
    .bind(t.agent_id.as_uuid())
    .bind(&t.name)
    .bind(&new.secret_hash[..])
    .bind(ms(t.created_at))
    .bind(t.created_by.as_uuid())
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .and_then(|done| {
        if done.rows_affected() == 1 {
            Ok(t.clone())
        } else {
            Err(StoreError::NotFound)
        }
    })
}

pub(super) async fn create_token(conn: &mut Conn, new: NewToken) -> Result<ApiToken, StoreError> {
    insert_token(conn, &new).await
}

pub(super) async fn revoke_token(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: TokenId,
    at: Timestamp,
) -> Result<ApiToken, StoreError> {
    let row = sqlx::query(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3)
         WHERE workspace_id = $1 AND id = $2
         RETURNING id, workspace_id, agent_id, COALESCE(created_by, agent_id) AS created_by, name,
                   created_at, revoked_at",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(ms(at))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    token_from_row(&row)
}

pub(super) async fn create_agent_session(
    conn: &mut Conn,
    session: AgentSession,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO agent_sessions (secret_hash, workspace_id, agent_id, created_at, expires_at)
         SELECT $1, $2, $3, $4, $5 FROM agents WHERE workspace_id = $2 AND id = $3",
    )
    .bind(&session.secret_hash[..])
    .bind(session.workspace_id.as_uuid())
    .bind(session.agent_id.as_uuid())
    .bind(ms(session.created_at))
    .bind(ms(session.expires_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .and_then(|done| {
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    })
}

pub(super) async fn delete_agent_session(
    conn: &mut Conn,
    secret_hash: [u8; 32],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM agent_sessions WHERE secret_hash = $1")
        .bind(&secret_hash[..])
        .execute(&mut *conn)
        .await
        .map_err(db_err)
        .map(drop)
}

pub(super) async fn remove_agent(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AgentId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let role: String = sqlx::query_scalar(for_update!(
        "SELECT role FROM agents WHERE workspace_id = $1 AND id = $2 AND removed_at IS NULL"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    if role == Role::Owner.as_str() {
        return Err(StoreError::Conflict("the owner cannot be removed".into()));
    }
    // The row stays (their messages still name them); the email is freed
    // so the same person can be invited again, and no password opens it.
    sqlx::query(
        "UPDATE agents SET removed_at = $3, password_hash = '', email = $4
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(ms(at))
    .bind(format!("removed-{}@removed.invalid", id.as_uuid()))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    for sql in [
        "DELETE FROM agent_sessions WHERE workspace_id = $1 AND agent_id = $2",
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3)
         WHERE workspace_id = $1 AND (agent_id = $2 OR created_by = $2)",
        "UPDATE conversations SET assignee_id = NULL, updated_at = $3
         WHERE workspace_id = $1 AND assignee_id = $2",
    ] {
        let query = sqlx::query(sql)
            .bind(workspace.as_uuid())
            .bind(id.as_uuid());
        let query = if sql.contains("$3") {
            query.bind(ms(at))
        } else {
            query
        };
        query.execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

pub(super) async fn set_password_hash(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AgentId,
    password_hash: String,
    keep: Option<[u8; 32]>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE agents SET password_hash = $3 WHERE workspace_id = $1 AND id = $2 AND removed_at IS NULL",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(&password_hash)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    // No real session hashes to all zeroes: `None` keeps none.
    let keep = keep.unwrap_or([0; 32]);
    sqlx::query(
        "DELETE FROM agent_sessions WHERE workspace_id = $1 AND agent_id = $2 AND secret_hash <> $3",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(&keep[..])
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .map(drop)
}

#[async_trait]
impl TeamStore for Backend {
    async fn login_candidates(&self, email: &str) -> Result<Vec<(Agent, String)>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, email, name, role, created_at, password_hash FROM agents
             WHERE email = $1 AND removed_at IS NULL ORDER BY created_at, id",
        )
        .bind(email)
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| Ok((agent_from_row(row, "")?, text(row, "password_hash")?)))
        .collect()
    }

    async fn create_agent_session(&self, session: AgentSession) -> Result<(), StoreError> {
        self.write(op!(create_agent_session, session)).await
    }

    async fn agent_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<Principal, StoreError> {
        let row = sqlx::query(
            "SELECT s.workspace_id, s.agent_id, a.role FROM agent_sessions s
             JOIN agents a ON a.id = s.agent_id AND a.workspace_id = s.workspace_id
             WHERE s.secret_hash = $1 AND s.expires_at > $2 AND a.removed_at IS NULL",
        )
        .bind(&secret_hash[..])
        .bind(ms(now))
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        Ok(Principal {
            workspace_id: WorkspaceId::from_uuid(uuid(&row, "workspace_id")?),
            agent_id: AgentId::from_uuid(uuid(&row, "agent_id")?),
            role: parsed(&row, "role")?,
        })
    }

    async fn delete_agent_session(&self, secret_hash: [u8; 32]) -> Result<(), StoreError> {
        self.write(op!(delete_agent_session, secret_hash)).await
    }

    async fn remove_agent(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let removed = self.write(op!(remove_agent, workspace, id, at)).await;
        // Their tokens, and the tokens they made, end with them.
        self.tokens().forget_all();
        removed
    }

    async fn password_hash(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
    ) -> Result<String, StoreError> {
        sqlx::query_scalar(
            "SELECT password_hash FROM agents WHERE workspace_id = $1 AND id = $2 AND removed_at IS NULL",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)
    }

    async fn set_password_hash(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
        password_hash: String,
        keep: Option<[u8; 32]>,
    ) -> Result<(), StoreError> {
        self.write(op!(set_password_hash, workspace, id, password_hash, keep))
            .await
    }

    async fn create_agent(&self, new: NewAgent) -> Result<Agent, StoreError> {
        self.write(op!(create_agent, new)).await
    }

    async fn agent(&self, workspace: WorkspaceId, id: AgentId) -> Result<Agent, StoreError> {
        let row = sqlx::query(
            "SELECT id, workspace_id, email, name, role, created_at FROM agents WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        agent_from_row(&row, "")
    }

    async fn list_agents(&self, workspace: WorkspaceId) -> Result<Vec<Agent>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, email, name, role, created_at FROM agents
             WHERE workspace_id = $1 AND removed_at IS NULL ORDER BY created_at, id",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| agent_from_row(row, ""))
        .collect()
    }

    async fn create_token(&self, new: NewToken) -> Result<ApiToken, StoreError> {
        self.write(op!(create_token, new)).await
    }

    async fn list_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, agent_id, COALESCE(created_by, agent_id) AS created_by, name,
                    created_at, revoked_at
             FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at, id",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(token_from_row)
        .collect()
    }

    async fn revoke_token(
        &self,
        workspace: WorkspaceId,
        id: TokenId,
        at: Timestamp,
    ) -> Result<ApiToken, StoreError> {
        let revoked = self.write(op!(revoke_token, workspace, id, at)).await;
        self.tokens().forget_all();
        revoked
    }

    async fn authenticate_token(&self, secret_hash: [u8; 32]) -> Result<Principal, StoreError> {
        if let Some(principal) = self.tokens().get(&secret_hash) {
            return Ok(principal);
        }
        let epoch = self.tokens().epoch();
        // The token acts as its member, with no more rights than its maker
        // has now; it dies with either's membership.
        let row = sqlx::query(
            "SELECT t.workspace_id, t.agent_id, a.role, c.role AS creator_role FROM api_tokens t
             JOIN agents a ON a.id = t.agent_id AND a.workspace_id = t.workspace_id
             JOIN agents c ON c.id = COALESCE(t.created_by, t.agent_id) AND c.workspace_id = t.workspace_id
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL
               AND a.removed_at IS NULL AND c.removed_at IS NULL",
        )
        .bind(&secret_hash[..])
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        let role: Role = parsed(&row, "role")?;
        let principal = Principal {
            workspace_id: WorkspaceId::from_uuid(uuid(&row, "workspace_id")?),
            agent_id: AgentId::from_uuid(uuid(&row, "agent_id")?),
            role: role.at_most(parsed(&row, "creator_role")?),
        };
        self.tokens().put(secret_hash, principal.clone(), epoch);
        Ok(principal)
    }
}
