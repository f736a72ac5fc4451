//! The server's edges: who a request is counted as (rate-limit keys and
//! `X-Forwarded-For`), who may frame the messenger, and the SMTP listener
//! under floods, slow clients and too many connections.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rapport_core::model::email::reply_token;
use rapport_core::ports::clock::SystemClock;
use rapport_server::client_addr::TrustedProxies;
use rapport_server::config::Config;
use rapport_server::email::listener::{self, SmtpLimits};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

use crate::helpers::TestApp;

both_backends!(
    forged_forwarded_for_from_an_untrusted_peer_buys_no_fresh_bucket,
    a_trusted_proxy_names_the_client_and_one_ipv6_64_is_one_client,
    the_messenger_is_served_only_for_a_named_app_with_its_own_frame_ancestors,
    a_64_mib_smtp_line_is_refused_and_memory_stays_flat,
    a_silent_or_trickling_smtp_client_is_timed_out,
    smtp_connections_over_the_caps_get_421_while_real_mail_gets_through,
    an_oversized_email_is_refused_with_552_and_a_normal_reply_still_lands,
    the_smtp_listener_stops_with_the_server,
);

/// A server whose widget allows 2 boots a minute per client.
async fn two_boots_a_minute(backend: Backend, trusted: &str) -> Option<TestApp> {
    let config = Config {
        widget_boots_per_minute_per_ip: 2,
        trusted_proxies: trusted.parse::<TrustedProxies>().unwrap(),
        ..Config::default()
    };
    TestApp::spawn_with(backend, Arc::new(SystemClock), config).await
}

