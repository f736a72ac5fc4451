//! A workspace's retention period: closed conversations untouched for
//! longer are deleted by a daily job; open and recent ones stay.

use std::sync::Arc;

use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

both_backends!(
    closed_conversations_older_than_the_retention_period_are_deleted_daily,
    a_retention_period_is_checked
);

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn closed_conversations_older_than_the_retention_period_are_deleted_daily(backend: Backend) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let Some(app) = TestApp::spawn_with(
        backend,
        clock.clone(),
        rapport_server::config::Config::default(),
    )
    .await
    else {
        return;
    };
    let app = &app;
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let conversation =
        |reply: crate::helpers::Reply| reply.body["conversation_id"].as_str().unwrap().to_owned();
    let old_closed = conversation(app.message(&ada, "Long ago").await);
    let old_open = conversation(app.message(&ada, "Long ago, still open").await);
    let close = |id: String| async move {
        let closed = app
            .post(&format!("/api/v1/conversations/{id}/close"), json!({}))
            .await;
        assert!(closed.status.is_success(), "{}", closed.body);
    };
    close(old_closed.clone()).await;
    clock.advance_millis(40 * DAY_MS);
    let recent_closed = conversation(app.message(&ada, "Last week").await);
    close(recent_closed.clone()).await;

    let set = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&app.owner.api_token),
            Some(json!({"retention_days": 30})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["retention_days"], 30);
    app.run_jobs().await;

    let status =
        |id: String| async move { app.get(&format!("/api/v1/conversations/{id}")).await.status };
    assert_eq!(status(old_closed.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(status(old_open.clone()).await, StatusCode::OK);
    assert_eq!(status(recent_closed.clone()).await, StatusCode::OK);
    let bodies: Vec<String> = app
        .timeline(&ada)
        .await
        .iter()
        .filter_map(|e| e["data"]["body"].as_str().map(str::to_owned))
        .collect();
    assert!(!bodies.contains(&"Long ago".to_owned()), "{bodies:?}");
    assert!(bodies.contains(&"Last week".to_owned()), "{bodies:?}");

    // The job waits a day; a month on, it finds the conversation closed
    // "last week" old enough too.
    let counts = app.store.job_counts(clock.now()).await.unwrap();
    let retention = counts.iter().find(|c| c.kind == "apply_retention").unwrap();
    assert_eq!((retention.waiting, retention.due), (1, 0), "{counts:?}");
    clock.advance_millis(31 * DAY_MS);
    app.run_jobs().await;
    assert_eq!(status(recent_closed).await, StatusCode::NOT_FOUND);
    assert_eq!(status(old_open).await, StatusCode::OK);

    // Turned off: the next run ends the job.
    let off = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&app.owner.api_token),
            Some(json!({"retention_days": 0})),
        )
        .await;
    assert_eq!(off.body["retention_days"], 0, "{}", off.body);
    clock.advance_millis(DAY_MS);
    app.run_jobs().await;
    let counts = app.store.job_counts(clock.now()).await.unwrap();
    assert!(
        counts.iter().all(|c| c.kind != "apply_retention"),
        "{counts:?}"
    );
}

async fn a_retention_period_is_checked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for bad in [json!(-1), json!(3651), json!("a year")] {
        let refused = app
            .request(
                Method::PATCH,
                "/api/v1/workspace",
                Some(&app.owner.api_token),
                Some(json!({"retention_days": bad})),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(refused.error_fields(), ["retention_days"], "{bad}");
    }
    assert_eq!(app.get("/api/v1/workspace").await.body["retention_days"], 0);
}
