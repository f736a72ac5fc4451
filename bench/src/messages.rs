//! `rapport-bench messages`: the write-path load generator.
//!
//! Creates contacts (not measured), then runs `--clients` concurrent tasks
//! that each POST /api/v1/messages in a closed loop over one shared
//! connection pool. Each task sends messages in pairs: the first starts a new
//! conversation with a contact, the second appends to that conversation.
//! Contacts are visited round-robin, interleaved across tasks. Requests that
//! complete inside the measured window (after `--warmup`, for `--duration`)
//! count; their latencies give p50/p99/max.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api::{Api, ApiToken, MoreServers, ServerUrl, http_client, string_field};
use crate::parse_duration;
use crate::report::{self, percentile_ms};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerUrl,
    #[command(flatten)]
    more: MoreServers,
    #[command(flatten)]
    auth: ApiToken,
    /// Concurrent clients, each with one request in flight (spread over the
    /// servers round-robin).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// How long to measure, after the warmup (e.g. 20s, 500ms, 1m).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// How long to run before measuring.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    warmup: Duration,
    /// Contacts to create and send to.
    #[arg(long, default_value_t = 1000)]
    contacts: usize,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.clients > 0, "--clients must be at least 1");
    ensure!(args.contacts > 0, "--contacts must be at least 1");
    ensure!(!args.duration.is_zero(), "--duration must be more than 0");
    let http = http_client(args.clients)?;
    let apis: Vec<Arc<Api>> = args
        .more
        .with(&args.server.url)
        .iter()
        .map(|url| Arc::new(Api::new(http.clone(), url, &args.auth)))
        .collect();
    let api = apis[0].clone();

    eprintln!("creating {} contacts...", args.contacts);
    let contacts: Arc<[String]> = create_contacts(&api, args.contacts, args.clients)
        .await?
        .into();

    eprintln!(
        "{} clients: warming up for {:?}, then measuring for {:?}...",
        args.clients, args.warmup, args.duration
    );
    let start = Instant::now() + args.warmup;
    let window = Window {
        start,
        end: start + args.duration,
    };
    let tasks: Vec<_> = (0..args.clients)
        .map(|index| {
            let (api, contacts) = (apis[index % apis.len()].clone(), contacts.clone());
            tokio::spawn(async move { client(&api, &contacts, index, args.clients, window).await })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let stats = task.await?;
        latencies.extend(stats.latencies_us);
        errors += stats.errors;
    }

    report(&args, latencies, errors);
    Ok(())
}

/// Upserts contacts `bench-0`..`bench-{count-1}` from up to `concurrency`
/// tasks, returning their ids in order. Existing ones (a second run on the
/// same database) answer 200 and are reused.
async fn create_contacts(
    api: &Arc<Api>,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let workers = concurrency.min(count);
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let api = api.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for index in (worker..count).step_by(workers) {
                    let body = json!({ "user_id": format!("bench-{index}"), "name": "Ada" });
                    let created = api
                        .post("/contacts", &body, &[StatusCode::CREATED, StatusCode::OK])
                        .await
                        .map_err(anyhow::Error::msg)?;
                    let id = string_field(&created, "/id").context("creating a contact")?;
                    ids.push((index, id));
                }
                anyhow::Ok(ids)
            })
        })
        .collect();
    let mut ids = vec![String::new(); count];
    for task in tasks {
        for (index, id) in task.await?? {
            ids[index] = id;
        }
    }
    Ok(ids)
}

/// The measured interval: requests that complete inside it count.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

#[derive(Default)]
struct ClientStats {
    latencies_us: Vec<u32>,
    errors: u64,
}

/// One client: sends messages back to back until the window ends.
async fn client(
    api: &Api,
    contacts: &[String],
    index: usize,
    clients: usize,
    window: Window,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let mut conversation: Option<String> = None;
    for sent in 0usize.. {
        if Instant::now() >= window.end {
            break;
        }
        let contact = &contacts[(index + sent / 2 * clients) % contacts.len()];
        let starts_conversation = sent % 2 == 0;
        let mut body =
            json!({ "contact_id": contact, "body": "Hi {{ user.name | default(\"there\") }}" });
        // The second of a pair appends to the first's conversation (or, if
        // that one failed, starts its own).
        if let Some(id) = conversation.take().filter(|_| !starts_conversation) {
            body["conversation_id"] = Value::String(id);
        }

        let began = Instant::now();
        let outcome = api.post("/messages", &body, &[StatusCode::CREATED]).await;
        let ended = Instant::now();
        let measured = window.start <= ended && ended <= window.end;
        match outcome {
            Ok(response) => {
                if measured {
                    let micros = (ended - began).as_micros();
                    stats
                        .latencies_us
                        .push(u32::try_from(micros).unwrap_or(u32::MAX));
                }
                if starts_conversation {
                    conversation = string_field(&response, "/conversation_id").ok();
                }
            }
            Err(why) => {
                if measured {
                    stats.errors += 1;
                }
                report::show_error("", why);
            }
        }
    }
    stats
}

/// Prints the summary line and, with `--json`, the JSON object.
fn report(args: &Args, mut latencies_us: Vec<u32>, errors: u64) {
    latencies_us.sort_unstable();
    let duration_s = args.duration.as_secs_f64();
    let messages = latencies_us.len();
    let per_second = messages as f64 / duration_s;
    let (p50, p99) = (
        percentile_ms(&latencies_us, 0.50),
        percentile_ms(&latencies_us, 0.99),
    );
    let max = latencies_us
        .last()
        .map_or(0.0, |&us| f64::from(us) / 1000.0);

    let summary = format!(
        "{} clients, {duration_s:.1} s: {messages} messages ({per_second:.0}/s), {errors} errors, \
         latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
        args.clients
    );
    let report = json!({
        "clients": args.clients,
        "duration_s": duration_s,
        "messages": messages,
        "errors": errors,
        "messages_per_s": per_second,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": max,
    });
    report::print(args.json, "", &summary, &report);
}
