//! The SQLite backend. Readers share a pool; every write goes to one writer
//! task that owns the only write connection and commits whatever writes are
//! waiting in a single transaction (group commit): one fsync serves many
//! callers, and each caller hears back only after that commit. Each write
//! runs inside its own savepoint, so one failing write does not undo the
//! others in its batch.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Pool, Sqlite};

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use futures::future::BoxFuture;
use rapport_core::model::ids::WorkspaceId;
use rapport_core::ports::store::{NewMessage, StoreError};

use crate::message_batch::{Appended, MessageWrite};

use crate::{data_err, db_err};

type Db = Sqlite;
type Conn = SqliteConnection;
type Backend = SqliteStore;

/// SQLite has no row locks: the single writer already serialises writes.
macro_rules! for_update {
    ($($sql:tt)+) => {
        concat!($($sql)+)
    };
}

/// Nor rows about to be deleted.
macro_rules! for_delete {
    ($($sql:tt)+) => {
        concat!($($sql)+)
    };
}

/// Rows read to be written from are not locked: writes are one at a time.
macro_rules! contact_share_lock {
    () => {
        ""
    };
}

/// Text already sorts byte by byte (the BINARY collation).
macro_rules! bytewise {
    ($column:literal) => {
        $column
    };
}

/// The one writer already commits log entries in position order.
const LOG_LOCK: Option<&str> = None;

/// What a job claim adds so concurrent claimers pass over each other's rows.
const SKIP_LOCKED: &str = "";

/// How filters are compiled, and how tags are counted.
const DIALECT: crate::filter_sql::Dialect = crate::filter_sql::Dialect::Sqlite;
const QUERY_BUILDER: sea_query::SqliteQueryBuilder = sea_query::SqliteQueryBuilder;
const TAG_COUNTS: &str = "SELECT t.value AS tag, COUNT(*) AS n FROM contacts c, json_each(c.tags) t
     WHERE c.workspace_id = $1 GROUP BY t.value ORDER BY t.value LIMIT 1000";

/// The name of an `event` entry of the activity log, from its `data`.
const EVENT_NAME: &str = "json_extract(data, '$.name')";

/// What a read of rows that the transaction then changes adds.
const ROW_LOCK: &str = "";

// The queries both backends share, compiled here for this backend's
// driver types (and once more in the other backend's file).
#[allow(clippy::duplicate_mod)]
#[path = "shared/mod.rs"]
mod shared;

/// The most writes committed together.
const MAX_BATCH: usize = 512;
/// Reads run concurrently with the writer (WAL mode).
const READERS: u32 = 4;
/// How long a connection lives before another is opened in its place and
/// it is closed. What a connection holds (SQLite's page cache, up to 2 MB,
/// and its prepared statements) only grows while it is open, so a burst
/// of work (an email drain, a bulk send) would leave it held for as long
/// as the server runs; closed, it goes back to the allocator, which gives
/// it back to the system (docs/benchmarks.md, "SQLite's memory after a
/// drain"). Reopening costs a connection's opening and its statements'
/// preparing again, every 20 s for each of the five connections.
const RECYCLE_AFTER: Duration = Duration::from_secs(20);

/// Pages the log may hold before the writer copies it into the database
/// itself, on its own path (SQLite's default is 1,000, checkpointed by
/// whichever commit crosses it). The checkpointer copies it long before;
/// this bounds the log (64 MiB) should the checkpointer fall behind.
const WRITER_CHECKPOINT_PAGES: &str = "16384";
/// The least time between two of the checkpointer's checkpoints: a busy
/// writer's commits are copied in one pass every so often, each page once
/// however many of them changed it (docs/benchmarks.md, "SQLite's sends:
/// what grows from send to send").
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// One write waiting for the writer: `attempt` runs it (possibly more than
/// once, if its batch is redone) and keeps its latest result; `reply` hands
/// that result to the caller once the commit is known.
struct WriteJob {
    attempt: Attempt,
    reply: Box<dyn FnOnce(Result<(), String>) + Send>,
}

