//! Rapport's [`Store`] on SQLite (the default, embedded) and PostgreSQL.
//!
//! Both backends run the same queries (`shared/`, one file per role of the
//! store port, compiled once for each backend's driver types) and differ only in how a write reaches the disk:
//! SQLite funnels every write through one writer task that commits them in
//! batches (group commit), PostgreSQL gives each write its own transaction
//! on a pool. Either way a write returns only after its commit.

pub mod backup;
pub mod cluster;
mod columns;
mod filter_sql;
mod message_batch;
mod migrations;
mod postgres;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod token_cache;

use std::path::PathBuf;
use std::sync::Arc;

use rapport_core::ports::store::{Store, StoreError};

pub use migrations::migrate;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The PostgreSQL pool's size unless configured: four connections per
/// core of this machine, 8 to 64. A connection beyond what the cores can
/// run only queues inside the database, and on the two-core bench machine
/// 32 connections gave 15% to 20% fewer messages a second than 8 and left
/// more memory behind an email drain (docs/benchmarks.md, "Memory after a
/// drain: what holds it").
pub fn default_postgres_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores.saturating_mul(4))
        .unwrap_or(u32::MAX)
        .clamp(8, 64)
}

/// Where the data lives.
#[derive(Clone, Debug)]
pub enum Database {
    /// An embedded SQLite database file (created if missing).
    Sqlite { path: PathBuf },
    /// A PostgreSQL server, by `postgres://` URL.
    Postgres { url: String, max_connections: u32 },
}

impl Database {
    /// `DATABASE_URL` when it is a `postgres://` URL, else SQLite in the
    /// data directory.
    pub fn from_settings(database_url: Option<&str>, data_dir: &std::path::Path) -> Self {
        match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres {
                    url: url.to_owned(),
                    max_connections: default_postgres_connections(),
                }
            }
            Some(url) if url.starts_with("sqlite://") => Database::Sqlite {
                path: PathBuf::from(url.trim_start_matches("sqlite://")),
            },
            _ => Database::Sqlite {
                path: data_dir.join("rapport.db"),
            },
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres { .. } => "postgres",
        }
    }
}

/// Connects, applies pending migrations, and returns the store.
pub async fn open(database: &Database) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match database {
        Database::Sqlite { path } => Arc::new(SqliteStore::open(path).await?),
        Database::Postgres {
            url,
            max_connections,
        } => Arc::new(PostgresStore::open(url, *max_connections).await?),
    })
}

/// The one place driver errors become [`StoreError`]s.
pub(crate) fn db_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.constraint().unwrap_or(db.message()).to_owned())
        }
        _ => StoreError::Other(Box::new(err)),
    }
}

pub(crate) fn data_err(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Other(Box::new(err))
}
