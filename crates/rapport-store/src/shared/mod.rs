//! The queries both backends run: this module is compiled once inside
//! `sqlite.rs` and once inside `postgres.rs`, each of which defines `Db`
//! (the sqlx database), `Conn` (its connection), `Backend` (its store type,
//! with `reader()` and `write()`), the macro `for_update!` (row locks where
//! the backend has them), `LOG_LOCK` (the statement, if any, that orders
//! appends to a workspace's activity log) and a few dialect constants.
//! Placeholders are `$N`, which both drivers accept; ids are UUIDs, times
//! Unix milliseconds.
//!
//! One file per role of the store port (`rapport_core::ports::store`): each
//! holds that role's queries and its `impl ...Store for Backend`.

use super::*;
use async_trait::async_trait;
use futures::future::BoxFuture;
use rapport_core::Timestamp;
use rapport_core::model::activity::NewEvent;
use rapport_core::model::activity::{Activity, ActivityEntry};
use rapport_core::model::agent::AgentSession;
use rapport_core::model::agent::{Agent, ApiToken, Email, NewAgent, NewToken, Principal, Role};
use rapport_core::model::automation::Cause;
use rapport_core::model::automation::trigger::SESSION_START;
use rapport_core::model::bulk::{Audience, BulkSend, BulkStatus, NewBulkSend};
use rapport_core::model::contact::{
    Contact, ContactUpsert, MAX_WORKSPACE_PROPERTIES, PropType, PropTypes, PropertySetting,
    SystemProps, WIDGET_SESSION_IDLE_MILLIS,
};
use rapport_core::model::conversation::{
    AssigneeFilter, Author, Conversation, ConversationChange, ConversationQuery, ConversationSort,
    Message, PartKind,
};
use rapport_core::model::email::EmailPlan;
use rapport_core::model::erasure::Erasure;
use rapport_core::model::ids::ErasureId;
use rapport_core::model::ids::{
    AgentId, BulkSendId, ContactId, ConversationId, JobId, MessageId, SegmentId, TokenId,
    WorkspaceId,
};
use rapport_core::model::job::ClaimedJob;
use rapport_core::model::job::{Job, NewJob};
use rapport_core::model::people::{
    ContactPage, ContactSearch, EventSummary, PeopleSchema, Segment,
};
use rapport_core::model::validation::ValidationError;
use rapport_core::model::visitor::{
    Adoption, VisitorBoot, VisitorBooted, VisitorIdentity, adoption,
};
use rapport_core::model::workspace::EmailSettings;
use rapport_core::model::workspace::{NewWorkspace, Workspace, WorkspaceSettings};
use rapport_core::ports::store::*;
use sea_query_sqlx::SqlxBinder;
use sqlx::types::Json;
use sqlx::{Database, QueryBuilder, Row};
use uuid::Uuid;

use crate::columns::{JobColumns, LogColumns, PushColumns};
use crate::{data_err, db_err};

type DbRow = <Db as Database>::Row;

// For the backends' own message writes; only SQLite's writer, which
// appends waiting messages together, checks their shape first.
pub(crate) use messages::append_messages;
#[allow(unused_imports)]
pub(crate) use messages::shape_ok;

/// Wraps a query function for `Backend::write` as a closure that can run
/// more than once (SQLite's writer may redo a batch), each run on its own
/// copy of the arguments.
macro_rules! op {
    ($f:path $(, $arg:expr)*) => {
        move |conn: &mut Conn| -> BoxFuture<'_, Result<_, StoreError>> {
            Box::pin($f(conn $(, Clone::clone(&$arg))*))
        }
    };
}

fn ms(at: Timestamp) -> i64 {
    at.as_millis()
}

fn ts(row: &DbRow, column: &str) -> Result<Timestamp, StoreError> {
    row.try_get::<i64, _>(column)
        .map(Timestamp::from_millis)
        .map_err(db_err)
}

fn opt_ts(row: &DbRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(row
        .try_get::<Option<i64>, _>(column)
        .map_err(db_err)?
        .map(Timestamp::from_millis))
}

fn uuid(row: &DbRow, column: &str) -> Result<Uuid, StoreError> {
    row.try_get::<Uuid, _>(column).map_err(db_err)
}

fn opt_uuid(row: &DbRow, column: &str) -> Result<Option<Uuid>, StoreError> {
    row.try_get::<Option<Uuid>, _>(column).map_err(db_err)
}

fn text(row: &DbRow, column: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(column).map_err(db_err)
}

fn opt_text(row: &DbRow, column: &str) -> Result<Option<String>, StoreError> {
    row.try_get::<Option<String>, _>(column).map_err(db_err)
}

