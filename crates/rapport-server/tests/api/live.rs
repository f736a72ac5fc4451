//! Live delivery over a real WebSocket: replay, live entries, reconnects.

use std::collections::HashSet;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rapport_core::ports::store::Stream;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

both_backends!(
    entries_arrive_live_and_replay_after_a_position,
    a_client_dropped_mid_burst_gets_every_missed_entry_once_on_reconnect,
    a_socket_needs_a_valid_token_and_sees_only_its_workspace,
);

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/api/v1/live`, says hello, and returns the socket and the
/// position the server says it starts after.
pub(crate) async fn open(app: &TestApp, token: &str, after: Option<i64>) -> (Socket, i64) {
    let url = format!("{}/api/v1/live", app.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = json!({"type": "hello", "token": token, "after": after});
    socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .unwrap();
    let ready = next(&mut socket).await.expect("a ready frame");
    assert_eq!(ready["type"], "ready", "{ready}");
    let seq = ready["seq"].as_i64().unwrap();
    (socket, seq)
}

/// The next JSON frame that is not a passing signal, or `None` when the
/// socket closes or stays quiet for five seconds.
async fn next(socket: &mut Socket) -> Option<Value> {
    next_within(socket, Duration::from_secs(5)).await
}

/// The next JSON frame that is not a passing signal (presence, typing),
/// or `None` when the socket closes or `wait` passes first.
pub(crate) async fn next_within(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
        {
            Ok(Message::Text(text)) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                // Passing signals are not what these tests follow.
                if !matches!(
                    frame["type"].as_str(),
                    Some("presence" | "agent_presence" | "typing")
                ) {
                    return Some(frame);
                }
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            _ => return None,
        }
    }
}

async fn entries_arrive_live_and_replay_after_a_position(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada", "name": "Ada"})).await;
    let (mut socket, start) = open(&app, &app.owner.api_token, None).await;
    let sent = app.message(&ada, "Hello {{ user.name }}").await;
    let note = app
        .post(
            &format!(
                "/api/v1/conversations/{}/reply",
                sent.body["conversation_id"].as_str().unwrap()
            ),
            json!({"body": "VIP", "type": "note"}),
        )
        .await;
    assert_eq!(note.status, reqwest::StatusCode::CREATED);
    let mut kinds = Vec::new();
    let mut seqs = Vec::new();
    while kinds.len() < 3 {
        let frame = next(&mut socket).await.expect("live entries");
        assert_eq!(frame["type"], "activity");
        kinds.push(frame["kind"].as_str().unwrap().to_owned());
        seqs.push(frame["seq"].as_i64().unwrap());
        if frame["kind"] == "message" && kinds.len() == 2 {
            assert_eq!(frame["data"]["body"], "Hello Ada");
        }
    }
    assert_eq!(
        kinds,
        ["conversation_started", "message", "message"],
        "the team's stream includes notes"
    );
    assert!(seqs[0] > start && seqs.windows(2).all(|w| w[0] < w[1]));
    // A new socket asking from `start` gets the same entries, replayed.
    let (mut again, _) = open(&app, &app.owner.api_token, Some(start)).await;
    let mut replayed = Vec::new();
    while replayed.len() < 3 {
        replayed.push(
            next(&mut again).await.expect("replayed entries")["seq"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(replayed, seqs);
}

async fn a_client_dropped_mid_burst_gets_every_missed_entry_once_on_reconnect(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let (mut socket, start) = open(&app, &app.owner.api_token, None).await;
    const BURST: usize = 60;
    let burst = {
        let client = app.client.clone();
        let url = format!("{}/api/v1/messages", app.base);
        let token = app.owner.api_token.clone();
        let ada = ada.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..BURST {
                let reply = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"contact_id": ada, "body": format!("m{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(reply.status(), reqwest::StatusCode::CREATED);
                ids.push(
                    reply.json::<Value>().await.unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            ids
        })
    };
    // Read part of the burst, then drop the connection without a goodbye.
    let mut seen: Vec<Value> = Vec::new();
    while seen.iter().filter(|f| f["kind"] == "message").count() < 15 {
        seen.push(next(&mut socket).await.expect("entries before the drop"));
    }
    drop(socket);
    let last = seen.last().unwrap()["seq"].as_i64().unwrap();
    let (mut socket, resumed) = open(&app, &app.owner.api_token, Some(last)).await;
    assert_eq!(resumed, last);
    let sent: HashSet<String> = burst.await.unwrap().into_iter().collect();
    while seen.iter().filter(|f| f["kind"] == "message").count() < BURST {
        seen.push(
            next(&mut socket)
                .await
                .expect("every entry after reconnecting"),
        );
    }
    // No duplicates and nothing out of order...
    let seqs: Vec<i64> = seen.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // ...and no gaps: exactly the log, entry for entry, and every message.
    let workspace = app.owner.workspace_id;
    let log = app
        .store
        .activity_after(workspace, Stream::Workspace, start, 1000)
        .await
        .unwrap();
    assert_eq!(seqs, log.iter().map(|e| e.seq).collect::<Vec<_>>());
    let received: HashSet<String> = seen
        .iter()
        .filter(|f| f["kind"] == "message")
        .map(|f| f["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(received, sent);
}

async fn a_socket_needs_a_valid_token_and_sees_only_its_workspace(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let url = format!("{}/api/v1/live", app.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    socket
        .send(Message::Text(
            json!({"type": "hello", "token": "rpt_forged"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let refused = next(&mut socket).await.unwrap();
    assert_eq!(refused["type"], "error");
    assert!(
        next(&mut socket).await.is_none(),
        "the socket is closed after the error"
    );
    // Another workspace's socket hears nothing of ours.
    let other = app.other_workspace().await;
    let (mut theirs, _) = open(&app, &other.api_token, None).await;
    let ada = app.contact(json!({"user_id": "ada"})).await;
    app.message(&ada, "for acme only").await;
    let eve = app
        .request(
            reqwest::Method::POST,
            "/api/v1/contacts",
            Some(&other.api_token),
            Some(json!({"user_id": "eve"})),
        )
        .await
        .id();
    let first = next(&mut theirs).await.expect("their own entry");
    assert_eq!(first["kind"], "contact_created");
    assert_eq!(first["contact_id"], eve.as_str());
}
