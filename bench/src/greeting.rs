//! `rapport-bench greeting`: a page-visit greeting automation under load
//! (bench/automations.sh).
//!
//! The server has one automation, published and then paused (`--automation`):
//! a `page_visited` trigger with a time on page (its `seconds_on_page`, the
//! configured delay, read from the automation) and one bot message. This:
//!
//! 1. boots `--contacts` visitors (N), before anything is measured;
//! 2. the reference, with no automation live: sends each of them one page
//!    view (`POST /widget/v1/events`, `$page_view` of `--page`), closed
//!    loop, `--reference-clients` at once: the raw ingestion rate;
//! 3. opens the widget sockets of `--online` of them (W, spread evenly over
//!    the N) and keeps them open to the end, reading every frame;
//! 4. resumes the automation, then sends the N page views again, spread
//!    evenly over `--duration` (open loop, page view `i` due at
//!    `i * duration / N`). A visitor is greeted only if still on the page,
//!    with the widget open (or closed within the presence grace period),
//!    when the delay is over, so each of the N - W others opens a widget
//!    socket just before its page view and keeps it open for `--stay`
//!    (default: the delay): a visitor who stayed on the page as long as the
//!    trigger asks. With no delay there is no re-check, so the others open
//!    no socket unless `--stay` is given;
//! 5. waits until no run is going and every accepted page view has started
//!    one, then reads the automation's stats and every run (`GET
//!    /automations/{id}/runs`, paged), and spot-checks `--spot-checks`
//!    contacts' timelines for their greetings.
//!
//! It reports: for the W, the time from a page view's POST starting to the
//! greeting's frame arriving on their socket, minus the delay (the excess);
//! for all N, the same to the greeting's write (the run's `updated_at`);
//! how far the dispatcher ran behind the page views (run `started_at`);
//! runs started and greetings sent per second; duplicates and missing
//! greetings; the server's memory (`--server-pid`). The clocks compared are
//! this machine's: the load generator and the server share it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail, ensure};
use futures::{StreamExt, stream};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::api::{ApiToken, AppId, ServerUrl, http_client};
use crate::greeting_measure::*;
use crate::parse_duration;
use crate::report;
use crate::sink::unix_ms;
use crate::widget::{self, Server, Socket, Visitor};

/// How long to wait for late duplicates once everything seems done.
const SETTLE: Duration = Duration::from_secs(3);
/// How often the server's memory is read.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Runs read per page (the API's most).
const RUNS_PAGE: usize = 200;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerUrl,
    #[command(flatten)]
    auth: ApiToken,
    #[command(flatten)]
    app: AppId,
    /// The automation: published, then paused (it is resumed for the
    /// measured stretch).
    #[arg(long)]
    automation: String,
    /// Visitors who view the page (N).
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    /// Of them, visitors whose widget socket stays open throughout (W):
    /// the greeting's arrival is timed on their sockets.
    #[arg(long, default_value_t = 1_000)]
    online: usize,
    /// The stretch the N page views are spread over.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// The page viewed (it must match the automation's trigger).
    #[arg(long, default_value = "https://acme.test/pricing")]
    page: String,
    /// How long each of the N - W others keeps its widget socket open after
    /// its page view (default: the trigger's time on page; with none, they
    /// open no socket).
    #[arg(long, value_parser = parse_duration)]
    stay: Option<Duration>,
    /// Text every greeting contains (how its frame and message are told).
    #[arg(long, default_value = "questions about pricing")]
    marker: String,
    /// Boots in flight at once.
    #[arg(long, default_value_t = 64)]
    boot_concurrency: usize,
    /// Page views in flight at once in the reference (closed loop).
    #[arg(long, default_value_t = 64)]
    reference_clients: usize,
    /// Page views (with their socket openings) in flight at once in the
    /// measured stretch.
    #[arg(long, default_value_t = 256)]
    clients: usize,
    /// How long to wait for every greeting after the last page view.
    #[arg(long, default_value = "900s", value_parser = parse_duration)]
    wait: Duration,
    /// Contacts whose timelines are read to look for a missing or second
    /// greeting (besides the W, whose sockets count them).
    #[arg(long, default_value_t = 500)]
    spot_checks: usize,
    /// The server's process id, to read its memory from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

