//! `rapport-bench fanout`: delivery latency from the API to the widget.
//!
//! Boots `--visitors` visitors and holds a widget socket open for each (from
//! loopback source addresses round-robin, as `idle`), starts one
//! conversation per visitor with `POST /api/v1/messages` (not measured),
//! then sends `--rate` messages per second in total for `--warmup` +
//! `--duration`, open loop: message `i` is due at `i / rate` s, goes to
//! visitor `i mod visitors`, in their conversation, with the body
//! `fanout i`, from at most `--clients` requests in flight over one
//! connection pool. A message's latency is from the moment its POST starts
//! to the moment its `activity` frame (kind `message`, `data.body` naming
//! `i`) arrives on the visitor's socket. Messages due in the warmup are not
//! counted; a counted message whose frame has not arrived 5 s after its
//! POST started is lost. With `--samples FILE` it also writes each counted
//! message's send time and latency, so a caller can take the percentiles
//! over part of the run (bench/email.sh: while the email queue drains).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, ensure};
use futures::{StreamExt, TryStreamExt, stream};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::api::{Api, ApiToken, AppId, MoreServers, ServerUrl, http_client, string_field};
use crate::parse_duration;
use crate::report::{self, percentile_ms};
use crate::widget::{self, Server, Socket};

/// A message not delivered this long after its POST started is lost.
const LOST_AFTER: Duration = Duration::from_secs(5);
/// The body of message `i` is this, then `i`.
const BODY_PREFIX: &str = "fanout ";
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerUrl,
    /// With more servers, visitor `v`'s widget opens on server `v mod n`
    /// and the messages to them are sent through server `v + 1 mod n`, so
    /// every delivery crosses from one server to another.
    #[command(flatten)]
    more: MoreServers,
    #[command(flatten)]
    auth: ApiToken,
    #[command(flatten)]
    app: AppId,
    /// Visitors, each with a widget socket open.
    #[arg(long, default_value_t = 200)]
    visitors: usize,
    /// Messages per second, in total.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// How long to measure, after the warmup (e.g. 20s).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// How long to send before measuring.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Sends in flight at most (the HTTP connection pool's size).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Boots and socket openings in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
    /// Also write one line per counted message to this file: when its POST
    /// started (Unix ms) and its delivery latency in ms, or `lost` or
    /// `error`.
    #[arg(long)]
    samples: Option<PathBuf>,
}

/// When each message was sent and delivered, in ns since `origin` (0: not
/// yet), and how long its POST took, in µs + 1 (0: failed or not yet).
struct Timings {
    origin: Instant,
    /// `origin` on the wall clock, in ms since the Unix epoch.
    origin_unix_ms: f64,
    sent_ns: Vec<AtomicU64>,
    arrived_ns: Vec<AtomicU64>,
    post_us: Vec<AtomicU64>,
}

impl Timings {
    fn new(count: usize) -> Self {
        let zeros = || (0..count).map(|_| AtomicU64::new(0)).collect();
        Self {
            origin: Instant::now(),
            origin_unix_ms: crate::sink::unix_ms(SystemTime::now()),
            sent_ns: zeros(),
            arrived_ns: zeros(),
            post_us: zeros(),
        }
    }

