//! The SQLite backend. Readers share a pool; every write goes to one writer
//! task that owns the only write connection and commits whatever writes are
//! waiting in a single transaction (group commit): one fsync serves many
//! callers, and each caller hears back only after that commit. Each write
//! runs inside its own savepoint, so one failing write does not undo the
//! others in its batch.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Pool, Sqlite};

// `shared.rs` brings the imports both backends use (StoreError, BoxFuture...).
use tokio::sync::{mpsc, oneshot};

type Db = Sqlite;
type Conn = SqliteConnection;
type Backend = SqliteStore;

/// SQLite has no row locks: the single writer already serialises writes.
macro_rules! for_update {
    ($sql:literal) => {
        $sql
    };
}

include!("shared.rs");

/// The most writes committed together.
const MAX_BATCH: usize = 512;
/// Reads run concurrently with the writer (WAL mode).
const READERS: u32 = 8;

/// Tells a caller how the commit of its write went.
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
/// One write: runs on the writer's connection, says whether it succeeded
/// (else its savepoint is rolled back) and how to reply after the commit.
type WriteJob = Box<dyn for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, (bool, Reply)> + Send>;

pub struct SqliteStore {
    readers: Pool<Db>,
    writes: mpsc::Sender<WriteJob>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(data_err)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before anyone is told it happened.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let mut writer = SqliteConnection::connect_with(&options)
            .await
            .map_err(db_err)?;
        crate::migrations::run(crate::migrations::SQLITE, &mut writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.read_only(true))
            .await
            .map_err(db_err)?;
        let (writes, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run_writer(writer, queue));
        Ok(Self { readers, writes })
    }

    fn reader(&self) -> &Pool<Db> {
        &self.readers
    }

    /// Runs `op` in the next group commit and returns its result once that
    /// commit is durable.
    async fn write<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<R, StoreError>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<R, StoreError>>();
        let job: WriteJob = Box::new(move |conn| {
            Box::pin(async move {
                let result = op(conn).await;
                let ok = result.is_ok();
                let reply: Reply = Box::new(move |commit| {
                    let outcome = match commit {
                        Ok(()) => result,
                        Err(why) => Err(StoreError::Other(why.into())),
                    };
                    // The caller may have gone away; the write stands.
                    let _ = tx.send(outcome);
                });
                (ok, reply)
            })
        });
        let not_done =
            || StoreError::Other("the database writer could not carry out the write".into());
        self.writes.send(job).await.map_err(|_| not_done())?;
        rx.await.map_err(|_| not_done())?
    }
}

async fn run_writer(mut conn: Conn, mut queue: mpsc::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&mut conn, batch.drain(..)).await;
    }
    // Every sender is gone: the store was dropped. Close cleanly so the WAL
    // is checkpointed.
    let _ = conn.close().await;
}

async fn commit_batch(conn: &mut Conn, jobs: impl Iterator<Item = WriteJob>) {
    let mut replies = Vec::with_capacity(MAX_BATCH);
    let began = sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await;
    if let Err(err) = began {
        // Dropping the jobs unrun tells each caller its write did not happen.
        tracing::error!(error = %err, "could not begin a group commit");
        drop(jobs);
        return;
    }
    for job in jobs {
        let outcome = run_in_savepoint(conn, job).await;
        replies.push(outcome);
    }
    let commit = match sqlx::raw_sql("COMMIT").execute(&mut *conn).await {
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::error!(error = %err, "group commit failed");
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            Err(format!("the write was not committed: {err}"))
        }
    };
    for reply in replies {
        reply(commit.clone());
    }
}

async fn run_in_savepoint(conn: &mut Conn, job: WriteJob) -> Reply {
    if let Err(err) = sqlx::raw_sql("SAVEPOINT write").execute(&mut *conn).await {
        // Dropping the job unrun tells its caller the write did not happen.
        tracing::error!(error = %err, "could not start a write");
        drop(job);
        return Box::new(drop);
    }
    let (ok, reply) = job(conn).await;
    let end = if ok {
        "RELEASE write"
    } else {
        "ROLLBACK TO write; RELEASE write"
    };
    if let Err(err) = sqlx::raw_sql(end).execute(&mut *conn).await {
        tracing::error!(error = %err, "could not end a write's savepoint");
    }
    reply
}
