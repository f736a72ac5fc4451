//! `rapport-bench`: load generators for Rapport's benchmarks (see
//! docs/benchmarks.md and bench/write-path.sh).
//!
//! - `messages` POSTs chat messages to a running server with N concurrent
//!   clients and reports messages/s and p50/p99 latency.
//! - `fsync` measures how many 4 KiB write + fdatasync rounds the disk does
//!   per second: the ceiling for one-commit-per-request durability.
//! - `idle` holds N idle widget sockets and reports the server's memory per
//!   connection (bench/live.sh).
//! - `fanout` sends messages at a fixed rate and reports how long each takes
//!   from `POST /api/v1/messages` to the visitor's widget socket.
//! - `seed-emails`, `smtp-sink` and `smtp-blast` make the email fallback's
//!   figures (bench/email.sh): contacts with one message each, an SMTP
//!   server that counts what arrives, and a client that measures that
//!   server alone.
//! - `raw-writes` writes a write-path run's rows straight into its SQLite
//!   database, batched as the server's group commit batched them: the raw
//!   limit the server's durable messages/s is a share of.
//! - `online` holds identified visitors' widgets open and reports how many
//!   got a bulk send's message live (bench/people.sh).
//! - `greeting` sends page views that trigger a page-visit greeting
//!   automation and reports its throughput, the greeting's delay in the
//!   widget, duplicates and memory (bench/automations.sh).
//! - `soak` runs a long mixed load (widgets and Inboxes reconnecting at
//!   random, team, visitor and bulk messages, the email fallback) and checks
//!   that every socket received every entry it was owed exactly once
//!   (bench/soak.sh).
//! - `wal-pages` names the tables and indexes whose pages a stretch of
//!   SQLite writes wrote, and how often (bench/people.sh, `WAL_PAGES`).
//! - `kb-eval` measures the knowledge base's search on the labelled
//!   sample: recall, MRR, refusals and latency (bench/kb-eval.sh).

mod api;
mod blast;
mod fanout;
mod fsync;
mod greeting;
mod greeting_measure;
mod idle;
mod kb_eval;
mod messages;
mod online;
mod raw_writes;
mod report;
mod seed;
mod sink;
mod soak;
mod sql;
mod wal_pages;
mod widget;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "rapport-bench", about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// POST /api/v1/messages from concurrent clients; report throughput and latency.
    Messages(messages::Args),
    /// Hold idle widget sockets; report the server's memory per connection.
    Idle(idle::Args),
    /// Send messages at a fixed rate; report delivery latency to the widget.
    Fanout(fanout::Args),
    /// Identified visitors with open widgets, waiting for a bulk send's message.
    Online(online::Args),
    /// Page views that trigger a greeting automation: its throughput and delay.
    Greeting(greeting::Args),
    /// A long mixed load; checks every socket got every entry it was owed, once.
    Soak(soak::Args),
    /// The knowledge base's search on the labelled sample: accuracy, refusals, latency.
    KbEval(kb_eval::Args),
    /// Create contacts with email addresses and send each one message.
    SeedEmails(seed::Args),
    /// Accept emails over SMTP; count them, their Message-IDs and their rate.
    SmtpSink(sink::Args),
    /// Send plain emails to an SMTP server as the server would; report emails/s.
    SmtpBlast(blast::Args),
    /// Write a write-path run's rows straight into its SQLite database; report messages/s.
    RawWrites(raw_writes::Args),
    /// Run SQL from stdin on a SQLite database with the server's SQLite; time a query.
    Sql(sql::Args),
    /// Hold a SQLite log back until a file appears; name the B-trees its new pages belong to.
    WalPages(wal_pages::Args),
    /// Write 4 KiB and fdatasync in a loop; report fsyncs/s.
    Fsync {
        /// Directory to put the scratch file in (use the database's file system).
        #[arg(long)]
        dir: PathBuf,
        /// How long to run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Print one JSON object on stdout (the summary goes to stderr).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Fsync { dir, seconds, json } => {
            fsync::run(&dir, Duration::from_secs(seconds), json)
        }
        Command::RawWrites(args) => raw_writes::run(args),
        Command::Sql(args) => sql::run(args),
        Command::WalPages(args) => wal_pages::run(args),
        Command::Messages(args) => runtime()?.block_on(messages::run(args)),
        Command::Idle(args) => runtime()?.block_on(idle::run(args)),
        Command::Fanout(args) => runtime()?.block_on(fanout::run(args)),
        Command::Online(args) => runtime()?.block_on(online::run(args)),
        Command::Greeting(args) => runtime()?.block_on(greeting::run(args)),
        Command::Soak(args) => runtime()?.block_on(soak::run(args)),
        Command::KbEval(args) => kb_eval::run(args),
        Command::SeedEmails(args) => runtime()?.block_on(seed::run(args)),
        Command::SmtpSink(args) => sink::run(args),
        Command::SmtpBlast(args) => runtime()?.block_on(blast::run(args)),
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Parses `500ms`, `20s`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 20s"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        _ => return Err(format!("unknown unit `{unit}` (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3h").is_err());
    }
}
