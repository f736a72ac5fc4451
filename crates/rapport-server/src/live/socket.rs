//! The live WebSockets: the Inbox's `GET /api/v1/live` and the messenger's
//! `GET /widget/v1/live`.
//!
//! Protocol (JSON text frames):
//! - client, first, within `live_hello_timeout_seconds` (5 s by default):
//!   `{"type": "hello", "after": 123, ...}`
//!   with `"token": "rpt_..."` (scripts) or the sign-in cookie (the Inbox),
//!   or `"session": "wst_..."` (a messenger). `after` is the last position
//!   the client saw; omit it to start from now.
//! - server: `{"type": "ready", "seq": N}`, then every activity entry after
//!   `after` that the peer may see, oldest first, each `{"type":
//!   "activity", "seq", "kind", "data", ...}`: replayed from the store, then
//!   live. Positions only increase; an entry is never sent twice on one
//!   connection. Passing signals (`typing`, `presence`, `agent_presence`)
//!   carry no position.
//! - client: `{"type": "typing", "conversation_id"}` while typing.
//! - server errors: `{"type": "error", "detail"}`, then close (1008), or
//!   4401 when the credentials are unknown, expired or revoked (at hello,
//!   or at any later ping): the client must not retry them.
//!
//! A client that reconnects sends the last `seq` it saw and receives
//! everything it missed.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::response::{IntoResponse, Response};
use rapport_core::model::activity::{Activity, ActivityEntry};
use rapport_core::model::ids::{AgentId, ContactId, ConversationId, WorkspaceId};
use rapport_core::ports::store::{StoreError, Stream};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use super::Live;
use crate::AppState;
use crate::client_addr::ClientIp;
use crate::credentials::hash_token;
use crate::error::ApiError;
use crate::extract::{SESSION_COOKIE, cookie};
use crate::views::visitor::Authors;

/// Pings keep idle connections (and the proxies between) alive...
const PING_EVERY: Duration = Duration::from_secs(30);
/// ...and a peer silent for this long is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);
/// Entries replayed per store read.
const REPLAY_BATCH: u32 = 500;
/// Typing signals relayed per socket, at most one per this long.
const TYPING_EVERY: Duration = Duration::from_millis(1_000);

/// Small buffers: most sockets are idle, and tungstenite's defaults (128 KiB
/// each way) would cost more than the rest of the connection. The read
/// buffer is allocated up front and is only a chunk size (longer frames
/// still arrive whole); clients send frames of a few hundred bytes.
fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Hello {
        token: Option<String>,
        session: Option<String>,
        after: Option<i64>,
    },
    Typing {
        conversation_id: ConversationId,
    },
    Ping,
}

#[derive(Serialize)]
struct ActivityFrame<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    entry: &'a ActivityEntry,
}

/// Who is on the other end.
#[derive(Clone, Copy)]
enum Peer {
    Team {
        workspace: WorkspaceId,
        agent: AgentId,
    },
    Visitor {
        workspace: WorkspaceId,
        contact: ContactId,
    },
}

/// How a peer proved who it is. It is checked again at every ping, so a
/// signed-out session, a revoked token, a removed member or a visitor whose
/// identity changed (or who shut the messenger down) is cut off within
/// [`PING_EVERY`].
#[derive(Clone, Copy)]
enum Credential {
    Token([u8; 32]),
    Cookie([u8; 32]),
    Widget([u8; 32]),
}

impl Credential {
    /// False only when the store says the credential is gone; a database
    /// hiccup does not drop live sockets.
    async fn still_valid(self, state: &AppState) -> bool {
        let now = state.clock.now();
        let result = match self {
            Credential::Token(hash) => state.store.authenticate_token(hash).await.map(drop),
            Credential::Cookie(hash) => state.store.agent_session(hash, now).await.map(drop),
            Credential::Widget(hash) => state.store.widget_session(hash, now).await.map(drop),
        };
        !matches!(result, Err(StoreError::NotFound))
    }
}

impl Peer {
    fn workspace(self) -> WorkspaceId {
        match self {
            Peer::Team { workspace, .. } | Peer::Visitor { workspace, .. } => workspace,
        }
    }

    fn stream(self) -> Stream {
        match self {
            Peer::Team { .. } => Stream::Workspace,
            Peer::Visitor { contact, .. } => Stream::Contact(contact),
        }
    }
}

/// `GET /api/v1/live`: an Inbox tab (or a script with an API token).
pub async fn inbox_live(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The browser sends the cookie with any page's WebSocket: accept it only
    // from pages of this server's own origin.
    let cookie = cookie(&headers, SESSION_COOKIE)
        .filter(|_| same_origin(&headers))
        .map(str::to_owned);
    accept(state, upgrade, client, move |state, hello| async move {
        let credential = match (hello.token, cookie) {
            (Some(token), _) => Credential::Token(hash_token(&token)),
            (None, Some(cookie)) => Credential::Cookie(hash_token(&cookie)),
            (None, None) => return Err(StoreError::NotFound),
        };
        let principal = match credential {
            Credential::Token(hash) => state.store.authenticate_token(hash).await,
            Credential::Cookie(hash) => state.store.agent_session(hash, state.clock.now()).await,
            Credential::Widget(_) => Err(StoreError::NotFound),
        }?;
        let peer = Peer::Team {
            workspace: principal.workspace_id,
            agent: principal.agent_id,
        };
        Ok((peer, credential))
    })
}

