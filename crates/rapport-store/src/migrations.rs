//! Embedded migrations, one folder per backend. Files are never edited once
//! released; a change is a new file, listed here.

use std::borrow::Cow;

use rapport_core::ports::store::StoreError;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Acquire, SqlSafeStr};

use crate::data_err;

type Files = &'static [(i64, &'static str, &'static str)];

pub(crate) const SQLITE: Files = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "sessions and reads",
        include_str!("../migrations/sqlite/0002_sessions_and_reads.sql"),
    ),
    (
        3,
        "email fallback",
        include_str!("../migrations/sqlite/0003_email_fallback.sql"),
    ),
    (
        4,
        "inbound emails",
        include_str!("../migrations/sqlite/0004_inbound_emails.sql"),
    ),
    (
        5,
        "people",
        include_str!("../migrations/sqlite/0005_people.sql"),
    ),
    (
        6,
        "identity",
        include_str!("../migrations/sqlite/0006_identity.sql"),
    ),
    (
        7,
        "installation and failed jobs",
        include_str!("../migrations/sqlite/0007_installation_and_failed_jobs.sql"),
    ),
    (
        8,
        "job failures",
        include_str!("../migrations/sqlite/0008_job_failures.sql"),
    ),
    (
        9,
        "automations",
        include_str!("../migrations/sqlite/0009_automations.sql"),
    ),
    (
        10,
        "knowledge base",
        include_str!("../migrations/sqlite/0010_knowledge_base.sql"),
    ),
    (
        11,
        "jobs by kind",
        include_str!("../migrations/sqlite/0011_jobs_by_kind.sql"),
    ),
    (
        12,
        "property index",
        include_str!("../migrations/sqlite/0012_property_index.sql"),
    ),
    (
        13,
        "contact erasures",
        include_str!("../migrations/sqlite/0013_contact_erasures.sql"),
    ),
    (
        14,
        "retention",
        include_str!("../migrations/sqlite/0014_retention.sql"),
    ),
    (
        15,
        "webhooks",
        include_str!("../migrations/sqlite/0015_webhooks.sql"),
    ),
    (
        16,
        "job request ids",
        include_str!("../migrations/sqlite/0016_job_request_ids.sql"),
    ),
    (
        17,
        "saved replies",
        include_str!("../migrations/sqlite/0017_saved_replies.sql"),
    ),
    (
        18,
        "team notices",
        include_str!("../migrations/sqlite/0018_team_notices.sql"),
    ),
    (
        19,
        "ratings",
        include_str!("../migrations/sqlite/0019_ratings.sql"),
    ),
    (
        20,
        "conversation tags and search",
        include_str!("../migrations/sqlite/0020_conversation_tags_and_search.sql"),
    ),
    (
        21,
        "conversation stats",
        include_str!("../migrations/sqlite/0021_conversation_stats.sql"),
    ),
    (
        22,
        "attachments",
        include_str!("../migrations/sqlite/0022_attachments.sql"),
    ),
    (
        23,
        "attachment settings",
        include_str!("../migrations/sqlite/0023_attachment_settings.sql"),
    ),
    (
        24,
        "report indexes",
        include_str!("../migrations/sqlite/0024_report_indexes.sql"),
    ),
    (
        25,
        "summary assignee by insert",
        include_str!("../migrations/sqlite/0025_stats_assignee_by_insert.sql"),
    ),
    (
        26,
        "search backlog",
        include_str!("../migrations/sqlite/0026_search_backlog.sql"),
    ),
    (
        27,
        "bulk send counts",
        include_str!("../migrations/sqlite/0027_bulk_send_counts.sql"),
    ),
    (
        28,
        "recipients in key order",
        include_str!("../migrations/sqlite/0028_recipients_in_key_order.sql"),
    ),
    (
        29,
        "failed jobs by kind",
        include_str!("../migrations/sqlite/0029_failed_jobs_by_kind.sql"),
    ),
];

