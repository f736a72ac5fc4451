//! `rapport-bench smtp-sink`: an SMTP server that accepts every email and
//! counts it (bench/email.sh).
//!
//! It listens on `--listen` (plain SMTP, `mailin-embedded`, one thread per
//! open connection from a pool of `--threads`), reads each email's
//! Message-ID (with `mail-parser`, headers only) and its envelope
//! recipients, and records when it arrived (the end of DATA). Once
//! `--expect` distinct Message-IDs have arrived it keeps listening for
//! `--linger` (a late duplicate still counts), then prints one JSON summary
//! and exits; after `--timeout` it prints the summary of what it has.
//!
//! The rate is over the distinct emails: (unique - 1) / (last arrival -
//! first arrival). The per-second rate is the number of arrivals in each
//! whole second after the first arrival; its median leaves the last,
//! partial second out.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use mail_parser::MessageParser;
use mailin_embedded::{Handler, Response, Server, response};
use serde_json::json;

use crate::parse_duration;
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen (plain SMTP).
    #[arg(long, default_value = "127.0.0.1:2525")]
    listen: SocketAddr,
    /// Stop once this many distinct Message-IDs have arrived (0: only at
    /// --timeout).
    #[arg(long, default_value_t = 0)]
    expect: usize,
    /// Stop after this long in any case (e.g. 10m).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    timeout: Duration,
    /// How long to keep counting after --expect is reached.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    linger: Duration,
    /// Connections served at once: each open client connection holds a
    /// thread, so use more than the client's pool size.
    #[arg(long, default_value_t = 128)]
    threads: u32,
    /// Stop (and report) once this file exists: for a load whose email
    /// count is not known in advance (bench/soak.sh).
    #[arg(long)]
    stop_file: Option<std::path::PathBuf>,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

/// What has arrived so far.
#[derive(Default)]
struct Tally {
    /// Emails received, copies included.
    received: usize,
    /// Arrival times of the first copy of each Message-ID, since
    /// `Shared::origin`.
    unique_arrivals: Vec<Duration>,
    /// Copies seen per Message-ID.
    ids: HashMap<String, u32>,
    /// Emails with no Message-ID header (each counts as unique).
    without_id: usize,
    recipients: HashSet<String>,
    bytes: u64,
    /// SMTP sessions opened (HELO/EHLO).
    connections: usize,
}

struct Shared {
    /// Parses the Message-ID header only (and the other id headers).
    parser: MessageParser,
    origin: Instant,
    origin_unix_ms: f64,
    tally: Mutex<Tally>,
}

impl Shared {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One SMTP session's handler (mailin clones it per connection).
#[derive(Clone)]
struct Count {
    shared: Arc<Shared>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Count {
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        self.shared.tally().connections += 1;
        response::OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let arrived = self.shared.origin.elapsed();
        let id = self
            .shared
            .parser
            .parse_headers(&self.data)
            .and_then(|message| message.message_id().map(str::to_owned));
        let mut tally = self.shared.tally();
        tally.received += 1;
        tally.bytes += self.data.len() as u64;
        let first_copy = match id {
            Some(id) => {
                let copies = tally.ids.entry(id).or_insert(0);
                *copies += 1;
                *copies == 1
            }
            None => {
                tally.without_id += 1;
                true
            }
        };
        if first_copy {
            tally.unique_arrivals.push(arrived);
        }
        for to in self.to.drain(..) {
            tally.recipients.insert(to);
        }
        response::OK
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.threads > 0, "--threads must be at least 1");
    let listener =
        TcpListener::bind(args.listen).with_context(|| format!("listening on {}", args.listen))?;
    let shared = Arc::new(Shared {
        parser: MessageParser::new().with_message_ids(),
        origin: Instant::now(),
        origin_unix_ms: unix_ms(SystemTime::now()),
        tally: Mutex::new(Tally::default()),
    });
    let mut server = Server::new(Count {
        shared: shared.clone(),
        to: Vec::new(),
        data: Vec::new(),
    });
    server
        .with_name("sink.bench")
        .with_num_threads(args.threads)
        .with_tcp_listener(listener);
    // Serves until this process exits.
    std::thread::spawn(move || {
        if let Err(err) = server.serve() {
            eprintln!("smtp-sink: the server stopped: {err}");
        }
    });
    eprintln!(
        "smtp-sink: listening on {} ({} threads), expecting {}",
        args.listen, args.threads, args.expect
    );

