//! The PostgreSQL backend: an ordinary pool, one transaction per write.
//! PostgreSQL batches the WAL flushes of concurrent commits itself.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres};

use futures::future::BoxFuture;
use rapport_core::model::ids::WorkspaceId;
use rapport_core::ports::store::{NewMessage, StoreError};

use crate::db_err;
use crate::message_batch::{Appended, LaneGuard, Lanes, MessageWrite};

type Db = Postgres;
type Conn = PgConnection;
type Backend = PostgresStore;

/// Row locks keep concurrent read-modify-writes of one row in order.
/// `NO KEY UPDATE`, as no write changes a key: a plain `FOR UPDATE` would
/// also block the key-share lock that inserting a row referring to this
/// one takes, so a transaction holding the log lock (see `LOG_LOCK`) and
/// appending an entry about a contact would wait on one that holds the
/// contact and waits for the log lock: a deadlock.
macro_rules! for_update {
    ($($sql:tt)+) => {
        concat!($($sql)+, " FOR NO KEY UPDATE")
    };
}

/// Locks a row against everything, even a new row that refers to it (a
/// foreign key's `KEY SHARE`): for deleting it.
macro_rules! for_delete {
    ($($sql:tt)+) => {
        concat!($($sql)+, " FOR UPDATE")
    };
}

/// Locks the rows read to be written from until the transaction ends.
macro_rules! contact_share_lock {
    () => {
        " FOR SHARE"
    };
}

/// Sorts a text column byte by byte, as SQLite does, whatever collation
/// the database was created with (an `en_US` one puts "ada" before "Bob").
macro_rules! bytewise {
    ($column:literal) => {
        concat!($column, " COLLATE \"C\"")
    };
}

/// Log positions are handed out at insert, not at commit, so without this
/// a later entry could become visible before an earlier one and a stream
/// resuming after it would skip the earlier one for good. Taking the
/// workspace's lock just before appending (held to commit, so only for the
/// last insert and the commit) makes position order commit order within a
/// workspace, which is all a stream reads.
const LOG_LOCK: Option<&str> = Some("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))");

/// How long a pooled connection is idle before it is pinged on the way out
/// of the pool.
const STALE_AFTER: Duration = Duration::from_secs(1);

/// What a job claim adds so concurrent claimers pass over each other's rows.
const SKIP_LOCKED: &str = " FOR NO KEY UPDATE SKIP LOCKED";

/// How filters are compiled, and how tags are counted.
const DIALECT: crate::filter_sql::Dialect = crate::filter_sql::Dialect::Postgres;
const QUERY_BUILDER: sea_query::PostgresQueryBuilder = sea_query::PostgresQueryBuilder;
const TAG_COUNTS: &str =
    "SELECT t AS tag, COUNT(*) AS n FROM contacts c, jsonb_array_elements_text(c.tags) t
     WHERE c.workspace_id = $1 GROUP BY t ORDER BY t COLLATE \"C\" LIMIT 1000";

/// The name of an `event` entry of the activity log, from its `data`.
const EVENT_NAME: &str = "data ->> 'name'";

/// What a read of rows that the transaction then changes adds.
const ROW_LOCK: &str = " FOR NO KEY UPDATE";

// The queries both backends share, compiled here for this backend's
// driver types (and once more in the other backend's file).
#[allow(clippy::duplicate_mod)]
#[path = "shared/mod.rs"]
mod shared;

pub struct PostgresStore {
    pool: Pool<Db>,
    tokens: crate::token_cache::TokenCache,
    /// Each workspace's message appends, one transaction at a time (two
    /// for large batches).
    lanes: Lanes,
}

