//! Automation runs: their rows and logs, stopping them, reading them back,
//! and `impl RunStore`. Runs start in `run_starts.rs`; their steps are
//! written in `advance.rs`.

use super::*;
use rapport_core::model::automation::Version;
use rapport_core::model::automation::run::{NewRun, Run, RunLogEntry, Wait, WaitKind};
use rapport_core::model::ids::{AutomationId, RunId};

/// Every column of `automation_runs`, as `run_from_row` reads them.
pub(super) const RUN_COLUMNS: &str = "id, workspace_id, automation_id, version, contact_id, conversation_id, status, node, step, wait_kind, wait, context, ended_reason, goal_reached, started_at, updated_at";

/// The statuses of a going run (one that holds the contact's place in its
/// automation), as SQL.
pub(super) const GOING: &str = "status IN ('active', 'waiting')";

/// How many runs one statement touches.
const CHUNK: usize = 500;

/// A whole, non-negative number column (a version, a step count).
pub(super) fn small(row: &DbRow, column: &str) -> Result<u32, StoreError> {
    u32::try_from(row.try_get::<i64, _>(column).map_err(db_err)?).map_err(data_err)
}

/// A run as stored; a wait or context this version cannot read is an
/// error, not a run that would be taken for another.
pub(super) fn run_from_row(row: &DbRow) -> Result<Run, StoreError> {
    let wait = row
        .try_get::<Option<Json<serde_json::Value>>, _>("wait")
        .map_err(db_err)?
        .map(|wait| serde_json::from_value::<Wait>(wait.0))
        .transpose()
        .map_err(data_err)?;
    Ok(Run {
        id: RunId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        automation_id: AutomationId::from_uuid(uuid(row, "automation_id")?),
        version: small(row, "version")?,
        contact_id: ContactId::from_uuid(uuid(row, "contact_id")?),
        conversation_id: opt_uuid(row, "conversation_id")?.map(ConversationId::from_uuid),
        status: parsed(row, "status")?,
        node: text(row, "node")?,
        step: small(row, "step")?,
        wait,
        context: serde_json::from_value(json(row, "context")?).map_err(data_err)?,
        ended_reason: opt_text(row, "ended_reason")?,
        goal_reached: row.try_get("goal_reached").map_err(db_err)?,
        started_at: ts(row, "started_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

/// A line of a run's log.
pub(super) fn run_log_from_row(row: &DbRow) -> Result<RunLogEntry, StoreError> {
    Ok(RunLogEntry {
        step: small(row, "step")?,
        version: small(row, "version")?,
        node: text(row, "node")?,
        kind: text(row, "kind")?,
        exit: opt_text(row, "exit")?,
        detail: text(row, "detail")?,
        data: json(row, "data")?,
        at: ts(row, "at")?,
    })
}

/// What a run waits for, as the `wait_kind` column holds it (the partial
/// index of runs woken by what a contact does reads it).
pub(super) fn wait_kind(wait: Option<&Wait>) -> Option<&'static str> {
    wait.map(|wait| match wait.kind {
        WaitKind::Trigger { .. } => "trigger",
        WaitKind::Time => "time",
        WaitKind::For { .. } => "for",
        WaitKind::Answer { .. } => "answer",
    })
}

/// A run of the workspace, locked (on PostgreSQL) until commit.
pub(super) async fn locked_run(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: RunId,
) -> Result<Run, StoreError> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM automation_runs WHERE workspace_id = $1 AND id = $2{ROW_LOCK}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    run_from_row(&row)
}

/// The going runs of an automation (only those on versions older than
/// `older_than`, if given), locked (on PostgreSQL) until commit.
pub(super) async fn locked_going_runs(
    conn: &mut Conn,
    workspace: WorkspaceId,
    automation: AutomationId,
    older_than: Option<u32>,
) -> Result<Vec<Run>, StoreError> {
    let mut sql = QueryBuilder::<Db>::new(format!(
        "SELECT {RUN_COLUMNS} FROM automation_runs WHERE {GOING} AND workspace_id = "
    ));
    sql.push_bind(workspace.as_uuid())
        .push(" AND automation_id = ")
        .push_bind(automation.as_uuid());
    if let Some(version) = older_than {
        sql.push(" AND version < ").push_bind(i64::from(version));
    }
    sql.push(" ORDER BY id").push(ROW_LOCK);
    sql.build()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(run_from_row)
        .collect()
}

/// Stops the going runs among `runs` (read locked): each gets a `stop` line
/// in its log at the step it was at, its status, reason and next step, and
/// a `stopped` entry on its contact's timeline. Returns how many stopped.
pub(super) async fn stop_runs(
    conn: &mut Conn,
    workspace: WorkspaceId,
    runs: &[Run],
    reason: &str,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let going: Vec<&Run> = runs.iter().filter(|r| r.status.is_going()).collect();
    for chunk in going.chunks(CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|r| r.id.as_uuid()).collect();
        let mut sql = QueryBuilder::<Db>::new(
            "INSERT INTO automation_run_log (run_id, step, workspace_id, automation_id, contact_id, version, node, kind, exit, detail, data, message_id, at)
             SELECT id, step, workspace_id, automation_id, contact_id, version, node, 'stop', ",
        );
        sql.push_bind(None::<String>)
            .push(", ")
            .push_bind(reason.to_owned())
            .push(", ")
            .push_bind(Json(serde_json::Value::Null))
            .push(", ")
            .push_bind(None::<Uuid>)
            .push(", ")
            .push_bind(ms(at))
            .push(format!(" FROM automation_runs WHERE {GOING} AND "));
        push_ids_of(&mut sql, &ids, workspace);
        sql.build().execute(&mut *conn).await.map_err(db_err)?;

        let mut sql = QueryBuilder::<Db>::new(
            "UPDATE automation_runs SET status = 'stopped', wait_kind = NULL, wait = NULL, step = step + 1, ended_reason = ",
        );
        sql.push_bind(reason.to_owned())
            .push(", updated_at = ")
            .push_bind(ms(at))
            .push(format!(" WHERE {GOING} AND "));
        push_ids_of(&mut sql, &ids, workspace);
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    let entries: Vec<Activity> = going
        .iter()
        .map(|run| Activity::Automation {
            automation_id: run.automation_id,
            run_id: run.id,
            what: "stopped".into(),
            detail: Some(reason.to_owned()),
        })
        .collect();
    let rows: Vec<LogRow<'_>> = going
        .iter()
        .zip(&entries)
        .map(|(run, entry)| (run.contact_id, run.conversation_id, entry, at))
        .collect();
    for chunk in rows.chunks(CHUNK) {
        log_rows(conn, workspace, chunk).await?;
    }
    Ok(going.len() as u64)
}

/// `RunStore::stop_run`.
async fn stop_run(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: RunId,
    reason: String,
    at: Timestamp,
) -> Result<Run, StoreError> {
    let run = locked_run(conn, workspace, id).await?;
    if !run.status.is_going() {
        return Ok(run);
    }
    stop_runs(conn, workspace, std::slice::from_ref(&run), &reason, at).await?;
    locked_run(conn, workspace, id).await
}

#[async_trait]
impl RunStore for Backend {
    async fn dispatch_work(&self) -> Result<Vec<DispatchWork>, StoreError> {
        // Whether the log grew is one index probe per workspace
        // (`webhook_work` says why it is not an `EXISTS`).
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT w.workspace_id, COALESCE(c.seq, 0) AS cursor
             FROM (SELECT workspace_id FROM automations WHERE status = 'live'
                   UNION
                   SELECT workspace_id FROM bot_settings WHERE enabled
                   UNION
                   SELECT workspace_id FROM automation_runs
                   WHERE status = 'waiting' AND wait_kind IN ('for', 'answer')) w
             LEFT JOIN automation_cursors c ON c.workspace_id = w.workspace_id
             WHERE (SELECT a.seq FROM activity a
                    WHERE a.workspace_id = w.workspace_id AND a.seq > COALESCE(c.seq, 0)
                    ORDER BY a.seq LIMIT 1) IS NOT NULL",
        )
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(workspace, cursor)| DispatchWork {
                workspace_id: WorkspaceId::from_uuid(workspace),
                cursor,
            })
            .collect())
    }

    async fn live_workspaces(&self) -> Result<Vec<WorkspaceId>, StoreError> {
        let rows: Vec<Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT workspace_id FROM automations WHERE status = 'live'",
        )
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(WorkspaceId::from_uuid).collect())
    }

    async fn live_versions(&self, workspace: WorkspaceId) -> Result<Vec<Version>, StoreError> {
        sqlx::query(
            "SELECT v.automation_id, v.version, v.definition, v.published_at, v.published_by
             FROM automations a
             JOIN automation_versions v ON v.automation_id = a.id AND v.version = a.live_version
             WHERE a.workspace_id = $1 AND a.status = 'live' ORDER BY a.created_at, a.id",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(version_from_row)
        .collect()
    }

    async fn dispatch(&self, dispatch: Dispatch) -> Result<Vec<RunId>, StoreError> {
        self.write(op!(dispatch_stretch, dispatch)).await
    }

    async fn start_run(&self, new: NewRun) -> Result<Run, StoreError> {
        self.write(op!(start_run, new)).await
    }

    async fn run(&self, workspace: WorkspaceId, id: RunId) -> Result<Run, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM automation_runs WHERE workspace_id = $1 AND id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        run_from_row(&row)
    }

    async fn runs(&self, workspace: WorkspaceId, query: RunQuery) -> Result<Vec<Run>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {RUN_COLUMNS} FROM automation_runs WHERE workspace_id = "
        ));
        sql.push_bind(workspace.as_uuid());
        if let Some(automation) = query.automation_id {
            sql.push(" AND automation_id = ")
                .push_bind(automation.as_uuid());
        }
        if let Some(contact) = query.contact_id {
            sql.push(" AND contact_id = ").push_bind(contact.as_uuid());
        }
        if let Some(conversation) = query.conversation_id {
            sql.push(" AND conversation_id = ")
                .push_bind(conversation.as_uuid());
        }
        if query.going {
            sql.push(format!(" AND {GOING}"));
        }
        // Ids are time-ordered (UUIDv7): newest first is id order.
        if let Some(before) = query.before {
            sql.push(" AND id < ").push_bind(before.as_uuid());
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(run_from_row)
            .collect()
    }

    async fn run_log(
        &self,
        workspace: WorkspaceId,
        id: RunId,
    ) -> Result<Vec<RunLogEntry>, StoreError> {
        let lines = sqlx::query(
            "SELECT step, version, node, kind, exit, detail, data, at FROM automation_run_log
             WHERE workspace_id = $1 AND run_id = $2 ORDER BY step",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(run_log_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        if lines.is_empty() {
            // An unknown run is NotFound rather than empty.
            self.run(workspace, id).await?;
        }
        Ok(lines)
    }

    async fn waiting_runs(
        &self,
        workspace: WorkspaceId,
        contacts: &[ContactId],
    ) -> Result<Vec<Run>, StoreError> {
        let mut runs = Vec::new();
        for chunk in contacts.chunks(CHUNK) {
            let mut sql = QueryBuilder::<Db>::new(format!(
                "SELECT {RUN_COLUMNS} FROM automation_runs
                 WHERE status = 'waiting' AND wait_kind IN ('for', 'answer') AND workspace_id = "
            ));
            sql.push_bind(workspace.as_uuid())
                .push(" AND contact_id IN ");
            let ids: Vec<Uuid> = chunk.iter().map(|c| c.as_uuid()).collect();
            push_ids(&mut sql, &ids);
            sql.push(" ORDER BY id");
            for row in sql.build().fetch_all(self.reader()).await.map_err(db_err)? {
                runs.push(run_from_row(&row)?);
            }
        }
        Ok(runs)
    }

    async fn wake_runs(
        &self,
        workspace: WorkspaceId,
        runs: &[RunId],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if runs.is_empty() {
            return Ok(());
        }
        let runs = runs.to_vec();
        self.write(op!(wake_runs_now, workspace, runs, at)).await
    }

    async fn advance_run(&self, advance: RunAdvance) -> Result<Advanced, StoreError> {
        self.write(op!(super::advance::advance_run, advance)).await
    }

    async fn stop_run(
        &self,
        workspace: WorkspaceId,
        id: RunId,
        reason: &str,
        at: Timestamp,
    ) -> Result<Run, StoreError> {
        let reason = reason.to_owned();
        self.write(op!(stop_run, workspace, id, reason, at)).await
    }
}