pub(crate) const POSTGRES: Files = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "sessions and reads",
        include_str!("../migrations/postgres/0002_sessions_and_reads.sql"),
    ),
    (
        3,
        "email fallback",
        include_str!("../migrations/postgres/0003_email_fallback.sql"),
    ),
    (
        4,
        "inbound emails",
        include_str!("../migrations/postgres/0004_inbound_emails.sql"),
    ),
    (
        5,
        "people",
        include_str!("../migrations/postgres/0005_people.sql"),
    ),
    (
        6,
        "identity",
        include_str!("../migrations/postgres/0006_identity.sql"),
    ),
    (
        7,
        "installation and failed jobs",
        include_str!("../migrations/postgres/0007_installation_and_failed_jobs.sql"),
    ),
    (
        8,
        "job failures",
        include_str!("../migrations/postgres/0008_job_failures.sql"),
    ),
    (
        9,
        "automations",
        include_str!("../migrations/postgres/0009_automations.sql"),
    ),
    (
        10,
        "knowledge base",
        include_str!("../migrations/postgres/0010_knowledge_base.sql"),
    ),
    (
        11,
        "jobs by kind",
        include_str!("../migrations/postgres/0011_jobs_by_kind.sql"),
    ),
    (
        12,
        "property index",
        include_str!("../migrations/postgres/0012_property_index.sql"),
    ),
    (
        13,
        "covering sort indexes",
        include_str!("../migrations/postgres/0013_covering_sort_indexes.sql"),
    ),
    (
        14,
        "property index short texts",
        include_str!("../migrations/postgres/0014_property_index_short_texts.sql"),
    ),
    (
        15,
        "cluster",
        include_str!("../migrations/postgres/0015_cluster.sql"),
    ),
    (
        16,
        "contact erasures",
        include_str!("../migrations/postgres/0016_contact_erasures.sql"),
    ),
    (
        17,
        "retention",
        include_str!("../migrations/postgres/0017_retention.sql"),
    ),
    (
        18,
        "webhooks",
        include_str!("../migrations/postgres/0018_webhooks.sql"),
    ),
    (
        19,
        "job request ids",
        include_str!("../migrations/postgres/0019_job_request_ids.sql"),
    ),
    (
        20,
        "saved replies",
        include_str!("../migrations/postgres/0020_saved_replies.sql"),
    ),
    (
        21,
        "team notices",
        include_str!("../migrations/postgres/0021_team_notices.sql"),
    ),
    (
        22,
        "ratings",
        include_str!("../migrations/postgres/0022_ratings.sql"),
    ),
    (
        23,
        "conversation tags and search",
        include_str!("../migrations/postgres/0023_conversation_tags_and_search.sql"),
    ),
    (
        24,
        "conversation stats",
        include_str!("../migrations/postgres/0024_conversation_stats.sql"),
    ),
    (
        25,
        "attachments",
        include_str!("../migrations/postgres/0025_attachments.sql"),
    ),
    (
        26,
        "attachment settings",
        include_str!("../migrations/postgres/0026_attachment_settings.sql"),
    ),
    (
        27,
        "report indexes",
        include_str!("../migrations/postgres/0027_report_indexes.sql"),
    ),
    (
        28,
        "summary assignee by insert",
        include_str!("../migrations/postgres/0028_stats_assignee_by_insert.sql"),
    ),
    (
        29,
        "message bulk send",
        include_str!("../migrations/postgres/0029_message_bulk_send.sql"),
    ),
    (
        30,
        "bulk send counts",
        include_str!("../migrations/postgres/0030_bulk_send_counts.sql"),
    ),
    (
        31,
        "write path foreign keys",
        include_str!("../migrations/postgres/0031_write_path_foreign_keys.sql"),
    ),
    (
        32,
        "failed jobs by kind",
        include_str!("../migrations/postgres/0032_failed_jobs_by_kind.sql"),
    ),
];

fn migrator(files: Files) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) async fn run<'a, A>(files: Files, conn: A) -> Result<(), StoreError>
where
    A: Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    migrator(files).run(conn).await.map_err(data_err)
}

/// Applies pending migrations to the database and returns (`rapport migrate`).
pub async fn migrate(database: &crate::Database) -> Result<(), StoreError> {
    // Opening a store migrates it.
    crate::open(database).await.map(drop)
}

/// The newest migration this version knows for SQLite (a backup made by a
/// newer version is refused rather than left half-restored).
pub(crate) fn newest_sqlite_version() -> i64 {
    SQLITE
        .iter()
        .map(|(version, _, _)| *version)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration file that is not listed would silently never run.
    #[test]
    fn every_migration_file_is_listed() {
        for (folder, files) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(folder);
            let on_disk = std::fs::read_dir(dir).unwrap().count();
            assert_eq!(on_disk, files.len(), "{folder}: files on disk vs listed");
        }
    }

    /// Migration 28 rebuilds the bulk sends' recipients without a rowid:
    /// every row of a database made before it is still there, pending or
    /// not, and the pending index still finds the pending ones.
    #[tokio::test]
    async fn recipients_survive_their_table_rebuilt_in_key_order() {
        use sqlx::sqlite::SqliteConnectOptions;
        use sqlx::{ConnectOptions, Row};

        let dir = tempfile::tempdir().expect("a temporary directory");
        // No foreign keys: the rows below stand alone, without the
        // workspace, contacts and send they would belong to.
        let mut conn = SqliteConnectOptions::new()
            .filename(dir.path().join("old.db"))
            .create_if_missing(true)
            .foreign_keys(false)
            .connect()
            .await
            .expect("a database");
        let before = SQLITE.iter().position(|(v, _, _)| *v == 28).unwrap();
        migrator(&SQLITE[..before])
            .run(&mut conn)
            .await
            .expect("the migrations before 28");
        let (send, ws) = (vec![1_u8; 16], vec![2_u8; 16]);
        for (contact, message) in [(9_u8, None), (3, Some(vec![7_u8; 16])), (5, None)] {
            sqlx::query(
                "INSERT INTO bulk_send_recipients (bulk_send_id, workspace_id, contact_id, message_id)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&send)
            .bind(&ws)
            .bind(vec![contact; 16])
            .bind(message)
            .execute(&mut conn)
            .await
            .expect("a recipient");
        }

        migrator(SQLITE).run(&mut conn).await.expect("migration 28");

        let rows = sqlx::query(
            "SELECT contact_id, message_id IS NOT NULL AS sent FROM bulk_send_recipients
             WHERE bulk_send_id = $1 ORDER BY contact_id",
        )
        .bind(&send)
        .fetch_all(&mut conn)
        .await
        .expect("the recipients");
        let rows: Vec<(u8, bool)> = rows
            .iter()
            .map(|r| (r.get::<Vec<u8>, _>(0)[0], r.get(1)))
            .collect();
        assert_eq!(rows, [(3, true), (5, false), (9, false)]);
        let pending: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT contact_id FROM bulk_send_recipients INDEXED BY bulk_send_recipients_pending
             WHERE bulk_send_id = $1 AND message_id IS NULL AND error IS NULL ORDER BY contact_id",
        )
        .bind(&send)
        .fetch_all(&mut conn)
        .await
        .expect("the pending index");
        assert_eq!(pending, [vec![5_u8; 16], vec![9_u8; 16]]);
        let no_rowid = sqlx::query("SELECT rowid FROM bulk_send_recipients")
            .fetch_all(&mut conn)
            .await;
        assert!(no_rowid.is_err(), "the table still has a rowid");
    }
}