/// Runs a write once more; says whether it succeeded.
type Attempt = Box<dyn for<'c> FnMut(&'c mut Conn) -> BoxFuture<'c, bool> + Send>;

/// What waits in the writer's queue.
enum Queued {
    Write(WriteJob),
    Messages(MessageWrite),
}

pub struct SqliteStore {
    readers: Pool<Db>,
    writes: mpsc::Sender<Queued>,
    tokens: crate::token_cache::TokenCache,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, RECYCLE_AFTER).await
    }

    /// `open`, with its connections replaced every `recycle_after`.
    async fn open_with(path: &Path, recycle_after: Duration) -> Result<Self, StoreError> {
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
            // Savepoints' sub-journals stay in memory instead of a temp file.
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .busy_timeout(Duration::from_secs(10));
        let mut writer = SqliteConnection::connect_with(&options)
            .await
            .map_err(db_err)?;
        crate::migrations::run(crate::migrations::SQLITE, &mut writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .max_lifetime(recycle_after)
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(db_err)?;
        let (writes, queue) = mpsc::channel(4 * MAX_BATCH);
        // A replacement opens the same file or nothing: if the file was
        // removed meanwhile, the old connection stays rather than a new,
        // empty database being made in its place.
        let options = options.create_if_missing(false);
        let checkpointer = SqliteConnection::connect_with(&options)
            .await
            .map_err(db_err)?;
        let (checkpoints, due) = mpsc::channel(1);
        tokio::spawn(run_checkpointer(checkpointer, due));
        let reopen = Reopen::new(options, recycle_after);
        spawn_writer(writer, reopen, queue, checkpoints)?;
        Ok(Self {
            readers,
            writes,
            tokens: crate::token_cache::TokenCache::new(),
        })
    }

    fn reader(&self) -> &Pool<Db> {
        &self.readers
    }

    fn tokens(&self) -> &crate::token_cache::TokenCache {
        &self.tokens
    }

    /// Runs `op` in the next group commit and returns its result once that
    /// commit is durable. `op` may run more than once; only the run that is
    /// committed (or the one that failed) counts.
    async fn write<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnMut(&'c mut Conn) -> BoxFuture<'c, Result<R, StoreError>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<R, StoreError>>();
        // The writer runs `op` on its own thread: it keeps the caller's
        // request id for the jobs the write enqueues.
        let request_id = rapport_core::request_id::current();
        let mut op = op;
        let op = write_fn(move |conn| {
            Box::pin(rapport_core::request_id::scope(
                request_id.clone(),
                op(conn),
            ))
        });
        // The caller may have gone away; the write stands.
        let job = write_job(op, move |result| {
            let _ = tx.send(result);
        });
        self.writes
            .send(Queued::Write(job))
            .await
            .map_err(|_| writer_gone())?;
        rx.await.map_err(|_| writer_gone())?
    }

    /// Appends messages in the next group commit, together with the other
    /// messages of their workspace waiting for it (see `crate::message_batch`).
    async fn write_messages(&self, news: Vec<NewMessage>) -> Appended {
        let (write, rx) = MessageWrite::new(news);
        self.writes
            .send(Queued::Messages(write))
            .await
            .map_err(|_| writer_gone())?;
        rx.await.map_err(|_| writer_gone())?
    }
}

/// What a caller hears when the writer stopped before answering.
fn writer_gone() -> StoreError {
    StoreError::Other("the database writer could not carry out the write".into())
}

/// A write job running `op`: each attempt keeps its result, and once the
/// commit is known `deliver` gets the committed run's result, or why the
/// write did not commit.
fn write_job<R, F>(
    mut op: F,
    deliver: impl FnOnce(Result<R, StoreError>) + Send + 'static,
) -> WriteJob
where
    R: Send + 'static,
    F: for<'c> FnMut(&'c mut Conn) -> BoxFuture<'c, Result<R, StoreError>> + Send + 'static,
{
    let outcome = Arc::new(Mutex::new(None::<Result<R, StoreError>>));
    let kept = outcome.clone();
    let attempt = Box::new(attempt_fn(move |conn| {
        let run = op(conn);
        let kept = kept.clone();
        Box::pin(async move {
            let result = run.await;
            let ok = result.is_ok();
            *kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            ok
        })
    }));
    let reply = Box::new(move |commit: Result<(), String>| {
        let result = outcome.lock().unwrap_or_else(|e| e.into_inner()).take();
        deliver(match (commit, result) {
            (Ok(()), Some(result)) => result,
            (Err(why), _) => Err(StoreError::Other(why.into())),
            (Ok(()), None) => Err(StoreError::Other("the write was never run".into())),
        });
    });
    WriteJob { attempt, reply }
}

