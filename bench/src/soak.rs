//! `soak`: a long mixed load that checks live delivery end to end
//! (bench/soak.sh). It creates `--contacts` contacts (user ids `s1`...,
//! each with an email address and the property `cohort = soak`), opens the
//! widgets of the first `--visitors` of them and `--inboxes` Inbox sockets,
//! and then, for `--duration`:
//! - sends team messages to the visitors with a widget open, and to
//!   contacts without one (those are emailed when their delay is up);
//! - sends visitor messages from the open widgets;
//! - starts a bulk send to every contact each `--bulk-every`;
//! - drops every socket after a random time (exponential, mean
//!   `--reconnect-mean`; half of them closed cleanly, half cut off) and
//!   reconnects it after up to 3 s with the last position it saw, as the
//!   messenger and the Inbox do.
//!
//! Then it waits for the bulk sends to finish, notes the log's head, and
//! checks every socket's ledger: each entry up to the head that a fresh
//! socket replaying from the first socket's start shows must have arrived
//! exactly once over the socket's connections (none missed, none twice,
//! none after a later one), and every message sent to a visitor must have
//! reached their widget and every Inbox. It prints one JSON object and
//! fails if anything was missed or doubled.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, ensure};
use futures::{StreamExt, TryStreamExt, stream};
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::api::{Api, ApiToken, AppId, ServerUrl, http_client, string_field};
use crate::parse_duration;
use crate::report;
use crate::widget::{self, Server, Socket};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerUrl,
    #[command(flatten)]
    auth: ApiToken,
    #[command(flatten)]
    app: AppId,
    /// Contacts created, each with an email address; every bulk send
    /// reaches all of them.
    #[arg(long, default_value_t = 5000)]
    contacts: usize,
    /// Of them, visitors with a widget open (the first N).
    #[arg(long, default_value_t = 200)]
    visitors: usize,
    /// Inbox sockets open, as the API token's team member.
    #[arg(long, default_value_t = 2)]
    inboxes: usize,
    /// How long the load runs.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    duration: Duration,
    /// Team messages per second to the visitors with a widget open.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Team messages per second to contacts without a widget open.
    #[arg(long, default_value_t = 5.0)]
    offline_rate: f64,
    /// Visitor messages per second, from the open widgets.
    #[arg(long, default_value_t = 5.0)]
    visitor_rate: f64,
    /// A bulk send to every contact this often (the first after one period).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    bulk_every: Duration,
    /// How long a socket stays open on average before it drops and
    /// reconnects (exponentially distributed).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    reconnect_mean: Duration,
    /// Print one JSON object on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
}

/// Requests in flight per sender.
const IN_FLIGHT: usize = 32;
/// How long a socket may stay quiet before its replay counts as over.
const REPLAY_QUIET: Duration = Duration::from_secs(3);
/// How long the sockets stay open after the head is noted.
const SETTLE: Duration = Duration::from_secs(10);

/// What one socket (over all its connections) received.
#[derive(Default)]
struct Ledger {
    /// Positions received.
    seqs: HashSet<i64>,
    /// Entries received a second time.
    doubled: u64,
    /// Entries that came after a later one.
    backwards: u64,
    /// The ids of the messages received.
    messages: HashSet<String>,
    connections: u64,
    /// Connections the server ended (not this load generator).
    closed_by_server: u64,
    failed_opens: u64,
    /// The position the first connection started after.
    start: Option<i64>,
}

impl Ledger {
    fn record(&mut self, frame: &Value, last: &mut i64) {
        let Some(seq) = frame.get("seq").and_then(Value::as_i64) else {
            return;
        };
        if !self.seqs.insert(seq) {
            self.doubled += 1;
        } else if seq <= *last {
            self.backwards += 1;
        }
        *last = (*last).max(seq);
        if let Some(id) = message_id(frame) {
            self.messages.insert(id.to_owned());
        }
    }
}

