//! What an operator sees of a running server: `/metrics` on its own
//! listener, `/readyz` and `/healthz`.

use std::time::Duration;

use rapport_store::both_backends;
use rapport_store::testing::{Backend, TestDatabase};
use serde_json::{Value, json};

use crate::cli::{acme_token, serve_with, terminate};

both_backends!(
    metrics_count_requests_messages_jobs_and_the_pool_on_their_own_listener,
    a_request_id_is_answered_and_carried_into_the_jobs_it_causes,
);

/// The jobs waiting now or later, by kind, with the request that caused them.
async fn jobs_by_request(app: &crate::helpers::TestApp) -> Vec<(String, Option<String>)> {
    let later = rapport_core::Timestamp::from_millis(i64::MAX / 2);
    let mut jobs: Vec<_> = app
        .store
        .due_jobs(later, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|job| (job.kind, job.request_id))
        .collect();
    jobs.sort();
    jobs
}

async fn a_request_id_is_answered_and_carried_into_the_jobs_it_causes(backend: Backend) {
    let Some(app) = crate::helpers::TestApp::spawn(backend).await else {
        return;
    };
    app.allow_pending_jobs();
    let ada = app
        .contact(json!({"user_id": "ada", "email": "ada@example.test"}))
        .await;
    let send = |id: Option<&str>, body: &str| {
        let mut request = app
            .client
            .post(format!("{}/api/v1/messages", app.base))
            .bearer_auth(&app.owner.api_token)
            .json(&json!({"contact_id": ada, "body": body}));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    // A load balancer's id is kept, answered, and stored with the email
    // job the message scheduled (written by the store's writer).
    let answer = send(Some("lb-7f3a.1"), "Hello").await.unwrap();
    assert!(answer.status().is_success());
    assert_eq!(answer.headers()["x-request-id"], "lb-7f3a.1");
    assert_eq!(
        jobs_by_request(&app).await,
        [("email_fallback".to_owned(), Some("lb-7f3a.1".to_owned()))]
    );
    // One that could forge a log line is replaced by a fresh id.
    let forged = send(Some(&"x".repeat(65)), "Again").await.unwrap();
    let fresh = forged.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(fresh.len(), 36, "a UUID: {fresh}");
    assert!(
        jobs_by_request(&app)
            .await
            .contains(&("email_fallback".to_owned(), Some(fresh)))
    );
    // A job the store enqueues itself (an erasure's) carries its request.
    let erased = app
        .client
        .delete(format!("{}/api/v1/contacts/{ada}", app.base))
        .bearer_auth(&app.owner.api_token)
        .header("x-request-id", "erase-1")
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), reqwest::StatusCode::ACCEPTED);
    let jobs = jobs_by_request(&app).await;
    assert!(
        jobs.contains(&("erase_contact".to_owned(), Some("erase-1".to_owned()))),
        "{jobs:?}"
    );
}

/// The value of the series `name{labels}` in a Prometheus text page (the
/// labels as printed, in order), if present.
fn series(page: &str, name_and_labels: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

async fn scrape(client: &reqwest::Client, url: &str) -> String {
    let reply = client.get(url).send().await.unwrap();
    assert_eq!(reply.status(), reqwest::StatusCode::OK);
    reply.text().await.unwrap()
}

async fn metrics_count_requests_messages_jobs_and_the_pool_on_their_own_listener(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let token = acme_token(&db.database);
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    let (server, base) = serve_with(
        &db.database,
        &[(
            "RAPPORT_METRICS_LISTEN",
            format!("127.0.0.1:{metrics_port}"),
        )],
        std::process::Stdio::null(),
    )
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // Ready: the database answers and the job runner runs.
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["database"], "ok", "{ready}");
    assert_eq!(ready["jobs"], "running", "{ready}");

    // Two messages to a new contact: two 201s, two messages from the team,
    // and an email job waiting.
    let contact: Value = client
        .post(format!("{base}/api/v1/contacts"))
        .bearer_auth(&token)
        .json(&json!({"user_id": "ada", "email": "ada@example.test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut conversation = Value::Null;
    for body in ["Hello", "Still there?"] {
        let sent = client
            .post(format!("{base}/api/v1/messages"))
            .bearer_auth(&token)
            .json(&json!({"contact_id": contact["id"], "conversation_id": conversation, "body": body}))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), reqwest::StatusCode::CREATED);
        conversation = sent.json::<Value>().await.unwrap()["conversation_id"].clone();
    }
    let page = scrape(&client, &metrics).await;
    assert_eq!(
        series(
            &page,
            r#"rapport_http_requests_total{method="POST",route="/api/v1/messages",status="201"}"#
        ),
        Some(2.0),
        "{page}"
    );
    assert_eq!(
        series(&page, r#"rapport_messages_total{source="team"}"#),
        Some(2.0),
        "{page}"
    );
    assert_eq!(
        series(
            &page,
            r#"rapport_jobs{kind="email_fallback",state="waiting"}"#
        ),
        Some(1.0),
        "one email job per conversation: {page}"
    );
    assert_eq!(
        series(&page, r#"rapport_jobs{kind="bulk_send",state="due"}"#),
        Some(0.0),
        "{page}"
    );
    assert!(
        series(&page, r#"rapport_db_pool_connections{state="max"}"#).unwrap() >= 1.0,
        "{page}"
    );
    assert!(
        page.contains("rapport_http_request_duration_seconds_bucket{"),
        "{page}"
    );
    if backend == Backend::Sqlite {
        assert!(
            series(&page, "rapport_sqlite_commit_seconds_count").unwrap() >= 2.0,
            "{page}"
        );
    }
    // A route is counted by its template, never by the ids in its path.
    client
        .get(format!(
            "{base}/api/v1/contacts/{}",
            contact["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let page = scrape(&client, &metrics).await;
    assert!(page.contains(r#"route="/api/v1/contacts/{id}""#), "{page}");
    assert!(!page.contains(contact["id"].as_str().unwrap()), "{page}");

    // Not on the public listener.
    let public = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(terminate(server).success());
}