/// Pins down a write's signature (for all connection lifetimes), as
/// `attempt_fn` does.
fn write_fn<R, F>(f: F) -> F
where
    F: for<'c> FnMut(&'c mut Conn) -> BoxFuture<'c, Result<R, StoreError>> + Send,
{
    f
}

/// Pins down a closure's signature (for all connection lifetimes), which
/// inference does not do for a closure returning a boxed future.
fn attempt_fn<F>(f: F) -> F
where
    F: for<'c> FnMut(&'c mut Conn) -> BoxFuture<'c, bool> + Send,
{
    f
}

/// Runs the writer on a thread of its own, so its one-statement-at-a-time
/// loop never waits in line behind request handlers.
fn spawn_writer(
    conn: Conn,
    reopen: Reopen,
    queue: mpsc::Receiver<Queued>,
    checkpoints: mpsc::Sender<()>,
) -> Result<(), StoreError> {
    // A runtime of its own with a clock only (the driver's own thread does
    // the I/O): the writer waits for writes with a timeout to find the
    // idle moments the search backlog is indexed in.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(data_err)?;
    std::thread::Builder::new()
        .name("rapport-sqlite-writer".into())
        .spawn(move || runtime.block_on(run_writer(conn, reopen, queue, checkpoints)))
        .map_err(data_err)?;
    Ok(())
}

/// Rows of the search backlog indexed per transaction.
const BACKLOG_CHUNK: i64 = 2_000;
/// How long the writer waits without a chat message to write before it
/// indexes the backlog (a chunk at a time, until a message comes): longer
/// than the gaps between a bulk send's chunks, so a send's messages are
/// indexed after it rather than between its chunks.
const BACKLOG_IDLE: Duration = Duration::from_millis(500);
/// A chunk is indexed at least this often while there is a backlog, however
/// busy the writer is, so that steady traffic cannot hold it back forever.
const BACKLOG_AT_LEAST_EVERY: Duration = Duration::from_secs(5);

async fn run_writer(
    mut conn: Conn,
    mut reopen: Reopen,
    mut queue: mpsc::Receiver<Queued>,
    checkpoints: mpsc::Sender<()>,
) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut tally = CommitTally::default();
    // A backlog may be left from before a restart.
    let mut backlog = true;
    let mut indexed_at = Instant::now();
    // When chat messages were last written: the backlog is indexed once
    // none have come for `BACKLOG_IDLE` (the jobs' own small writes, which
    // never stop for long, do not count).
    let mut messages_at = Instant::now();
    loop {
        let received = if backlog {
            let quiet = tokio::time::Instant::from_std(messages_at + BACKLOG_IDLE);
            match tokio::time::timeout_at(quiet, queue.recv_many(&mut queued, MAX_BATCH)).await {
                Ok(received) => received,
                Err(_quiet) => {
                    backlog = index_backlog(&mut conn).await;
                    indexed_at = Instant::now();
                    let _ = checkpoints.try_send(());
                    continue;
                }
            }
        } else {
            queue.recv_many(&mut queued, MAX_BATCH).await
        };
        if received == 0 {
            break;
        }
        if queued.iter().any(|q| matches!(q, Queued::Messages(_))) {
            backlog = true;
            messages_at = Instant::now();
        }
        tally.add(queued.len());
        metrics::histogram!("rapport_sqlite_commit_writes").record(queued.len() as f64);
        coalesce(&mut queued, &mut batch);
        let began = Instant::now();
        let commit = commit_batch(&mut conn, &mut batch).await;
        metrics::histogram!("rapport_sqlite_commit_seconds").record(began.elapsed().as_secs_f64());
        if let Err(why) = &commit {
            tracing::error!(error = %why, "group commit failed");
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
        }
        for job in batch.drain(..) {
            (job.reply)(commit.clone());
        }
        // Full: the checkpointer has one due already, which will copy this
        // commit too.
        let _ = checkpoints.try_send(());
        if backlog
            && (messages_at.elapsed() >= BACKLOG_IDLE
                || indexed_at.elapsed() >= BACKLOG_AT_LEAST_EVERY)
        {
            backlog = index_backlog(&mut conn).await;
            indexed_at = Instant::now();
        }
        if queue.is_empty() {
            reopen.when_due(&mut conn).await;
        }
    }
    // Every sender is gone: the store was dropped. Close cleanly so the WAL
    // is checkpointed.
    let _ = conn.close().await;
}

