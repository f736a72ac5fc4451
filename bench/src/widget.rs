//! What the `idle` and `fanout` load generators share: booting visitors
//! (`POST /widget/v1/boot`), opening their widget sockets
//! (`GET /widget/v1/live`) from spread-out loopback source addresses, and
//! reading a process's memory from /proc.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures::{SinkExt, StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::api::string_field;

/// A widget socket as the load generators hold it.
pub type Socket = WebSocketStream<TcpStream>;

/// Loopback source addresses, 127.0.0.FIRST..=127.0.0.LAST: a socket's
/// (source, destination) pair needs a free port, and one source address has
/// only ~28,000 ephemeral ports (and fewer once TIME_WAIT holds some).
const FIRST_SOURCE: u8 = 2;
const LAST_SOURCE: u8 = 250;

/// How long connecting, upgrading and the hello/ready exchange may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// A booted visitor: their messenger session and contact id.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub session: String,
    pub contact_id: String,
}

/// Where the server is: its socket address and the widget socket's URL.
#[derive(Clone, Debug)]
pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    pub live_url: String,
    /// The Inbox's live socket (`/api/v1/live`).
    pub inbox_live_url: String,
}

impl Server {
    /// From `http://HOST:PORT` (a path after it is ignored).
    pub async fn resolve(url: &str) -> anyhow::Result<Self> {
        let base = url.trim_end_matches('/').to_owned();
        let Some(rest) = base.strip_prefix("http://") else {
            bail!("--url must start with http:// (got {url})");
        };
        let authority = rest.split('/').next().unwrap_or(rest);
        let addr = tokio::net::lookup_host(authority)
            .await
            .with_context(|| format!("resolving {authority}"))?
            .find(SocketAddr::is_ipv4)
            .with_context(|| format!("{authority} has no IPv4 address"))?;
        Ok(Self {
            live_url: format!("ws://{authority}/widget/v1/live"),
            inbox_live_url: format!("ws://{authority}/api/v1/live"),
            base: format!("http://{authority}"),
            addr,
        })
    }

    /// The source address for the `index`th socket: round-robin over
    /// 127.0.0.2..=127.0.0.250 when the server is on loopback, else the
    /// system's choice.
    pub fn source(&self, index: usize) -> Option<IpAddr> {
        if !self.addr.ip().is_loopback() {
            return None;
        }
        let span = usize::from(LAST_SOURCE - FIRST_SOURCE) + 1;
        let last = FIRST_SOURCE + u8::try_from(index % span).unwrap_or(0);
        Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
    }
}

