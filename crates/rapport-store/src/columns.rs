//! Rows inserted many at a time, handed over column by column.
//!
//! A multi-row `VALUES` list is a different statement for each number of
//! rows, and a connection prepares every statement it has not seen yet
//! (on PostgreSQL, a round trip more) and keeps it in a cache of a hundred,
//! evicting others. The activity log and the jobs are appended under the
//! workspace's log lock with a row count that changes from one batch to
//! the next, so that extra round trip was paid with the lock held.
//! PostgreSQL binds each column as one array and reads the rows back with
//! `UNNEST`: one statement whatever the count. SQLite has no arrays, and
//! prepares its statements in the process: it keeps the `VALUES` list.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Database, Postgres, QueryBuilder, Sqlite};
use uuid::Uuid;

/// Activity entries of one workspace, one element per entry in each
/// column, in the order their positions are handed out.
#[derive(Default)]
pub(crate) struct LogColumns {
    pub contact: Vec<Uuid>,
    pub conversation: Vec<Option<Uuid>>,
    pub kind: Vec<&'static str>,
    pub data: Vec<Json<Value>>,
    pub created_at: Vec<i64>,
}

impl LogColumns {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            contact: Vec::with_capacity(n),
            conversation: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            data: Vec::with_capacity(n),
            created_at: Vec::with_capacity(n),
        }
    }
}

/// Jobs, one element per job in each column.
#[derive(Default)]
pub(crate) struct JobColumns {
    pub id: Vec<Uuid>,
    pub workspace: Vec<Uuid>,
    pub kind: Vec<&'static str>,
    pub key: Vec<String>,
    pub payload: Vec<Json<Value>>,
    pub due_at: Vec<i64>,
    pub created_at: Vec<i64>,
    pub request_id: Vec<Option<String>>,
}

/// How a backend writes the rows of a multi-row insert, after the
/// statement's column list.
pub(crate) trait PushColumns: Database + Sized {
    /// The rows of `(workspace_id, contact_id, conversation_id, kind, data,
    /// created_at)`.
    fn push_log_rows(sql: &mut QueryBuilder<Self>, workspace: Uuid, rows: LogColumns);

    /// The rows of `(id, workspace_id, kind, dedupe_key, payload, due_at,
    /// created_at, request_id)`.
    fn push_job_rows(sql: &mut QueryBuilder<Self>, rows: JobColumns);
}

impl PushColumns for Postgres {
    fn push_log_rows(sql: &mut QueryBuilder<Self>, workspace: Uuid, rows: LogColumns) {
        // Positions are handed out in the order the rows come: `ORDER BY`
        // the arrays' own order rather than count on the scan's.
        sql.push("SELECT ")
            .push_bind(workspace)
            .push(", r.contact, r.conversation, r.kind, r.data, r.created_at FROM UNNEST(")
            .push_bind(rows.contact)
            .push(", ")
            .push_bind(rows.conversation)
            .push(", ")
            .push_bind(rows.kind)
            .push(", ")
            .push_bind(rows.data)
            .push(", ")
            .push_bind(rows.created_at)
            .push(
                ") WITH ORDINALITY AS r (contact, conversation, kind, data, created_at, n) ORDER BY r.n",
            );
    }

    fn push_job_rows(sql: &mut QueryBuilder<Self>, rows: JobColumns) {
        sql.push("SELECT * FROM UNNEST(")
            .push_bind(rows.id)
            .push(", ")
            .push_bind(rows.workspace)
            .push(", ")
            .push_bind(rows.kind)
            .push(", ")
            .push_bind(rows.key)
            .push(", ")
            .push_bind(rows.payload)
            .push(", ")
            .push_bind(rows.due_at)
            .push(", ")
            .push_bind(rows.created_at)
            .push(", ")
            .push_bind(rows.request_id)
            .push(")");
    }
}

impl PushColumns for Sqlite {
    fn push_log_rows(sql: &mut QueryBuilder<Self>, workspace: Uuid, rows: LogColumns) {
        sql.push_values(0..rows.contact.len(), |mut row, i| {
            row.push_bind(workspace)
                .push_bind(rows.contact[i])
                .push_bind(rows.conversation[i])
                .push_bind(rows.kind[i])
                .push_bind(&rows.data[i])
                .push_bind(rows.created_at[i]);
        });
    }

    fn push_job_rows(sql: &mut QueryBuilder<Self>, rows: JobColumns) {
        sql.push_values(0..rows.id.len(), |mut row, i| {
            row.push_bind(rows.id[i])
                .push_bind(rows.workspace[i])
                .push_bind(rows.kind[i])
                .push_bind(&rows.key[i])
                .push_bind(&rows.payload[i])
                .push_bind(rows.due_at[i])
                .push_bind(rows.created_at[i])
                .push_bind(&rows.request_id[i]);
        });
    }
}