    let started = Instant::now();
    let mut complete_at: Option<Instant> = None;
    let mut last_progress = Instant::now();
    let timed_out = loop {
        std::thread::sleep(Duration::from_millis(50));
        let (received, unique) = {
            let tally = shared.tally();
            (tally.received, tally.unique_arrivals.len())
        };
        if last_progress.elapsed() >= Duration::from_secs(5) && received > 0 {
            eprintln!("smtp-sink: {received} received, {unique} unique");
            last_progress = Instant::now();
        }
        if args.expect > 0 && unique >= args.expect && complete_at.is_none() {
            complete_at = Some(Instant::now());
        }
        if complete_at.is_some_and(|at| at.elapsed() >= args.linger) {
            break false;
        }
        if args.stop_file.as_ref().is_some_and(|file| file.exists()) {
            break false;
        }
        if started.elapsed() >= args.timeout {
            break true;
        }
    };

    let mut tally = shared.tally();
    // Handlers take their time before the lock: put them in order.
    tally.unique_arrivals.sort_unstable();
    report(&args, &shared, &tally, timed_out);
    Ok(())
}

/// Prints the summary line and, with `--json`, the JSON object.
fn report(args: &Args, shared: &Shared, tally: &Tally, timed_out: bool) {
    let received = tally.received;
    let unique = tally.unique_arrivals.len();
    let duplicates = received - unique;
    let duplicated_ids = tally.ids.values().filter(|&&copies| copies > 1).count();
    let missing = args.expect.saturating_sub(unique);
    let first = tally.unique_arrivals.first().copied();
    let last = tally.unique_arrivals.last().copied();
    let span_s = match (first, last) {
        (Some(first), Some(last)) => (last - first).as_secs_f64(),
        _ => 0.0,
    };
    let per_s = if span_s > 0.0 {
        (unique - 1) as f64 / span_s
    } else {
        0.0
    };
    let seconds = per_second(&tally.unique_arrivals);
    let median_per_s = median(&seconds).unwrap_or(per_s);
    let max_per_s = seconds.iter().copied().max().unwrap_or(0);
    let at_ms = |at: Option<Duration>| {
        at.map_or(0, |at| {
            (shared.origin_unix_ms + at.as_secs_f64() * 1000.0).round() as u64
        })
    };
    let mean_bytes = if received > 0 {
        tally.bytes as f64 / received as f64
    } else {
        0.0
    };

    let summary = format!(
        "{received} received, {unique} unique, {duplicates} duplicates ({duplicated_ids} ids), \
         {missing} missing of {}, {} recipients, {} connections; {per_s:.0} emails/s over \
         {span_s:.2} s (median second {median_per_s:.0}/s, best {max_per_s}/s); mean {mean_bytes:.0} \
         bytes{}",
        args.expect,
        tally.recipients.len(),
        tally.connections,
        if timed_out { "; TIMED OUT" } else { "" }
    );
    let report = json!({
        "expect": args.expect,
        "received": received,
        "unique": unique,
        "duplicates": duplicates,
        "duplicated_ids": duplicated_ids,
        "without_message_id": tally.without_id,
        "missing": missing,
        "recipients": tally.recipients.len(),
        "connections": tally.connections,
        "first_unix_ms": at_ms(first),
        "last_unix_ms": at_ms(last),
        "span_s": span_s,
        "emails_per_s": per_s,
        "median_per_s": median_per_s,
        "max_per_s": max_per_s,
        "mean_bytes": mean_bytes,
        "timed_out": timed_out,
    });
    report::print(args.json, "smtp-sink: ", &summary, &report);
}

/// Arrivals in each whole second after the first, the last (partial)
/// second left out; all of them if there is no whole second.
fn per_second(sorted: &[Duration]) -> Vec<usize> {
    let (Some(&first), Some(&last)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    let whole = (last - first).as_secs() as usize;
    let mut counts = vec![0; whole.max(1)];
    for at in sorted {
        let second = (*at - first).as_secs() as usize;
        if second < counts.len() {
            counts[second] += 1;
        }
    }
    counts
}

/// The median of counts (the mean of the middle two for an even number).
fn median(counts: &[usize]) -> Option<f64> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2] as f64),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0),
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_medians() {
        let ms = |v: u64| Duration::from_millis(v);
        // 0.0-1.0 s: 3 arrivals; 1.0-2.0 s: 1; the last at 2.5 s is partial.
        let arrivals = [ms(1000), ms(1200), ms(1900), ms(2100), ms(3500)];
        assert_eq!(per_second(&arrivals), vec![3, 1]);
        assert_eq!(per_second(&[ms(5)]), vec![1]);
        assert!(per_second(&[]).is_empty());
        assert_eq!(median(&[3, 1]), Some(2.0));
        assert_eq!(median(&[5, 1, 3]), Some(3.0));
        assert_eq!(median(&[]), None);
    }
}