/// Boots `count` new visitors of `app_id`, `concurrency` at a time; each
/// becomes a lead with a messenger session.
pub async fn boot_visitors(
    http: &reqwest::Client,
    server: &Server,
    app_id: &str,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Visitor>> {
    boot_visitors_as(
        http,
        server,
        count,
        concurrency,
        |_| json!({ "app_id": app_id }),
    )
    .await
}

/// Boots `count` visitors, the `i`th with the boot request `body(i)` (an
/// identified user: `{"app_id": ..., "user_id": ...}`); they come back in
/// that order.
pub async fn boot_visitors_as(
    http: &reqwest::Client,
    server: &Server,
    count: usize,
    concurrency: usize,
    body: impl Fn(usize) -> Value,
) -> anyhow::Result<Vec<Visitor>> {
    let url = format!("{}/widget/v1/boot", server.base);
    stream::iter(0..count)
        .map(|i| {
            let (url, body) = (url.clone(), body(i));
            async move {
                let response = http.post(&url).json(&body).send().await?;
                let status = response.status();
                let text = response.text().await?;
                ensure!(
                    status != reqwest::StatusCode::TOO_MANY_REQUESTS,
                    "POST /widget/v1/boot: {status}: {text}\n(the server's widget rate limits \
                     refuse this load: run it with RAPPORT_WIDGET_REQUESTS_PER_SECOND_PER_IP=0)"
                );
                ensure!(
                    status.is_success(),
                    "POST /widget/v1/boot: {status}: {text}"
                );
                let field = |pointer| string_field(text.as_bytes(), pointer).context("boot reply");
                Ok(Visitor {
                    session: field("/session")?,
                    contact_id: field("/contact/id")?,
                })
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

/// Small buffers, as the server's: a load generator holding thousands of
/// sockets should not need gigabytes for tungstenite's 128 KiB defaults.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(1024 * 1024))
        .max_frame_size(Some(1024 * 1024))
}

/// Opens a widget socket from `source` (bound before connecting), says
/// hello with `session` (from now: no `after`) and waits for `ready`.
pub async fn open_widget(
    server: &Server,
    source: Option<IpAddr>,
    session: &str,
) -> anyhow::Result<Socket> {
    let (socket, _) = open_widget_after(server, source, session, None).await?;
    Ok(socket)
}

/// [`open_widget`], replaying after `after` when given; also returns the
/// position `ready` names.
pub async fn open_widget_after(
    server: &Server,
    source: Option<IpAddr>,
    session: &str,
    after: Option<i64>,
) -> anyhow::Result<(Socket, i64)> {
    let mut hello = json!({ "type": "hello", "session": session });
    if let Some(after) = after {
        hello["after"] = after.into();
    }
    open_live(server, &server.live_url, source, &hello).await
}

/// Opens a live socket at `url` (the widget's or the Inbox's) from `source`
/// (bound before connecting), sends `hello` and waits for `ready`; returns
/// the socket and the position `ready` names.
pub async fn open_live(
    server: &Server,
    url: &str,
    source: Option<IpAddr>,
    hello: &Value,
) -> anyhow::Result<(Socket, i64)> {
    tokio::time::timeout(OPEN_TIMEOUT, async {
        let socket = TcpSocket::new_v4()?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .with_context(|| format!("binding to {ip}"))?;
        }
        let stream = socket
            .connect(server.addr)
            .await
            .with_context(|| format!("connecting to {}", server.addr))?;
        stream.set_nodelay(true)?;
        let (mut socket, _) =
            tokio_tungstenite::client_async_with_config(url, stream, Some(socket_config()))
                .await
                .context("upgrading to a WebSocket")?;
        socket.send(Message::text(hello.to_string())).await?;
        while let Some(frame) = socket.next().await {
            let Message::Text(text) = frame? else {
                continue;
            };
            let frame: Value = serde_json::from_str(&text).context("a frame that is not JSON")?;
            match frame.get("type").and_then(Value::as_str) {
                Some("ready") => {
                    let seq = frame.get("seq").and_then(Value::as_i64).unwrap_or(0);
                    return Ok((socket, seq));
                }
                Some("error") => bail!("the server refused the hello: {frame}"),
                _ => {}
            }
        }
        bail!("the socket closed before ready")
    })
    .await
    .context("no ready in time")?
}

/// Fields of /proc/PID/status, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Resident set: what the goal is about.
    pub rss_kib: u64,
    /// The anonymous part of it (heap, stacks): where per-connection
    /// state lives.
    pub anon_kib: u64,
}

/// Reads VmRSS and RssAnon of process `pid`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .with_context(|| format!("no {name} in {path}"))?;
        let kib = line.trim().trim_end_matches("kB").trim();
        kib.parse()
            .with_context(|| format!("{name} is not a number: {line}"))
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        anon_kib: field("RssAnon:")?,
    })
}

/// The kernel's slab memory, system-wide (`Slab` in /proc/meminfo), in KiB:
/// socket structures live there, in no process's RSS. Other processes move
/// it too, so it is a rough figure.
pub fn kernel_slab_kib() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find_map(|l| l.strip_prefix("Slab:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// This process's soft open-file limit, from /proc/self/limits.
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Fails early, with the fix, when `sockets` more sockets would not fit
/// under the open-file limit.
pub fn ensure_files_for(sockets: usize) -> anyhow::Result<()> {
    // Standard streams, the runtime, the HTTP pool and some slack.
    const SPARE: u64 = 200;
    if let Some(limit) = open_file_limit() {
        let needed = sockets as u64 + SPARE;
        ensure!(
            needed <= limit,
            "{sockets} sockets need an open-file limit of about {needed}, and this \
             process has {limit}: raise it with `ulimit -n` (the hard limit is the ceiling)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sources_spread_over_loopback() {
        let server = Server::resolve("http://127.0.0.1:8080/").await.unwrap();
        assert_eq!(server.live_url, "ws://127.0.0.1:8080/widget/v1/live");
        assert_eq!(server.base, "http://127.0.0.1:8080");
        assert_eq!(server.source(0), Some(Ipv4Addr::new(127, 0, 0, 2).into()));
        assert_eq!(
            server.source(248),
            Some(Ipv4Addr::new(127, 0, 0, 250).into())
        );
        assert_eq!(server.source(249), Some(Ipv4Addr::new(127, 0, 0, 2).into()));
        assert!(Server::resolve("https://127.0.0.1:1").await.is_err());
    }

    #[test]
    fn own_memory_and_limits_read() {
        let own = memory(std::process::id()).unwrap();
        assert!(own.rss_kib > 0 && own.anon_kib <= own.rss_kib);
        assert!(open_file_limit().unwrap() > 0);
        assert!(kernel_slab_kib().unwrap() > 0);
    }
}
