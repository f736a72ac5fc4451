//! Bodies, sockets and connections (issue 10, point 8): every body has a
//! limit (event params, the contact import as a whole and per row, raw
//! inbound email), slow clients are cut off (headers, bodies, silent
//! sockets), connections are capped, and one client cannot hold many
//! sockets without saying who it is. Each test checks the refusal, that
//! nothing was stored, and that the server still answers others.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures::{SinkExt, StreamExt};
use hyper::body::Frame;
use rapport_core::ports::clock::SystemClock;
use rapport_server::config::Config;
use rapport_server::email::listener::SmtpLimits;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::helpers::TestApp;
use crate::widget_support::{boot, boot_session, visitor_of};

both_backends!(
    event_params_over_16_kib_are_refused_from_the_api_and_the_widget,
    an_oversized_import_is_a_413_and_stores_nothing,
    a_40_mb_field_skips_its_row_and_the_rest_is_imported,
    an_oversized_inbound_email_is_a_413_problem_on_the_setting_smtp_shares,
    a_client_stalling_in_its_headers_is_disconnected,
    a_trickled_or_stalled_body_gets_408,
    connections_over_the_cap_wait_until_one_ends,
    a_socket_that_never_says_hello_is_closed,
    unidentified_sockets_are_capped_per_client,
);

/// Long enough for anything on a loaded test machine; the tests never wait
/// for it unless something is wrong.
const ANSWER: Duration = Duration::from_secs(10);

async fn spawn(backend: Backend, config: Config) -> Option<TestApp> {
    TestApp::spawn_with(backend, Arc::new(SystemClock), config).await
}

async fn contact_count(app: &TestApp) -> u64 {
    let reply = app
        .post("/api/v1/contacts/search", json!({"limit": 0}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["count"].as_u64().unwrap()
}

async fn still_answers(app: &TestApp) {
    let health = timeout(
        ANSWER,
        app.client.get(format!("{}/healthz", app.base)).send(),
    )
    .await
    .expect("an answer in time")
    .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

async fn event_params_over_16_kib_are_refused_from_the_api_and_the_widget(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ann = app.contact(json!({"email": "ann@x.test"})).await;
    let before = app.timeline(&ann).await.len();
    let limit = rapport_server::api::shared::events::MAX_EVENT_PARAMS_BYTES;
    // Well under the JSON body limit, over the params limit.
    let big = json!({"note": "x".repeat(limit)});
    let api = app
        .post(
            &format!("/api/v1/contacts/{ann}/events"),
            json!({"name": "visited", "params": big}),
        )
        .await;
    assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", api.body);
    assert_eq!(api.error_fields(), ["params"]);
    assert_eq!(app.timeline(&ann).await.len(), before, "nothing recorded");

    let (session, visitor) = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await);
    let widget = app
        .request(
            Method::POST,
            "/widget/v1/events",
            Some(&session),
            Some(json!({"name": "visited", "params": big})),
        )
        .await;
    assert_eq!(
        widget.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        widget.body
    );
    assert_eq!(widget.error_fields(), ["params"]);

    // Just under the limit is taken, from both.
    let fits = json!({"note": "x".repeat(limit - 100)});
    let api = app
        .post(
            &format!("/api/v1/contacts/{ann}/events"),
            json!({"name": "visited", "params": fits}),
        )
        .await;
    assert_eq!(api.status, StatusCode::CREATED, "{}", api.body);
    let widget = app
        .request(
            Method::POST,
            "/widget/v1/events",
            Some(&session),
            Some(json!({"name": "visited", "params": fits})),
        )
        .await;
    assert!(widget.status.is_success(), "{}", widget.body);
    assert_eq!(app.timeline(&ann).await.len(), before + 1);
    let events: Vec<_> = app
        .timeline(&visitor)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "event" && e["data"]["name"] == "visited")
        .collect();
    assert_eq!(events.len(), 1, "only the one that fits: {events:?}");
}

/// Posts a CSV to the import; the status and the JSON lines (or the
/// problem, as one value).
async fn import(app: &TestApp, body: reqwest::Body) -> (StatusCode, String, Vec<Value>) {
    let response = app
        .client
        .post(format!("{}/api/v1/contacts/import", app.base))
        .bearer_auth(&app.owner.api_token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({"raw": l})))
        .collect();
    (status, content_type, lines)
}

/// A body sent in parts with no declared length (chunked).
struct Chunked(VecDeque<Bytes>);