/// The server's REST API, for the calls this needs (GET and POST).
struct Rest {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Rest {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .timeout(Duration::from_secs(120));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("{method} {path}"))?;
        ensure!(
            status.is_success(),
            "{method} /api/v1{path}: {status}: {text}"
        );
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON"))
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// What happened to one visitor's measured page view, in ms since the Unix
/// epoch (0: not yet, or never).
#[derive(Default)]
struct Slot {
    /// Its POST started (f64 bits).
    sent_ms: AtomicU64,
    /// The POST was accepted (201).
    accepted: AtomicU64,
    /// Its greeting's first frame arrived (W only; f64 bits).
    greeted_ms: AtomicU64,
    /// Greeting frames that arrived (W only).
    frames: AtomicU64,
}

fn store_ms(cell: &AtomicU64, ms: f64) {
    cell.store(ms.to_bits(), Ordering::Relaxed);
}

fn load_ms(cell: &AtomicU64) -> Option<f64> {
    match cell.load(Ordering::Relaxed) {
        0 => None,
        bits => Some(f64::from_bits(bits)),
    }
}

fn now_ms() -> f64 {
    unix_ms(SystemTime::now())
}

/// Reads `socket` until it closes, recording the greetings that arrive.
async fn read_greetings(mut socket: Socket, slot: Arc<Slot>, marker: Arc<str>) {
    while let Some(Ok(frame)) = socket.next().await {
        let Message::Text(text) = frame else {
            if matches!(frame, Message::Close(_)) {
                return;
            }
            continue;
        };
        let at = now_ms();
        if !text.contains(&*marker) {
            continue;
        }
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let greeting = frame.get("type").and_then(Value::as_str) == Some("activity")
            && frame.get("kind").and_then(Value::as_str) == Some("message")
            && frame.pointer("/data/author/type").and_then(Value::as_str) != Some("contact")
            && frame
                .pointer("/data/body")
                .and_then(Value::as_str)
                .is_some_and(|body| body.contains(&*marker));
        if greeting && slot.frames.fetch_add(1, Ordering::Relaxed) == 0 {
            store_ms(&slot.greeted_ms, at);
        }
    }
}

/// POSTs one `$page_view` of `page` as the visitor with `session`.
async fn page_view(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    page: &str,
) -> Result<(), String> {
    let response = http
        .post(url)
        .bearer_auth(session)
        .json(&json!({ "name": "$page_view", "params": { "url": page } }))
        .send()
        .await
        .map_err(|err| format!("POST /widget/v1/events: {err}"))?;
    let status = response.status();
    if status == StatusCode::CREATED {
        Ok(())
    } else {
        let text = response.text().await.unwrap_or_default();
        Err(format!("POST /widget/v1/events: {status}: {text}"))
    }
}

/// A run as the report needs it.
struct RunRow {
    contact: String,
    status: String,
    started_ms: f64,
    updated_ms: f64,
    reason: Option<String>,
}

/// Every run of the automation, newest first, `RUNS_PAGE` at a time.
async fn all_runs(rest: &Rest, automation: &str) -> anyhow::Result<Vec<RunRow>> {
    let mut rows = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut path = format!("/automations/{automation}/runs?limit={RUNS_PAGE}");
        if let Some(before) = &before {
            path.push_str(&format!("&before={before}"));
        }
        let page = rest.get(&path).await?;
        let data = page["data"].as_array().context("runs: no data")?;
        for run in data {
            let field = |name: &str| run[name].as_str().map(str::to_owned);
            rows.push(RunRow {
                contact: field("contact_id").context("a run without contact_id")?,
                status: field("status").context("a run without status")?,
                started_ms: field("started_at")
                    .and_then(|t| rfc3339_ms(&t))
                    .context("a run's started_at")?,
                updated_ms: field("updated_at")
                    .and_then(|t| rfc3339_ms(&t))
                    .context("a run's updated_at")?,
                reason: field("ended_reason"),
            });
        }
        if data.len() < RUNS_PAGE {
            return Ok(rows);
        }
        before = data
            .last()
            .and_then(|r| r["id"].as_str())
            .map(str::to_owned);
    }
}

