//! `rapport-bench wal-pages`: which of a SQLite database's tables and
//! indexes a stretch of the server's writes went to, and how many times
//! each page was written (bench/people.sh, `WAL_PAGES`).
//!
//! It holds a read transaction from its start until the file `--until`
//! appears. While it does, no checkpoint can copy the log past it and so
//! none can start the log over: every page a commit writes meanwhile stays
//! in the log as a frame of its own. It then reads the page number of each
//! frame committed since it began and names the B-tree each page belongs
//! to (SQLite's `dbstat`, read after the stretch). Holding the log back
//! slows the writes a little; it measures where the bytes go, not how fast.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SQLite database file (its log is the file beside it ending in `-wal`).
    #[arg(long)]
    database: PathBuf,
    /// Stop holding, and report, once this file exists.
    #[arg(long)]
    until: PathBuf,
    /// Give up after this long if the file never appears.
    #[arg(long, default_value = "30m", value_parser = crate::parse_duration)]
    timeout: Duration,
    /// How many B-trees to list by name (the rest are summed on one line).
    #[arg(long, default_value_t = 16)]
    top: usize,
}

/// A log's header and the page numbers of its committed frames.
#[derive(Debug, PartialEq)]
struct Log {
    salts: (u32, u32),
    page_size: u64,
    pages: Vec<u32>,
}

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// Reads the committed frames of the log at `path` (a missing or empty log
/// has none). A frame belongs to the log's current generation when its
/// salts are the header's; the frames after the last commit frame are not
/// committed and are left out.
fn read_log(path: &Path) -> anyhow::Result<Log> {
    let mut log = Log {
        salts: (0, 0),
        page_size: 0,
        pages: Vec::new(),
    };
    let Ok(file) = File::open(path) else {
        return Ok(log);
    };
    let length = file.metadata()?.len();
    let mut file = BufReader::new(file);
    let mut header = [0_u8; HEADER];
    if length < HEADER as u64 {
        return Ok(log);
    }
    file.read_exact(&mut header)?;
    let word = |bytes: &[u8], at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    if word(&header, 0) & !1 != 0x377f_0682 {
        bail!("{} is not a SQLite log", path.display());
    }
    log.page_size = u64::from(word(&header, 8));
    log.salts = (word(&header, 16), word(&header, 20));
    if log.page_size == 0 {
        return Ok(log);
    }
    let frames = (length - HEADER as u64) / (FRAME_HEADER as u64 + log.page_size);
    let mut committed = 0;
    let mut frame = [0_u8; FRAME_HEADER];
    for _ in 0..frames {
        file.read_exact(&mut frame)?;
        if (word(&frame, 8), word(&frame, 12)) != log.salts {
            break;
        }
        log.pages.push(word(&frame, 0));
        if word(&frame, 4) != 0 {
            committed = log.pages.len();
        }
        file.seek_relative(i64::try_from(log.page_size)?)?;
    }
    log.pages.truncate(committed);
    Ok(log)
}

/// The frames written between two reads of the same log: those after the
/// first read's, or all of the second's if the log was started over.
fn written_since(before: &Log, after: &Log) -> Vec<u32> {
    if after.salts == before.salts && after.pages.len() >= before.pages.len() {
        after.pages[before.pages.len()..].to_vec()
    } else {
        after.pages.clone()
    }
}

/// One line of the report: a B-tree (an internal page's B-tree is named
/// apart), the frames written of it and its distinct pages among them.
#[derive(Debug, PartialEq)]
struct Tally {
    name: String,
    frames: usize,
    distinct: usize,
}