/// The message id of a message entry.
fn message_id(frame: &Value) -> Option<&str> {
    if frame.get("kind").and_then(Value::as_str) != Some("message") {
        return None;
    }
    frame.pointer("/data/id").and_then(Value::as_str)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Who a socket speaks for.
#[derive(Clone)]
enum Who {
    Widget { session: String, contact: String },
    Inbox { token: String },
}

impl Who {
    fn url<'a>(&self, server: &'a Server) -> &'a str {
        match self {
            Who::Widget { .. } => &server.live_url,
            Who::Inbox { .. } => &server.inbox_live_url,
        }
    }

    fn hello(&self, after: Option<i64>) -> Value {
        let mut hello = match self {
            Who::Widget { session, .. } => json!({ "type": "hello", "session": session }),
            Who::Inbox { token } => json!({ "type": "hello", "token": token }),
        };
        if let Some(after) = after {
            hello["after"] = after.into();
        }
        hello
    }
}

struct Listener {
    who: Who,
    source: Option<IpAddr>,
    ledger: Mutex<Ledger>,
}

/// How a connection's reading ended.
enum Ended {
    /// Its time was up: this side drops it.
    Dropped,
    /// The server closed it, or it broke.
    Closed,
    /// The soak is over.
    Stopped,
}

/// Reads entries into the ledger until `until` (if any), the socket ends
/// or `stop` turns true.
async fn read(
    socket: &mut Socket,
    until: Option<Instant>,
    stop: &mut watch::Receiver<bool>,
    ledger: &Mutex<Ledger>,
    last: &mut i64,
) -> Ended {
    loop {
        let timer = async {
            match until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let frame = tokio::select! {
            frame = socket.next() => frame,
            () = timer => return Ended::Dropped,
            _ = stop.wait_for(|stopped| *stopped) => return Ended::Stopped,
        };
        let text = match frame {
            None | Some(Err(_)) => return Ended::Closed,
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) => return Ended::Closed,
            Some(Ok(_)) => continue,
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if frame.get("type").and_then(Value::as_str) == Some("activity") {
            lock(ledger).record(&frame, last);
        }
    }
}

/// A random time with an exponential distribution of mean `mean`.
fn exponential(mean: Duration) -> Duration {
    let u: f64 = rand::rng().random_range(f64::EPSILON..1.0);
    mean.mul_f64(-u.ln()).min(mean * 10)
}

/// Keeps one socket open, dropping and reconnecting it at random while
/// `loading` holds, until `stop`.
async fn listen(
    server: Arc<Server>,
    listener: Arc<Listener>,
    reconnect_mean: Duration,
    loading: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last: Option<i64> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let hello = listener.who.hello(last);
        let url = listener.who.url(&server);
        let (mut socket, ready) =
            match widget::open_live(&server, url, listener.source, &hello).await {
                Ok(opened) => opened,
                Err(why) => {
                    lock(&listener.ledger).failed_opens += 1;
                    report::show_error("soak: ", format!("{why:#}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
        {
            let mut ledger = lock(&listener.ledger);
            ledger.connections += 1;
            ledger.start.get_or_insert(ready);
        }
        let mut at = last.unwrap_or(ready);
        let until = (*loading.borrow()).then(|| Instant::now() + exponential(reconnect_mean));
        let ended = read(&mut socket, until, &mut stop, &listener.ledger, &mut at).await;
        last = Some(at);
        match ended {
            Ended::Stopped => {
                let _ = socket.close(None).await;
                return;
            }
            Ended::Closed => lock(&listener.ledger).closed_by_server += 1,
            Ended::Dropped => {
                if rand::rng().random_bool(0.5) {
                    let _ = socket.close(None).await;
                }
                drop(socket);
                let pause = rand::rng().random_range(0..3_000);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
        }
    }
}

/// What a fresh socket replaying from `after` shows up to `head`: its
/// positions and message ids.
async fn replay(
    server: &Server,
    listener: &Listener,
    after: i64,
    head: i64,
) -> anyhow::Result<(HashSet<i64>, HashSet<String>)> {
    let hello = listener.who.hello(Some(after));
    let (mut socket, _) =
        widget::open_live(server, listener.who.url(server), listener.source, &hello).await?;
    let (mut seqs, mut messages) = (HashSet::new(), HashSet::new());
    while let Ok(Some(frame)) = tokio::time::timeout(REPLAY_QUIET, socket.next()).await {
        let Message::Text(text) = frame? else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text)?;
        let Some(seq) = frame.get("seq").and_then(Value::as_i64) else {
            continue;
        };
        if frame.get("type").and_then(Value::as_str) != Some("activity") || seq > head {
            continue;
        }
        seqs.insert(seq);
        if let Some(id) = message_id(&frame) {
            messages.insert(id.to_owned());
        }
    }
    let _ = socket.close(None).await;
    Ok((seqs, messages))
}

/// What the senders did.
#[derive(Default)]
struct Sent {
    to_online: AtomicU64,
    to_offline: AtomicU64,
    from_visitors: AtomicU64,
    errors: AtomicU64,
    /// Message ids sent to or by each visitor's contact.
    by_contact: Mutex<HashMap<String, Vec<String>>>,
    /// Each contact's conversation with the team, once there is one.
    conversations: Mutex<HashMap<String, String>>,
}

impl Sent {
    fn failed(&self, why: impl std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        report::show_error("soak: ", why);
    }
}

/// Calls `send(n)` `rate` times a second until `until`, at most
/// [`IN_FLIGHT`] at once.
async fn paced<F, Fut>(rate: f64, until: Instant, send: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if rate <= 0.0 {
        return;
    }
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let period = Duration::from_secs_f64(1.0 / rate);
    let begun = Instant::now();
    for n in 0.. {
        let due = begun + period.mul_f64(n as f64);
        if due >= until {
            break;
        }
        tokio::time::sleep_until(due).await;
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let sending = send(n);
        tokio::spawn(async move {
            sending.await;
            drop(permit);
        });
    }
    let _all = in_flight.acquire_many(IN_FLIGHT as u32).await;
}

/// A team message to `contact` in their conversation (started by the
/// first); returns the message id.
async fn team_message(api: &Api, sent: &Sent, contact: &str, n: u64) -> Result<String, String> {
    let conversation = lock(&sent.conversations).get(contact).cloned();
    let mut body = json!({
        "contact_id": contact,
        "body": format!("Soak {n} for {{{{ user.name | default(\"you\") }}}}"),
    });
    if let Some(conversation) = conversation {
        body["conversation_id"] = conversation.into();
    }
    let reply = api.post("/messages", &body, &[StatusCode::CREATED]).await?;
    let id = string_field(&reply, "/id").map_err(|e| e.to_string())?;
    if let Ok(conversation) = string_field(&reply, "/conversation_id") {
        lock(&sent.conversations)
            .entry(contact.to_owned())
            .or_insert(conversation);
    }
    Ok(id)
}

/// An open widget's visitor, as the visitor sender sees them.
struct Session {
    token: String,
    contact: String,
    /// Their own conversation, once their first message started it.
    conversation: Mutex<Option<String>>,
}

/// A visitor message from `session`'s widget, in the visitor's own
/// conversation (started by the first); returns the message id.
async fn visitor_message(
    http: &reqwest::Client,
    server: &Server,
    session: &Session,
    n: u64,
) -> Result<String, String> {
    let known = lock(&session.conversation).clone();
    let (url, pointer) = match &known {
        Some(id) => (
            format!("{}/widget/v1/conversations/{id}/messages", server.base),
            "/id",
        ),
        None => (
            format!("{}/widget/v1/conversations", server.base),
            "/message/id",
        ),
    };
    let response = http
        .post(&url)
        .bearer_auth(&session.token)
        .json(&json!({ "body": format!("Visitor message {n}") }))
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if status != StatusCode::CREATED {
        return Err(format!(
            "POST {url}: {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    if known.is_none()
        && let Ok(id) = string_field(&bytes, "/conversation/id")
    {
        *lock(&session.conversation) = Some(id);
    }
    string_field(&bytes, pointer).map_err(|e| e.to_string())
}

/// Starts a bulk send to every soak contact and waits until it is done;
/// returns how many it sent to.
async fn bulk_send(api: &Api) -> Result<u64, String> {
    let body = json!({
        "audience": { "filter": { "prop": "cohort", "op": "eq", "value": "soak" } },
        "body": "News for {{ user.name | default(\"everyone\") }}",
    });
    let reply = api
        .post("/bulk-sends", &body, &[StatusCode::CREATED, StatusCode::OK])
        .await?;
    let id = string_field(&reply, "/id").map_err(|e| e.to_string())?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reply = api.get(&format!("/bulk-sends/{id}")).await?;
        let status = string_field(&reply, "/status").map_err(|e| e.to_string())?;
        if status != "sending" {
            let value: Value = serde_json::from_slice(&reply).map_err(|e| e.to_string())?;
            return Ok(value.get("sent").and_then(Value::as_u64).unwrap_or(0));
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(
        args.visitors <= args.contacts,
        "--visitors must not exceed --contacts"
    );
    widget::ensure_files_for(args.visitors + args.inboxes + 2 * IN_FLIGHT)?;
    let server = Arc::new(Server::resolve(&args.server.url).await?);
    let http = http_client(64)?;
    let api = Arc::new(Api::new(http.clone(), &server.base, &args.auth));

    eprintln!("creating {} contacts...", args.contacts);
    let contacts: Vec<String> = stream::iter(1..=args.contacts)
        .map(|i| {
            let api = api.clone();
            async move {
                let body = json!({
                    "user_id": format!("s{i}"),
                    "email": format!("s{i}@example.test"),
                    "name": format!("Soak {i}"),
                    "props": { "cohort": "soak" },
                });
                let reply = api
                    .post("/contacts", &body, &[StatusCode::OK, StatusCode::CREATED])
                    .await
                    .map_err(anyhow::Error::msg)?;
                string_field(&reply, "/id")
            }
        })
        .buffered(16)
        .try_collect()
        .await?;
    let visitors = widget::boot_visitors_as(
        &http,
        &server,
        args.visitors,
        16,
        |i| json!({ "app_id": args.app.app_id, "user_id": format!("s{}", i + 1) }),
    )
    .await?;
    // Booted in any order: each must be one of the first contacts.
    let first: HashSet<&String> = contacts[..args.visitors].iter().collect();
    for visitor in &visitors {
        ensure!(
            first.contains(&visitor.contact_id),
            "visitor {} booted as contact {}, not one of the contacts created",
            visitor.session,
            visitor.contact_id
        );
    }

    let (loading_tx, loading) = watch::channel(true);
    let (stop_tx, stop) = watch::channel(false);
    let mut listeners = Vec::new();
    for (i, visitor) in visitors.iter().enumerate() {
        listeners.push(Arc::new(Listener {
            who: Who::Widget {
                session: visitor.session.clone(),
                contact: visitor.contact_id.clone(),
            },
            source: server.source(i),
            ledger: Mutex::default(),
        }));
    }
    for i in 0..args.inboxes {
        listeners.push(Arc::new(Listener {
            who: Who::Inbox {
                token: api.token().to_owned(),
            },
            source: server.source(args.visitors + i),
            ledger: Mutex::default(),
        }));
    }
    let listening: Vec<_> = listeners
        .iter()
        .map(|listener| {
            tokio::spawn(listen(
                server.clone(),
                listener.clone(),
                args.reconnect_mean,
                loading.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // Every socket is open before the load starts.
    while listeners.iter().any(|l| lock(&l.ledger).start.is_none()) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    eprintln!(
        "ready: {} widgets and {} Inboxes open; {:?} of load...",
        args.visitors, args.inboxes, args.duration
    );
    let began = Instant::now();
    let load_ends = began + args.duration;
    let sent = Arc::new(Sent::default());
    let visitor_contacts: Arc<[String]> = visitors.iter().map(|v| v.contact_id.clone()).collect();
    let offline_contacts: Arc<[String]> = contacts[args.visitors..].into();
    let sessions: Arc<[Session]> = visitors
        .iter()
        .map(|v| Session {
            token: v.session.clone(),
            contact: v.contact_id.clone(),
            conversation: Mutex::new(None),
        })
        .collect();

    let to_online = paced(args.rate, load_ends, |n| {
        let (api, sent, contacts) = (api.clone(), sent.clone(), visitor_contacts.clone());
        async move {
            let contact = &contacts[rand::rng().random_range(0..contacts.len())];
            match team_message(&api, &sent, contact, n).await {
                Ok(id) => {
                    sent.to_online.fetch_add(1, Ordering::Relaxed);
                    lock(&sent.by_contact)
                        .entry(contact.clone())
                        .or_default()
                        .push(id);
                }
                Err(why) => sent.failed(why),
            }
        }
    });
    let to_offline = paced(
        if offline_contacts.is_empty() {
            0.0
        } else {
            args.offline_rate
        },
        load_ends,
        |n| {
            let (api, sent, contacts) = (api.clone(), sent.clone(), offline_contacts.clone());
            async move {
                let contact = &contacts[rand::rng().random_range(0..contacts.len())];
                match team_message(&api, &sent, contact, n).await {
                    Ok(_) => {
                        sent.to_offline.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(why) => sent.failed(why),
                }
            }
        },
    );
    let from_visitors = paced(
        if sessions.is_empty() {
            0.0
        } else {
            args.visitor_rate
        },
        load_ends,
        |n| {
            let (http, server, sent, sessions) =
                (http.clone(), server.clone(), sent.clone(), sessions.clone());
            async move {
                let session = &sessions[rand::rng().random_range(0..sessions.len())];
                match visitor_message(&http, &server, session, n).await {
                    Ok(id) => {
                        sent.from_visitors.fetch_add(1, Ordering::Relaxed);
                        lock(&sent.by_contact)
                            .entry(session.contact.clone())
                            .or_default()
                            .push(id);
                    }
                    Err(why) => sent.failed(why),
                }
            }
        },
    );
    let bulk = async {
        let mut results = Vec::new();
        let mut next = began + args.bulk_every;
        while !args.bulk_every.is_zero() && next < load_ends {
            tokio::time::sleep_until(next).await;
            eprintln!(
                "bulk send {} at {:?}...",
                results.len() + 1,
                began.elapsed()
            );
            let result = bulk_send(&api).await;
            if let Err(why) = &result {
                sent.failed(why);
            }
            results.push(result);
            next += args.bulk_every;
        }
        results
    };
    let ((), (), (), bulk_results) = tokio::join!(to_online, to_offline, from_visitors, bulk);
    let _ = loading_tx.send(false);

    // The head once everything sent has been stored; every socket has a
    // few seconds more to receive what it is owed up to there.
    let who = Who::Inbox {
        token: api.token().to_owned(),
    };
    let (socket, head) = widget::open_live(&server, &server.inbox_live_url, None, &who.hello(None))
        .await
        .context("reading the log's head")?;
    drop(socket);
    eprintln!(
        "load over after {:?}; head {head}; settling...",
        began.elapsed()
    );
    tokio::time::sleep(SETTLE).await;
    let _ = stop_tx.send(true);
    for task in listening {
        let _ = task.await;
    }

    eprintln!("checking every socket against a replay...");
    let by_contact = std::mem::take(&mut *lock(&sent.by_contact));
    let all_sent: HashSet<&String> = by_contact.values().flatten().collect();
    let checks: Vec<_> = stream::iter(&listeners)
        .map(|listener| {
            let server = server.clone();
            async move {
                let start = lock(&listener.ledger).start.unwrap_or(0);
                let owed = replay(&server, listener, start, head).await;
                (listener, owed)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut totals = Totals::default();
    for (listener, owed) in checks {
        let (owed, owed_messages) = owed.context("replaying a socket's entries")?;
        let ledger = lock(&listener.ledger);
        let received: HashSet<i64> = ledger.seqs.iter().copied().filter(|s| *s <= head).collect();
        totals.owed += owed.len() as u64;
        totals.received += received.len() as u64;
        totals.missed += owed.difference(&received).count() as u64;
        totals.extra += received.difference(&owed).count() as u64;
        totals.doubled += ledger.doubled;
        totals.backwards += ledger.backwards;
        totals.connections += ledger.connections;
        totals.closed_by_server += ledger.closed_by_server;
        totals.failed_opens += ledger.failed_opens;
        let should_see: Vec<&String> = match &listener.who {
            Who::Widget { contact, .. } => by_contact.get(contact).into_iter().flatten().collect(),
            Who::Inbox { .. } => all_sent.iter().copied().collect(),
        };
        for id in should_see {
            if !ledger.messages.contains(id) {
                totals.unseen += 1;
            }
            if !owed_messages.contains(id) {
                totals.unstored += 1;
            }
        }
    }
    let bulk_sent: Vec<Value> = bulk_results
        .iter()
        .map(|r| r.as_ref().map_or(Value::Null, |n| (*n).into()))
        .collect();
    let bulk_short = bulk_results
        .iter()
        .filter(|r| !matches!(r, Ok(n) if *n == args.contacts as u64))
        .count();
    let result = json!({
        "seconds": began.elapsed().as_secs(),
        "contacts": args.contacts,
        "widgets": args.visitors,
        "inboxes": args.inboxes,
        "head": head,
        "connections": totals.connections,
        "closed_by_server": totals.closed_by_server,
        "failed_opens": totals.failed_opens,
        "owed": totals.owed,
        "received": totals.received,
        "missed": totals.missed,
        "doubled": totals.doubled,
        "backwards": totals.backwards,
        "extra": totals.extra,
        "sent_messages_unseen": totals.unseen,
        "sent_messages_not_replayed": totals.unstored,
        "team_to_online": sent.to_online.load(Ordering::Relaxed),
        "team_to_offline": sent.to_offline.load(Ordering::Relaxed),
        "from_visitors": sent.from_visitors.load(Ordering::Relaxed),
        "bulk_sends": bulk_sent,
        "errors": sent.errors.load(Ordering::Relaxed),
    });
    let clean = totals.missed == 0
        && totals.doubled == 0
        && totals.backwards == 0
        && totals.extra == 0
        && totals.unseen == 0
        && totals.unstored == 0
        && bulk_short == 0;
    let summary = format!(
        "{} connections over {} sockets: {} entries owed, {} missed, {} doubled, {} out of order, {} extra; {} sent messages unseen; {} team messages to open widgets, {} to offline contacts, {} from visitors, bulk sends to {}, {} errors",
        totals.connections,
        listeners.len(),
        totals.owed,
        totals.missed,
        totals.doubled,
        totals.backwards,
        totals.extra,
        totals.unseen,
        sent.to_online.load(Ordering::Relaxed),
        sent.to_offline.load(Ordering::Relaxed),
        sent.from_visitors.load(Ordering::Relaxed),
        bulk_sent
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        sent.errors.load(Ordering::Relaxed),
    );
    report::print(args.json, "", &summary, &result);
    ensure!(clean, "live delivery was not exact: {summary}");
    Ok(())
}

#[derive(Default)]
struct Totals {
    owed: u64,
    received: u64,
    missed: u64,
    extra: u64,
    doubled: u64,
    backwards: u64,
    connections: u64,
    closed_by_server: u64,
    failed_opens: u64,
    unseen: u64,
    unstored: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_counts_doubles_and_entries_out_of_order() {
        let mut ledger = Ledger::default();
        let mut last = 10;
        let message = |seq: i64, id: &str| json!({ "type": "activity", "seq": seq, "kind": "message", "data": { "id": id } });
        ledger.record(&message(11, "m1"), &mut last);
        ledger.record(
            &json!({ "type": "activity", "seq": 13, "kind": "note" }),
            &mut last,
        );
        assert_eq!((last, ledger.doubled, ledger.backwards), (13, 0, 0));
        ledger.record(&message(12, "m2"), &mut last);
        assert_eq!((last, ledger.doubled, ledger.backwards), (13, 0, 1));
        ledger.record(&message(11, "m1"), &mut last);
        assert_eq!((ledger.doubled, ledger.backwards), (1, 1));
        assert_eq!(ledger.seqs.len(), 3);
        assert!(ledger.messages.contains("m1") && ledger.messages.contains("m2"));
    }

    #[test]
    fn hellos_resume_after_the_last_position() {
        let widget = Who::Widget {
            session: "wst_1".into(),
            contact: "c".into(),
        };
        assert_eq!(
            widget.hello(None),
            json!({ "type": "hello", "session": "wst_1" })
        );
        let inbox = Who::Inbox {
            token: "rpt_1".into(),
        };
        assert_eq!(
            inbox.hello(Some(42)),
            json!({ "type": "hello", "token": "rpt_1", "after": 42 })
        );
    }

    #[test]
    fn exponential_times_stay_bounded() {
        let mean = Duration::from_secs(60);
        for _ in 0..1000 {
            assert!(exponential(mean) <= mean * 10);
        }
    }
}
