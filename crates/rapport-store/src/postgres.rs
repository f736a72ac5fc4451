//! The PostgreSQL backend: an ordinary pool, one transaction per write.
//! PostgreSQL batches the WAL flushes of concurrent commits itself.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Pool, Postgres};

use futures::future::BoxFuture;
use rapport_core::ports::store::StoreError;

use crate::db_err;

type Db = Postgres;
type Conn = PgConnection;
type Backend = PostgresStore;

/// Row locks keep concurrent read-modify-writes of one row in order.
macro_rules! for_update {
    ($($sql:tt)+) => {
        concat!($($sql)+, " FOR UPDATE")
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

/// What a job claim adds so concurrent claimers pass over each other's rows.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

/// How filters are compiled, and how tags are counted.
const DIALECT: crate::filter_sql::Dialect = crate::filter_sql::Dialect::Postgres;
const QUERY_BUILDER: sea_query::PostgresQueryBuilder = sea_query::PostgresQueryBuilder;
const TAG_COUNTS: &str =
    "SELECT t AS tag, COUNT(*) AS n FROM contacts c, jsonb_array_elements_text(c.tags) t
     WHERE c.workspace_id = $1 GROUP BY t ORDER BY t COLLATE \"C\" LIMIT 1000";

/// The name of an `event` entry of the activity log, from its `data`.
const EVENT_NAME: &str = "data ->> 'name'";

/// What a read of rows that the transaction then changes adds.
const ROW_LOCK: &str = " FOR UPDATE";

// The queries both backends share, compiled here for this backend's
// driver types (and once more in the other backend's file).
#[allow(clippy::duplicate_mod)]
#[path = "shared/mod.rs"]
mod shared;

pub struct PostgresStore {
    pool: Pool<Db>,
}

impl PostgresStore {
    /// Connects and migrates.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(db_err)?;
        crate::migrations::run(crate::migrations::POSTGRES, &pool).await?;
        Ok(Self { pool })
    }

    fn reader(&self) -> &Pool<Db> {
        &self.pool
    }

    async fn write<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<R, StoreError>> + Send + 'static,
    {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let result = op(&mut tx).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(result)
    }
}
