//! `rapport-bench sql`: runs SQL from stdin against a SQLite database with
//! the SQLite the server links (bundled, so FTS5's contentless deletes are
//! there whatever the system's `sqlite3` is). With `--query`, stdin is one
//! statement, run `--repeat` times with every row read, each run's
//! milliseconds printed on a line of its own: the database's own time, for
//! benchmarks to compare the server's answers with.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SQLite database file.
    #[arg(long)]
    database: PathBuf,
    /// Time one query instead of running a script.
    #[arg(long)]
    query: bool,
    /// How many timed runs of the query.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Print the query's rows (their first column) instead of timing it.
    #[arg(long)]
    rows: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut sql = String::new();
    std::io::stdin().read_to_string(&mut sql)?;
    let db = rusqlite::Connection::open(&args.database)
        .with_context(|| format!("opening {}", args.database.display()))?;
    db.busy_timeout(std::time::Duration::from_secs(30))?;
    if !args.query {
        return db.execute_batch(&sql).context("running the script");
    }
    let mut statement = db.prepare(sql.trim().trim_end_matches(';'))?;
    if args.rows {
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let value: rusqlite::types::Value = row.get(0)?;
            match value {
                rusqlite::types::Value::Text(text) => println!("{text}"),
                rusqlite::types::Value::Integer(n) => println!("{n}"),
                other => println!("{other:?}"),
            }
        }
        return Ok(());
    }
    for _ in 0..args.repeat {
        let started = Instant::now();
        let mut rows = statement.query([])?;
        while rows.next()?.is_some() {}
        println!("{:.3}", started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(())
}
