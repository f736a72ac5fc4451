//! `raw-writes`: the write path's raw limit (bench/write-path.sh). Straight
//! into the SQLite database a write-path run has just filled (the server
//! stopped), it writes the rows that run's chat messages wrote, as a small
//! program with prepared statements would: per message, its conversation
//! (new for the run's share of messages that started one, else that
//! conversation's new state), the message, its activity entries and its
//! jobs, each a copy of a row of the run (fresh ids, the same sizes), in
//! transactions of `--batch` messages, with WAL and `synchronous=FULL` as
//! the server uses, and the log copied into the database file as the
//! server copies it (a passive checkpoint from a connection of its own at
//! most every 250 ms, the writer's own threshold 16,384 pages). What it
//! reaches is what the disk and SQLite allow for
//! those rows: the ceiling the server's durable messages/s is measured
//! against.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use rand::Rng;
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags, params};
use serde_json::json;

use crate::parse_duration;
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file of a write-path run (its server stopped).
    #[arg(long)]
    db: PathBuf,
    /// Messages per transaction (the server's writes per group commit).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// How long to write.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

/// What the run wrote per message, and a row of each kind to copy.
struct Shape {
    new_conversation_share: f64,
    activity_per_message: f64,
    jobs_per_message: f64,
    conversation: Vec<Sql>,
    message: Vec<Sql>,
    activity: Vec<Sql>,
    job: Vec<Sql>,
    conversations: Vec<Vec<u8>>,
}

