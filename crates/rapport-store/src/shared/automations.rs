//! Automations: their drafts, their immutable published versions, their
//! status, and what their runs did (`automation_stats`).

use super::*;
use rapport_core::model::automation::run::AutomationStats;
use rapport_core::model::automation::{
    Automation, AutomationStatus, Definition, MAX_AUTOMATIONS, RunsOnPublish, Version,
};
use rapport_core::model::ids::AutomationId;

/// An automation with its live version's definition (`live_definition`),
/// of workspace `$1`.
macro_rules! automation_select {
    () => {
        "SELECT a.id, a.workspace_id, a.name, a.status, a.draft, a.live_version, a.created_at,
                a.updated_at, v.definition AS live_definition
         FROM automations a
         LEFT JOIN automation_versions v ON v.automation_id = a.id AND v.version = a.live_version
         WHERE a.workspace_id = $1"
    };
}

/// A draft or version as stored.
fn definition(value: serde_json::Value) -> Result<Definition, StoreError> {
    serde_json::from_value(value).map_err(data_err)
}

/// An automation read with `automation_select!`.
fn automation_from_row(row: &DbRow) -> Result<Automation, StoreError> {
    let draft = definition(json(row, "draft")?)?;
    let live = row
        .try_get::<Option<Json<serde_json::Value>>, _>("live_definition")
        .map_err(db_err)?
        .map(|live| definition(live.0))
        .transpose()?;
    Ok(Automation {
        id: AutomationId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        name: text(row, "name")?,
        status: parsed(row, "status")?,
        // Never published: all of it is still to publish.
        draft_changed: live.as_ref().is_none_or(|live| *live != draft),
        draft,
        live_version: row
            .try_get::<Option<i64>, _>("live_version")
            .map_err(db_err)?
            .map(u32::try_from)
            .transpose()
            .map_err(data_err)?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

/// A row of `automation_versions`.
pub(super) fn version_from_row(row: &DbRow) -> Result<Version, StoreError> {
    Ok(Version {
        automation_id: AutomationId::from_uuid(uuid(row, "automation_id")?),
        version: small(row, "version")?,
        definition: definition(json(row, "definition")?)?,
        published_at: ts(row, "published_at")?,
        published_by: opt_uuid(row, "published_by")?.map(AgentId::from_uuid),
    })
}

/// An automation of the workspace, as read on `executor`.
async fn read_automation<'e, E>(
    executor: E,
    workspace: WorkspaceId,
    id: AutomationId,
) -> Result<Automation, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let row = sqlx::query(concat!(automation_select!(), " AND a.id = $2"))
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(executor)
        .await
        .map_err(db_err)?;
    automation_from_row(&row)
}

/// An automation's status, draft and live version, locked (on PostgreSQL)
/// until commit.
async fn locked_automation(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AutomationId,
) -> Result<(AutomationStatus, serde_json::Value, Option<i64>), StoreError> {
    let row = sqlx::query(for_update!(
        "SELECT status, draft, live_version FROM automations WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok((
        parsed(&row, "status")?,
        json(&row, "draft")?,
        row.try_get("live_version").map_err(db_err)?,
    ))
}

/// Before an automation goes live or the AI bot is turned on: when the
/// dispatcher had nothing to read the workspace's log for (no automation
/// live, the bot off), its cursor moves to the log's head, so that what
/// happened before is never replayed. (Under the log's lock on
/// PostgreSQL, so that no entry still to commit falls behind the head.)
pub(super) async fn cursor_to_head_if_first(
    conn: &mut Conn,
    workspace: WorkspaceId,
) -> Result<(), StoreError> {
    let live: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM automations WHERE workspace_id = $1 AND status = 'live')
              + (SELECT COUNT(*) FROM bot_settings WHERE workspace_id = $1 AND enabled)",
    )
    .bind(workspace.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    if live > 0 {
        return Ok(());
    }
    lock_log(conn, workspace).await?;
    sqlx::query(
        "INSERT INTO automation_cursors (workspace_id, seq)
         SELECT $1, COALESCE(MAX(seq), 0) FROM activity WHERE workspace_id = $1
         ON CONFLICT (workspace_id) DO UPDATE SET seq = excluded.seq",
    )
    .bind(workspace.as_uuid())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Stores a new draft, unless the workspace has `MAX_AUTOMATIONS`
/// already.
async fn create_automation(conn: &mut Conn, new: NewAutomation) -> Result<Automation, StoreError> {
    lock_workspace(conn, new.workspace_id).await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM automations WHERE workspace_id = $1")
        .bind(new.workspace_id.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    if count >= i64::from(MAX_AUTOMATIONS) {
        return Err(StoreError::Conflict(format!(
            "a workspace has at most {MAX_AUTOMATIONS} automations"
        )));
    }
    sqlx::query(
        "INSERT INTO automations (id, workspace_id, name, status, draft, created_at, updated_at)
         VALUES ($1, $2, $3, 'draft', $4, $5, $5)",
    )
    .bind(new.id.as_uuid())
    .bind(new.workspace_id.as_uuid())
    .bind(&new.name)
    .bind(Json(&new.draft))
    .bind(ms(new.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(Automation {
        id: new.id,
        workspace_id: new.workspace_id,
        name: new.name,
        status: AutomationStatus::Draft,
        draft: new.draft,
        live_version: None,
        draft_changed: true,
        created_at: new.created_at,
        updated_at: new.created_at,
    })
}

/// Replaces the name and the draft.
async fn save_draft(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AutomationId,
    name: String,
    draft: Definition,
    at: Timestamp,
) -> Result<Automation, StoreError> {
    let done = sqlx::query(
        "UPDATE automations SET name = $3, draft = $4, updated_at = $5
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(&name)
    .bind(Json(&draft))
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    read_automation(&mut *conn, workspace, id).await
}

/// Stops the automation's going runs, then deletes it and its versions;
/// its runs and their logs stay, as history.
async fn delete_automation(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AutomationId,
    at: Timestamp,
) -> Result<(), StoreError> {
    locked_automation(conn, workspace, id).await?;
    let going = locked_going_runs(conn, workspace, id, None).await?;
    stop_runs(conn, workspace, &going, "the automation was deleted", at).await?;
    for sql in [
        "DELETE FROM automation_versions WHERE workspace_id = $1 AND automation_id = $2",
        "DELETE FROM automations WHERE workspace_id = $1 AND id = $2",
    ] {
        sqlx::query(sql)
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Freezes the draft as the next version and makes it live, doing `runs`
/// to the going runs of older versions; refuses (changing nothing) to
/// migrate a run whose node the new version does not have.
async fn publish_automation(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AutomationId,
    by: Option<AgentId>,
    runs: RunsOnPublish,
    at: Timestamp,
) -> Result<Published, StoreError> {
    let (_, draft, _) = locked_automation(conn, workspace, id).await?;
    let latest: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) FROM automation_versions WHERE automation_id = $1",
    )
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let version = u32::try_from(latest + 1).map_err(data_err)?;
    let going = match runs {
        RunsOnPublish::Finish => Vec::new(),
        RunsOnPublish::Migrate | RunsOnPublish::Stop => {
            locked_going_runs(conn, workspace, id, Some(version)).await?
        }
    };
    if runs == RunsOnPublish::Migrate {
        let flow = definition(draft.clone())?.flow;
        if let Some(run) = going
            .iter()
            .find(|run| !flow.nodes.iter().any(|node| node.id == run.node))
        {
            return Err(StoreError::Conflict(format!(
                "a run is at node {:?}, which version {version} does not have",
                run.node
            )));
        }
    }

    sqlx::query(
        "INSERT INTO automation_versions (automation_id, version, workspace_id, definition, published_at, published_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_uuid())
    .bind(i64::from(version))
    .bind(workspace.as_uuid())
    .bind(Json(&draft))
    .bind(ms(at))
    .bind(by.map(|agent| agent.as_uuid()))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    cursor_to_head_if_first(conn, workspace).await?;
    sqlx::query(
        "UPDATE automations SET live_version = $3, status = 'live', updated_at = $4
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(i64::from(version))
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;

    let mut published = Published {
        version,
        ..Published::default()
    };
    match runs {
        RunsOnPublish::Finish => {}
        RunsOnPublish::Stop => {
            let reason = format!("stopped when version {version} was published");
            published.runs_stopped = stop_runs(conn, workspace, &going, &reason, at).await?;
        }
        RunsOnPublish::Migrate => {
            let ids: Vec<Uuid> = going.iter().map(|run| run.id.as_uuid()).collect();
            for chunk in ids.chunks(500) {
                let mut sql = QueryBuilder::<Db>::new("UPDATE automation_runs SET version = ");
                sql.push_bind(i64::from(version))
                    .push(", updated_at = ")
                    .push_bind(ms(at))
                    .push(" WHERE workspace_id = ")
                    .push_bind(workspace.as_uuid())
                    .push(" AND id IN ");
                push_ids(&mut sql, chunk);
                let done = sql.build().execute(&mut *conn).await.map_err(db_err)?;
                published.runs_moved += done.rows_affected();
            }
        }
    }
    Ok(published)
}

/// Pauses or resumes an automation that was published (`Conflict` for one
/// never published, and for `Draft`).
async fn set_automation_status(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AutomationId,
    status: AutomationStatus,
    at: Timestamp,
) -> Result<Automation, StoreError> {
    let (current, _, live_version) = locked_automation(conn, workspace, id).await?;
    match status {
        AutomationStatus::Draft => {
            return Err(StoreError::Conflict(
                "an automation becomes a draft only by never being published".into(),
            ));
        }
        _ if live_version.is_none() => {
            return Err(StoreError::Conflict(
                "the automation was never published".into(),
            ));
        }
        AutomationStatus::Live if current != AutomationStatus::Live => {
            cursor_to_head_if_first(conn, workspace).await?;
        }
        _ => {}
    }
    if current != status {
        sqlx::query(
            "UPDATE automations SET status = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .bind(status.as_str())
        .bind(ms(at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    read_automation(&mut *conn, workspace, id).await
}

#[async_trait]
impl AutomationStore for Backend {
    async fn create_automation(&self, new: NewAutomation) -> Result<Automation, StoreError> {
        self.write(op!(create_automation, new)).await
    }

    async fn automation(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
    ) -> Result<Automation, StoreError> {
        read_automation(self.reader(), workspace, id).await
    }

    async fn automations(&self, workspace: WorkspaceId) -> Result<Vec<Automation>, StoreError> {
        sqlx::query(concat!(
            automation_select!(),
            " ORDER BY a.created_at, a.id"
        ))
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(automation_from_row)
        .collect()
    }

    async fn save_draft(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        name: String,
        draft: Definition,
        at: Timestamp,
    ) -> Result<Automation, StoreError> {
        self.write(op!(save_draft, workspace, id, name, draft, at))
            .await
    }

    async fn delete_automation(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(delete_automation, workspace, id, at)).await
    }

    async fn publish_automation(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        by: Option<AgentId>,
        runs: RunsOnPublish,
        at: Timestamp,
    ) -> Result<Published, StoreError> {
        self.write(op!(publish_automation, workspace, id, by, runs, at))
            .await
    }

    async fn set_automation_status(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        status: AutomationStatus,
        at: Timestamp,
    ) -> Result<Automation, StoreError> {
        self.write(op!(set_automation_status, workspace, id, status, at))
            .await
    }

    async fn versions(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
    ) -> Result<Vec<Version>, StoreError> {
        // Existence first, so an unknown automation is NotFound, not empty.
        self.automation(workspace, id).await?;
        sqlx::query(
            "SELECT automation_id, version, definition, published_at, published_by
             FROM automation_versions WHERE workspace_id = $1 AND automation_id = $2
             ORDER BY version DESC",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(version_from_row)
        .collect()
    }

    async fn version(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
        version: u32,
    ) -> Result<Version, StoreError> {
        let row = sqlx::query(
            "SELECT automation_id, version, definition, published_at, published_by
             FROM automation_versions WHERE workspace_id = $1 AND automation_id = $2 AND version = $3",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .bind(i64::from(version))
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        version_from_row(&row)
    }

    async fn automation_stats(
        &self,
        workspace: WorkspaceId,
        id: AutomationId,
    ) -> Result<AutomationStats, StoreError> {
        self.automation(workspace, id).await?;
        automation_stats(self.reader(), workspace, id).await
    }
}
