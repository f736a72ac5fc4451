//! Webhook endpoints against a real local HTTP receiver: events posted
//! signed, each once, only what happened after the endpoint was made and
//! only the types it subscribes to; a failing endpoint retried with
//! back-off, disabled after a day with an email to the admins; the
//! delivery log; admins only, per workspace, private addresses refused.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use rapport_core::ports::clock::Clock;
use rapport_server::config::{Config, Secret};
use rapport_server::jobs::webhook_signature;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::automations::{MONDAY_10AM, app_with};
use crate::helpers::TestApp;
use crate::smtp::SmtpSink;

both_backends!(
    events_reach_a_real_receiver_signed_and_each_once,
    a_failing_endpoint_is_retried_then_disabled_and_its_admins_emailed,
    webhooks_are_for_admins_of_their_own_workspace_and_public_addresses,
);

/// What the receiver got, and what it answers next.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    answer: Arc<AtomicU16>,
}

impl Receiver {
    /// The bodies received, in the order of their events (deliveries run
    /// side by side, so they may arrive in another).
    fn bodies(&self) -> Vec<Value> {
        let got = self.got.lock().unwrap();
        let mut bodies: Vec<Value> = got
            .iter()
            .map(|(_, body)| serde_json::from_slice(body).unwrap())
            .collect();
        let seq = |b: &Value| {
            b["id"]
                .as_str()
                .and_then(|id| id.strip_prefix("seq-"))
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(i64::MAX)
        };
        bodies.sort_by_key(seq);
        bodies
    }

