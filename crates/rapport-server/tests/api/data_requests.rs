//! A contact's data, exported whole and erased whole (GDPR articles 15
//! and 17), and nobody else's touched.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

both_backends!(a_contact_is_exported_whole_then_erased_by_a_job_that_leaves_a_record);

async fn a_contact_is_exported_whole_then_erased_by_a_job_that_leaves_a_record(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app
        .contact(json!({"user_id": "ada", "email": "ada@example.test", "name": "Ada"}))
        .await;
    let bob = app.contact(json!({"user_id": "bob"})).await;
    let sent = app.message(&ada, "Hi {{ user.name }}").await;
    let conversation = sent.body["conversation_id"].as_str().unwrap().to_owned();
    app.message(&bob, "Hello Bob").await;
    let tracked = app
        .post(
            &format!("/api/v1/contacts/{ada}/events"),
            json!({"name": "signed_up"}),
        )
        .await;
    assert!(tracked.status.is_success(), "{}", tracked.body);

    // Everything about Ada, and only Ada.
    let export = app.get(&format!("/api/v1/contacts/{ada}/export")).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    assert_eq!(export.body["contact"]["email"], "ada@example.test");
    assert_eq!(export.body["events"][0]["name"], "signed_up");
    let conversations = export.body["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1, "{}", export.body);
    assert_eq!(
        conversations[0]["conversation"]["id"],
        conversation.as_str()
    );
    assert_eq!(conversations[0]["parts"][0]["body"], "Hi Ada");
    let kinds: Vec<&str> = export.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"message") && kinds.contains(&"event"),
        "{kinds:?}"
    );
    assert!(!export.body.to_string().contains("Hello Bob"));

    // Erased: recorded at once, carried out by a job.
    let ada_path = format!("/api/v1/contacts/{ada}");
    let erase = || app.request(Method::DELETE, &ada_path, Some(&app.owner.api_token), None);
    let asked = erase().await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    assert_eq!(asked.body["done_at"], serde_json::Value::Null);
    let erasure = asked.id();
    let again = erase().await;
    assert_eq!(again.id(), erasure, "one erasure while it waits");
    assert_eq!(
        app.get(&format!("/api/v1/contacts/{ada}")).await.status,
        StatusCode::OK,
        "nothing is deleted before the job runs"
    );
    app.run_jobs().await;

    let record = app.get(&format!("/api/v1/erasures/{erasure}")).await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.body);
    assert!(record.body["done_at"].is_string(), "{}", record.body);
    assert_eq!(record.body["contact_id"], ada.as_str());
    assert_eq!(record.body["removed"]["conversations"], 1);
    assert_eq!(record.body["removed"]["messages"], 1);
    assert!(
        record.body["removed"]["timeline_entries"].as_u64().unwrap() >= 2,
        "{}",
        record.body
    );
    assert!(!record.body.to_string().contains("ada@example.test"));
    for path in [
        format!("/api/v1/contacts/{ada}"),
        format!("/api/v1/contacts/{ada}/export"),
        format!("/api/v1/contacts/{ada}/timeline"),
        format!("/api/v1/conversations/{conversation}"),
    ] {
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    // The email waiting for her conversation went with it; Bob's waits.
    let counts = app
        .store
        .job_counts(rapport_core::Timestamp::from_millis(0))
        .await
        .unwrap();
    let emails = counts.iter().find(|c| c.kind == "email_fallback").unwrap();
    assert_eq!(emails.waiting, 1, "{counts:?}");
    // Nobody can find her by what she was.
    let found = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"prop": "email", "op": "eq", "value": "ada@example.test"}}),
        )
        .await;
    assert_eq!(found.body["count"], 0, "{}", found.body);
    // Bob is untouched; erasing again finds no contact.
    let bobs = app.timeline(&bob).await;
    assert_eq!(bobs[0]["data"]["body"], "Hello Bob");
    assert_eq!(erase().await.status, StatusCode::NOT_FOUND);

    // Another workspace sees neither the record nor the export.
    let other = app.other_workspace().await;
    for path in [
        format!("/api/v1/erasures/{erasure}"),
        format!("/api/v1/contacts/{bob}/export"),
    ] {
        let reply = app
            .request(Method::GET, &path, Some(&other.api_token), None)
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
}