/// Boots a new visitor, claiming to come from `forwarded_for`.
async fn boot_from(app: &TestApp, forwarded_for: &str) -> StatusCode {
    app.client
        .post(format!("{}/widget/v1/boot", app.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"app_id": app.owner.app_id}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn contact_count(app: &TestApp) -> u64 {
    let reply = app.get("/api/v1/contacts").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["count"].as_u64().unwrap()
}

async fn forged_forwarded_for_from_an_untrusted_peer_buys_no_fresh_bucket(backend: Backend) {
    let Some(app) = two_boots_a_minute(backend, "").await else {
        return;
    };
    assert_eq!(boot_from(&app, "198.51.100.1").await, StatusCode::OK);
    assert_eq!(boot_from(&app, "198.51.100.2").await, StatusCode::OK);
    let leads = contact_count(&app).await;
    assert_eq!(leads, 2);
    // A new "address" in the header each time: still the same peer.
    for forged in [
        "198.51.100.3",
        "2001:db8:dead::1",
        "203.0.113.9, 198.51.100.4",
    ] {
        assert_eq!(
            boot_from(&app, forged).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{forged}"
        );
    }
    assert_eq!(contact_count(&app).await, leads, "no lead was created");
}

async fn a_trusted_proxy_names_the_client_and_one_ipv6_64_is_one_client(backend: Backend) {
    // The test's requests come from 127.0.0.1: that is the proxy here.
    let Some(app) = two_boots_a_minute(backend, "127.0.0.1").await else {
        return;
    };
    // Two addresses of one /64 share a bucket.
    assert_eq!(boot_from(&app, "2001:db8:1:2::1").await, StatusCode::OK);
    assert_eq!(
        boot_from(&app, "2001:db8:1:2:ffff:ffff:ffff:fffe").await,
        StatusCode::OK
    );
    let leads = contact_count(&app).await;
    assert_eq!(
        boot_from(&app, "2001:db8:1:2::3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Prepending a made-up address does not help: the proxy appended the
    // real one, and that one counts.
    assert_eq!(
        boot_from(&app, "198.51.100.50, 2001:db8:1:2::4").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(contact_count(&app).await, leads, "no lead was created");
    // Another /64, and an IPv4 client, are clients of their own; the same
    // IPv4 client written as IPv4-mapped IPv6 is the same client.
    assert_eq!(boot_from(&app, "2001:db8:1:3::1").await, StatusCode::OK);
    assert_eq!(boot_from(&app, "203.0.113.7").await, StatusCode::OK);
    assert_eq!(boot_from(&app, "::ffff:203.0.113.7").await, StatusCode::OK);
    assert_eq!(
        boot_from(&app, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(contact_count(&app).await, leads + 3);
}

/// The status and `frame-ancestors` of the messenger page at `query`.
async fn messenger(app: &TestApp, query: &str) -> (StatusCode, Option<String>) {
    let page = app
        .client
        .get(format!("{}/messenger{query}", app.base))
        .send()
        .await
        .unwrap();
    let ancestors = page.headers().get("content-security-policy").map(|policy| {
        let policy = policy.to_str().unwrap();
        let at = policy.find("frame-ancestors").expect("frame-ancestors");
        policy[at..].split(';').next().unwrap().trim().to_owned()
    });
    (page.status(), ancestors)
}

async fn the_messenger_is_served_only_for_a_named_app_with_its_own_frame_ancestors(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let allow = |token: String, origin: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .request(
                    Method::PATCH,
                    "/api/v1/workspace",
                    Some(&token),
                    Some(json!({"allowed_origins": [origin]})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    };
    allow(app.owner.api_token.clone(), "https://shop.example").await;
    let other = app.other_workspace().await;
    allow(other.api_token.clone(), "https://other.example").await;

    // Bare, empty or unknown: nothing to frame, so no `frame-ancestors *`
    // page that any site could frame and boot into any app.
    for query in ["", "?app_id=", "?app_id=app_unknown", "?other=1"] {
        let (status, ancestors) = messenger(&app, query).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{query}");
        assert_eq!(ancestors, None, "{query}");
    }
    // Each app is framable by its own workspace's origins only (and by
    // this server's own demo page).
    assert_eq!(
        messenger(&app, &format!("?app_id={}", app.owner.app_id)).await,
        (
            StatusCode::OK,
            Some("frame-ancestors 'self' https://shop.example".to_owned())
        )
    );
    assert_eq!(
        messenger(&app, &format!("?app_id={}", other.app_id)).await,
        (
            StatusCode::OK,
            Some("frame-ancestors 'self' https://other.example".to_owned())
        )
    );
    // The server still answers, and the settings are untouched.
    assert_eq!(
        app.get("/api/v1/workspace").await.body["allowed_origins"],
        json!(["https://shop.example"])
    );
}

// ------------------------------------------------------------------ SMTP

/// How long a test waits for the listener to answer before failing.
const ANSWER: Duration = Duration::from_secs(10);

/// A raw SMTP client, connecting from `127.0.0.<from>` (all of 127/8 is
/// this machine, so each is a client of its own to the listener).
struct SmtpClient {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl SmtpClient {
    async fn connect(from: u8, to: SocketAddr) -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, from), 0)))
            .unwrap();
        let (read, write) = socket.connect(to).await.unwrap().into_split();
        Self {
            read: BufReader::new(read),
            write,
        }
    }

    /// Connects and reads the greeting.
    async fn greeted(from: u8, to: SocketAddr) -> Self {
        let mut client = Self::connect(from, to).await;
        let greeting = client.reply().await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        client
    }

    /// The next reply, all its lines.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let read = timeout(ANSWER, self.read.read_line(&mut line))
                .await
                .expect("a reply in time")
                .unwrap();
            assert!(read > 0, "closed without a reply (after {all:?})");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    async fn send(&mut self, command: &str) -> String {
        self.write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }

    /// Whether the server has closed the connection.
    async fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            timeout(ANSWER, self.read.read(&mut byte)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    /// A whole reply from Ann to `to`, ending with the answer to its data.
    async fn send_reply(&mut self, to: &str, text: &str) -> String {
        assert!(self.send("EHLO mail.example").await.starts_with("250"));
        assert!(
            self.send("MAIL FROM:<ann@example.com>")
                .await
                .starts_with("250")
        );
        let rcpt = self.send(&format!("RCPT TO:<{to}>")).await;
        assert!(rcpt.starts_with("250"), "{rcpt}");
        assert!(self.send("DATA").await.starts_with("354"));
        let message = format!(
            "From: Ann Lee <ann@example.com>\r\nTo: {to}\r\nSubject: Re: Your order\r\n\
             Message-ID: <{}@mail.example>\r\n\r\n{text}\r\n.",
            uuid::Uuid::new_v4()
        );
        self.send(&message).await
    }
}

/// A server with a conversation Ann can reply to by email, and its SMTP
/// listener with `config`'s limits.
struct Mailroom {
    app: TestApp,
    smtp: SocketAddr,
    conversation: String,
    reply_to: String,
}

impl Mailroom {
    async fn start(backend: Backend, config: Config) -> Option<Self> {
        let limits = SmtpLimits::from_config(&config);
        let app = TestApp::spawn_with(backend, Arc::new(SystemClock), config).await?;
        let ann = app
            .contact(json!({"user_id": "ann", "email": "ann@example.com", "name": "Ann Lee"}))
            .await;
        let sent = app
            .message(&ann, "Your order shipped. Any questions?")
            .await;
        let conversation = sent.body["conversation_id"].as_str().unwrap().to_owned();
        let token = reply_token(&app.owner.identity_secret, conversation.parse().unwrap());
        let reply_to = format!("reply+{token}@{}", app.state.email.reply_domain);
        let smtp = listener::listen(app.state.clone(), "127.0.0.1:0".parse().unwrap(), limits)
            .await
            .unwrap();
        Some(Self {
            app,
            smtp,
            conversation,
            reply_to,
        })
    }

    async fn bodies(&self) -> Vec<Value> {
        let reply = self
            .app
            .get(&format!("/api/v1/conversations/{}", self.conversation))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|part| part["body"].clone())
            .collect()
    }

    /// Sends a reply from a fresh client at `127.0.0.<from>` and checks it
    /// is now the last message of the conversation.
    async fn reply_lands(&self, from: u8, text: &str) {
        let mut client = SmtpClient::greeted(from, self.smtp).await;
        let answer = client.send_reply(&self.reply_to, text).await;
        assert!(answer.starts_with("250 "), "{answer}");
        assert_eq!(client.send("QUIT").await.get(..3), Some("221"));
        assert_eq!(self.bodies().await.last(), Some(&json!(text)));
    }
}

/// This process's resident and peak memory (VmRSS, VmHWM), in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Set in the process of its own that the memory test runs in.
const ALONE: &str = "RAPPORT_TEST_ALONE";

async fn a_64_mib_smtp_line_is_refused_and_memory_stays_flat(backend: Backend) {
    // Other tests of this binary allocate as they please: measure in a
    // process where this test runs alone.
    if std::env::var_os(ALONE).is_none() {
        let name = format!(
            "hostile::edges::{}::a_64_mib_smtp_line_is_refused_and_memory_stays_flat",
            format!("{backend:?}").to_lowercase()
        );
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name.as_str(), "--exact", "--test-threads=1", "--nocapture"])
            .env(ALONE, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let Some(room) = Mailroom::start(backend, Config::default()).await else {
        return;
    };
    // Warm up: one whole session, so what is measured is the flood alone.
    room.reply_lands(1, "Thanks!").await;
    let before = memory_kib();

    let mut client = SmtpClient::greeted(1, room.smtp).await;
    let mut write = client.write;
    let flood = tokio::spawn(async move {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0usize;
        if write.write_all(b"EHLO ").await.is_ok() {
            for _ in 0..1024 {
                if write.write_all(&chunk).await.is_err() {
                    break;
                }
                sent += chunk.len();
            }
        }
        sent
    });
    let mut refusal = String::new();
    timeout(ANSWER, client.read.read_line(&mut refusal))
        .await
        .expect("an answer in time")
        .unwrap();
    assert!(refusal.starts_with("500 "), "{refusal:?}");
    let mut rest = Vec::new();
    let _ = timeout(ANSWER, client.read.read_to_end(&mut rest))
        .await
        .expect("the connection is closed");
    assert!(rest.is_empty(), "nothing after the 500: {rest:?}");
    let sent = timeout(ANSWER, flood).await.unwrap().unwrap();
    let after = memory_kib();
    let grown = |i: usize| {
        let (b, a) = if i == 0 {
            (before.0, after.0)
        } else {
            (before.1, after.1)
        };
        a.saturating_sub(b)
    };
    eprintln!("flooded {sent} bytes; RSS {before:?} -> {after:?} KiB");
    assert!(grown(0) < 8 * 1024, "RSS grew by {} KiB", grown(0));
    assert!(grown(1) < 8 * 1024, "peak RSS grew by {} KiB", grown(1));

    // Still serving, and nothing was stored.
    let count = room.bodies().await.len();
    room.reply_lands(1, "Still here?").await;
    assert_eq!(room.bodies().await.len(), count + 1);
}

fn short_timeouts() -> Config {
    Config {
        smtp_idle_timeout_seconds: 1,
        smtp_session_timeout_seconds: 3,
        ..Config::default()
    }
}

async fn a_silent_or_trickling_smtp_client_is_timed_out(backend: Backend) {
    let Some(room) = Mailroom::start(backend, short_timeouts()).await else {
        return;
    };
    let count = room.bodies().await.len();
    // Silent after the greeting: told 421 once the idle timeout is up.
    let started = Instant::now();
    let mut silent = SmtpClient::greeted(1, room.smtp).await;
    let said = silent.reply().await;
    assert!(said.starts_with("421 "), "{said}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(silent.closed().await);

    // A command trickled a byte at a time must still arrive whole in time.
    let started = Instant::now();
    let mut trickle = SmtpClient::greeted(1, room.smtp).await;
    let said = loop {
        let mut byte = [0u8; 1];
        tokio::select! {
            read = trickle.read.read(&mut byte) => {
                assert_eq!(read.unwrap(), 1, "a reply, not a close");
                let mut line = String::from(char::from(byte[0]));
                trickle.read.read_line(&mut line).await.unwrap();
                break line;
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                // The server may already be gone; only its reply matters.
                let _ = trickle.write.write_all(b"N").await;
            }
        }
    };
    assert!(said.starts_with("421 "), "{said}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the idle timeout, not the session's"
    );
    assert!(trickle.closed().await);

    // Busy but endless: the session's own limit ends it.
    let started = Instant::now();
    let mut endless = SmtpClient::greeted(1, room.smtp).await;
    let said = loop {
        let answer = endless.send("NOOP").await;
        if !answer.starts_with("250") {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(said.starts_with("421 "), "{said}");
    assert!(started.elapsed() >= Duration::from_millis(2900));
    assert!(endless.closed().await);

    // Each timed-out client gave its place back; mail still lands, and the
    // slow ones left nothing behind.
    assert_eq!(room.bodies().await.len(), count);
    room.reply_lands(1, "Got it, thanks").await;
    assert_eq!(room.bodies().await.len(), count + 1);
}

async fn smtp_connections_over_the_caps_get_421_while_real_mail_gets_through(backend: Backend) {
    let config = Config {
        smtp_max_connections_per_ip: 2,
        smtp_max_connections: 3,
        ..Config::default()
    };
    let Some(room) = Mailroom::start(backend, config).await else {
        return;
    };
    let count = room.bodies().await.len();
    // One client takes its two connections and holds them.
    let held = [
        SmtpClient::greeted(1, room.smtp).await,
        SmtpClient::greeted(1, room.smtp).await,
    ];
    let mut third = SmtpClient::connect(1, room.smtp).await;
    let said = third.reply().await;
    assert!(said.starts_with("421 "), "{said}");
    assert!(third.closed().await);

    // A real mail server elsewhere still gets through...
    let mut real = SmtpClient::greeted(2, room.smtp).await;
    // ...while the server as a whole is full for anyone else.
    let mut fourth = SmtpClient::connect(3, room.smtp).await;
    let said = fourth.reply().await;
    assert!(said.starts_with("421 "), "{said}");
    assert!(fourth.closed().await);
    let answer = real.send_reply(&room.reply_to, "Is it insured?").await;
    assert!(answer.starts_with("250 "), "{answer}");
    assert_eq!(room.bodies().await.len(), count + 1);
    assert_eq!(room.bodies().await.last(), Some(&json!("Is it insured?")));

    // Places are given back when connections end.
    drop(held);
    drop(real);
    let started = Instant::now();
    loop {
        let mut again = SmtpClient::connect(1, room.smtp).await;
        let said = again.reply().await;
        if said.starts_with("220 ") {
            break;
        }
        assert!(
            started.elapsed() < ANSWER,
            "the closed connections' places came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn an_oversized_email_is_refused_with_552_and_a_normal_reply_still_lands(backend: Backend) {
    let Some(room) = Mailroom::start(backend, Config::default()).await else {
        return;
    };
    let count = room.bodies().await.len();
    let max = SmtpLimits::default().max_message_bytes;
    let mut client = SmtpClient::greeted(1, room.smtp).await;
    let ehlo = client.send("EHLO mail.example").await;
    assert!(ehlo.contains(&format!("SIZE {max}")), "{ehlo}");
    // Announced too big: refused at once.
    let said = client
        .send(&format!("MAIL FROM:<ann@example.com> SIZE={}", max + 1))
        .await;
    assert!(said.starts_with("552 "), "{said}");
    // Sent too big anyway: read to its end, then refused.
    assert!(
        client
            .send("MAIL FROM:<ann@example.com>")
            .await
            .starts_with("250")
    );
    let rcpt = client.send(&format!("RCPT TO:<{}>", room.reply_to)).await;
    assert!(rcpt.starts_with("250"), "{rcpt}");
    assert!(client.send("DATA").await.starts_with("354"));
    let head = format!(
        "From: Ann Lee <ann@example.com>\r\nTo: {}\r\nSubject: Re: big\r\n\r\nThe big one\r\n",
        room.reply_to
    );
    client.write.write_all(head.as_bytes()).await.unwrap();
    let line = [vec![b'x'; 998], b"\r\n".to_vec()].concat();
    for _ in 0..=max / line.len() {
        client.write.write_all(&line).await.unwrap();
    }
    let said = client.send(".").await;
    assert!(said.starts_with("552 "), "{said}");
    assert_eq!(room.bodies().await.len(), count, "nothing stored");
    // The same session goes on, and a normal reply lands.
    let answer = client.send_reply(&room.reply_to, "The small one").await;
    assert!(answer.starts_with("250 "), "{answer}");
    assert_eq!(room.bodies().await.len(), count + 1);
    assert_eq!(room.bodies().await.last(), Some(&json!("The small one")));
    // Unknown mailboxes are still refused at RCPT.
    assert!(
        client
            .send("MAIL FROM:<ann@example.com>")
            .await
            .starts_with("250")
    );
    let stranger = client.send("RCPT TO:<support@acme.test>").await;
    assert!(stranger.starts_with("550 "), "{stranger}");
}

async fn the_smtp_listener_stops_with_the_server(backend: Backend) {
    let Some(room) = Mailroom::start(backend, Config::default()).await else {
        return;
    };
    let mut waiting = SmtpClient::greeted(1, room.smtp).await;
    assert!(waiting.send("EHLO mail.example").await.starts_with("250"));
    room.app.state.begin_shutdown();
    let said = waiting.reply().await;
    assert!(said.starts_with("421 "), "{said}");
    assert!(waiting.closed().await);
    // No longer accepting.
    let started = Instant::now();
    while TcpSocket::new_v4()
        .unwrap()
        .connect(room.smtp)
        .await
        .is_ok()
    {
        assert!(started.elapsed() < ANSWER, "the listener closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