/// Copies the log's commits into the database file (a passive checkpoint,
/// which never waits for the writer or readers) at most every
/// `CHECKPOINT_EVERY` while the writer commits, so that the writer does
/// not do it on its own path. Ends, closing its connection, when the
/// writer has gone.
async fn run_checkpointer(mut conn: Conn, mut due: mpsc::Receiver<()>) {
    while due.recv().await.is_some() {
        if let Err(why) = sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::warn!(error = %why, "could not checkpoint the database's log");
        }
        tokio::time::sleep(CHECKPOINT_EVERY).await;
    }
    let _ = conn.close().await;
}

/// When and how the writer replaces its connection (see `RECYCLE_AFTER`).
struct Reopen {
    options: SqliteConnectOptions,
    every: Duration,
    opened_at: Instant,
}

impl Reopen {
    fn new(options: SqliteConnectOptions, every: Duration) -> Self {
        Self {
            options,
            every,
            opened_at: Instant::now(),
        }
    }

    /// Once `every` has passed since `conn` was opened, puts a new
    /// connection in its place and closes it. If none can be opened, `conn`
    /// stays (and the next try waits another `every`).
    async fn when_due(&mut self, conn: &mut Conn) {
        if self.opened_at.elapsed() < self.every {
            return;
        }
        self.opened_at = Instant::now();
        match SqliteConnection::connect_with(&self.options).await {
            Ok(fresh) => {
                let old = std::mem::replace(conn, fresh);
                if let Err(why) = old.close().await {
                    tracing::warn!(error = %why, "could not close the writer's old connection");
                }
            }
            Err(why) => tracing::warn!(error = %why, "could not reopen the writer's connection"),
        }
    }
}

/// Copies the oldest chunk of the search backlog (a bulk send's messages,
/// migration 0026) into the search index, in a transaction of its own;
/// says whether rows may remain. A failure is logged and leaves the
/// backlog for the next messages' write to try again.
async fn index_backlog(conn: &mut Conn) -> bool {
    let chunk = async {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let indexed = sqlx::query(
            "INSERT INTO message_search (rowid, ws, body)
             SELECT b.n, lower(hex(m.workspace_id)), m.body
             FROM (SELECT n FROM message_search_backlog ORDER BY n LIMIT $1) b
             JOIN message_search_rows r ON r.n = b.n
             JOIN messages m ON m.id = r.message_id",
        )
        .bind(BACKLOG_CHUNK)
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query(
            "DELETE FROM message_search_backlog
             WHERE n IN (SELECT n FROM message_search_backlog ORDER BY n LIMIT $1)",
        )
        .bind(BACKLOG_CHUNK)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((indexed.rows_affected(), removed.rows_affected()))
    };
    match chunk.await {
        Ok((indexed, removed)) => {
            if removed > 0 {
                tracing::debug!(indexed, removed, "search backlog: a chunk indexed");
            }
            removed >= BACKLOG_CHUNK as u64
        }
        Err(err) => {
            tracing::error!(%err, "search backlog: a chunk could not be indexed");
            false
        }
    }
}

