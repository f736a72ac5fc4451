//! Durable jobs: claimed, retried, finished or failed by the job runner.

use super::*;

/// Enqueues a job, unless one with the same kind and key is pending.
pub(super) async fn insert_job(
    conn: &mut Conn,
    job: &NewJob,
    now: Timestamp,
) -> Result<(), StoreError> {
    insert_jobs(conn, &[job], now).await
}

/// Enqueues jobs in one statement (each skipped if one with its kind and
/// key is pending).
pub(super) async fn insert_jobs(
    conn: &mut Conn,
    jobs: &[&NewJob],
    now: Timestamp,
) -> Result<(), StoreError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO jobs (id, workspace_id, kind, dedupe_key, payload, due_at, created_at, request_id) ",
    );
    let mut columns = JobColumns::default();
    for job in jobs {
        columns.id.push(job.id.as_uuid());
        columns.workspace.push(job.workspace_id.as_uuid());
        columns.kind.push(job.job.kind());
        columns.key.push(job.job.key());
        columns.payload.push(Json(job.job.payload()));
        columns.due_at.push(ms(job.due_at));
        columns.created_at.push(ms(now));
        columns.request_id.push(
            job.request_id
                .clone()
                .or_else(rapport_core::request_id::current),
        );
    }
    Db::push_job_rows(&mut sql, columns);
    sql.push(" ON CONFLICT (kind, dedupe_key) DO NOTHING");
    sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

pub(super) const JOB_COLUMNS: &str =
    "id, workspace_id, kind, payload, due_at, attempts, failures, created_at, request_id";

/// A job as stored; one that cannot be read is returned as such (its `job`
/// an error) for the runner to fail, never an error that would stop a claim.
pub(super) fn job_from_row(row: &DbRow) -> Result<ClaimedJob, StoreError> {
    let count = |column: &str| -> Result<u32, StoreError> {
        u32::try_from(row.try_get::<i64, _>(column).map_err(db_err)?).map_err(data_err)
    };
    let kind: String = text(row, "kind")?;
    let payload: serde_json::Value = json(row, "payload")?;
    Ok(ClaimedJob {
        id: JobId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        job: Job::parse(&kind, &payload),
        kind,
        due_at: ts(row, "due_at")?,
        attempts: count("attempts")?,
        failures: count("failures")?,
        created_at: ts(row, "created_at")?,
        request_id: opt_text(row, "request_id")?,
    })
}

