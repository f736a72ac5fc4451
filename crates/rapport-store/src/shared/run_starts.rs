//! Starting automation runs: one by hand or through the API, or many as
//! the dispatcher reads a stretch of the log (with its cursor moved in the
//! same transaction, so a stretch is dispatched once), each only if its
//! contact is in no going run of the automation and the frequency rule
//! allows it; and waking waiting runs.

use super::*;
use rapport_core::model::automation::run::{NewRun, Run, RunStatus};
use rapport_core::model::ids::RunId;

/// How many runs one statement touches.
const CHUNK: usize = 500;

/// Inserts a run if its contact is one of the workspace's, its version
/// exists, the contact is in no going run of the automation, and the
/// frequency window allows it; returns whether it did.
async fn insert_run(conn: &mut Conn, new: &NewRun) -> Result<bool, StoreError> {
    let run = &new.run;
    let (ws, automation, contact) = (
        run.workspace_id.as_uuid(),
        run.automation_id.as_uuid(),
        run.contact_id.as_uuid(),
    );
    let mut sql = QueryBuilder::<Db>::new(format!(
        "INSERT INTO automation_runs ({RUN_COLUMNS}) SELECT "
    ));
    let mut values = sql.separated(", ");
    values
        .push_bind(run.id.as_uuid())
        .push_bind(ws)
        .push_bind(automation)
        .push_bind(i64::from(run.version))
        .push_bind(contact)
        .push_bind(run.conversation_id.map(|c| c.as_uuid()))
        .push_bind(run.status.as_str())
        .push_bind(run.node.clone())
        .push_bind(i64::from(run.step))
        .push_bind(wait_kind(run.wait.as_ref()))
        .push_bind(run.wait.clone().map(Json))
        .push_bind(Json(run.context.clone()))
        .push_bind(run.ended_reason.clone())
        .push_bind(run.goal_reached)
        .push_bind(ms(run.started_at))
        .push_bind(ms(run.updated_at));
    sql.push(" FROM contacts c WHERE c.workspace_id = ")
        .push_bind(ws)
        .push(" AND c.id = ")
        .push_bind(contact)
        .push(" AND EXISTS (SELECT 1 FROM automation_versions v WHERE v.workspace_id = ")
        .push_bind(ws)
        .push(" AND v.automation_id = ")
        .push_bind(automation)
        .push(" AND v.version = ")
        .push_bind(i64::from(run.version))
        .push(")");
    // One going run at a time, whatever the frequency...
    sql.push(" AND NOT EXISTS (SELECT 1 FROM automation_runs r WHERE r.automation_id = ")
        .push_bind(automation)
        .push(" AND r.contact_id = ")
        .push_bind(contact)
        .push(" AND r.status IN ('active', 'waiting'))");
    // ...and none that started within the window (ever, for `None`).
    let window = match new.window_millis {
        None => Some(None),
        Some(millis) if millis > 0 => Some(Some(ms(run.started_at).saturating_sub(millis))),
        Some(_) => None,
    };
    if let Some(since) = window {
        sql.push(" AND NOT EXISTS (SELECT 1 FROM automation_runs r WHERE r.workspace_id = ")
            .push_bind(ws)
            .push(" AND r.contact_id = ")
            .push_bind(contact)
            .push(" AND r.automation_id = ")
            .push_bind(automation);
        if let Some(since) = since {
            sql.push(" AND r.started_at > ").push_bind(since);
        }
        sql.push(")");
    }
    // A concurrent start of the same contact's run loses here (PostgreSQL).
    sql.push(
        " ON CONFLICT (automation_id, contact_id) WHERE status IN ('active', 'waiting') DO NOTHING",
    );
    let done = sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

/// Why `insert_run` did not start a run.
async fn not_started(conn: &mut Conn, new: &NewRun) -> Result<StoreError, StoreError> {
    let run = &new.run;
    let found: (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT
           (SELECT COUNT(*) FROM contacts WHERE workspace_id = $1 AND id = $2),
           (SELECT COUNT(*) FROM automation_versions WHERE workspace_id = $1 AND automation_id = $3 AND version = $4),
           (SELECT COUNT(*) FROM automation_runs WHERE automation_id = $3 AND contact_id = $2 AND {GOING})"
    )))
    .bind(run.workspace_id.as_uuid())
    .bind(run.contact_id.as_uuid())
    .bind(run.automation_id.as_uuid())
    .bind(i64::from(run.version))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(match found {
        (0, _, _) | (_, 0, _) => StoreError::NotFound,
        (_, _, going) if going > 0 => {
            StoreError::Conflict("the contact is already in a run of this automation".into())
        }
        _ => StoreError::Conflict("the frequency rule does not allow another run yet".into()),
    })
}

