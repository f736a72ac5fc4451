//! `online`: identified visitors with their widgets open, waiting for a
//! bulk send (bench/people.sh). It boots VISITORS visitors as the users
//! `PREFIX1`..`PREFIXn` (contacts the bulk send reaches), opens their widget
//! sockets, writes `ready` to stderr, and then waits until each socket has
//! received one team message, or until `--timeout`. It prints one JSON
//! object: how many visitors, how many got their message live, and when
//! the first and last arrived (Unix ms).
//!
//! A socket that got nothing is looked into before giving up on it: the
//! visitor's contact and the position `ready` named are printed, and a new
//! socket replaying the contact's whole log says whether the store holds a
//! team message after that position (so the live path lost it), only
//! before it (the send came before the socket opened), or none.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::ensure;
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::api::{AppId, ServerUrl, http_client};
use crate::parse_duration;
use crate::sink::unix_ms;
use crate::widget::{self, Server, Socket, Visitor};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerUrl,
    #[command(flatten)]
    app: AppId,
    /// How many visitors.
    #[arg(long, default_value_t = 200)]
    visitors: usize,
    /// Their user ids are this followed by 1, 2, ...
    #[arg(long, default_value = "u")]
    user_prefix: String,
    /// How long to wait for the messages once the sockets are open.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    timeout: Duration,
}

/// What a socket heard before its first team message: the server's pings
/// (a server task that stopped would send none) and other text frames.
#[derive(Default)]
struct Heard {
    pings: AtomicU64,
    frames: AtomicU64,
}

/// Whether a frame is an activity entry of a message from the team; its
/// position if so.
fn team_message_seq(frame: &Value) -> Option<i64> {
    let from_team = frame.get("kind").and_then(Value::as_str) == Some("message")
        && frame.pointer("/data/author/type").and_then(Value::as_str) == Some("agent");
    from_team.then(|| frame.get("seq").and_then(Value::as_i64).unwrap_or(0))
}

/// Waits for the first team message on `socket`; returns when it came.
async fn first_team_message(mut socket: Socket, heard: &Heard) -> Option<u64> {
    while let Some(Ok(frame)) = socket.next().await {
        let text = match frame {
            Message::Text(text) => text,
            Message::Ping(_) => {
                heard.pings.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            _ => continue,
        };
        heard.frames.fetch_add(1, Ordering::Relaxed);
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if team_message_seq(&frame).is_some() {
            return Some(unix_ms(SystemTime::now()) as u64);
        }
    }
    None
}

/// What the store holds for a visitor whose socket got no team message,
/// read by a new socket replaying the contact's whole log: the newest team
/// message's position against the `ready` position of the silent socket.
async fn diagnose(server: &Server, source: usize, visitor: &Visitor, ready: i64) -> String {
    let opened =
        widget::open_widget_after(server, server.source(source), &visitor.session, Some(0)).await;
    let mut socket = match opened {
        Ok((socket, _)) => socket,
        Err(err) => return format!("a new socket could not replay: {err:#}"),
    };
    // The replay comes at once; the socket then goes quiet.
    let mut newest = None;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(REPLAY_QUIET, socket.next()).await {
        let Message::Text(text) = frame else { continue };
        if let Ok(frame) = serde_json::from_str::<Value>(&text)
            && let Some(seq) = team_message_seq(&frame)
        {
            newest = newest.max(Some(seq));
        }
    }
    match newest {
        Some(seq) if seq > ready => format!(
            "the store has a team message at position {seq}, after this socket's ready: \
             the live path lost it"
        ),
        Some(seq) => format!(
            "the newest team message in the store is at position {seq}, before this \
             socket's ready: it was written before the socket opened"
        ),
        None => "the store has no team message for this contact".to_owned(),
    }
}

/// How long a replaying socket may stay quiet before its replay counts as
/// over.
const REPLAY_QUIET: Duration = Duration::from_secs(3);

pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.visitors > 0, "--visitors must be at least 1");
    widget::ensure_files_for(args.visitors)?;
    let server = Arc::new(Server::resolve(&args.server.url).await?);
    let http = http_client(32)?;
    let visitors = widget::boot_visitors_as(
        &http,
        &server,
        args.visitors,
        32,
        |i| json!({ "app_id": args.app.app_id, "user_id": format!("{}{}", args.user_prefix, i + 1) }),
    )
    .await?;
    let sockets: Vec<(Socket, i64)> = stream::iter(visitors.iter().enumerate())
        .map(|(i, visitor)| {
            let server = server.clone();
            async move {
                widget::open_widget_after(&server, server.source(i), &visitor.session, None).await
            }
        })
        .buffered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    eprintln!("ready");
    let first = AtomicU64::new(u64::MAX);
    let last = AtomicU64::new(0);
    let (first, last, timeout, prefix) = (&first, &last, args.timeout, &args.user_prefix);
    let (server, visitors) = (&*server, &visitors);
    let arrivals = sockets
        .into_iter()
        .enumerate()
        .map(|(i, (socket, ready))| async move {
            let heard = Heard::default();
            let arrived =
                match tokio::time::timeout(timeout, first_team_message(socket, &heard)).await {
                    Ok(Some(at)) => Some(at),
                    Ok(None) => {
                        eprintln!(
                            "visitor {prefix}{}: the socket ended before a team message",
                            i + 1
                        );
                        None
                    }
                    Err(_) => {
                        let visitor = &visitors[i];
                        let replayed = diagnose(server, i, visitor, ready).await;
                        eprintln!(
                            "visitor {prefix}{} (contact {}, ready at {ready}): no team message \
                             within the timeout ({} pings and {} other frames from the \
                             server); {replayed}",
                            i + 1,
                            visitor.contact_id,
                            heard.pings.load(Ordering::Relaxed),
                            heard.frames.load(Ordering::Relaxed),
                        );
                        None
                    }
                };
            if let Some(at) = arrived {
                first.fetch_min(at, Ordering::Relaxed);
                last.fetch_max(at, Ordering::Relaxed);
            }
            arrived.is_some()
        });
    let received = futures::future::join_all(arrivals)
        .await
        .into_iter()
        .filter(|got| *got)
        .count();
    println!(
        "{}",
        json!({
            "visitors": args.visitors,
            "received": received,
            "first_unix_ms": first.load(Ordering::Relaxed),
            "last_unix_ms": last.load(Ordering::Relaxed),
        })
    );
    Ok(())
}