/// `GET /widget/v1/live`: a visitor's messenger.
pub async fn widget_live(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    upgrade: WebSocketUpgrade,
) -> Response {
    accept(state, upgrade, client, |state, hello| async move {
        let session = hash_token(&hello.session.ok_or(StoreError::NotFound)?);
        let (workspace, contact) = state
            .store
            .widget_session(session, state.clock.now())
            .await?;
        Ok((
            Peer::Visitor { workspace, contact },
            Credential::Widget(session),
        ))
    })
}

struct Hello {
    token: Option<String>,
    session: Option<String>,
    after: Option<i64>,
}

/// Upgrades (within the connection cap, and the cap on sockets one client
/// may hold before they say who they are), waits for hello, identifies the
/// peer with `identify`, then streams until either side stops.
fn accept<F, Fut>(
    state: AppState,
    upgrade: WebSocketUpgrade,
    client: IpAddr,
    identify: F,
) -> Response
where
    F: FnOnce(AppState, Hello) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Peer, Credential), StoreError>> + Send,
{
    // Anyone can open sockets and never say hello: one client's are capped,
    // so they cannot take the whole `max_connections`.
    let Some(unidentified) = state
        .unidentified_sockets
        .take(client, state.max_unidentified_sockets_per_ip)
    else {
        tracing::debug!(%client, "refused a socket: too many unidentified from this client");
        return ApiError::TooManyRequests.into_response();
    };
    let Some(permit) = state.hub.admit() else {
        return ApiError::TooManyRequests.into_response();
    };
    configure(upgrade).on_upgrade(move |mut socket| async move {
        let _permit = permit;
        let hello = match tokio::time::timeout(state.hello_timeout, next_frame(&mut socket)).await {
            Ok(Some(ClientFrame::Hello {
                token,
                session,
                after,
            })) => Hello {
                token,
                session,
                after,
            },
            _ => return refuse(socket, "say hello first: {\"type\": \"hello\", ...}").await,
        };
        let after = hello.after;
        let identified = identify(state.clone(), hello).await;
        drop(unidentified);
        let (peer, credential) = match identified {
            Ok(identified) => identified,
            Err(StoreError::NotFound) => return refuse_credentials(socket).await,
            Err(err) => {
                tracing::error!(error = %err, "live: identifying a socket");
                return refuse(socket, "try again later").await;
            }
        };
        let mut stopping = state.stopping();
        let stream = stream(&mut socket, &state, peer, credential, after, &mut stopping);
        if let Err(err) = stream.await {
            tracing::debug!(error = %err, "live: socket ended");
        }
    })
}

/// Replays from `after` and then follows live, until the socket goes away.
async fn stream(
    socket: &mut WebSocket,
    state: &AppState,
    peer: Peer,
    credential: Credential,
    after: Option<i64>,
    stopping: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    if *stopping.borrow() {
        return Ok(());
    }
    let hub = &state.hub;
    let (workspace, stream) = (peer.workspace(), peer.stream());
    let mut subscription = hub
        .subscribe(workspace, stream)
        .await
        .map_err(|e| e.to_string())?;
    // Presence lasts as long as the socket.
    let _presence = match peer {
        Peer::Team { workspace, agent } => (Some(hub.agent_connected(workspace, agent)), None),
        Peer::Visitor { workspace, contact } => {
            (None, Some(hub.visitor_arrived(workspace, contact)))
        }
    };
    let mut last = match after {
        Some(after) => after.max(0),
        None => state
            .store
            .activity_head(workspace)
            .await
            .map_err(|e| e.to_string())?,
    };
    // A messenger shows who wrote each message, so its frames carry names.
    let mut names = match peer {
        Peer::Visitor { .. } => Some(
            Authors::load(state, workspace)
                .await
                .map_err(|e| e.to_string())?,
        ),
        Peer::Team { .. } => None,
    };
    tracing::debug!(%workspace, ?stream, last, "live: ready");
    send_json(socket, &json!({"type": "ready", "seq": last})).await?;
    last = replay(socket, state, workspace, stream, last, &mut names).await?;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = tokio::time::Instant::now();
    let mut typed = tokio::time::Instant::now() - TYPING_EVERY;
    loop {
        tokio::select! {
            live = subscription.receiver.recv() => match live {
                Some(Live::Entry(entry)) if entry.seq > last => {
                    send_entry(socket, state, &entry, &mut names).await?;
                    last = entry.seq;
                }
                Some(Live::Entry(_)) => {}
                Some(Live::Signal(signal)) => send_json(socket, &*signal).await?,
                None => {
                    // Dropped for falling behind: catch up, then follow again.
                    subscription = hub.subscribe(workspace, stream).await.map_err(|e| e.to_string())?;
                    last = replay(socket, state, workspace, stream, last, &mut names).await?;
                }
            },
            frame = socket.recv() => match frame {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(Message::Text(text))) => {
                    heard = tokio::time::Instant::now();
                    match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Ping) => send_json(socket, &json!({"type": "pong"})).await?,
                        Ok(ClientFrame::Typing { conversation_id }) if typed.elapsed() >= TYPING_EVERY => {
                            typed = tokio::time::Instant::now();
                            relay_typing(state, peer, conversation_id).await;
                        }
                        _ => {}
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
                if !credential.still_valid(state).await {
                    let _ = socket.send(revoked()).await;
                    return Ok(());
                }
                socket.send(Message::Ping(Default::default())).await.map_err(|e| e.to_string())?;
            }
        }
    }
}

