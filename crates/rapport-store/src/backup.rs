//! Online backups of the SQLite database, and restoring one into an empty
//! data directory (`rapport admin backup` / `restore`).
//!
//! A backup is `VACUUM INTO` a new file, read in one transaction on a
//! connection of its own: a consistent copy of every commit made before it
//! began, taken while the server keeps writing (WAL readers do not block
//! the writer). The copy is written under a temporary name of its own
//! beside the target, flushed to disk, checked, and only then linked to
//! the target (which fails if something took that name meanwhile: nothing
//! is ever overwritten), so a path that exists is always a whole backup.
//!
//! PostgreSQL has its own tools (`pg_dump`, continuous archiving):
//! docs/deploy.md says how.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use rapport_core::ports::store::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

use crate::{data_err, db_err};

/// What a backup or restore holds.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    pub path: PathBuf,
    pub bytes: u64,
    pub workspaces: i64,
    pub contacts: i64,
    pub messages: i64,
    /// The newest migration applied to it.
    pub schema_version: i64,
}

/// Why a backup or restore was refused (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0} already exists: a backup never overwrites a file")]
    TargetExists(PathBuf),
    #[error("{0} does not exist")]
    Missing(PathBuf),
    #[error("{path} is not a Rapport database: {why}")]
    NotRapport { path: PathBuf, why: String },
    #[error("the data directory already holds a database ({0}): restore only into an empty one")]
    NotEmpty(PathBuf),
    #[error(
        "{path} was made by a newer Rapport (schema {found}; this one knows up to {known}): restore it with that version"
    )]
    Newer {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn options(path: &Path) -> Result<SqliteConnectOptions, StoreError> {
    Ok(SqliteConnectOptions::from_str("sqlite://")
        .map_err(db_err)?
        .filename(path)
        .busy_timeout(Duration::from_secs(10)))
}

/// Copies the database at `from` (which a server may be writing) to `to`.
pub async fn backup(from: &Path, to: &Path) -> Result<Summary, Refused> {
    if !from.exists() {
        return Err(Refused::Missing(from.to_owned()));
    }
    if to.exists() {
        return Err(Refused::TargetExists(to.to_owned()));
    }
    let partial = partial_name(to);
    let mut source = SqliteConnection::connect_with(&options(from)?.read_only(true))
        .await
        .map_err(db_err)?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut source)
        .await
        .map_err(db_err);
    source.close().await.map_err(db_err)?;
    if let Err(err) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(err.into());
    }
    let finished = async {
        std::fs::File::open(&partial)
            .and_then(|file| file.sync_all())
            .map_err(data_err)?;
        let summary = check(&partial).await?;
        put_in_place(&partial, to)?;
        Ok::<_, Refused>(Summary {
            path: to.to_owned(),
            ..summary
        })
    }
    .await;
    if finished.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    finished
}

/// Puts the backup at `from` in place as the database `to`, which must not
/// exist yet, then migrates it to this version.
pub async fn restore(from: &Path, to: &Path) -> Result<Summary, Refused> {
    if !from.exists() {
        return Err(Refused::Missing(from.to_owned()));
    }
    for existing in [
        to.to_owned(),
        with_suffix(to, "-wal"),
        with_suffix(to, "-shm"),
    ] {
        if existing.exists() {
            return Err(Refused::NotEmpty(existing));
        }
    }
    let backup = check(from).await?;
    let known = crate::migrations::newest_sqlite_version();
    if backup.schema_version > known {
        return Err(Refused::Newer {
            path: from.to_owned(),
            found: backup.schema_version,
            known,
        });
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(data_err)?;
    }
    let partial = partial_name(to);
    let copied = std::fs::copy(from, &partial)
        .and_then(|_| std::fs::File::open(&partial)?.sync_all())
        .map_err(|e| Refused::from(data_err(e)))
        .and_then(|()| put_in_place(&partial, to));
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    copied?;
    // Opening migrates an older backup to this version.
    drop(crate::SqliteStore::open(to).await?);
    Ok(Summary {
        path: to.to_owned(),
        ..check(to).await?
    })
}

/// Reads a database file through, and what it holds.
async fn check(path: &Path) -> Result<Summary, Refused> {
    let not_rapport = |why: String| Refused::NotRapport {
        path: path.to_owned(),
        why,
    };
    let mut conn = SqliteConnection::connect_with(&options(path)?.read_only(true))
        .await
        .map_err(|e| not_rapport(e.to_string()))?;
    let verdict: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| not_rapport(e.to_string()))?;
    if verdict != "ok" {
        return Err(not_rapport(format!("the integrity check says {verdict}")));
    }
    let row = sqlx::query(
        "SELECT (SELECT max(version) FROM _sqlx_migrations WHERE success),
                (SELECT count(*) FROM workspaces),
                (SELECT count(*) FROM contacts),
                (SELECT count(*) FROM messages)",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| not_rapport(e.to_string()))?;
    let summary = Summary {
        path: path.to_owned(),
        bytes: std::fs::metadata(path).map_err(data_err)?.len(),
        schema_version: row
            .try_get::<Option<i64>, _>(0)
            .map_err(db_err)?
            .unwrap_or(0),
        workspaces: row.try_get(1).map_err(db_err)?,
        contacts: row.try_get(2).map_err(db_err)?,
        messages: row.try_get(3).map_err(db_err)?,
    };
    conn.close().await.map_err(db_err)?;
    Ok(summary)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A name beside `to` that no other run uses.
fn partial_name(to: &Path) -> PathBuf {
    with_suffix(
        to,
        &format!(
            ".{}.{}.partial",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ),
    )
}

/// Gives the finished file at `partial` the name `to`, unless something
/// already has it (then nothing changes and `TargetExists`), and makes
/// that durable.
fn put_in_place(partial: &Path, to: &Path) -> Result<(), Refused> {
    match std::fs::hard_link(partial, to) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Refused::TargetExists(to.to_owned()));
        }
        Err(err) => return Err(data_err(err).into()),
    }
    std::fs::remove_file(partial).map_err(data_err)?;
    sync_dir(to)?;
    Ok(())
}

/// Makes a rename in `path`'s directory durable.
fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(data_err)
}