/// Moves the queued writes into `batch`, each workspace's waiting messages
/// as one write. The writes of a batch were all waiting at once, so none
/// of their callers can rely on an order among them: appending some
/// messages before an unrelated write queued between them is as valid an
/// order as any.
fn coalesce(queued: &mut Vec<Queued>, batch: &mut Vec<WriteJob>) {
    let mut groups: Vec<(WorkspaceId, Vec<MessageWrite>)> = Vec::new();
    for item in queued.drain(..) {
        match item {
            Queued::Write(job) => batch.push(job),
            Queued::Messages(write) => {
                let workspace = write.news.first().map(|n| n.message.workspace_id);
                match workspace {
                    // A malformed call is refused on its own, never with
                    // others' messages.
                    Some(workspace) if shared::shape_ok(&write.news) => {
                        match groups.iter_mut().find(|(w, _)| *w == workspace) {
                            Some((_, group)) => group.push(write),
                            None => groups.push((workspace, vec![write])),
                        }
                    }
                    _ => batch.push(messages_job(vec![write])),
                }
            }
        }
    }
    batch.extend(groups.into_iter().map(|(_, group)| messages_job(group)));
}

/// One write that appends the messages of `group` (one workspace's, or a
/// lone call) and answers each caller with its part.
fn messages_job(group: Vec<MessageWrite>) -> WriteJob {
    let (news, replies) = crate::message_batch::join(group);
    // Passed as written: inference then gives the closure the signature
    // `write_job` asks for, for every connection lifetime.
    write_job(
        move |conn| Box::pin(shared::append_messages(conn, news.clone())),
        move |result: Appended| replies.deliver(result),
    )
}

/// How many group commits, and how many writes they carried, over the
/// last [`CommitTally::EVERY`]: logged at `debug` under the target
/// `rapport_store::group_commit` (bench/write-path.sh reads it to batch
/// its raw-limit writes as the server does).
#[derive(Default)]
struct CommitTally {
    since: Option<std::time::Instant>,
    commits: u64,
    writes: u64,
}

impl CommitTally {
    const EVERY: Duration = Duration::from_secs(5);

    fn add(&mut self, writes: usize) {
        let since = *self.since.get_or_insert_with(std::time::Instant::now);
        self.commits += 1;
        self.writes += writes as u64;
        if since.elapsed() >= Self::EVERY {
            tracing::debug!(
                target: "rapport_store::group_commit",
                commits = self.commits,
                writes = self.writes,
                seconds = since.elapsed().as_secs_f64(),
                "group commits"
            );
            *self = Self::default();
        }
    }
}

