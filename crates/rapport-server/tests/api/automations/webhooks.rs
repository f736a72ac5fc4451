//! The webhook step against a real local HTTP receiver: signed, retried
//! until it answers 2xx, delivered with the step's key; refused for a
//! private address unless the server allows them.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use rapport_core::ports::clock::Clock;
use rapport_server::config::Config;
use rapport_server::jobs::webhook_signature;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use serde_json::{Value, json};

use super::{MONDAY_10AM, app_at, app_with, live, runs, settle};

both_backends!(
    a_webhook_is_signed_retried_and_delivered_once_it_answers,
    a_webhook_to_a_private_address_is_refused_by_default,
);

/// What the receiver got, and what it answers next.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    answer: Arc<AtomicU16>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> AxumStatus {
    receiver.got.lock().unwrap().push((headers, body));
    AxumStatus::from_u16(receiver.answer.load(Ordering::SeqCst)).unwrap()
}

/// A receiver on a free local port; its URL.
async fn start_receiver(receiver: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn hooked(url: &str) -> Value {
    json!({
        "trigger": {"type": "event_tracked", "name": "upgraded"},
        "frequency": {"type": "every_time"},
        "flow": {"start": "call", "nodes": [
            {"id": "call", "type": "webhook", "url": url, "secret": "s3cret", "exits": {"next": "tag"}},
            {"id": "tag", "type": "add_tag", "tag": "synced"}
        ]}
    })
}

async fn a_webhook_is_signed_retried_and_delivered_once_it_answers(backend: Backend) {
    let config = Config {
        automation_webhooks_allow_private: true,
        ..Config::default()
    };
    let Some((app, clock)) = app_with(backend, MONDAY_10AM, config).await else {
        return;
    };
    let receiver = Receiver::default();
    receiver.answer.store(503, Ordering::SeqCst);
    let url = start_receiver(receiver.clone()).await;
    let id = live(&app, hooked(&url)).await;
    let contact = app
        .contact(json!({"user_id": "u", "email": "u@example.com"}))
        .await;
    app.post(
        &format!("/api/v1/contacts/{contact}/events"),
        json!({"name": "upgraded", "params": {"plan": "pro"}}),
    )
    .await;
    settle(&app).await;
    // The flow went on at once; the call failed and waits its back-off.
    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["tags"], json!(["synced"]));
    assert_eq!(receiver.got.lock().unwrap().len(), 1);
    receiver.answer.store(200, Ordering::SeqCst);
    clock.advance_millis(9_999);
    settle(&app).await;
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        1,
        "not before its back-off"
    );
    clock.advance_millis(1);
    settle(&app).await;
    clock.advance_millis(3_600_000);
    settle(&app).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "retried once, then delivered: no more calls");
    let (headers, body) = &got[1];
    let run = &runs(&app, &id).await[0];
    assert_eq!(
        headers["rapport-delivery"].to_str().unwrap(),
        format!("{}:1", run["id"].as_str().unwrap())
    );
    assert_eq!(headers["rapport-delivery"], got[0].0["rapport-delivery"]);
    let sent: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(sent["contact"]["id"], contact.as_str());
    assert_eq!(sent["contact"]["email"], "u@example.com");
    assert_eq!(
        sent["event"],
        json!({"name": "upgraded", "params": {"plan": "pro"}})
    );
    // The signature checks out with the shared secret.
    let signature = headers["rapport-signature"].to_str().unwrap();
    let t: i64 = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(signature, webhook_signature("s3cret", t, body));
    assert!((clock.now().as_millis() / 1_000 - t).abs() < 4_000);
}

async fn a_webhook_to_a_private_address_is_refused_by_default(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let receiver = Receiver::default();
    receiver.answer.store(200, Ordering::SeqCst);
    let url = start_receiver(receiver.clone()).await;
    live(&app, hooked(&url)).await;
    let contact = app.contact(json!({"user_id": "u"})).await;
    app.post(
        &format!("/api/v1/contacts/{contact}/events"),
        json!({"name": "upgraded"}),
    )
    .await;
    settle(&app).await;
    assert!(receiver.got.lock().unwrap().is_empty(), "never called");
    // Refused for good at once: no job is left to retry.
    assert!(app.run_jobs().await.claimed == 0);
    let bad = app
        .post(
            "/api/v1/automations",
            json!({"name": "x", "draft": hooked("ftp://example.com/x")}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["flow.nodes[0].url"]);
}