fn parsed<T: std::str::FromStr<Err = String>>(row: &DbRow, column: &str) -> Result<T, StoreError> {
    text(row, column)?
        .parse()
        .map_err(|e: String| StoreError::Other(e.into()))
}

fn json(row: &DbRow, column: &str) -> Result<serde_json::Value, StoreError> {
    Ok(row
        .try_get::<Json<serde_json::Value>, _>(column)
        .map_err(db_err)?
        .0)
}

/// The row `sql` (binding `$1` the workspace, `$2` an id) finds, read by
/// `from_row`; `NotFound` when there is none.
async fn one_row<T>(
    conn: &mut Conn,
    sql: &'static str,
    workspace: WorkspaceId,
    id: Uuid,
    from_row: fn(&DbRow) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let row = sqlx::query(sql)
        .bind(workspace.as_uuid())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

/// Pushes `(id, id, ...)`, each bound, the list padded (its last id
/// repeated) to 1, 4, 16, 64 or a multiple of 256 ids: each length is its
/// own statement, which every connection prepares and keeps, so a list
/// whose length varies from call to call would otherwise fill the
/// connections' statement caches with one statement per length (and, on
/// PostgreSQL, cost a round trip more each time one is prepared). A
/// repeated id changes nothing in an `IN` list.
fn push_ids(sql: &mut QueryBuilder<Db>, ids: &[Uuid]) {
    let len = match ids.len() {
        0 => 0,
        n => [1, 4, 16, 64]
            .into_iter()
            .find(|&len| n <= len)
            .unwrap_or_else(|| n.div_ceil(256) * 256),
    };
    sql.push("(");
    let mut list = sql.separated(", ");
    let padding = ids.last().into_iter().cycle().take(len - ids.len());
    for id in ids.iter().chain(padding) {
        list.push_bind(*id);
    }
    sql.push(")");
}

/// Pushes `id IN (ids) AND (workspace_id = workspace) IS TRUE`: the rows
/// of `ids` that belong to the workspace, found by primary key. Written
/// plainly (`workspace_id = .. AND id IN ..`), PostgreSQL without
/// statistics for the table (a new or freshly imported one) reads it
/// through an index that begins with the workspace, every row of the
/// workspace for each call (2.9 ms on 20,000 contacts, growing with the
/// workspace); `IS TRUE` keeps the workspace out of any index condition,
/// so the primary key finds the rows and the workspace is checked on them.
fn push_ids_of(sql: &mut QueryBuilder<Db>, ids: &[Uuid], workspace: WorkspaceId) {
    sql.push("id IN ");
    push_ids(sql, ids);
    sql.push(" AND (workspace_id = ")
        .push_bind(workspace.as_uuid())
        .push(") IS TRUE");
}

/// Holds the workspace's row until commit, on PostgreSQL (SQLite's one
/// writer runs writes one at a time already). A write that counts the
/// workspace's rows against a cap, or looks for a taken name, takes it
/// first: two such writes at once then run one after the other, and the
/// second counts the first's row (each statement reads what committed
/// before it), where both had seen room for the last one. `FOR NO KEY
/// UPDATE` leaves other writes' foreign-key checks on the workspace (`FOR
/// KEY SHARE`) unblocked.
async fn lock_workspace(conn: &mut Conn, workspace: WorkspaceId) -> Result<(), StoreError> {
    if ROW_LOCK.is_empty() {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM workspaces WHERE id = $1{ROW_LOCK}"
    )))
    .bind(workspace.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Runs a query of one id column.
async fn fetch_ids(mut sql: QueryBuilder<Db>, conn: &mut Conn) -> Result<Vec<Uuid>, StoreError> {
    sql.build_query_scalar()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

mod activity;
mod advance;
mod articles;
mod attachments;
mod automation_stats;
mod automations;
mod bot;
mod bulk_sends;
mod conditions;
mod contact_batch;
mod contact_sets;
mod contact_updates;
mod contacts;
mod conversation_tags;
mod conversations;
mod email;
mod erasures;
mod jobs;
mod messages;
mod people;
mod ratings;
mod reports;
mod run_starts;
mod runs;
mod saved_replies;
mod team;
mod team_notices;
mod teams;
mod visitors;
mod webhooks;
mod workspaces;

use activity::*;
use automation_stats::*;
use automations::*;
use contact_updates::*;
use contacts::*;
use conversations::*;
use jobs::*;
use people::*;
use run_starts::*;
use runs::*;
use team::*;
use teams::*;
use workspaces::*;