/// Commits a batch of writes in one transaction. Every statement is a round
/// trip to the driver's thread, and the writer runs them one after another,
/// so the common case spends none on bookkeeping: the writes run back to
/// back. Only if one fails is the transaction rolled back and the batch
/// redone with each write in its own savepoint, so that the failed write
/// changes nothing and the others still commit.
async fn commit_batch(conn: &mut Conn, batch: &mut [WriteJob]) -> Result<(), String> {
    let failed = |err: sqlx::Error| format!("the write was not committed: {err}");
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    let mut all_ok = true;
    for job in batch.iter_mut() {
        if !(job.attempt)(conn).await {
            all_ok = false;
            break;
        }
    }
    if !all_ok {
        sqlx::raw_sql("ROLLBACK; BEGIN IMMEDIATE; SAVEPOINT write")
            .execute(&mut *conn)
            .await
            .map_err(failed)?;
        for job in batch.iter_mut() {
            let end = if (job.attempt)(conn).await {
                "RELEASE write; SAVEPOINT write"
            } else {
                "ROLLBACK TO write; RELEASE write; SAVEPOINT write"
            };
            sqlx::raw_sql(end)
                .execute(&mut *conn)
                .await
                .map_err(failed)?;
        }
        sqlx::raw_sql("RELEASE write")
            .execute(&mut *conn)
            .await
            .map_err(failed)?;
    }
    sqlx::raw_sql("COMMIT")
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `sql` on `conn`.
    async fn execute(conn: &mut Conn, sql: &'static str) -> Result<(), StoreError> {
        sqlx::raw_sql(sql)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Creates a temporary table: it lives as long as the connection that
    /// made it.
    fn mark(conn: &mut Conn) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(execute(conn, "CREATE TEMP TABLE marker (x)"))
    }

    /// A store in a directory of its own whose connections are replaced
    /// every 200 ms.
    async fn replaced_every_200_ms() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store =
            SqliteStore::open_with(&dir.path().join("rapport.db"), Duration::from_millis(200))
                .await
                .expect("the store opens");
        (dir, store)
    }

    /// Whether the connection has the table `mark` made.
    fn marked(conn: &mut Conn) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            sqlx::query_scalar("SELECT COUNT(*) > 0 FROM sqlite_temp_master WHERE name = 'marker'")
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)
        })
    }

    #[tokio::test]
    async fn the_writer_replaces_its_connection_in_time_and_goes_on_writing() {
        let (_dir, store) = replaced_every_200_ms().await;
        store.write(mark).await.expect("the table is made");
        assert!(
            store.write(marked).await.expect("a write"),
            "the same connection"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The time is up: the connection is replaced after the next commit
        // that leaves the writer's queue empty.
        let mut replaced = false;
        for _ in 0..100 {
            if !store.write(marked).await.expect("a write") {
                replaced = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(replaced, "a new connection");
        store.write(mark).await.expect("the new connection writes");
    }

    #[tokio::test]
    async fn a_removed_database_is_not_made_again_empty() {
        let (dir, store) = replaced_every_200_ms().await;
        store.write(mark).await.expect("the table is made");
        let path = dir.path().join("rapport.db");
        std::fs::remove_file(&path).expect("the file is removed");
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..5 {
            // The old connection stays: it still has the table.
            assert!(store.write(marked).await.expect("a write"));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!path.exists(), "no new database in its place");
    }

    #[tokio::test]
    async fn a_reader_is_replaced_in_time() {
        let (_dir, store) = replaced_every_200_ms().await;
        let mut reader = store.reader().acquire().await.expect("a reader");
        mark(&mut reader).await.expect("the table is made");
        drop(reader);
        // The only reader there is goes back to the pool, where the pool's
        // check, every 200 ms, closes it once it is past its time.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mut reader = store.reader().acquire().await.expect("a reader");
        assert!(
            !marked(&mut reader).await.expect("a read"),
            "a new connection"
        );
    }

    /// Makes a table holding one row.
    fn make_table(conn: &mut Conn) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(execute(
            conn,
            "CREATE TABLE copied (x); INSERT INTO copied VALUES (42)",
        ))
    }

    /// The row of `make_table`, read from a copy of the database file alone
    /// (without its log); `None` while the file does not have it (or the
    /// copy was taken in the middle of a checkpoint's writes).
    async fn copied_row(dir: &Path) -> Option<i64> {
        let copy = dir.join("copy.db");
        for stale in ["copy.db", "copy.db-wal", "copy.db-shm"] {
            let _ = std::fs::remove_file(dir.join(stale));
        }
        std::fs::copy(dir.join("rapport.db"), &copy).ok()?;
        let options = SqliteConnectOptions::new().filename(&copy);
        let mut conn = SqliteConnection::connect_with(&options).await.ok()?;
        let row = sqlx::query_scalar("SELECT x FROM copied")
            .fetch_optional(&mut conn)
            .await
            .ok()
            .flatten();
        let _ = conn.close().await;
        row
    }

    #[tokio::test]
    async fn the_checkpointer_copies_a_small_commit_into_the_database_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(&dir.path().join("rapport.db"))
            .await
            .expect("the store opens");
        store.write(make_table).await.expect("the table is made");
        // The writer alone leaves so small a commit in the log (it copies
        // the log at 16,384 pages): the file has the row only once the
        // checkpointer has run.
        let mut found = None;
        for _ in 0..50 {
            found = copied_row(dir.path()).await;
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(found, Some(42), "the commit is in the database file");
    }
}
