//! Test support: a fresh, empty database per test on either backend.
//!
//! PostgreSQL tests need `RAPPORT_TEST_POSTGRES_URL` (a server URL whose
//! user may create databases; `scripts/test` starts one). Without it they
//! are skipped with a note, unless `RAPPORT_REQUIRE_POSTGRES=1`, as in CI,
//! where a missing server is a failure.

use std::sync::Arc;

use rapport_core::Timestamp;
use rapport_core::model::ids::{JobId, WorkspaceId};
use rapport_core::ports::store::{ConversationStore, NewMessage, Store, StoreError, StoredMessage};
use sqlx::Connection;

use crate::Database;

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test. For SQLite the file is removed
/// when this is dropped.
pub struct TestDatabase {
    pub database: Database,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh database, or `None` when PostgreSQL is not available and not
    /// required (the caller then skips the test).
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                Some(Self {
                    database: Database::Sqlite {
                        path: dir.path().join("rapport.db"),
                    },
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let Ok(server) = std::env::var("RAPPORT_TEST_POSTGRES_URL") else {
                    assert!(
                        std::env::var("RAPPORT_REQUIRE_POSTGRES").is_err(),
                        "RAPPORT_REQUIRE_POSTGRES is set but RAPPORT_TEST_POSTGRES_URL is not"
                    );
                    eprintln!(
                        "skipping: set RAPPORT_TEST_POSTGRES_URL (scripts/test does) to run PostgreSQL tests"
                    );
                    return None;
                };
                let name = format!("rapport_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&server)
                    .await
                    .expect("connect to RAPPORT_TEST_POSTGRES_URL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create a test database");
                let _ = admin.close().await;
                let (base, _) = server.rsplit_once('/').expect("a URL with a database name");
                Some(Self {
                    database: Database::Postgres {
                        url: format!("{base}/{name}"),
                        max_connections: 8,
                    },
                    _dir: None,
                })
            }
        }
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        crate::open(&self.database)
            .await
            .expect("open the test database")
    }

    /// Inserts a job row past the typed `Job`, as another version of
    /// Rapport (or a bug) might have written it.
    pub async fn insert_raw_job(
        &self,
        workspace: WorkspaceId,
        kind: &str,
        payload: serde_json::Value,
        due_at: Timestamp,
    ) -> JobId {
        let id = JobId::generate();
        let sql = "INSERT INTO jobs (id, workspace_id, kind, payload, due_at, created_at)
                   VALUES ($1, $2, $3, $4, $5, $5)";
        macro_rules! insert {
            ($conn:expr) => {
                sqlx::query(sql)
                    .bind(id.as_uuid())
                    .bind(workspace.as_uuid())
                    .bind(kind)
                    .bind(sqlx::types::Json(payload))
                    .bind(due_at.as_millis())
                    .execute(&mut $conn)
                    .await
                    .expect("insert a raw job")
            };
        }
        match &self.database {
            Database::Sqlite { path } => {
                let mut conn = sqlite(path).await;
                insert!(conn);
            }
            Database::Postgres { url, .. } => {
                let mut conn = postgres(url).await;
                insert!(conn);
            }
        }
        id
    }

    /// Makes every waiting job of `kind` due now, as if its time had come;
    /// how many there were.
    pub async fn bring_jobs_due(&self, kind: &str) -> u64 {
        let sql = "UPDATE jobs SET due_at = 0 WHERE kind = $1 AND failed_at IS NULL";
        match &self.database {
            Database::Sqlite { path } => sqlx::query(sql)
                .bind(kind)
                .execute(&mut sqlite(path).await)
                .await
                .expect("bring jobs due")
                .rows_affected(),
            Database::Postgres { url, .. } => sqlx::query(sql)
                .bind(kind)
                .execute(&mut postgres(url).await)
                .await
                .expect("bring jobs due")
                .rows_affected(),
        }
    }

    /// A job's row as the runner left it: (failures in a row, failed for
    /// good, last error), or `None` once it is gone.
    pub async fn job_state(&self, id: JobId) -> Option<(i64, bool, Option<String>)> {
        let sql = "SELECT failures, failed_at IS NOT NULL, last_error FROM jobs WHERE id = $1";
        match &self.database {
            Database::Sqlite { path } => sqlx::query_as(sql)
                .bind(id.as_uuid())
                .fetch_optional(&mut sqlite(path).await)
                .await
                .expect("read a job"),
            Database::Postgres { url, .. } => sqlx::query_as(sql)
                .bind(id.as_uuid())
                .fetch_optional(&mut postgres(url).await)
                .await
                .expect("read a job"),
        }
    }
}

/// The body of every message in the SQLite database at `path`.
pub async fn sqlite_message_bodies(path: &std::path::Path) -> Vec<String> {
    sqlx::query_scalar("SELECT body FROM messages")
        .fetch_all(&mut sqlite(path).await)
        .await
        .expect("read the messages")
}

async fn sqlite(path: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect to the test database")
}

async fn postgres(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the test database")
}

/// Declares each listed `async fn(Backend)` test once per backend, as
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test($crate::testing::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test($crate::testing::Backend::Postgres).await })*
        }
    };
}

/// `append_messages` for one message, for tests that store one at a time.
pub trait AppendOne {
    fn append_message(
        &self,
        new: NewMessage,
    ) -> impl std::future::Future<Output = Result<StoredMessage, StoreError>> + Send;
}

impl<T: ConversationStore + ?Sized> AppendOne for T {
    async fn append_message(&self, new: NewMessage) -> Result<StoredMessage, StoreError> {
        self.append_messages(vec![new])
            .await?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Other("the message was left out".into())))
    }
}