/// Tells the other side of a conversation that someone is typing in it.
async fn relay_typing(state: &AppState, peer: Peer, conversation_id: ConversationId) {
    let Ok(conversation) = state
        .store
        .conversation(peer.workspace(), conversation_id)
        .await
    else {
        return;
    };
    match peer {
        Peer::Team { workspace, agent } => {
            let name = state
                .store
                .agent(workspace, agent)
                .await
                .map(|a| a.name)
                .unwrap_or_default();
            state.hub.signal_contact(
                workspace,
                conversation.contact_id,
                json!({"type": "typing", "conversation_id": conversation_id, "agent": {"name": name}}),
            );
        }
        Peer::Visitor { workspace, contact } if conversation.contact_id == contact => {
            state.hub.signal_team(
                workspace,
                json!({"type": "typing", "conversation_id": conversation_id, "contact_id": contact}),
            );
        }
        Peer::Visitor { .. } => {}
    }
}

/// Sends every stored entry after `after` the stream may show; returns the
/// last position read.
async fn replay(
    socket: &mut WebSocket,
    state: &AppState,
    workspace: WorkspaceId,
    stream: Stream,
    mut after: i64,
    names: &mut Option<Authors>,
) -> Result<i64, String> {
    loop {
        let entries = state
            .store
            .activity_after(workspace, stream, after, REPLAY_BATCH)
            .await
            .map_err(|e| e.to_string())?;
        for entry in &entries {
            after = entry.seq;
            if stream == Stream::Workspace || entry.activity.visible_to_contact() {
                send_entry(socket, state, entry, names).await?;
            }
        }
        if entries.len() < REPLAY_BATCH as usize {
            return Ok(after);
        }
    }
}

/// Sends one entry; for a messenger (`names`), a message's author also gets
/// the name the visitor sees.
async fn send_entry(
    socket: &mut WebSocket,
    state: &AppState,
    entry: &ActivityEntry,
    names: &mut Option<Authors>,
) -> Result<(), String> {
    let frame = ActivityFrame {
        r#type: "activity",
        entry,
    };
    let (Some(authors), Activity::Message(message)) = (names.as_mut(), &entry.activity) else {
        return send_json(socket, &frame).await;
    };
    if authors.is_new(&message.author)
        && let Ok(fresh) = Authors::load(state, entry.workspace_id).await
    {
        *authors = fresh;
    }
    let mut value = serde_json::to_value(&frame).map_err(|e| e.to_string())?;
    let named = authors.author(&message.author);
    if let Some(author) = value
        .pointer_mut("/data/author")
        .and_then(|a| a.as_object_mut())
    {
        author.insert("name".into(), named.name.into());
    }
    // The visitor sees what a bot question offers, not which automation
    // and node sent it.
    if let Some(data) = value.pointer_mut("/data").and_then(|d| d.as_object_mut())
        && let Some(serde_json::Value::Object(origin)) = data.remove("origin")
    {
        let prompt: serde_json::Map<_, _> = origin
            .into_iter()
            .filter(|(key, _)| key == "buttons" || key == "input")
            .collect();
        if !prompt.is_empty() {
            data.insert("origin".into(), prompt.into());
        }
    }
    send_json(socket, &value).await
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
async fn refuse(mut socket: WebSocket, detail: &str) {
    let _ = send_json(&mut socket, &json!({"type": "error", "detail": detail})).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1008,
            reason: Utf8Bytes::from(detail.to_owned()),
        })))
        .await;
}

/// Says why, then closes with 4401: credentials that do not work now never
/// will, so the client signs in (or boots) again instead of retrying them.
async fn refuse_credentials(mut socket: WebSocket) {
    let detail = "unknown, expired or revoked credentials";
    let _ = send_json(&mut socket, &json!({"type": "error", "detail": detail})).await;
    let _ = socket.send(revoked()).await;
}

/// The close frame for a credential that no longer works: the client
/// signs in (or boots) again rather than reconnecting with it.
fn revoked() -> Message {
    Message::Close(Some(CloseFrame {
        code: 4401,
        reason: Utf8Bytes::from_static("credentials revoked"),
    }))
}

/// What every socket is told when the server stops.
fn goodbye() -> Message {
    Message::Close(Some(CloseFrame {
        code: 1001,
        reason: Utf8Bytes::from_static("the server is stopping"),
    }))
}

/// Whether the page that opened the socket is served by this server
/// (its `Origin` names the `Host` the request was sent to).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}
