//! Bulk sends: exactly once across a restart, cancel, admin-only.

use std::sync::Arc;
use std::time::Duration;

use rapport_core::model::conversation::{Author, PartKind};
use rapport_core::model::ids::{BulkSendId, ContactId};
use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
use rapport_core::ports::store::{StoreError, TimelineQuery};
use rapport_core::services::SendError;
use rapport_core::services::messages::{ChatMessage, send_chat_message};
use rapport_server::AppState;
use rapport_server::config::Config;
use rapport_server::live::LocalBus;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{DAY, import};
use crate::helpers::TestApp;

both_backends!(
    a_bulk_send_reaches_each_recipient_once_across_a_restart,
    a_cancelled_bulk_send_stops,
    bulk_sends_can_be_kept_to_admins,
);

/// How many bulk messages each contact got, from their timelines.
pub(crate) async fn bulk_messages_per_contact(app: &TestApp, contacts: &[ContactId]) -> Vec<usize> {
    let mut counts = Vec::new();
    for contact in contacts {
        let entries = app
            .store
            .timeline(TimelineQuery {
                workspace_id: app.owner.workspace_id,
                contact_id: *contact,
                before_seq: None,
                kinds: vec!["bulk_send_received".into()],
                limit: 10,
            })
            .await
            .unwrap();
        counts.push(entries.len());
    }
    counts
}

