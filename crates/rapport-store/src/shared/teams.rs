//! Teams: named groups of members (`ConditionStore::teams` and friends).

use std::collections::HashMap;

use super::*;
use rapport_core::model::ids::TeamId;
use rapport_core::model::teams::{MAX_TEAMS, Team};

/// The workspace's teams with their members, by name.
pub(super) async fn teams(
    conn: &mut Conn,
    workspace: WorkspaceId,
) -> Result<Vec<Team>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, workspace_id, name, created_at FROM teams WHERE workspace_id = $1 ORDER BY name",
    )
    .bind(workspace.as_uuid())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut teams = Vec::with_capacity(rows.len());
    for row in &rows {
        teams.push(Team {
            id: TeamId::from_uuid(uuid(row, "id")?),
            workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
            name: text(row, "name")?,
            members: Vec::new(),
            created_at: ts(row, "created_at")?,
        });
    }
    let members: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT m.team_id, m.agent_id FROM team_members m JOIN teams t ON t.id = m.team_id
         WHERE t.workspace_id = $1 ORDER BY m.team_id, m.position",
    )
    .bind(workspace.as_uuid())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut by_team: HashMap<Uuid, Vec<AgentId>> = HashMap::new();
    for (team, agent) in members {
        by_team
            .entry(team)
            .or_default()
            .push(AgentId::from_uuid(agent));
    }
    for team in &mut teams {
        team.members = by_team.remove(&team.id.as_uuid()).unwrap_or_default();
    }
    Ok(teams)
}

/// Creates or replaces a team and its members.
pub(super) async fn save_team(conn: &mut Conn, team: Team) -> Result<Team, StoreError> {
    lock_workspace(conn, team.workspace_id).await?;
    let ws = team.workspace_id.as_uuid();
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM teams WHERE workspace_id = $1 AND id <> $2")
            .bind(ws)
            .bind(team.id.as_uuid())
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
    if count >= MAX_TEAMS as i64 {
        return Err(StoreError::Conflict(format!(
            "a workspace has at most {MAX_TEAMS} teams"
        )));
    }
    let members: Vec<Uuid> = team.members.iter().map(AgentId::as_uuid).collect();
    if !members.is_empty() {
        let mut sql = QueryBuilder::<Db>::new("SELECT id FROM agents WHERE workspace_id = ");
        sql.push_bind(ws).push(" AND removed_at IS NULL AND id IN ");
        push_ids(&mut sql, &members);
        let found = fetch_ids(sql, conn).await?;
        if found.len() != members.len() {
            return Err(StoreError::Invalid(ValidationError::field(
                "members",
                "every member must be a member of this workspace's team",
            )));
        }
    }
    let named = sqlx::query(
        "INSERT INTO teams (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name
         WHERE teams.workspace_id = excluded.workspace_id",
    )
    .bind(team.id.as_uuid())
    .bind(ws)
    .bind(&team.name)
    .bind(ms(team.created_at))
    .execute(&mut *conn)
    .await;
    match named {
        Ok(done) if done.rows_affected() == 1 => {}
        Ok(_) => return Err(StoreError::NotFound),
        Err(err) => return Err(db_err(err)),
    }
    sqlx::query("DELETE FROM team_members WHERE team_id = $1")
        .bind(team.id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if !members.is_empty() {
        let mut sql =
            QueryBuilder::<Db>::new("INSERT INTO team_members (team_id, agent_id, position) ");
        sql.push_values(members.iter().enumerate(), |mut row, (i, agent)| {
            row.push_bind(team.id.as_uuid())
                .push_bind(*agent)
                .push_bind(i as i64);
        });
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(team)
}

pub(super) async fn delete_team(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: TeamId,
) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM teams WHERE workspace_id = $1 AND id = $2")
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}