/// The jobs that take started runs' first steps (due when their first wait
/// ends), and their `started` timeline entries.
async fn announce_started(
    conn: &mut Conn,
    workspace: WorkspaceId,
    runs: &[&Run],
    at: Timestamp,
) -> Result<(), StoreError> {
    let jobs: Vec<NewJob> = runs
        .iter()
        .map(|run| {
            let due = match (&run.wait, run.status) {
                (Some(wait), RunStatus::Waiting) => wait.until,
                _ => run.started_at,
            };
            NewJob::new(workspace, Job::AutomationRun { run_id: run.id }, due)
        })
        .collect();
    let jobs: Vec<&NewJob> = jobs.iter().collect();
    for chunk in jobs.chunks(CHUNK) {
        insert_jobs(conn, chunk, at).await?;
    }
    let entries: Vec<Activity> = runs
        .iter()
        .map(|run| Activity::Automation {
            automation_id: run.automation_id,
            run_id: run.id,
            what: "started".into(),
            detail: None,
        })
        .collect();
    let rows: Vec<LogRow<'_>> = runs
        .iter()
        .zip(&entries)
        .map(|(run, entry)| (run.contact_id, run.conversation_id, entry, run.started_at))
        .collect();
    for chunk in rows.chunks(CHUNK) {
        log_rows(conn, workspace, chunk).await?;
    }
    Ok(())
}

/// `RunStore::wake_runs`.
pub(super) async fn wake_runs_now(
    conn: &mut Conn,
    workspace: WorkspaceId,
    runs: Vec<RunId>,
    at: Timestamp,
) -> Result<(), StoreError> {
    wake_runs(conn, workspace, &runs, at).await
}

/// Makes the jobs of these runs due by `at` (earlier, never later), unless
/// they failed for good.
async fn wake_runs(
    conn: &mut Conn,
    workspace: WorkspaceId,
    runs: &[RunId],
    at: Timestamp,
) -> Result<(), StoreError> {
    for chunk in runs.chunks(CHUNK) {
        let jobs: Vec<Job> = chunk
            .iter()
            .map(|run_id| Job::AutomationRun { run_id: *run_id })
            .collect();
        let mut sql = QueryBuilder::<Db>::new("UPDATE jobs SET due_at = CASE WHEN due_at > ");
        sql.push_bind(ms(at))
            .push(" THEN ")
            .push_bind(ms(at))
            .push(" ELSE due_at END WHERE failed_at IS NULL AND workspace_id = ")
            .push_bind(workspace.as_uuid())
            .push(" AND kind = ")
            .push_bind(jobs[0].kind())
            .push(" AND dedupe_key IN (");
        // The key `insert_jobs` gave each run's job.
        let mut keys = sql.separated(", ");
        for job in &jobs {
            keys.push_bind(job.key());
        }
        sql.push(")");
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

/// `RunStore::dispatch`: the cursor moves from `from` to `to` (refused if it
/// is not at `from`), runs start, waiting runs wake.
pub(super) async fn dispatch_stretch(
    conn: &mut Conn,
    dispatch: Dispatch,
) -> Result<Vec<RunId>, StoreError> {
    let ws = dispatch.workspace_id;
    if dispatch.runs.iter().any(|new| new.run.workspace_id != ws) {
        return Err(StoreError::Other(
            "a dispatch starts runs of its own workspace only".into(),
        ));
    }
    let moved_first =
        || StoreError::Conflict("another dispatcher read this stretch of the log first".into());
    let cursor: Option<i64> = sqlx::query_scalar(for_update!(
        "SELECT seq FROM automation_cursors WHERE workspace_id = $1"
    ))
    .bind(ws.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    if cursor.unwrap_or(0) != dispatch.from {
        return Err(moved_first());
    }
    // Compare-and-set, for a cursor row another dispatcher inserts meanwhile.
    let moved = sqlx::query(
        "INSERT INTO automation_cursors (workspace_id, seq) VALUES ($1, $3)
         ON CONFLICT (workspace_id) DO UPDATE SET seq = excluded.seq
           WHERE automation_cursors.seq = $2",
    )
    .bind(ws.as_uuid())
    .bind(dispatch.from)
    .bind(dispatch.to)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if moved.rows_affected() != 1 {
        return Err(moved_first());
    }
    let mut started: Vec<&Run> = Vec::new();
    for new in &dispatch.runs {
        if insert_run(conn, new).await? {
            started.push(&new.run);
        }
    }
    wake_runs(conn, ws, &dispatch.wake, dispatch.at).await?;
    let jobs: Vec<&NewJob> = dispatch
        .jobs
        .iter()
        .filter(|j| j.workspace_id == ws)
        .collect();
    insert_jobs(conn, &jobs, dispatch.at).await?;
    announce_started(conn, ws, &started, dispatch.at).await?;
    Ok(started.iter().map(|run| run.id).collect())
}

/// `RunStore::start_run`.
pub(super) async fn start_run(conn: &mut Conn, new: NewRun) -> Result<Run, StoreError> {
    if !insert_run(conn, &new).await? {
        return Err(not_started(conn, &new).await?);
    }
    announce_started(conn, new.run.workspace_id, &[&new.run], new.run.started_at).await?;
    Ok(new.run)
}