/// `JobStore::claim_jobs` (`except` false) and `claim_jobs_except`.
pub(super) async fn claim_jobs(
    conn: &mut Conn,
    kinds: Vec<&'static str>,
    except: bool,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let mut sql = QueryBuilder::<Db>::new("UPDATE jobs SET claimed_until = ");
    sql.push_bind(ms(until))
        .push(", attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE ");
    if !kinds.is_empty() {
        sql.push(if except { "kind NOT IN (" } else { "kind IN (" });
        let mut list = sql.separated(", ");
        for kind in &kinds {
            list.push_bind(*kind);
        }
        sql.push(") AND ");
    }
    sql.push("failed_at IS NULL AND due_at <= ")
        .push_bind(ms(now))
        .push(" AND (claimed_until IS NULL OR claimed_until <= ")
        .push_bind(ms(now))
        .push(") ORDER BY due_at LIMIT ")
        .push_bind(i64::from(limit))
        .push(SKIP_LOCKED)
        .push(") RETURNING ")
        .push(JOB_COLUMNS);
    let rows = sql.build().fetch_all(&mut *conn).await.map_err(db_err)?;
    let mut jobs = rows
        .iter()
        .map(job_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    jobs.sort_by_key(|j| j.due_at);
    Ok(jobs)
}

/// Refuses (`Conflict`) unless `job` is still held with its claim.
pub(super) async fn check_claim(conn: &mut Conn, job: &ClaimedJob) -> Result<(), StoreError> {
    let attempts: Option<i64> =
        sqlx::query_scalar(for_update!("SELECT attempts FROM jobs WHERE id = $1"))
            .bind(job.id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    if attempts == Some(i64::from(job.attempts)) {
        Ok(())
    } else {
        Err(StoreError::Conflict(
            "the job was claimed again by another worker".into(),
        ))
    }
}

pub(super) async fn retry_job(
    conn: &mut Conn,
    job: ClaimedJob,
    due_at: Timestamp,
    error: String,
) -> Result<(), StoreError> {
    check_claim(conn, &job).await?;
    sqlx::query(
        "UPDATE jobs SET due_at = $2, claimed_until = NULL, last_error = $3, failures = failures + 1
         WHERE id = $1",
    )
    .bind(job.id.as_uuid())
    .bind(ms(due_at))
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn release_job(
    conn: &mut Conn,
    job: ClaimedJob,
    due_at: Timestamp,
) -> Result<(), StoreError> {
    check_claim(conn, &job).await?;
    sqlx::query(
        "UPDATE jobs SET due_at = $2, claimed_until = NULL, last_error = NULL, failures = 0
         WHERE id = $1",
    )
    .bind(job.id.as_uuid())
    .bind(ms(due_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn fail_job(
    conn: &mut Conn,
    job: ClaimedJob,
    at: Timestamp,
    error: String,
) -> Result<(), StoreError> {
    check_claim(conn, &job).await?;
    sqlx::query(
        "UPDATE jobs SET failed_at = $2, claimed_until = NULL, dedupe_key = NULL, last_error = $3
         WHERE id = $1",
    )
    .bind(job.id.as_uuid())
    .bind(ms(at))
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn finish_job(conn: &mut Conn, job: ClaimedJob) -> Result<(), StoreError> {
    check_claim(conn, &job).await?;
    sqlx::query("DELETE FROM jobs WHERE id = $1")
        .bind(job.id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl JobStore for Backend {
    async fn claim_jobs(
        &self,
        kinds: &[&'static str],
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let kinds = kinds.to_vec();
        self.write(op!(claim_jobs, kinds, false, now, until, limit))
            .await
    }

    async fn claim_jobs_except(
        &self,
        kinds: &[&'static str],
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let kinds = kinds.to_vec();
        self.write(op!(claim_jobs, kinds, true, now, until, limit))
            .await
    }

    async fn retry_job(
        &self,
        job: &ClaimedJob,
        due_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let (job, error) = (job.clone(), error.to_owned());
        self.write(op!(retry_job, job, due_at, error)).await
    }

    async fn release_job(&self, job: &ClaimedJob, due_at: Timestamp) -> Result<(), StoreError> {
        let job = job.clone();
        self.write(op!(release_job, job, due_at)).await
    }

    async fn due_jobs(&self, now: Timestamp, limit: u32) -> Result<Vec<ClaimedJob>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new("SELECT ");
        sql.push(JOB_COLUMNS)
            .push(" FROM jobs WHERE failed_at IS NULL AND due_at <= ")
            .push_bind(ms(now))
            .push(" AND (claimed_until IS NULL OR claimed_until <= ")
            .push_bind(ms(now))
            .push(") ORDER BY due_at LIMIT ")
            .push_bind(i64::from(limit));
        let rows = sql.build().fetch_all(self.reader()).await.map_err(db_err)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn job_counts(&self, now: Timestamp) -> Result<Vec<JobCount>, StoreError> {
        // `/metrics` reads these on every scrape, with hundreds of
        // thousands of jobs queued after a large send: the jobs not failed
        // are counted through their kinds index, the failed ones (few) from
        // an index of their own (migration 29; 32 on PostgreSQL).
        let waiting = sqlx::query(
            "SELECT kind,
                    SUM(CASE WHEN due_at > $1 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN due_at <= $1 THEN 1 ELSE 0 END),
                    MIN(CASE WHEN due_at <= $1 THEN due_at END)
             FROM jobs WHERE failed_at IS NULL GROUP BY kind",
        )
        .bind(ms(now))
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        let failed = sqlx::query(
            "SELECT kind, COUNT(*) FROM jobs WHERE failed_at IS NOT NULL GROUP BY kind",
        )
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        let mut counts = std::collections::BTreeMap::new();
        for row in &waiting {
            let kind: String = row.try_get(0).map_err(db_err)?;
            counts.insert(
                kind.clone(),
                JobCount {
                    kind,
                    waiting: row.try_get(1).map_err(db_err)?,
                    due: row.try_get(2).map_err(db_err)?,
                    failed: 0,
                    oldest_due_at: row
                        .try_get::<Option<i64>, _>(3)
                        .map_err(db_err)?
                        .map(Timestamp::from_millis),
                },
            );
        }
        for row in &failed {
            let kind: String = row.try_get(0).map_err(db_err)?;
            let failed = row.try_get(1).map_err(db_err)?;
            counts
                .entry(kind.clone())
                .or_insert_with(|| JobCount {
                    kind,
                    ..JobCount::default()
                })
                .failed = failed;
        }
        Ok(counts.into_values().collect())
    }

    async fn finish_job(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        let job = job.clone();
        self.write(op!(finish_job, job)).await
    }

    async fn fail_job(
        &self,
        job: &ClaimedJob,
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let (job, error) = (job.clone(), error.to_owned());
        self.write(op!(fail_job, job, at, error)).await
    }
}