pub(crate) async fn all_contact_ids(app: &TestApp, filter: Value) -> Vec<ContactId> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({"filter": filter, "limit": 100});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let page = app.post("/api/v1/contacts/search", body).await;
        for c in page.body["data"].as_array().unwrap() {
            ids.push(serde_json::from_value(c["id"].clone()).unwrap());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

async fn a_bulk_send_reaches_each_recipient_once_across_a_restart(backend: Backend) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let Some(app) = TestApp::spawn_with(backend, clock.clone(), Config::default()).await else {
        return;
    };
    let mut csv = String::from("user_id,email,name,plan\n");
    for i in 0..1_010 {
        let plan = if i < 1_000 { "pro" } else { "free" };
        csv.push_str(&format!("u{i},u{i}@example.test,Person {i},{plan}\n"));
    }
    let token = app.owner.api_token.clone();
    let (_, lines) = import(&app, &token, csv).await;
    assert_eq!(lines.last().unwrap()["created"], 1_010);
    let pro = json!({"prop": "plan", "op": "eq", "value": "pro"});
    let created = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"filter": pro}, "body": "Hi {{ user.name }}, see what's new"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["total"], 1_000);
    let id: BulkSendId = serde_json::from_value(created.body["id"].clone()).unwrap();

    // A first worker sends a batch, and the job is released for the next.
    assert_eq!(
        rapport_server::jobs::Runner::new(app.state.clone())
            .bulk_batch(300)
            .run_due()
            .await
            .unwrap()
            .bulk_messages,
        300
    );
    // Then a worker claims it and dies mid-batch (its claim is left held).
    let held = app
        .store
        .claim_jobs(
            &["bulk_send"],
            clock.now(),
            clock.now().plus_millis(5 * 60_000),
            10,
        )
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        rapport_server::jobs::Runner::new(app.state.clone())
            .bulk_batch(300)
            .run_due()
            .await
            .unwrap()
            .bulk_messages,
        0
    );
    // A restarted server on the same database resumes once the claim ends.
    let restarted = AppState::new(
        app.store.clone(),
        LocalBus::default(),
        clock.clone(),
        &app.config(),
    )
    .unwrap();
    clock.advance_millis(5 * 60_000 + 1);
    let mut sent = 300;
    loop {
        let ran = rapport_server::jobs::Runner::new(restarted.clone())
            .bulk_batch(300)
            .run_due()
            .await
            .unwrap()
            .bulk_messages;
        if ran == 0 {
            break;
        }
        sent += ran;
    }
    assert_eq!(sent, 1_000);

    // A recipient already sent is refused by the store, not sent again.
    let recipients = all_contact_ids(&app, pro).await;
    assert_eq!(recipients.len(), 1_000);
    let again = send_chat_message(
        restarted.deps(),
        ChatMessage {
            workspace_id: app.owner.workspace_id,
            from: Author::Agent(app.owner.owner_id),
            contact_id: recipients[0],
            conversation_id: None,
            kind: PartKind::Comment,
            body: "again".into(),
            event: None,
            email_fallback: true,
            bulk_send: Some(id),
            origin: None,
            attachments: Vec::new(),
        },
    )
    .await;
    assert!(
        matches!(again, Err(SendError::Store(StoreError::Conflict(_)))),
        "{again:?}"
    );

    // Every recipient got exactly one, on their timeline; nobody else did.
    let counts = bulk_messages_per_contact(&app, &recipients).await;
    assert!(counts.iter().all(|n| *n == 1), "{counts:?}");
    let others = all_contact_ids(&app, json!({"prop": "plan", "op": "eq", "value": "free"})).await;
    assert_eq!(bulk_messages_per_contact(&app, &others).await, [0; 10]);
    let timeline = app.timeline(&recipients[7].to_string()).await;
    let message = timeline.iter().find(|e| e["kind"] == "message").unwrap();
    assert!(
        message["data"]["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi Person "),
        "{message}"
    );
    // Each message is in the search index, whichever chunk wrote it (on
    // SQLite once the writer has had half a second without messages to
    // write): its contact's name and a word of the rest find only its
    // conversation.
    for &contact in [recipients[0], recipients[499], recipients[999]].iter() {
        let timeline = app.timeline(&contact.to_string()).await;
        let message = timeline.iter().find(|e| e["kind"] == "message").unwrap();
        let body = message["data"]["body"].as_str().unwrap();
        let name = body.trim_start_matches("Hi ").split(',').next().unwrap();
        let search = format!(
            "/api/v1/conversations/search?q={}%20new",
            name.replace(' ', "%20")
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let hits = loop {
            let found = app.get(&search).await;
            let hits: Vec<(String, String)> = found.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|hit| {
                    (
                        hit["id"].as_str().unwrap().to_owned(),
                        hit["match"]["field"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            if !hits.is_empty() || std::time::Instant::now() > deadline {
                break hits;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let conversation = message["conversation_id"].as_str().unwrap();
        assert_eq!(
            hits,
            [(conversation.to_owned(), "message".to_owned())],
            "{body}"
        );
    }
    // Each message follows the email fallback: one job per conversation.
    let emails = app
        .store
        .claim_jobs(
            &["email_fallback"],
            clock.now().plus_millis(60 * 60_000),
            clock.now().plus_millis(120 * 60_000),
            5_000,
        )
        .await
        .unwrap();
    assert_eq!(emails.len(), 1_000);
    let done = app.get(&format!("/api/v1/bulk-sends/{id}")).await;
    assert_eq!(
        (
            done.body["status"].as_str(),
            done.body["sent"].as_u64(),
            done.body["pending"].as_u64()
        ),
        (Some("done"), Some(1_000), Some(0))
    );
    // Who read it and who answered are counted once it is done.
    assert_eq!(
        (done.body["read"].as_u64(), done.body["replied"].as_u64()),
        (Some(0), Some(0))
    );
    let conversation: rapport_core::model::ids::ConversationId =
        serde_json::from_value(message["conversation_id"].clone()).unwrap();
    app.store
        .mark_read(
            app.owner.workspace_id,
            conversation,
            recipients[7],
            clock.now(),
        )
        .await
        .unwrap();
    rapport_core::services::replies::post_contact_message(
        restarted.deps(),
        app.owner.workspace_id,
        recipients[7],
        Some(conversation),
        "Thanks!",
        Vec::new(),
    )
    .await
    .unwrap();
    let counted = app.get(&format!("/api/v1/bulk-sends/{id}")).await;
    assert_eq!(
        (
            counted.body["read"].as_u64(),
            counted.body["replied"].as_u64()
        ),
        (Some(1), Some(1))
    );
    // The searches above asked for `plan` to be indexed: that job runs.
    assert!(app.run_jobs().await.claimed >= 1);
}

async fn a_cancelled_bulk_send_stops(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(app.contact(json!({"user_id": format!("u{i}")})).await);
    }
    let created = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"contact_ids": ids}, "body": "Hello", "email_fallback": false}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        rapport_server::jobs::Runner::new(app.state.clone())
            .bulk_batch(10)
            .run_due()
            .await
            .unwrap()
            .bulk_messages,
        10
    );
    let cancelled = app
        .post(
            &format!("/api/v1/bulk-sends/{}/cancel", created.id()),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(
        rapport_server::jobs::Runner::new(app.state.clone())
            .bulk_batch(10)
            .run_due()
            .await
            .unwrap()
            .bulk_messages,
        0
    );
    let after = app
        .get(&format!("/api/v1/bulk-sends/{}", created.id()))
        .await;
    assert_eq!(
        (after.body["sent"].as_u64(), after.body["pending"].as_u64()),
        (Some(10), Some(20))
    );
    // The job is gone: nothing is claimable any more.
    let jobs = app
        .store
        .claim_jobs(
            &["bulk_send"],
            SystemClock.now().plus_millis(DAY),
            SystemClock.now().plus_millis(2 * DAY),
            10,
        )
        .await
        .unwrap();
    assert!(jobs.is_empty());
    let listed = app.get("/api/v1/bulk-sends").await;
    assert_eq!(listed.body["data"][0]["id"], created.id());
}

async fn bulk_sends_can_be_kept_to_admins(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let contact = app.contact(json!({"user_id": "u"})).await;
    let ada = app
        .post("/api/v1/agents", json!({"email": "ada@acme.test", "name": "Ada", "role": "agent", "password": "long enough"}))
        .await;
    let token = app
        .post(
            "/api/v1/tokens",
            json!({"name": "ada's", "agent_id": ada.id()}),
        )
        .await;
    let ada_token = token.body["secret"].as_str().unwrap().to_owned();
    let send = json!({"audience": {"contact_ids": [contact]}, "body": "Hi"});
    let restrict = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&app.owner.api_token),
            Some(json!({"bulk_sends_admins_only": true})),
        )
        .await;
    assert_eq!(restrict.body["bulk_sends_admins_only"], true);
    let refused = app
        .request(
            Method::POST,
            "/api/v1/bulk-sends",
            Some(&ada_token),
            Some(send.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/bulk-sends").await.body["data"], json!([]));
    let owner = app.post("/api/v1/bulk-sends", send.clone()).await;
    assert_eq!(owner.status, StatusCode::CREATED);
    // Bad input is refused naming the field, and stores nothing.
    for (body, field) in [
        (json!({"audience": {}, "body": "Hi"}), "audience"),
        (
            json!({"audience": {"contact_ids": []}, "body": "Hi"}),
            "audience.contact_ids",
        ),
        (
            json!({"audience": {"filter": {"prop": "x", "op": "is_set"}}, "body": "Hi"}),
            "audience.filter.prop",
        ),
        (
            json!({"audience": {"contact_ids": [contact]}, "body": "{{ oops"}),
            "body",
        ),
        (
            json!({"audience": {"filter": {"or": []}}, "body": "Hi"}),
            "audience",
        ),
    ] {
        let reply = app.post("/api/v1/bulk-sends", body.clone()).await;
        assert_eq!(reply.error_fields(), [field], "{body}");
    }
    assert_eq!(
        app.get("/api/v1/bulk-sends").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The one send that was made goes out to its one recipient.
    assert_eq!(app.run_jobs().await.bulk_messages, 1);
}