/// Every column of one row of `table` (`rowid`-less tables included), in
/// the table's order, and their names.
fn sample(conn: &Connection, table: &str, filter: &str) -> anyhow::Result<(Vec<String>, Vec<Sql>)> {
    let sql = format!("SELECT * FROM {table} {filter} LIMIT 1");
    let mut statement = conn.prepare(&sql)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let row = statement
        .query_row([], |row| {
            (0..names.len())
                .map(|i| row.get::<_, Sql>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .with_context(|| format!("no row in {table} to copy"))?;
    Ok((names, row))
}

fn count(conn: &Connection, table: &str) -> anyhow::Result<f64> {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(n as f64)
}

/// An INSERT of every column of `table` but those `generated` (filled in
/// by SQLite).
fn insert_sql(table: &str, names: &[String], generated: &[&str]) -> String {
    let kept: Vec<&String> = names
        .iter()
        .filter(|n| !generated.contains(&n.as_str()))
        .collect();
    let columns: Vec<&str> = kept.iter().map(|n| n.as_str()).collect();
    let marks: Vec<String> = (1..=kept.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        columns.join(", "),
        marks.join(", ")
    )
}

fn index_of(names: &[String], column: &str) -> anyhow::Result<usize> {
    names
        .iter()
        .position(|n| n == column)
        .with_context(|| format!("no column {column}"))
}

/// A fresh id as the server makes them: a UUIDv7, so time-ordered (new rows
/// go at the end of a primary key's index, not at random places in it).
fn new_id() -> Sql {
    Sql::Blob(uuid::Uuid::now_v7().as_bytes().to_vec())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.batch > 0, "--batch must be at least 1");
    let conn = Connection::open_with_flags(&args.db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .with_context(|| format!("opening {}", args.db.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;

    let messages = count(&conn, "messages")?;
    ensure!(messages > 0.0, "the database has no messages to copy");
    let (conversation_names, conversation) = sample(&conn, "conversations", "")?;
    let (message_names, message) = sample(&conn, "messages", "")?;
    let (activity_names, activity) = sample(&conn, "activity", "WHERE kind = 'message'")?;
    let (job_names, job) = sample(&conn, "jobs", "")?;
    let conversations: Vec<Vec<u8>> = conn
        .prepare("SELECT id FROM conversations")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let shape = Shape {
        new_conversation_share: count(&conn, "conversations")? / messages,
        activity_per_message: count(&conn, "activity")? / messages,
        jobs_per_message: count(&conn, "jobs")? / messages,
        conversation,
        message,
        activity,
        job,
        conversations,
    };
    eprintln!(
        "raw-writes: per message {:.2} new conversations, {:.2} activity entries, {:.2} jobs; {} per transaction",
        shape.new_conversation_share,
        shape.activity_per_message,
        shape.jobs_per_message,
        args.batch
    );

    let insert_conversation = insert_sql("conversations", &conversation_names, &[]);
    let insert_message = insert_sql("messages", &message_names, &[]);
    let insert_activity = insert_sql("activity", &activity_names, &["seq"]);
    let insert_job = insert_sql("jobs", &job_names, &[]);
    let update_conversation = "UPDATE conversations SET status = 'open', waiting_since = ?2, updated_at = ?2 WHERE id = ?1";
    let conversation_id = index_of(&conversation_names, "id")?;
    let message_id = index_of(&message_names, "id")?;
    let message_conversation = index_of(&message_names, "conversation_id")?;
    let activity_conversation = index_of(&activity_names, "conversation_id")?;
    let job_id = index_of(&job_names, "id")?;
    // Unique per kind when set: each copy gets its own.
    let job_key = index_of(&job_names, "dedupe_key")
        .ok()
        .filter(|&i| shape.job[i] != Sql::Null);
    let activity_values: Vec<usize> = (0..activity_names.len())
        .filter(|&i| activity_names[i] != "seq")
        .collect();

    let done = Arc::new(AtomicBool::new(false));
    let checkpointer = {
        let (db, done) = (args.db.clone(), Arc::clone(&done));
        std::thread::spawn(move || checkpoint_until(&db, &done))
    };
    let mut written = 0u64;
    let mut transactions = 0u64;
    // Fractional parts carried from message to message.
    let (mut new_due, mut activity_due, mut jobs_due) = (0.0, 0.0, 0.0);
    let began = Instant::now();
    while began.elapsed() < args.duration {
        let tx = conn.unchecked_transaction()?;
        {
            let mut add_conversation = tx.prepare_cached(&insert_conversation)?;
            let mut touch_conversation = tx.prepare_cached(update_conversation)?;
            let mut add_message = tx.prepare_cached(&insert_message)?;
            let mut add_activity = tx.prepare_cached(&insert_activity)?;
            let mut add_job = tx.prepare_cached(&insert_job)?;
            for _ in 0..args.batch {
                let now = i64::try_from(began.elapsed().as_millis()).unwrap_or(i64::MAX);
                new_due += shape.new_conversation_share;
                let conversation = if new_due >= 1.0 {
                    new_due -= 1.0;
                    let mut row = shape.conversation.clone();
                    row[conversation_id] = new_id();
                    add_conversation.execute(rusqlite::params_from_iter(&row))?;
                    row[conversation_id].clone()
                } else {
                    let pick = rand::rng().random_range(0..shape.conversations.len());
                    let id = Sql::Blob(shape.conversations[pick].clone());
                    touch_conversation.execute(params![id, now])?;
                    id
                };
                let mut row = shape.message.clone();
                row[message_id] = new_id();
                row[message_conversation] = conversation.clone();
                add_message.execute(rusqlite::params_from_iter(&row))?;
                activity_due += shape.activity_per_message;
                while activity_due >= 1.0 {
                    activity_due -= 1.0;
                    let mut row = shape.activity.clone();
                    row[activity_conversation] = conversation.clone();
                    add_activity.execute(rusqlite::params_from_iter(
                        activity_values.iter().map(|&i| &row[i]),
                    ))?;
                }
                jobs_due += shape.jobs_per_message;
                while jobs_due >= 1.0 {
                    jobs_due -= 1.0;
                    let mut row = shape.job.clone();
                    row[job_id] = new_id();
                    if let Some(key) = job_key {
                        row[key] = Sql::Text(format!("raw-{}", rand::rng().random::<u64>()));
                    }
                    add_job.execute(rusqlite::params_from_iter(&row))?;
                }
            }
        }
        tx.commit()?;
        written += args.batch as u64;
        transactions += 1;
    }
    let seconds = began.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    checkpointer
        .join()
        .map_err(|_| anyhow::anyhow!("the checkpointer panicked"))?
        .context("checkpointing the log")?;
    let per_s = written as f64 / seconds;
    let summary = format!(
        "raw-writes: {written} messages in {transactions} transactions over {seconds:.1} s: {per_s:.0} messages/s"
    );
    let result = json!({
        "batch": args.batch,
        "messages": written,
        "transactions": transactions,
        "seconds": seconds,
        "messages_per_s": per_s,
        "new_conversation_share": shape.new_conversation_share,
        "activity_per_message": shape.activity_per_message,
        "jobs_per_message": shape.jobs_per_message,
    });
    report::print(args.json, "", &summary, &result);
    Ok(())
}

/// What the server's checkpointer does: a passive checkpoint of `db`'s log
/// from a connection of its own every 250 ms, until `done`.
fn checkpoint_until(db: &Path, done: &AtomicBool) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    while !done.load(Ordering::Relaxed) {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_leave_out_generated_columns() {
        let names = vec!["seq".to_owned(), "a".to_owned(), "b".to_owned()];
        assert_eq!(
            insert_sql("t", &names, &["seq"]),
            "INSERT INTO t (a, b) VALUES (?1, ?2)"
        );
        assert_eq!(index_of(&names, "b").unwrap(), 2);
        assert!(index_of(&names, "c").is_err());
    }
}