/// The greetings in a contact's timeline.
async fn greetings_in_timeline(rest: &Rest, contact: &str, marker: &str) -> anyhow::Result<usize> {
    let timeline = rest
        .get(&format!(
            "/contacts/{contact}/timeline?kinds=message&limit=100"
        ))
        .await?;
    let data = timeline["data"].as_array().context("timeline: no data")?;
    Ok(data
        .iter()
        .filter(|e| {
            e.pointer("/data/author/type").and_then(Value::as_str) != Some("contact")
                && e.pointer("/data/body")
                    .and_then(Value::as_str)
                    .is_some_and(|b| b.contains(marker))
        })
        .count())
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let n = args.contacts;
    ensure!(n > 0, "--contacts must be at least 1");
    ensure!(args.online <= n, "--online must be at most --contacts");
    ensure!(!args.duration.is_zero(), "--duration must be more than 0");
    ensure!(
        args.clients > 0 && args.reference_clients > 0 && args.boot_concurrency > 0,
        "concurrencies must be at least 1"
    );
    let server = Arc::new(Server::resolve(&args.server.url).await?);
    let http = http_client(
        args.clients
            .max(args.reference_clients)
            .max(args.boot_concurrency),
    )?;
    let rest = Rest {
        http: http.clone(),
        base: server.base.clone(),
        auth: format!("Bearer {}", args.auth.token),
    };
    let automation = rest
        .get(&format!("/automations/{}", args.automation))
        .await?;
    ensure!(
        automation["status"] == "paused",
        "the automation must be published and paused (it is {})",
        automation["status"]
    );
    let trigger = &automation["draft"]["trigger"];
    ensure!(
        trigger["type"] == "page_visited",
        "the automation's trigger is not page_visited: {trigger}"
    );
    let delay_s = trigger["seconds_on_page"].as_u64().unwrap_or(0);
    let delay_ms = delay_s as f64 * 1000.0;
    // A delayed trigger is checked again when due: the visitor must still
    // be online. With no delay nothing is checked, and no socket needed.
    let stay = match (args.stay, delay_s) {
        (Some(stay), _) => Some(stay),
        (None, 0) => None,
        (None, delay) => Some(Duration::from_secs(delay)),
    };
    let rate_asked = n as f64 / args.duration.as_secs_f64();
    // Sockets open at once: the W, the others' during their stay, and
    // the openings in flight.
    let held = args.online
        + (rate_asked * (stay.map_or(0.0, |s| s.as_secs_f64()) + 1.0)).ceil() as usize
        + args.clients;
    widget::ensure_files_for(held + args.clients)?;
    let peak = args.server_pid.map(RssPeak::start);
    let rss_now = || {
        args.server_pid
            .and_then(|pid| widget::memory(pid).ok())
            .map_or(0, |m| m.rss_kib)
    };
    let rss_start = rss_now();

    // 1. Boots.
    eprintln!("booting {n} visitors, {} at once...", args.boot_concurrency);
    let started = Instant::now();
    let visitors: Vec<Visitor> =
        widget::boot_visitors(&http, &server, &args.app.app_id, n, args.boot_concurrency).await?;
    let boot_s = started.elapsed().as_secs_f64();
    eprintln!("booted in {boot_s:.1} s ({:.0}/s)", n as f64 / boot_s);
    let boot_peak = peak.as_ref().map_or(0, |p| p.take());

    // 2. The reference: the same page views, no automation live.
    let events_url = format!("{}/widget/v1/events", server.base);
    eprintln!(
        "reference: {n} page views with no automation live, {} at once...",
        args.reference_clients
    );
    let started = Instant::now();
    let reference: Vec<Result<f64, String>> = stream::iter(&visitors)
        .map(|visitor| {
            let (http, url, page) = (&http, &events_url, &args.page);
            async move {
                let began = Instant::now();
                page_view(http, url, &visitor.session, page).await?;
                Ok(began.elapsed().as_secs_f64() * 1000.0)
            }
        })
        .buffer_unordered(args.reference_clients)
        .collect()
        .await;
    let reference_s = started.elapsed().as_secs_f64();
    let mut reference_ms = Vec::new();
    let mut reference_errors = 0;
    for outcome in reference {
        match outcome {
            Ok(ms) => reference_ms.push(ms),
            Err(why) => {
                reference_errors += 1;
                report::show_error("reference: ", why);
            }
        }
    }
    let reference_rate = reference_ms.len() as f64 / reference_s;
    eprintln!("reference: {reference_rate:.0} page views/s ({reference_errors} errors)");
    let reference_peak = peak.as_ref().map_or(0, |p| p.take());

    // 3. The W sockets, spread evenly over the N.
    let slots: Arc<Vec<Arc<Slot>>> = Arc::new((0..n).map(|_| Arc::new(Slot::default())).collect());
    let online: Vec<usize> = (0..args.online).map(|k| k * n / args.online).collect();
    let is_online = {
        let mut flags = vec![false; n];
        for &i in &online {
            flags[i] = true;
        }
        Arc::new(flags)
    };
    eprintln!("opening {} widget sockets that stay open...", online.len());
    let marker: Arc<str> = Arc::from(args.marker.as_str());
    let sockets: Vec<(usize, Socket)> = stream::iter(online.iter().copied())
        .map(|i| {
            let (server, session) = (server.clone(), visitors[i].session.clone());
            async move {
                widget::open_widget(&server, server.source(i), &session)
                    .await
                    .map(|s| (i, s))
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|(i, socket)| tokio::spawn(read_greetings(socket, slots[i].clone(), marker.clone())))
        .collect();

    // 4. The measured stretch.
    rest.post(
        &format!("/automations/{}/resume", args.automation),
        &json!({}),
    )
    .await?;
    let rss_before_minute = rss_now();
    let cpu_before_minute = args.server_pid.and_then(cpu_seconds);
    let own_before_minute = cpu_seconds(std::process::id());
    let machine_before_minute = machine_busy_seconds();
    let minute_clock = Instant::now();
    let hwm_before_minute = args.server_pid.and_then(high_water_kib).unwrap_or(0);
    eprintln!(
        "automation live; {n} page views over {:?} ({rate_asked:.0}/s); the {} others' sockets open for {}...",
        args.duration,
        n - online.len(),
        stay.map_or("none (no socket)".to_owned(), |s| format!("{s:?}"))
    );
    let in_flight = Arc::new(Semaphore::new(args.clients));
    let open_now = Arc::new(AtomicUsize::new(0));
    let open_most = Arc::new(AtomicUsize::new(0));
    let open_errors = Arc::new(AtomicUsize::new(0));
    let post_ms: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let visitors = Arc::new(visitors);
    let period = args.duration.as_secs_f64() / n as f64;
    let start = Instant::now() + Duration::from_millis(100);
    let mut max_lag = Duration::ZERO;
    let minute_began_ms = now_ms() + 100.0;
    for i in 0..n {
        let due = start + Duration::from_secs_f64(period * i as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = in_flight.clone().acquire_owned().await?;
        max_lag = max_lag.max(due.elapsed());
        let (http, server, url, page) = (
            http.clone(),
            server.clone(),
            events_url.clone(),
            args.page.clone(),
        );
        let (slots, visitors, is_online, post_ms) = (
            slots.clone(),
            visitors.clone(),
            is_online.clone(),
            post_ms.clone(),
        );
        let (open_now, open_most, open_errors) =
            (open_now.clone(), open_most.clone(), open_errors.clone());
        tokio::spawn(async move {
            let session = &visitors[i].session;
            let mut socket = None;
            if !is_online[i] && stay.is_some() {
                match widget::open_widget(&server, server.source(i), session).await {
                    Ok(opened) => {
                        let open = open_now.fetch_add(1, Ordering::Relaxed) + 1;
                        open_most.fetch_max(open, Ordering::Relaxed);
                        socket = Some(opened);
                    }
                    Err(why) => {
                        open_errors.fetch_add(1, Ordering::Relaxed);
                        report::show_error("socket: ", format!("{why:#}"));
                        return;
                    }
                }
            }
            let slot = &slots[i];
            let began = Instant::now();
            store_ms(&slot.sent_ms, now_ms());
            match page_view(&http, &url, session, &page).await {
                Ok(()) => {
                    slot.accepted.store(1, Ordering::Relaxed);
                    store_ms(&post_ms[i], began.elapsed().as_secs_f64() * 1000.0);
                }
                Err(why) => report::show_error("page view: ", why),
            }
            drop(permit);
            if let (Some(mut socket), Some(stay)) = (socket, stay) {
                // On the page with the widget open for `stay`, then gone.
                tokio::time::sleep(stay).await;
                let _ = socket.close(None).await;
                open_now.fetch_sub(1, Ordering::Relaxed);
            }
        });
    }
    let _all = in_flight
        .acquire_many(u32::try_from(args.clients).unwrap_or(u32::MAX))
        .await?;
    let sends_ended = Instant::now();
    let last_sent_ms = now_ms();
    let accepted: Vec<usize> = (0..n)
        .filter(|&i| slots[i].accepted.load(Ordering::Relaxed) == 1)
        .collect();
    let page_views = accepted.len();
    let send_span_s = (last_sent_ms - minute_began_ms) / 1000.0;
    eprintln!(
        "sent in {send_span_s:.1} s: {page_views} accepted, {} socket openings failed; waiting for the greetings...",
        open_errors.load(Ordering::Relaxed)
    );

    // 5. Wait until no run is going and every accepted page view started
    // one (or the wait runs out).
    let going_path = format!("/automations/{}/runs?going=true&limit=1", args.automation);
    let stats_path = format!("/automations/{}/stats", args.automation);
    let mut all_done_after_s = None;
    let mut last_report = Instant::now();
    while sends_ended.elapsed() < args.wait {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let going = rest.get(&going_path).await?;
        let any_going = going["data"].as_array().is_some_and(|d| !d.is_empty());
        let w_greeted = online
            .iter()
            .filter(|&&i| slots[i].frames.load(Ordering::Relaxed) > 0)
            .count();
        if last_report.elapsed() >= Duration::from_secs(10) {
            eprintln!(
                "  {:.0} s after the last page view: {w_greeted} of {} open widgets greeted, runs going: {any_going}",
                sends_ended.elapsed().as_secs_f64(),
                online.len()
            );
            last_report = Instant::now();
        }
        if any_going {
            continue;
        }
        let stats = rest.get(&stats_path).await?;
        if stats["runs"].as_u64().unwrap_or(0) as usize >= page_views {
            all_done_after_s = Some(sends_ended.elapsed().as_secs_f64());
            break;
        }
    }
    let busy_s = minute_clock.elapsed().as_secs_f64();
    let since = |before: Option<f64>, after: Option<f64>| {
        after
            .zip(before)
            .map(|(after, before)| round_ratio((after - before) / busy_s))
    };
    let own_cores = since(own_before_minute, cpu_seconds(std::process::id()));
    let machine_cores = since(machine_before_minute, machine_busy_seconds());
    let cpu_in_minute = args
        .server_pid
        .and_then(cpu_seconds)
        .zip(cpu_before_minute)
        .map(|(after, before)| after - before);
    tokio::time::sleep(SETTLE).await;
    let minute_peak = peak.as_ref().map_or(0, |p| p.take());
    let hwm_end = args.server_pid.and_then(high_water_kib).unwrap_or(0);
    let rss_end = rss_now();
    let stats = rest.get(&stats_path).await?;
    if all_done_after_s.is_none() {
        eprintln!("the wait ran out: {stats}");
    }

    // 6. Every run, and the W sockets' view.
    eprintln!("reading every run...");
    let runs = all_runs(&rest, &args.automation).await?;
    let sent_at: HashMap<&str, f64> = accepted
        .iter()
        .filter_map(|&i| load_ms(&slots[i].sent_ms).map(|ms| (visitors[i].contact_id.as_str(), ms)))
        .collect();
    let mut runs_per_contact: HashMap<&str, usize> = HashMap::new();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let (mut started_times, mut greeted_times) = (Vec::new(), Vec::new());
    let mut ended_times = Vec::new();
    let (mut dispatch_lag, mut written_excess) = (Vec::new(), Vec::new());
    let mut strangers = 0;
    for run in &runs {
        *runs_per_contact.entry(run.contact.as_str()).or_default() += 1;
        *by_status.entry(run.status.clone()).or_default() += 1;
        started_times.push(run.started_ms);
        if !matches!(run.status.as_str(), "active" | "waiting") {
            ended_times.push(run.updated_ms);
        }
        let Some(&sent) = sent_at.get(run.contact.as_str()) else {
            strangers += 1;
            continue;
        };
        dispatch_lag.push(run.started_ms - sent);
        if run.status == "done" {
            greeted_times.push(run.updated_ms);
            written_excess.push(run.updated_ms - sent - delay_ms);
        } else if let Some(reason) = &run.reason {
            *reasons.entry(reason.clone()).or_default() += 1;
        }
    }
    let contacts_with_runs = runs_per_contact.len();
    let contacts_with_two = runs_per_contact.values().filter(|&&k| k > 1).count();
    let without_run = sent_at
        .keys()
        .filter(|c| !runs_per_contact.contains_key(*c))
        .count();

    let mut widget_excess = Vec::new();
    let (mut w_greeted, mut w_duplicated, mut w_accepted) = (0, 0, 0);
    for &i in &online {
        let slot = &slots[i];
        if slot.accepted.load(Ordering::Relaxed) == 0 {
            continue;
        }
        w_accepted += 1;
        let frames = slot.frames.load(Ordering::Relaxed);
        if frames > 1 {
            w_duplicated += 1;
        }
        if let (Some(sent), Some(greeted)) = (load_ms(&slot.sent_ms), load_ms(&slot.greeted_ms)) {
            w_greeted += 1;
            widget_excess.push(greeted - sent - delay_ms);
        }
    }
    for reader in readers {
        reader.abort();
    }

    // 7. Spot checks of the timelines of others.
    let stride = (accepted.len() / args.spot_checks.max(1)).max(1);
    let sample: Vec<usize> = accepted
        .iter()
        .copied()
        .filter(|i| !is_online[*i])
        .step_by(stride)
        .take(args.spot_checks)
        .collect();
    eprintln!("reading {} contacts' timelines...", sample.len());
    let counts: Vec<anyhow::Result<usize>> = stream::iter(&sample)
        .map(|&i| greetings_in_timeline(&rest, &visitors[i].contact_id, &args.marker))
        .buffer_unordered(16)
        .collect()
        .await;
    let (mut spot_missing, mut spot_twice) = (0, 0);
    for count in counts {
        match count? {
            0 => spot_missing += 1,
            1 => {}
            _ => spot_twice += 1,
        }
    }

    let mut post_latencies: Vec<f64> = accepted
        .iter()
        .filter_map(|&i| load_ms(&post_ms[i]))
        .collect();
    post_latencies.sort_by(f64::total_cmp);
    reference_ms.sort_by(f64::total_cmp);
    let greetings = rate(&greeted_times);
    // While the page views came in (up to the last sent), and after: the
    // runner shares the server with their ingestion, then not. Greetings
    // and ended runs are counted from when the first could be due.
    let while_sending = |times: &[f64], from: f64| {
        let n = times
            .iter()
            .filter(|&&t| t >= from && t <= last_sent_ms)
            .count();
        if last_sent_ms > from {
            json!((n as f64 / ((last_sent_ms - from) / 1000.0)).round())
        } else {
            Value::Null
        }
    };
    let first_due_ms = minute_began_ms + delay_ms;
    let after_sending = |times: &[f64]| {
        let after: Vec<f64> = times
            .iter()
            .copied()
            .filter(|&t| t > last_sent_ms)
            .collect();
        let last = after.iter().copied().fold(f64::NAN, f64::max);
        if after.is_empty() || last <= last_sent_ms {
            Value::Null
        } else {
            json!((after.len() as f64 / ((last - last_sent_ms) / 1000.0)).round())
        }
    };
    let greetings_per_s = greetings["per_s"].as_f64().unwrap_or(0.0);
    let widget = spread(widget_excess);
    let written = spread(written_excess);
    let mib = |kib: u64| round1(kib as f64 / 1024.0);
    let report = json!({
        "contacts": n,
        "online": online.len(),
        "delay_s": delay_s,
        "stay_s": stay.map(|s| s.as_secs_f64()),
        "boot_s": round1(boot_s),
        "boots_per_s": (n as f64 / boot_s).round(),
        "reference": {
            "page_views": reference_ms.len(),
            "errors": reference_errors,
            "seconds": round1(reference_s),
            "per_s": reference_rate.round(),
            "post_p50_ms": round1(quantile(&reference_ms, 0.5)),
            "post_p99_ms": round1(quantile(&reference_ms, 0.99)),
        },
        "minute": {
            "asked_per_s": rate_asked.round(),
            "sent_per_s": (page_views as f64 / send_span_s).round(),
            "send_span_s": round1(send_span_s),
            "page_views": page_views,
            "page_view_errors": n - page_views - open_errors.load(Ordering::Relaxed),
            "socket_errors": open_errors.load(Ordering::Relaxed),
            "max_send_lag_ms": round1(max_lag.as_secs_f64() * 1000.0),
            "post_p50_ms": round1(quantile(&post_latencies, 0.5)),
            "post_p99_ms": round1(quantile(&post_latencies, 0.99)),
            "sockets_open_at_most": open_most.load(Ordering::Relaxed) + online.len(),
        },
        "all_done_s_after_last_page_view": all_done_after_s.map(round1),
        "server_cpu_s": cpu_in_minute.map(round1),
        "server_cores_busy": cpu_in_minute.map(|cpu| round_ratio(cpu / busy_s)),
        // The rest of the machine's busy cores: PostgreSQL, and anything
        // else that ran meanwhile.
        "load_generator_cores_busy": own_cores,
        "machine_cores_busy": machine_cores,
        "stats": {
            "runs": stats["runs"], "going": stats["going"], "done": stats["done"],
            "stopped": stats["stopped"], "failed": stats["failed"], "sent": stats["sent"],
        },
        "runs_read": runs.len(),
        "runs_by_status": by_status,
        "not_greeted_because": reasons
            .iter()
            .map(|(why, count)| format!("{why}: {count}"))
            .collect::<Vec<_>>()
            .join("; "),
        "contacts_with_a_run": contacts_with_runs,
        "contacts_with_two_runs": contacts_with_two,
        "page_views_without_a_run": without_run,
        "runs_of_unknown_contacts": strangers,
        "runs_started": rate(&started_times),
        "while_sending": {
            "runs_started_per_s": while_sending(&started_times, minute_began_ms),
            "greetings_per_s": while_sending(&greeted_times, first_due_ms),
            "runs_ended_per_s": while_sending(&ended_times, first_due_ms),
        },
        "after_sending": {
            "greetings_per_s": after_sending(&greeted_times),
            "runs_ended_per_s": after_sending(&ended_times),
        },
        "greetings": greetings,
        "greetings_per_s_over_reference": round_ratio(greetings_per_s / reference_rate),
        "greetings_per_s_over_asked": round_ratio(greetings_per_s / rate_asked),
        "dispatch_lag": spread(dispatch_lag),
        "excess_written": written,
        "widgets": {
            "accepted": w_accepted,
            "greeted": w_greeted,
            "duplicated": w_duplicated,
            "excess": widget,
        },
        "spot_checks": { "read": sample.len(), "missing": spot_missing, "twice": spot_twice },
        "memory_mib": {
            "start": mib(rss_start),
            "boot_peak": mib(boot_peak),
            "reference_peak": mib(reference_peak),
            "before_minute": mib(rss_before_minute),
            "hwm_before_minute": mib(hwm_before_minute),
            "minute_peak": mib(minute_peak),
            "hwm_end": mib(hwm_end),
            "end": mib(rss_end),
        },
    });
    let summary = format!(
        "{n} page views ({page_views} accepted) over {send_span_s:.1} s, {} with the widget open throughout; \
         greetings: {} sent, {} runs ({} done, {} stopped, {} failed), {w_greeted}/{w_accepted} open widgets \
         greeted ({w_duplicated} twice); excess beyond the {delay_s} s delay in the widget: p50 {} ms, p99 {} ms, \
         max {} ms (written, all: p50 {} ms, p99 {} ms); greetings {greetings_per_s:.0}/s, runs started {}/s; \
         reference {reference_rate:.0} page views/s; server RSS peak in the minute {} MiB",
        online.len(),
        stats["sent"],
        stats["runs"],
        stats["done"],
        stats["stopped"],
        stats["failed"],
        report["widgets"]["excess"]["p50_ms"],
        report["widgets"]["excess"]["p99_ms"],
        report["widgets"]["excess"]["max_ms"],
        report["excess_written"]["p50_ms"],
        report["excess_written"]["p99_ms"],
        report["runs_started"]["per_s"],
        report["memory_mib"]["minute_peak"],
    );
    report::print(args.json, "", &summary, &flat(&report));
    if all_done_after_s.is_none() {
        bail!(
            "not every greeting was sent within --wait ({:?})",
            args.wait
        );
    }
    Ok(())
}

/// The report with nested objects' keys joined by `_` (`widgets_excess_p99_ms`):
/// one level, each key once, for the scripts' `sed`.
fn flat(report: &Value) -> Value {
    fn walk(prefix: &str, value: &Value, out: &mut serde_json::Map<String, Value>) {
        match value {
            Value::Object(fields) => {
                for (key, value) in fields {
                    let key = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}_{key}")
                    };
                    walk(&key, value, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.clone());
            }
        }
    }
    let mut out = serde_json::Map::new();
    walk("", report, &mut out);
    Value::Object(out)
}

fn round_ratio(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_reads_the_apis_timestamps() {
        // Monday 2026-11-30 10:00 UTC, as the automation tests know it.
        assert_eq!(
            rfc3339_ms("2026-11-30T10:00:00Z"),
            Some(1_796_032_800_000.0)
        );
        assert_eq!(
            rfc3339_ms("2026-11-30T10:00:00.25Z"),
            Some(1_796_032_800_250.0)
        );
        assert_eq!(
            rfc3339_ms("2026-11-30T11:30:00+01:30"),
            Some(1_796_032_800_000.0)
        );
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            rfc3339_ms("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000.0)
        );
        assert_eq!(
            rfc3339_ms("2000-03-01T00:00:00.001Z"),
            Some(951_868_800_001.0)
        );
        assert_eq!(rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn own_cpu_time_reads() {
        assert!(cpu_seconds(std::process::id()).is_some_and(|s| s >= 0.0));
        assert!(machine_busy_seconds().is_some_and(|s| s > 0.0));
    }

    #[test]
    fn reports_are_flattened() {
        let nested = json!({"a": 1, "b": {"c": 2, "d": {"e": null}}});
        assert_eq!(flat(&nested), json!({"a": 1, "b_c": 2, "b_d_e": null}));
    }

    #[test]
    fn rates_count_whole_seconds() {
        let times: Vec<f64> = (0..=3000).map(|i| 1_000.0 + f64::from(i)).collect();
        let r = rate(&times);
        assert_eq!(r["n"], 3001);
        assert_eq!(r["per_s"], 1000.0);
        assert_eq!(r["busiest_second"], 1000.0);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
