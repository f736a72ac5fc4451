//! The server stays up and bounded whatever it is sent (issue 10, points
//! 5 to 8): filters of any size, control characters bound for email
//! headers, password floods and racing setups, oversized bodies and
//! silent sockets. Each test checks the refusal and that nothing changed.

use std::sync::Arc;

use rapport_core::agent::Email;
use rapport_core::clock::{Clock, ManualClock, SystemClock};
use rapport_core::contact::ContactUpsert;
use rapport_core::ids::{ContactId, WorkspaceId};
use rapport_server::config::{Config, Secret};
use rapport_server::email::worker;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::smtp::SmtpSink;

both_backends!(
    a_huge_filter_is_refused_wherever_a_filter_is_taken,
    line_breaks_in_names_are_refused_and_old_ones_still_email,
);

/// `{"or": [n × {"and": []}]}`: no conditions at all, only groups.
fn empty_groups(n: usize) -> Value {
    json!({"or": (0..n).map(|_| json!({"and": []})).collect::<Vec<_>>()})
}

fn names_the_node_limit(body: &Value) -> bool {
    body["errors"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .ends_with("filter")
        && body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&rapport_core::filter::MAX_NODES.to_string()))
}

async fn a_huge_filter_is_refused_wherever_a_filter_is_taken(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ann = app.contact(json!({"email": "ann@x.test"})).await;
    // The probe: 5,000 empty groups once aborted the process.
    let hostile = empty_groups(5_000);

    let search = app
        .post("/api/v1/contacts/search", json!({"filter": hostile}))
        .await;
    assert_eq!(
        search.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        search.body
    );
    assert!(names_the_node_limit(&search.body), "{}", search.body);

    // The same in a query string (a smaller one: URLs are short).
    let listed = app
        .client
        .get(format!("{}/api/v1/contacts", app.base))
        .bearer_auth(&app.owner.api_token)
        .query(&[("filter", empty_groups(200).to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listed: Value = listed.json().await.unwrap();
    assert!(names_the_node_limit(&listed), "{listed}");

    let segment = app
        .post(
            "/api/v1/segments",
            json!({"name": "all", "filter": hostile}),
        )
        .await;
    assert_eq!(
        segment.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        segment.body
    );
    assert!(names_the_node_limit(&segment.body), "{}", segment.body);

    let bulk = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"filter": hostile}, "body": "Hi"}),
        )
        .await;
    assert_eq!(
        bulk.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bulk.body
    );
    assert!(names_the_node_limit(&bulk.body), "{}", bulk.body);

    // Too many bytes is refused as well, naming that limit.
    let long = "x".repeat(rapport_core::filter::MAX_BYTES);
    let wide = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"prop": "name", "op": "eq", "value": long}}),
        )
        .await;
    assert_eq!(
        wide.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wide.body
    );
    assert_eq!(wide.error_fields(), ["filter"]);

    // Nothing was saved, and the server still answers, filters included.
    assert_eq!(app.get("/api/v1/segments").await.body["data"], json!([]));
    assert_eq!(app.get("/api/v1/bulk-sends").await.body["data"], json!([]));
    let found = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"or": [{"and": []}, {"prop": "email", "op": "eq", "value": "ann@x.test"}]}}),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["data"][0]["id"], ann.as_str());
}

async fn line_breaks_in_names_are_refused_and_old_ones_still_email(backend: Backend) {
    let sink = SmtpSink::start();
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let config = Config {
        smtp_url: Some(Secret::from(sink.url())),
        email_from: "support@acme.test".into(),
        ..Config::default()
    };
    let Some(app) = TestApp::spawn_with(backend, clock.clone(), config).await else {
        return;
    };
    let injected = "Ann\nBcc: all@x.test";

    // At input, every header-bound name refuses a line break, naming it.
    let contact = app
        .post(
            "/api/v1/contacts",
            json!({"email": "new@x.test", "name": injected}),
        )
        .await;
    assert_eq!(
        contact.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        contact.body
    );
    assert_eq!(contact.error_fields(), ["name"]);
    let member = app
        .post(
            "/api/v1/agents",
            json!({"email": "bob@acme.test", "name": "Bob\r\nX-Evil: 1", "password": "long enough", "role": "agent"}),
        )
        .await;
    assert_eq!(
        member.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        member.body
    );
    assert_eq!(member.error_fields(), ["name"]);
    let renamed = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&app.owner.api_token),
            Some(json!({"name": "Acme\nBcc: all@x.test"})),
        )
        .await;
    assert_eq!(
        renamed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        renamed.body
    );
    assert_eq!(renamed.error_fields(), ["name"]);
    let event = app
        .post(
            "/api/v1/contacts",
            json!({"email": "ev@x.test", "name": "Eve"}),
        )
        .await;
    let tracked = app
        .post(
            &format!("/api/v1/contacts/{}/events", event.id()),
            json!({"name": "signed\nup"}),
        )
        .await;
    assert_eq!(
        tracked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        tracked.body
    );
    assert_eq!(tracked.error_fields(), ["name"]);
    // Nothing was written: no such contact, member, name or event.
    let search = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"prop": "email", "op": "eq", "value": "new@x.test"}}),
        )
        .await;
    assert_eq!(search.body["count"], 0);
    let team = app.get("/api/v1/agents").await;
    assert_eq!(team.body.as_array().map(Vec::len), Some(1), "{}", team.body);
    assert_eq!(app.get("/api/v1/workspace").await.body["name"], "Acme");
    let events: Vec<Value> = app
        .timeline(&event.id())
        .await
        .into_iter()
        .filter(|e| e["kind"] == "event")
        .collect();
    assert!(events.is_empty(), "{events:?}");

    // A row stored before the rule, written past validation, still emails,
    // with no header of its own; and the worker goes on to the next job.
    let workspace: WorkspaceId = app.owner.workspace_id;
    let old = ContactUpsert {
        workspace_id: workspace,
        user_id: Some("old".into()),
        email: Some(Email::parse("old@x.test").unwrap()),
        name: Some(injected.into()),
        phone: None,
        ops: Vec::new(),
        tags: Vec::new(),
    };
    let (old, _) = app
        .store
        .upsert_contact(old, ContactId::generate(), clock.now())
        .await
        .unwrap();
    assert_eq!(old.name.as_deref(), Some(injected));
    let bob = app
        .contact(json!({"email": "bob@x.test", "name": "Bob"}))
        .await;
    app.message(&old.id.to_string(), "Your reset code is in the app")
        .await;
    app.message(&bob, "Hello Bob").await;
    clock.advance_millis(11 * 60_000);
    assert_eq!(worker::run_due(&app.state).await.unwrap(), 2);
    let emails = sink.emails();
    assert_eq!(emails.len(), 2, "both jobs ran");
    let to_old = emails
        .iter()
        .find(|e| e.envelope_to == ["old@x.test"])
        .expect("the old row's email");
    assert!(to_old.parsed().header_raw("Bcc").is_none());
    let raw = String::from_utf8_lossy(&to_old.raw);
    let (headers, _) = raw.split_once("\r\n\r\n").expect("headers, then a body");
    assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
    assert!(to_old.header("To").contains("old@x.test"));
    assert!(emails.iter().any(|e| e.envelope_to == ["bob@x.test"]));
    // The server still answers.
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}