fn tally(frames: &[u32], names: &HashMap<u32, String>) -> Vec<Tally> {
    let mut by_name: HashMap<&str, (usize, HashSet<u32>)> = HashMap::new();
    for page in frames {
        let name = names.get(page).map_or("(free or new)", String::as_str);
        let entry = by_name.entry(name).or_default();
        entry.0 += 1;
        entry.1.insert(*page);
    }
    let mut lines: Vec<Tally> = by_name
        .into_iter()
        .map(|(name, (frames, pages))| Tally {
            name: name.to_owned(),
            frames,
            distinct: pages.len(),
        })
        .collect();
    lines.sort_by(|a, b| b.frames.cmp(&a.frames).then(a.name.cmp(&b.name)));
    lines
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let log_path = PathBuf::from(format!("{}-wal", args.database.display()));
    let db = rusqlite::Connection::open(&args.database)
        .with_context(|| format!("opening {}", args.database.display()))?;
    db.busy_timeout(Duration::from_secs(30))?;
    db.execute_batch("BEGIN")?;
    db.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
    let before = read_log(&log_path)?;
    println!("holding");
    std::io::stdout().flush()?;

    let started = Instant::now();
    while !args.until.exists() {
        if started.elapsed() > args.timeout {
            bail!(
                "{} did not appear in {:?}",
                args.until.display(),
                args.timeout
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = read_log(&log_path)?;
    db.execute_batch("COMMIT")?;

    let mut names = HashMap::new();
    let mut pages = db.prepare("SELECT name, pageno, pagetype FROM dbstat")?;
    let mut rows = pages.query([])?;
    while let Some(row) = rows.next()? {
        let (name, page, kind): (String, u32, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let name = if kind == "internal" {
            format!("{name} (internal pages)")
        } else {
            name
        };
        names.insert(page, name);
    }

    let frames = written_since(&before, &after);
    let mb = |frames: usize| frames as f64 * after.page_size as f64 / 1e6;
    println!(
        "{} frames of {} bytes written to the log ({:.0} MB), {} distinct pages",
        frames.len(),
        after.page_size,
        mb(frames.len()),
        frames.iter().collect::<HashSet<_>>().len()
    );
    println!("| B-tree | frames | MB | distinct pages |");
    println!("|---|---|---|---|");
    let lines = tally(&frames, &names);
    for line in lines.iter().take(args.top) {
        println!(
            "| {} | {} | {:.0} | {} |",
            line.name,
            line.frames,
            mb(line.frames),
            line.distinct
        );
    }
    let rest: Vec<&Tally> = lines.iter().skip(args.top).collect();
    if !rest.is_empty() {
        let frames = rest.iter().map(|l| l.frames).sum();
        println!(
            "| {} others | {frames} | {:.0} | {} |",
            rest.len(),
            mb(frames),
            rest.iter().map(|l| l.distinct).sum::<usize>()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log whose writes are held back by this tool's read transaction
    /// keeps every frame: each commit's pages are found and named.
    #[test]
    fn names_the_pages_each_commit_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
                 CREATE INDEX t_v ON t (v);",
            )
            .unwrap();
        let log = PathBuf::from(format!("{}-wal", path.display()));
        let before = read_log(&log).unwrap();
        for i in 0..3 {
            writer
                .execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i}")])
                .unwrap();
        }
        let after = read_log(&log).unwrap();
        let frames = written_since(&before, &after);
        // Each commit writes the table's page and the index's page.
        assert_eq!(frames.len(), 6, "{frames:?}");

        let mut names = HashMap::new();
        let mut pages = writer.prepare("SELECT name, pageno FROM dbstat").unwrap();
        for row in pages
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))
            .unwrap()
        {
            let (name, page) = row.unwrap();
            names.insert(page, name);
        }
        let lines = tally(&frames, &names);
        let pairs: Vec<(&str, usize, usize)> = lines
            .iter()
            .map(|l| (l.name.as_str(), l.frames, l.distinct))
            .collect();
        assert_eq!(pairs, [("t", 3, 1), ("t_v", 3, 1)]);
    }

    /// A log started over (its salts changed) counts from its beginning.
    #[test]
    fn a_log_started_over_counts_from_its_start() {
        let old = Log {
            salts: (1, 2),
            page_size: 4096,
            pages: vec![5, 6, 7],
        };
        let new = Log {
            salts: (2, 9),
            page_size: 4096,
            pages: vec![8],
        };
        assert_eq!(written_since(&old, &new), [8]);
        let grown = Log {
            salts: (1, 2),
            page_size: 4096,
            pages: vec![5, 6, 7, 9, 9],
        };
        assert_eq!(written_since(&old, &grown), [9, 9]);
    }
}