impl hyper::body::Body for Chunked {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(self.0.pop_front().map(|part| Ok(Frame::data(part))))
    }
}

fn chunked(bytes: &[u8], part: usize) -> reqwest::Body {
    reqwest::Body::wrap(Chunked(
        bytes.chunks(part).map(Bytes::copy_from_slice).collect(),
    ))
}

fn rows(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| format!("u{i},u{i}@example.test\n"))
        .collect()
}

async fn an_oversized_import_is_a_413_and_stores_nothing(backend: Backend) {
    let config = Config {
        import_body_limit: 64 * 1024,
        ..Config::default()
    };
    let Some(app) = spawn(backend, config).await else {
        return;
    };
    // Declared too large: refused before a byte is read.
    let csv = format!("user_id,email\n{}", rows(0, 5_000));
    assert!(csv.len() > 64 * 1024);
    let (status, content_type, body) = import(&app, csv.clone().into()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body:?}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body[0]["status"], 413);
    assert_eq!(contact_count(&app).await, 0);

    // Sent without a length, it is cut at the limit while streaming: what
    // came before stays, nothing after is read, and the stream says so.
    let (status, _, lines) = import(&app, chunked(csv.as_bytes(), 4096)).await;
    assert_eq!(status, StatusCode::OK);
    let cut: Vec<_> = lines.iter().filter(|l| l["field"] == "body").collect();
    assert_eq!(cut.len(), 1, "{lines:?}");
    assert!(
        cut[0]["message"].as_str().unwrap().contains("65536"),
        "{cut:?}"
    );
    let done = lines.last().unwrap();
    assert_eq!(done["type"], "done", "{lines:?}");
    let created = done["created"].as_u64().unwrap();
    assert!(created > 0 && created < 5_000, "{done}");
    assert_eq!(contact_count(&app).await, created, "nothing past the cut");
    still_answers(&app).await;
}

async fn a_40_mb_field_skips_its_row_and_the_rest_is_imported(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let huge = "x".repeat(40 * 1024 * 1024);
    // Line 3: the probe. Lines 5 to 8: a quoted cell over the row
    // limit that spans four lines. Line 9: a row of too many cells. Line
    // 10: a bad email, whose line number must still be right.
    let part = &huge[..30_000];
    let multi_line = format!("\"{part}\n{part}\n{part}\nend\"");
    let csv = format!(
        "user_id,email,name\nu1,u1@example.test,One\nu2,u2@example.test,{huge}\nu3,u3@example.test,Three\nu4,u4@example.test,{multi_line}\n{}\nu6,not-an-email,Six\nu7,u7@example.test,Seven\n",
        vec!["u5"; 2_500].join(","),
    );
    let (status, _, lines) = import(&app, csv.into()).await;
    assert_eq!(status, StatusCode::OK, "{lines:?}");
    let errors: Vec<(u64, String)> = lines
        .iter()
        .filter(|l| l["type"] == "error")
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (3, "row".to_owned()),
            (5, "row".to_owned()),
            (9, "row".to_owned()),
            (10, "email".to_owned())
        ],
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| {
        l["line"] == 3
            && l["message"]
                .as_str()
                .unwrap()
                .contains(&rapport_server::api::import::MAX_ROW_BYTES.to_string())
    }));
    let done = lines.last().unwrap();
    assert_eq!(done["type"], "done");
    assert_eq!(
        (done["created"].as_u64(), done["failed"].as_u64()),
        (Some(3), Some(4)),
        "{done}"
    );
    // The skipped rows stored nothing; the others are there.
    assert_eq!(contact_count(&app).await, 3);
    let listed = app.get("/api/v1/contacts?limit=100").await;
    let ids: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["user_id"].as_str())
        .collect();
    for absent in ["u2", "u4", "u5", "u6"] {
        assert!(!ids.contains(&absent), "{absent} in {ids:?}");
    }

    // A header row over the row limit: 422 naming it, nothing stored.
    let wide = format!("user_id,{}\nu8\n", "x".repeat(70 * 1024));
    let (status, content_type, body) = import(&app, wide.into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body[0]["errors"][0]["field"], "header", "{body:?}");
    assert_eq!(contact_count(&app).await, 3);
    still_answers(&app).await;
}

async fn conversation_count(app: &TestApp) -> usize {
    let reply = app.get("/api/v1/conversations?limit=100").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"].as_array().unwrap().len()
}

