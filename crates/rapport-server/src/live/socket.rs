//! The Inbox's WebSocket, `GET /api/v1/live`.
//!
//! Protocol (JSON text frames):
//! - client, first, within 10 s: `{"type": "hello", "token": "rpt_...",
//!   "after": 123}`. `after` is the last position the client saw; omit it
//!   to start from now.
//! - server: `{"type": "ready", "seq": N}`, then every activity entry after
//!   `after`, oldest first, each `{"type": "activity", "seq": ..., "kind":
//!   ..., "data": ..., ...}`: replayed from the store, then live. Positions
//!   only increase; an entry is never sent twice on one connection.
//! - server errors: `{"type": "error", "detail": ...}`, then close.
//!
//! A client that reconnects sends the last `seq` it saw and receives
//! everything it missed.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use rapport_core::activity::ActivityEntry;
use rapport_core::agent::Principal;
use rapport_core::store::{StoreError, Stream};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::Hub;
use crate::AppState;
use crate::credentials::hash_token;
use crate::error::ApiError;

/// How long a new socket may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Pings keep idle connections (and the proxies between) alive...
const PING_EVERY: Duration = Duration::from_secs(30);
/// ...and a peer silent for this long is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);
/// Entries replayed per store read.
const REPLAY_BATCH: u32 = 500;

/// Small buffers: most sockets are idle, and tungstenite's defaults (128 KiB
/// each way) would cost more than the rest of the connection.
pub fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Hello { token: String, after: Option<i64> },
    Ping,
}

#[derive(Serialize)]
struct ActivityFrame<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    entry: &'a ActivityEntry,
}

pub async fn inbox_live(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    let Some(permit) = state.hub.admit() else {
        return ApiError::TooManyRequests.into_response();
    };
    let hub = state.hub.clone();
    let stopping = state.stopping();
    configure(upgrade).on_upgrade(move |socket| async move {
        let _permit = permit;
        serve_inbox(socket, hub, stopping).await;
    })
}

async fn serve_inbox(mut socket: WebSocket, hub: Hub, mut stopping: watch::Receiver<bool>) {
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, next_frame(&mut socket)).await {
        Ok(Some(ClientFrame::Hello { token, after })) => (token, after),
        _ => {
            return refuse(
                socket,
                "say hello first: {\"type\": \"hello\", \"token\": ...}",
            )
            .await;
        }
    };
    let principal = match hub.store().authenticate_token(hash_token(&hello.0)).await {
        Ok(principal) => principal,
        Err(StoreError::NotFound) => return refuse(socket, "unknown or revoked token").await,
        Err(err) => {
            tracing::error!(error = %err, "live: authenticating a socket");
            return refuse(socket, "try again later").await;
        }
    };
    if let Err(err) = stream_entries(
        &mut socket,
        &hub,
        &principal,
        Stream::Workspace,
        hello.1,
        &mut stopping,
    )
    .await
    {
        tracing::debug!(error = %err, "live: inbox socket ended");
    }
}

/// Replays from `after` and then follows live, until the socket goes away.
pub async fn stream_entries(
    socket: &mut WebSocket,
    hub: &Hub,
    principal: &Principal,
    stream: Stream,
    after: Option<i64>,
    stopping: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    if *stopping.borrow() {
        return Ok(());
    }
    let workspace = principal.workspace_id;
    let mut subscription = hub
        .subscribe(workspace, stream)
        .await
        .map_err(|e| e.to_string())?;
    let mut last = match after {
        Some(after) => after.max(0),
        None => hub
            .store()
            .activity_head(workspace)
            .await
            .map_err(|e| e.to_string())?,
    };
    send_json(socket, &json!({"type": "ready", "seq": last})).await?;
    last = replay(socket, hub, workspace, stream, last).await?;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            entry = subscription.receiver.recv() => match entry {
                Some(entry) if entry.seq > last => {
                    send_entry(socket, &entry).await?;
                    last = entry.seq;
                }
                Some(_) => {}
                None => {
                    // Dropped for falling behind: catch up, then follow again.
                    subscription = hub.subscribe(workspace, stream).await.map_err(|e| e.to_string())?;
                    last = replay(socket, hub, workspace, stream, last).await?;
                }
            },
            frame = socket.recv() => match frame {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(Message::Text(text))) => {
                    heard = tokio::time::Instant::now();
                    if let Ok(ClientFrame::Ping) = serde_json::from_str::<ClientFrame>(&text) {
                        send_json(socket, &json!({"type": "pong"})).await?;
                    }
                }
                Some(Ok(_)) => heard = tokio::time::Instant::now(),
            },
            // It only ever changes to "stopping".
            _ = stopping.changed() => {
                let _ = socket.send(goodbye()).await;
                return Ok(());
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    return Err("the peer went silent".into());
                }
                socket.send(Message::Ping(Default::default())).await.map_err(|e| e.to_string())?;
            }
        }
    }
}

/// Sends every stored entry after `after`; returns the last position sent.
async fn replay(
    socket: &mut WebSocket,
    hub: &Hub,
    workspace: rapport_core::ids::WorkspaceId,
    stream: Stream,
    mut after: i64,
) -> Result<i64, String> {
    loop {
        let entries = hub
            .store()
            .activity_after(workspace, stream, after, REPLAY_BATCH)
            .await
            .map_err(|e| e.to_string())?;
        for entry in &entries {
            after = entry.seq;
            if stream == Stream::Workspace || entry.activity.visible_to_contact() {
                send_entry(socket, entry).await?;
            }
        }
        if entries.len() < REPLAY_BATCH as usize {
            return Ok(after);
        }
    }
}

async fn send_entry(socket: &mut WebSocket, entry: &ActivityEntry) -> Result<(), String> {
    send_json(
        socket,
        &ActivityFrame {
            r#type: "activity",
            entry,
        },
    )
    .await
}

async fn send_json(socket: &mut WebSocket, value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string(value).map_err(|e| e.to_string())?;
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(|e| e.to_string())
}

/// The next text frame, parsed; `None` if the socket closed or sent junk.
async fn next_frame(socket: &mut WebSocket) -> Option<ClientFrame> {
    loop {
        match socket.recv().await? {
            Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            _ => return None,
        }
    }
}

/// Says why, then closes with "policy violation".
pub async fn refuse(mut socket: WebSocket, detail: &str) {
    let _ = send_json(&mut socket, &json!({"type": "error", "detail": detail})).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1008,
            reason: Utf8Bytes::from(detail.to_owned()),
        })))
        .await;
}

/// What every socket is told when the server stops.
fn goodbye() -> Message {
    Message::Close(Some(CloseFrame {
        code: 1001,
        reason: Utf8Bytes::from_static("the server is stopping"),
    }))
}