    /// Now, in ns since `origin` (at least 1, so never "not yet").
    fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.visitors > 0, "--visitors must be at least 1");
    ensure!(args.clients > 0, "--clients must be at least 1");
    ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    ensure!(
        args.rate.is_finite() && args.rate > 0.0,
        "--rate must be more than 0"
    );
    ensure!(!args.duration.is_zero(), "--duration must be more than 0");
    widget::ensure_files_for(args.visitors + args.clients)?;
    let mut servers = Vec::new();
    for url in args.more.with(&args.server.url) {
        servers.push(Server::resolve(&url).await?);
    }
    let server = &servers[0];
    let http = http_client(args.clients.max(args.concurrency))?;

    eprintln!("booting {} visitors...", args.visitors);
    let visitors = widget::boot_visitors(
        &http,
        server,
        &args.app.app_id,
        args.visitors,
        args.concurrency,
    )
    .await?;

    let warmup_count = (args.warmup.as_secs_f64() * args.rate).round() as usize;
    let total = warmup_count + (args.duration.as_secs_f64() * args.rate).round() as usize;
    let timings = Arc::new(Timings::new(total));

    eprintln!("opening {} widget sockets...", args.visitors);
    let sockets: Vec<Socket> = stream::iter(visitors.iter().enumerate())
        .map(|(index, visitor)| {
            widget::open_widget(
                &servers[index % servers.len()],
                server.source(index),
                &visitor.session,
            )
        })
        .buffered(args.concurrency)
        .try_collect()
        .await?;
    let closed_early = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|socket| {
            let (timings, closed_early) = (timings.clone(), closed_early.clone());
            tokio::spawn(async move {
                read_deliveries(socket, &timings).await;
                closed_early.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();

    eprintln!("starting one conversation per visitor...");
    let apis: Arc<[Api]> = servers
        .iter()
        .map(|server| Api::new(http.clone(), &server.base, &args.auth))
        .collect();
    let api = Arc::new(Api::new(http, &server.base, &args.auth));
    let conversations: Arc<[(String, String)]> = stream::iter(&visitors)
        .map(|visitor| {
            let api = api.clone();
            async move {
                let body =
                    json!({ "contact_id": visitor.contact_id, "body": "Hello from the bench" });
                let reply = api
                    .post("/messages", &body, &[StatusCode::CREATED])
                    .await
                    .map_err(anyhow::Error::msg)?;
                let conversation = string_field(&reply, "/conversation_id")?;
                anyhow::Ok((visitor.contact_id.clone(), conversation))
            }
        })
        .buffered(args.concurrency)
        .try_collect::<Vec<_>>()
        .await?
        .into();

    eprintln!(
        "sending {:.0} messages/s: {:?} warmup, then {:?} measured...",
        args.rate, args.warmup, args.duration
    );
    let in_flight = Arc::new(Semaphore::new(args.clients));
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let start = Instant::now() + Duration::from_millis(100);
    let mut max_lag = Duration::ZERO;
    for index in 0..total {
        let due = start + period.mul_f64(index as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = in_flight.clone().acquire_owned().await?;
        max_lag = max_lag.max(due.elapsed());
        let (apis, timings, conversations) = (apis.clone(), timings.clone(), conversations.clone());
        tokio::spawn(async move {
            let visitor = index % conversations.len();
            let (contact, conversation) = &conversations[visitor];
            let api = &apis[(visitor + 1) % apis.len()];
            let body = json!({
                "contact_id": contact,
                "conversation_id": conversation,
                "body": format!("{BODY_PREFIX}{index}"),
            });
            let began = Instant::now();
            timings.sent_ns[index].store(timings.now_ns(), Ordering::Relaxed);
            match api.post("/messages", &body, &[StatusCode::CREATED]).await {
                Ok(_) => {
                    let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                    timings.post_us[index].store(micros.saturating_add(1), Ordering::Relaxed);
                }
                Err(why) => {
                    report::show_error("", why);
                }
            }
            drop(permit);
        });
    }
    // Every send has finished once all the permits are back.
    let _all = in_flight
        .acquire_many(u32::try_from(args.clients).unwrap_or(u32::MAX))
        .await?;
    let sends_ended = Instant::now();

    // Wait for the stragglers, up to LOST_AFTER after the last send.
    let delivered = |index: usize| timings.arrived_ns[index].load(Ordering::Relaxed) != 0;
    let failed = |index: usize| timings.post_us[index].load(Ordering::Relaxed) == 0;
    while sends_ended.elapsed() < LOST_AFTER
        && !(warmup_count..total).all(|i| delivered(i) || failed(i))
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dropped = closed_early.load(Ordering::Relaxed);
    for reader in readers {
        reader.abort();
    }

    if let Some(path) = &args.samples {
        write_samples(path, &timings, warmup_count..total)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    report(&args, &timings, warmup_count..total, max_lag, dropped);
    Ok(())
}

/// Writes `<POST start, Unix ms> <latency ms | lost | error>` per message.
fn write_samples(
    path: &std::path::Path,
    timings: &Timings,
    measured: std::ops::Range<usize>,
) -> std::io::Result<()> {
    let lost_after_ns = u64::try_from(LOST_AFTER.as_nanos()).unwrap_or(u64::MAX);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in measured {
        let sent_ns = timings.sent_ns[i].load(Ordering::Relaxed);
        let arrived_ns = timings.arrived_ns[i].load(Ordering::Relaxed);
        let sent_ms = timings.origin_unix_ms + sent_ns as f64 / 1e6;
        write!(out, "{sent_ms:.3} ")?;
        if timings.post_us[i].load(Ordering::Relaxed) == 0 {
            writeln!(out, "error")?;
        } else if arrived_ns == 0 || arrived_ns.saturating_sub(sent_ns) > lost_after_ns {
            writeln!(out, "lost")?;
        } else {
            writeln!(
                out,
                "{:.3}",
                arrived_ns.saturating_sub(sent_ns) as f64 / 1e6
            )?;
        }
    }
    out.flush()
}

/// Records the arrival of every `fanout i` message frame on `socket` until
/// it closes.
async fn read_deliveries(mut socket: Socket, timings: &Timings) {
    while let Some(Ok(frame)) = socket.next().await {
        let Message::Text(text) = frame else {
            if matches!(frame, Message::Close(_)) {
                return;
            }
            continue;
        };
        let now = timings.now_ns();
        if !text.contains(BODY_PREFIX) {
            continue;
        }
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if frame.get("type").and_then(Value::as_str) != Some("activity")
            || frame.get("kind").and_then(Value::as_str) != Some("message")
        {
            continue;
        }
        let index = frame
            .pointer("/data/body")
            .and_then(Value::as_str)
            .and_then(|body| body.strip_prefix(BODY_PREFIX))
            .and_then(|number| number.trim().parse::<usize>().ok());
        if let Some(slot) = index.and_then(|i| timings.arrived_ns.get(i)) {
            let _ = slot.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// Prints the summary line and, with `--json`, the JSON object.
fn report(
    args: &Args,
    timings: &Timings,
    measured: std::ops::Range<usize>,
    max_lag: Duration,
    dropped: usize,
) {
    let load = |slots: &[AtomicU64], i: usize| slots[i].load(Ordering::Relaxed);
    let lost_after_ns = u64::try_from(LOST_AFTER.as_nanos()).unwrap_or(u64::MAX);
    let (mut latencies_us, mut post_us) = (Vec::new(), Vec::new());
    let (mut sent, mut errors, mut lost) = (0usize, 0usize, 0usize);
    let (mut first_sent, mut last_sent) = (u64::MAX, 0u64);
    for i in measured {
        let sent_ns = load(&timings.sent_ns, i);
        first_sent = first_sent.min(sent_ns);
        last_sent = last_sent.max(sent_ns);
        let post = load(&timings.post_us, i);
        if post == 0 {
            errors += 1;
            continue;
        }
        sent += 1;
        post_us.push(post - 1);
        let arrived_ns = load(&timings.arrived_ns, i);
        if arrived_ns == 0 || arrived_ns.saturating_sub(sent_ns) > lost_after_ns {
            lost += 1;
        } else {
            latencies_us.push(arrived_ns.saturating_sub(sent_ns) / 1000);
        }
    }
    latencies_us.sort_unstable();
    post_us.sort_unstable();
    let span_s = last_sent.saturating_sub(first_sent) as f64 / 1e9;
    let attempted = sent + errors;
    let achieved = if span_s > 0.0 {
        attempted.saturating_sub(1) as f64 / span_s
    } else {
        0.0
    };
    let (p50, p99) = (
        percentile_ms(&latencies_us, 0.50),
        percentile_ms(&latencies_us, 0.99),
    );
    let max = latencies_us.last().map_or(0.0, |&us| us as f64 / 1000.0);
    let (post_p50, post_p99) = (percentile_ms(&post_us, 0.50), percentile_ms(&post_us, 0.99));
    let received = latencies_us.len();
    let lag_ms = max_lag.as_secs_f64() * 1000.0;

    let summary = format!(
        "{} visitors, {:.0}/s asked, {achieved:.0}/s sent for {:.1} s: {sent} sent ({errors} errors), \
         {received} delivered, {lost} lost; delivery p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms \
         (POST p50 {post_p50:.2} ms, p99 {post_p99:.2} ms; sends started up to {lag_ms:.1} ms late; \
         {dropped} sockets closed early)",
        args.visitors,
        args.rate,
        args.duration.as_secs_f64()
    );
    let report = json!({
        "visitors": args.visitors,
        "rate": args.rate,
        "duration_s": args.duration.as_secs_f64(),
        "sent": sent,
        "errors": errors,
        "achieved_per_s": achieved,
        "received": received,
        "lost": lost,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": max,
        "post_p50_ms": post_p50,
        "post_p99_ms": post_p99,
        "max_send_lag_ms": lag_ms,
        "dropped": dropped,
    });
    report::print(args.json, "", &summary, &report);
}