async fn an_oversized_inbound_email_is_a_413_problem_on_the_setting_smtp_shares(backend: Backend) {
    let config = Config {
        inbound_email_limit: 64 * 1024,
        ..Config::default()
    };
    assert_eq!(
        SmtpLimits::from_config(&config).max_message_bytes,
        64 * 1024
    );
    let Some(app) = spawn(backend, config).await else {
        return;
    };
    let ann = app.contact(json!({"email": "ann@x.test"})).await;
    app.message(&ann, "Hello Ann").await;
    let before = (
        conversation_count(&app).await,
        app.timeline(&ann).await.len(),
    );
    let raw = format!(
        "From: ann@x.test\r\nTo: reply+nothing@localhost\r\nSubject: Re: hi\r\n\r\n{}\r\n",
        "x".repeat(100 * 1024)
    );
    let declared = app
        .post_raw("/api/v1/email/inbound", "message/rfc822", raw.clone())
        .await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(declared.content_type, "application/problem+json");
    assert_eq!(
        declared.body["type"],
        "urn:rapport:problem:payload-too-large"
    );

    // Without a length, it is counted as it arrives.
    let streamed = app
        .post_raw(
            "/api/v1/email/inbound",
            "message/rfc822",
            chunked(raw.as_bytes(), 8192),
        )
        .await;
    assert_eq!(streamed.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(streamed.content_type, "application/problem+json");

    assert_eq!(
        (
            conversation_count(&app).await,
            app.timeline(&ann).await.len()
        ),
        before
    );
    still_answers(&app).await;
}

fn short_http_timeouts() -> Config {
    Config {
        http_header_timeout_seconds: 1,
        http_body_timeout_seconds: 1,
        ..Config::default()
    }
}

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes (or `ANSWER` passes); what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let _ = timeout(ANSWER, stream.read_to_end(&mut got))
        .await
        .expect("closed in time");
    String::from_utf8_lossy(&got).into_owned()
}

async fn a_client_stalling_in_its_headers_is_disconnected(backend: Backend) {
    let Some(app) = spawn(backend, short_http_timeouts()).await else {
        return;
    };
    let started = Instant::now();
    let mut stalled = TcpStream::connect(address(&app)).await.unwrap();
    stalled.write_all(b"GET /healthz HT").await.unwrap();
    // Others are served meanwhile.
    still_answers(&app).await;
    let said = read_to_close(&mut stalled).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );
    assert!(!said.contains("200 OK"), "{said:?}");
    // A connection that never sends a byte goes the same way.
    let mut silent = TcpStream::connect(address(&app)).await.unwrap();
    let said = read_to_close(&mut silent).await;
    assert!(!said.contains("200 OK"), "{said:?}");
    still_answers(&app).await;
}

/// Sends a request's head and then its body a byte every `every`; returns
/// what the server answered before it closed.
async fn trickle(app: &TestApp, head: String, body: Vec<u8>, every: Duration) -> String {
    let stream = TcpStream::connect(address(app)).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        for byte in body {
            tokio::time::sleep(every).await;
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
        }
        // Then hold the connection open without a word.
        tokio::time::sleep(ANSWER).await;
    });
    let mut got = Vec::new();
    let _ = timeout(ANSWER, read.read_to_end(&mut got))
        .await
        .expect("answered and closed in time");
    writer.abort();
    String::from_utf8_lossy(&got).into_owned()
}