    fn types(&self) -> Vec<String> {
        self.bodies()
            .iter()
            .map(|b| b["type"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (AxumStatus, &'static str) {
    receiver.got.lock().unwrap().push((headers, body));
    let status = AxumStatus::from_u16(receiver.answer.load(Ordering::SeqCst)).unwrap();
    (status, "thanks from the receiver")
}

/// A receiver on a free local port answering `status`; its URL.
async fn start_receiver(status: u16) -> (Receiver, String) {
    let receiver = Receiver::default();
    receiver.answer.store(status, Ordering::SeqCst);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, url)
}

/// Runs the jobs until nothing more is due.
async fn settle(app: &TestApp) {
    for _ in 0..50 {
        let round = app.run_jobs().await;
        if round.claimed == 0 && round.runs_started == 0 && round.webhooks_queued == 0 {
            return;
        }
    }
    panic!("jobs kept coming for 50 rounds");
}

fn private_allowed() -> Config {
    Config {
        automation_webhooks_allow_private: true,
        ..Config::default()
    }
}

async fn events_reach_a_real_receiver_signed_and_each_once(backend: Backend) {
    let Some((app, clock)) = app_with(backend, MONDAY_10AM, private_allowed()).await else {
        return;
    };
    let (receiver, url) = start_receiver(200).await;
    // Before the endpoint: never sent.
    app.contact(json!({"user_id": "early"})).await;
    let created = app
        .post(
            "/api/v1/webhooks",
            json!({"url": url, "description": "CRM sync",
                   "events": ["contact.created", "message.created", "conversation.closed"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created.body["enabled"], true);

    let ada = app.contact(json!({"user_id": "ada", "name": "Ada"})).await;
    let sent = app.message(&ada, "Hello {{ user.name }}").await;
    let conversation = sent.body["conversation_id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/conversations/{conversation}/close"),
        json!({}),
    )
    .await;
    // Not subscribed to.
    app.post(
        &format!("/api/v1/contacts/{ada}/events"),
        json!({"name": "upgraded"}),
    )
    .await;
    settle(&app).await;
    settle(&app).await;

    assert_eq!(
        receiver.types(),
        ["contact.created", "message.created", "conversation.closed"],
        "each subscribed event once"
    );
    let bodies = receiver.bodies();
    assert_eq!(bodies[0]["data"]["contact_id"], ada.as_str());
    assert_eq!(bodies[1]["data"]["message"]["body"], "Hello Ada");
    assert_eq!(bodies[1]["data"]["conversation_id"], conversation.as_str());
    assert_eq!(bodies[2]["data"]["status"], "closed");
    assert_eq!(
        bodies[0]["workspace_id"],
        app.owner.workspace_id.to_string()
    );
    assert!(bodies[0]["id"].as_str().unwrap().starts_with("seq-"));

    // Signed with the endpoint's secret over the exact body.
    let got = receiver.got.lock().unwrap().clone();
    for (headers, body) in &got {
        let signature = headers["rapport-signature"].to_str().unwrap();
        let t: i64 = signature
            .strip_prefix("t=")
            .and_then(|rest| rest.split(',').next())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(signature, webhook_signature(&secret, t, body));
        assert_eq!(t, clock.now().as_millis() / 1_000);
        assert_ne!(
            signature,
            webhook_signature(&secret, t, b"{\"forged\":true}"),
            "another body does not check out"
        );
    }
    let message_call = got
        .iter()
        .find(|(_, body)| String::from_utf8_lossy(body).contains("Hello Ada"))
        .unwrap();
    assert_eq!(message_call.0["rapport-event"], "message.created");

    // The log: delivered, with the answer.
    let log = app.get(&format!("/api/v1/webhooks/{id}/deliveries")).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let deliveries = log.body["data"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3);
    assert_eq!(
        deliveries[0]["event_type"], "conversation.closed",
        "newest first"
    );
    for delivery in deliveries {
        assert_eq!(delivery["status"], "delivered");
        assert_eq!(delivery["response_status"], 200);
        assert_eq!(delivery["response_body"], "thanks from the receiver");
        assert_eq!(delivery["attempts"], 1);
        assert!(delivery["latency_ms"].is_u64());
    }
    let closed_call = got
        .iter()
        .find(|(headers, _)| headers["rapport-event"] == "conversation.closed")
        .unwrap();
    assert_eq!(
        closed_call.0["rapport-delivery"],
        deliveries[0]["id"].as_str().unwrap()
    );

    // "Send test event": queued at once, delivered by the runner.
    let test = app
        .post(&format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{}", test.body);
    assert_eq!(test.body["status"], "pending");
    settle(&app).await;
    assert_eq!(receiver.types().last().unwrap(), "webhook.test");

    // Disabled: nothing more is sent; deleted: gone with its log.
    let off = app
        .request(
            Method::PUT,
            &format!("/api/v1/webhooks/{id}"),
            Some(&app.owner.api_token),
            Some(json!({"url": url, "events": ["message.created"], "enabled": false})),
        )
        .await;
    assert_eq!(off.body["enabled"], false, "{}", off.body);
    app.message(&ada, "Not posted").await;
    settle(&app).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 4);
    let gone = app
        .request(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&app.owner.api_token),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/webhooks/{id}/deliveries"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn a_failing_endpoint_is_retried_then_disabled_and_its_admins_emailed(backend: Backend) {
    let sink = SmtpSink::start();
    let config = Config {
        smtp_url: Some(Secret::from(sink.url())),
        ..private_allowed()
    };
    let Some((app, clock)) = app_with(backend, MONDAY_10AM, config).await else {
        return;
    };
    let (receiver, url) = start_receiver(503).await;
    let id = app
        .post(
            "/api/v1/webhooks",
            json!({"url": url, "events": ["contact.created"]}),
        )
        .await
        .id();
    app.contact(json!({"user_id": "u1"})).await;
    settle(&app).await;
    let log = app.get(&format!("/api/v1/webhooks/{id}/deliveries")).await;
    let first = &log.body["data"][0];
    assert_eq!(first["status"], "pending", "{}", log.body);
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["response_status"], 503);
    assert!(first["error"].as_str().unwrap().contains("503"));
    assert!(first["next_attempt_at"].is_string());
    let endpoint = app.get(&format!("/api/v1/webhooks/{id}")).await;
    assert!(
        endpoint.body["failing_since"].is_string(),
        "{}",
        endpoint.body
    );

    // Not before its back-off (10 s), then again.
    clock.advance_millis(9_000);
    settle(&app).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 1);
    clock.advance_millis(1_000);
    settle(&app).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 2);

    // A day of failures, an hour at a time: disabled, admins told.
    for hour in 0..30 {
        clock.advance_millis(3_600_000);
        if hour % 6 == 0 {
            app.contact(json!({"user_id": format!("h{hour}")})).await;
        }
        settle(&app).await;
        let now = app.get(&format!("/api/v1/webhooks/{id}")).await;
        if now.body["enabled"] == false {
            break;
        }
    }
    let endpoint = app.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(endpoint.body["enabled"], false, "{}", endpoint.body);
    assert!(
        endpoint.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("a day"),
        "{}",
        endpoint.body
    );
    let emails = sink.emails();
    assert_eq!(emails.len(), 1, "the owner, once");
    assert_eq!(
        emails[0].header("Subject"),
        "A webhook endpoint was disabled"
    );
    assert!(emails[0].text().contains(&url), "{}", emails[0].text());
    assert!(emails[0].header("To").contains("owner@acme.test"));

    // Nothing is queued for it now; enabled again, it starts afresh.
    let calls = receiver.got.lock().unwrap().len();
    app.contact(json!({"user_id": "while-off"})).await;
    settle(&app).await;
    clock.advance_millis(3_600_000);
    settle(&app).await;
    assert_eq!(receiver.got.lock().unwrap().len(), calls);
    receiver.answer.store(204, Ordering::SeqCst);
    let on = app
        .request(
            Method::PUT,
            &format!("/api/v1/webhooks/{id}"),
            Some(&app.owner.api_token),
            Some(json!({"url": url, "events": ["contact.created"], "enabled": true})),
        )
        .await;
    assert_eq!(on.body["enabled"], true, "{}", on.body);
    assert_eq!(on.body["disabled_reason"], Value::Null);
    assert_eq!(on.body["failing_since"], Value::Null);
    let fresh = app.contact(json!({"user_id": "after"})).await;
    settle(&app).await;
    let last = receiver.bodies().last().unwrap().clone();
    assert_eq!(last["data"]["contact_id"], fresh.as_str());
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        calls + 1,
        "not the one made while off"
    );
}

async fn webhooks_are_for_admins_of_their_own_workspace_and_public_addresses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (receiver, url) = start_receiver(200).await;
    // Without the server allowing private receivers: https only.
    let http = app
        .post(
            "/api/v1/webhooks",
            json!({"url": url, "events": ["contact.created"]}),
        )
        .await;
    assert_eq!(http.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(http.error_fields(), ["url"]);
    let bad = app
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://x y", "description": "a\nb", "events": ["nope"]}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["url", "description", "events"]);
    assert_eq!(
        app.get("/api/v1/webhooks").await.body["data"],
        json!([]),
        "nothing was made"
    );

    // An https URL leading to a loopback address: refused when called.
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let inward = format!("https://localhost:{port}/events");
    let created = app
        .post(
            "/api/v1/webhooks",
            json!({"url": inward, "events": ["contact.created"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    app.contact(json!({"user_id": "u"})).await;
    settle(&app).await;
    assert!(receiver.got.lock().unwrap().is_empty(), "never called");
    let log = app.get(&format!("/api/v1/webhooks/{id}/deliveries")).await;
    assert_eq!(log.body["data"][0]["status"], "failed", "{}", log.body);
    assert!(
        log.body["data"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{}",
        log.body
    );

    // Another workspace sees none of it.
    let other = app.other_workspace().await;
    let path = format!("/api/v1/webhooks/{id}");
    for (method, path) in [
        (Method::GET, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::POST, format!("{path}/test")),
        (Method::GET, format!("{path}/deliveries")),
    ] {
        let answer = app
            .request(method.clone(), &path, Some(&other.api_token), None)
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let theirs = app
        .request(
            Method::GET,
            "/api/v1/webhooks",
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(theirs.body["data"], json!([]));

    // An agent may not see or change them (their secrets sign events).
    let token = app.agent_token("ada@acme.test").await;
    for (method, path) in [
        (Method::GET, "/api/v1/webhooks".to_owned()),
        (Method::GET, path.clone()),
        (Method::POST, format!("{path}/test")),
    ] {
        let answer = app.request(method.clone(), &path, Some(&token), None).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
}