impl PostgresStore {
    /// Connects and migrates.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection it takes from the pool (and again
            // as it puts it back): a round trip more for each query. Only a
            // connection idle for a while can have gone stale unnoticed.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= STALE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(db_err)?;
        crate::migrations::run(crate::migrations::POSTGRES, &pool).await?;
        Ok(Self {
            pool,
            tokens: crate::token_cache::TokenCache::new(),
            lanes: Lanes::default(),
        })
    }

    fn tokens(&self) -> &crate::token_cache::TokenCache {
        &self.tokens
    }

    fn reader(&self) -> &Pool<Db> {
        &self.pool
    }

    /// Appends messages (`ConversationStore::append_messages`). One
    /// transaction of a workspace's messages runs at a time, two for
    /// large batches (`IN_FLIGHT`, `SECOND_FROM`); the calls that arrive
    /// meanwhile go together into the next one (see
    /// `crate::message_batch`): together they cost a few statements and
    /// one commit instead of a few statements and a commit each, and they
    /// would wait for each other on the log lock anyway.
    async fn write_messages(&self, news: Vec<NewMessage>) -> Appended {
        let workspace = match news.first() {
            Some(first) if shared::shape_ok(&news) => first.message.workspace_id,
            // Nothing to append, or a malformed call: refused on its own,
            // never with others' messages.
            _ => return write(&self.pool, append(news)).await,
        };
        let (call, answer) = MessageWrite::new(news);
        if let Some(calls) = self.lanes.enter(workspace, call) {
            // A task of its own, so that a caller going away (a client
            // hanging up) does not strand the calls queued behind it.
            tokio::spawn(append_lane(
                self.pool.clone(),
                self.lanes.clone(),
                workspace,
                calls,
            ));
        }
        answer.await.map_err(|_| {
            StoreError::Other("the messages could not be appended; nothing was written".into())
        })?
    }

    async fn write<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnMut(&'c mut Conn) -> BoxFuture<'c, Result<R, StoreError>> + Send + 'static,
    {
        write(&self.pool, op).await
    }
}

/// Appends `news` in one `append_messages`, as a re-runnable write.
fn append(
    news: Vec<NewMessage>,
) -> impl for<'c> FnMut(&'c mut Conn) -> BoxFuture<'c, Appended> + Send + 'static {
    move |conn: &mut Conn| -> BoxFuture<'_, Appended> {
        Box::pin(shared::append_messages(conn, news.clone()))
    }
}

/// Appends a workspace's waiting calls, a transaction at a time, until no
/// more wait (or, beside another task, until too few wait for two).
async fn append_lane(
    pool: Pool<Db>,
    lanes: Lanes,
    workspace: WorkspaceId,
    mut group: Vec<MessageWrite>,
) {
    let mut lane = LaneGuard::new(lanes, workspace);
    loop {
        let (news, replies) = crate::message_batch::join(group);
        replies.deliver(write(&pool, append(news)).await);
        match lane.next() {
            Some(next) => group = next,
            None => break,
        }
    }
}

/// Runs `op` in a transaction, again (up to `WRITE_ATTEMPTS` times in
/// all) if PostgreSQL broke a deadlock by aborting it: nothing of an
/// aborted transaction stands, so trying it again is safe, and it is what
/// PostgreSQL's manual advises.
async fn write<R, F>(pool: &Pool<Db>, mut op: F) -> Result<R, StoreError>
where
    R: Send + 'static,
    F: for<'c> FnMut(&'c mut Conn) -> BoxFuture<'c, Result<R, StoreError>> + Send + 'static,
{
    let mut attempt = 1;
    loop {
        let outcome = async {
            let mut tx = pool.begin().await.map_err(db_err)?;
            let result = op(&mut tx).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(result)
        }
        .await;
        match outcome {
            Err(err) if attempt < WRITE_ATTEMPTS && aborted_to_break_a_tie(&err) => {
                tracing::debug!(attempt, error = %err, "a write was aborted by the database; trying it again");
                // Only one side of a deadlock is aborted: the other goes
                // on, and is likely done after a short pause.
                tokio::time::sleep(Duration::from_millis(5 * attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// How many times a write is tried when PostgreSQL aborts it to break a
/// deadlock or a serialization conflict.
const WRITE_ATTEMPTS: u64 = 4;

/// Whether PostgreSQL aborted the transaction to let another go on
/// (deadlock detected, or could not serialize): the one kind of failure
/// that the same transaction, tried again, can get past.
fn aborted_to_break_a_tie(err: &StoreError) -> bool {
    let StoreError::Other(inner) = err else {
        return false;
    };
    match inner.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40P01" | "40001")),
        _ => false,
    }
}