async fn a_trickled_or_stalled_body_gets_408(backend: Backend) {
    let Some(app) = spawn(backend, short_http_timeouts()).await else {
        return;
    };
    let host = address(&app);
    let token = app.owner.api_token.clone();
    let body = json!({"email": "slow@x.test"}).to_string().into_bytes();
    let head = format!(
        "POST /api/v1/contacts HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    // A byte every 200 ms: never silent for a second, yet never done.
    let started = Instant::now();
    let answer = trickle(&app, head.clone(), body.clone(), Duration::from_millis(200)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("application/problem+json"), "{answer:?}");
    assert!(
        answer.contains("urn:rapport:problem:request-timeout"),
        "{answer:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Headers and then nothing at all.
    let answer = trickle(&app, head, Vec::new(), Duration::ZERO).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");

    // The import may take its time to store rows, but not to be sent:
    // stalled before its header row is complete, it is a 408 too.
    let csv_head = format!(
        "POST /api/v1/contacts/import HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\ncontent-type: text/csv\r\ncontent-length: 100\r\n\r\nuser_id,em"
    );
    let answer = trickle(&app, csv_head, Vec::new(), Duration::ZERO).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");

    assert_eq!(contact_count(&app).await, 0, "nothing was stored");
    still_answers(&app).await;
}

async fn connections_over_the_cap_wait_until_one_ends(backend: Backend) {
    let config = Config {
        max_http_connections: 1,
        ..Config::default()
    };
    let Some(app) = spawn(backend, config).await else {
        return;
    };
    let held = TcpStream::connect(address(&app)).await.unwrap();
    // Give the listener time to take it, so it holds the only place.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::new();
    let url = format!("{}/healthz", app.base);
    let waiting = tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a second connection was served beyond the cap"
    );
    drop(held);
    let status = timeout(ANSWER, waiting)
        .await
        .expect("served once the place is free")
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the messenger's socket, as the client `forwarded_for` names
/// (believed only from a trusted proxy).
async fn open_widget_socket(
    app: &TestApp,
    forwarded_for: &str,
) -> Result<Socket, tungstenite::Error> {
    let url = format!("{}/widget/v1/live", app.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", forwarded_for.parse().unwrap());
    timeout(ANSWER, tokio_tungstenite::connect_async(request))
        .await
        .expect("an answer in time")
        .map(|(socket, _)| socket)
}

fn refused_with(result: Result<Socket, tungstenite::Error>) -> StatusCode {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status(),
        Err(other) => panic!("refused without a status: {other}"),
        Ok(_) => panic!("accepted"),
    }
}

async fn hello(socket: &mut Socket, session: &str) -> Value {
    let hello = json!({"type": "hello", "session": session});
    socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .unwrap();
    loop {
        match timeout(ANSWER, socket.next()).await.expect("a frame") {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(_)) => continue,
            other => panic!("no answer to hello: {other:?}"),
        }
    }
}

async fn a_socket_that_never_says_hello_is_closed(backend: Backend) {
    let config = Config {
        live_hello_timeout_seconds: 1,
        ..Config::default()
    };
    let Some(app) = spawn(backend, config).await else {
        return;
    };
    let started = Instant::now();
    let mut silent = open_widget_socket(&app, "198.51.100.1").await.unwrap();
    let mut code = None;
    while let Some(frame) = timeout(ANSWER, silent.next())
        .await
        .expect("closed in time")
    {
        match frame {
            Ok(Message::Close(Some(close))) => {
                code = Some(u16::from(close.code));
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    let waited = started.elapsed();
    assert_eq!(code, Some(1008));
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
    // One that says hello in time is served.
    let session = boot_session(&app).await;
    let mut talking = open_widget_socket(&app, "198.51.100.1").await.unwrap();
    assert_eq!(hello(&mut talking, &session).await["type"], "ready");
}

async fn unidentified_sockets_are_capped_per_client(backend: Backend) {
    let config = Config {
        max_unauthenticated_sockets_per_ip: 2,
        // The tests' client is a proxy, so each test client can be its own.
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        ..Config::default()
    };
    let Some(app) = spawn(backend, config).await else {
        return;
    };
    let session = boot_session(&app).await;
    let mut first = open_widget_socket(&app, "203.0.113.7").await.unwrap();
    let _second = open_widget_socket(&app, "203.0.113.7").await.unwrap();
    assert_eq!(
        refused_with(open_widget_socket(&app, "203.0.113.7").await),
        StatusCode::TOO_MANY_REQUESTS
    );
    // An IPv6 client is one client across its /64.
    let _v6a = open_widget_socket(&app, "2001:db8:5:6::1").await.unwrap();
    let _v6b = open_widget_socket(&app, "2001:db8:5:6::2").await.unwrap();
    assert_eq!(
        refused_with(open_widget_socket(&app, "2001:db8:5:6:ffff::9").await),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other clients are not held back.
    let mut other = open_widget_socket(&app, "198.51.100.2").await.unwrap();
    assert_eq!(hello(&mut other, &session).await["type"], "ready");
    // A socket that says who it is no longer counts.
    assert_eq!(hello(&mut first, &session).await["type"], "ready");
    let mut third = open_widget_socket(&app, "203.0.113.7").await.unwrap();
    assert_eq!(hello(&mut third, &session).await["type"], "ready");
    still_answers(&app).await;
}
