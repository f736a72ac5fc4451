//! The job runner: back-off and its cap, jobs it cannot read, jobs failed
//! for good, and draining when the server stops.

use std::sync::Arc;
use std::time::Duration;

use rapport_core::model::bulk::BulkStatus;
use rapport_core::model::ids::BulkSendId;
use rapport_core::model::job::{Job, RetryPolicy};
use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
use rapport_server::config::Config;
use rapport_server::jobs::{Runner, fail_for_good};
use rapport_server::live::LocalBus;
use rapport_server::{AppState, serve};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::oneshot;

use crate::helpers::TestApp;
use crate::people::{all_contact_ids, bulk_messages_per_contact, import};

both_backends!(
    an_unknown_kind_backs_off_then_fails_for_good_with_its_reason,
    a_garbled_job_is_failed_at_once_not_looped,
    a_bulk_send_whose_job_fails_for_good_is_ended,
    serve_drains_its_runner_and_a_restart_resumes_the_bulk_send,
    a_test_that_leaves_due_jobs_fails_unless_it_says_so,
);

async fn a_test_that_leaves_due_jobs_fails_unless_it_says_so(backend: Backend) {
    for allowed in [false, true] {
        let Some(app) = TestApp::spawn(backend).await else {
            return;
        };
        let contact = app.contact(json!({"user_id": "u"})).await;
        let created = app
            .post(
                "/api/v1/bulk-sends",
                json!({"audience": {"contact_ids": [contact]}, "body": "Hi"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        if allowed {
            app.allow_pending_jobs();
        }
        // The end of a test: the app is dropped.
        let ended = tokio::spawn(async move { drop(app) }).await;
        assert_eq!(ended.is_err(), !allowed, "allowed: {allowed}");
        if let Err(err) = ended {
            assert!(err.is_panic());
        }
    }
}

async fn an_unknown_kind_backs_off_then_fails_for_good_with_its_reason(backend: Backend) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let Some(app) = TestApp::spawn_with(backend, clock.clone(), Config::default()).await else {
        return;
    };
    // Written by a newer version: this one waits for a process that knows
    // the kind, backing off, then gives up.
    let job = app
        .db
        .insert_raw_job(
            app.owner.workspace_id,
            "resume_run",
            json!({"run_id": "r1"}),
            clock.now(),
        )
        .await;
    let policy = RetryPolicy::UNKNOWN_KIND;
    for failures in 1..policy.tries {
        assert_eq!(app.run_jobs().await.claimed, 1, "try {failures}");
        let (count, failed, error) = app.db.job_state(job).await.unwrap();
        assert_eq!((count, failed), (i64::from(failures), false));
        assert!(error.unwrap().contains("unknown job kind \"resume_run\""));
        // Not before its back-off, which doubles.
        clock.advance_millis(policy.delay_millis(failures) - 1);
        assert_eq!(app.run_jobs().await.claimed, 0, "try {failures}");
        clock.advance_millis(1);
    }
    assert_eq!(app.run_jobs().await.claimed, 1);
    let (_, failed, error) = app.db.job_state(job).await.unwrap();
    assert!(failed, "failed for good after {} tries", policy.tries);
    let error = error.unwrap();
    assert!(
        error.contains(&format!("failed {} times", policy.tries))
            && error.contains("unknown job kind"),
        "{error}"
    );
    // Never claimed again.
    clock.advance_millis(30 * 24 * 3_600_000);
    assert_eq!(app.run_jobs().await.claimed, 0);
}

async fn a_garbled_job_is_failed_at_once_not_looped(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let now = SystemClock.now();
    let garbled = app
        .db
        .insert_raw_job(
            app.owner.workspace_id,
            "bulk_send",
            json!({"bulk_send_id": "not an id"}),
            now,
        )
        .await;
    let not_an_object = app
        .db
        .insert_raw_job(app.owner.workspace_id, "email_fallback", json!(7), now)
        .await;
    assert_eq!(app.run_jobs().await.claimed, 2);
    for job in [garbled, not_an_object] {
        let (failures, failed, error) = app.db.job_state(job).await.unwrap();
        assert_eq!((failures, failed), (0, true));
        assert!(error.unwrap().contains("does not fit"));
    }
    assert_eq!(app.run_jobs().await.claimed, 0);
}

async fn a_bulk_send_whose_job_fails_for_good_is_ended(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.contact(json!({"user_id": format!("u{i}")})).await);
    }
    let created = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"contact_ids": ids}, "body": "Hi", "email_fallback": false}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let runner = Runner::new(app.state.clone()).bulk_batch(1);
    assert_eq!(runner.run_due().await.unwrap().bulk_messages, 1);
    // Its job fails for good (a panic, or its tries used up) mid-send.
    let now = SystemClock.now();
    let job = app
        .store
        .claim_jobs(&["bulk_send"], now, now.plus_millis(60_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(matches!(job.job, Ok(Job::BulkSend { .. })));
    fail_for_good(&app.state, &job, "the database went away").await;
    let (_, failed, error) = app.db.job_state(job.id).await.unwrap();
    assert!(failed);
    assert_eq!(error.as_deref(), Some("the database went away"));
    // The send is ended, not left sending: who was not reached is failed.
    let send = app
        .get(&format!("/api/v1/bulk-sends/{}", created.id()))
        .await;
    assert_eq!(
        (
            send.body["status"].as_str(),
            send.body["sent"].as_u64(),
            send.body["failed"].as_u64(),
            send.body["pending"].as_u64()
        ),
        (Some("done"), Some(1), Some(2), Some(0)),
        "{}",
        send.body
    );
    assert_eq!(runner.run_due().await.unwrap().claimed, 0);
}

/// A server on `app`'s database that runs jobs, as `rapport serve` does,
/// and the sender that stops it.
async fn server_running_jobs(
    app: &TestApp,
) -> (
    tokio::task::JoinHandle<std::io::Result<()>>,
    oneshot::Sender<()>,
) {
    let state = AppState::new(
        app.store.clone(),
        LocalBus::default(),
        Arc::new(SystemClock),
        &app.config(),
    )
    .unwrap();
    assert!(state.run_jobs);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    (served, stop)
}

async fn serve_drains_its_runner_and_a_restart_resumes_the_bulk_send(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let people = 4_000;
    let mut csv = String::from("user_id,name\n");
    for i in 0..people {
        csv.push_str(&format!("u{i},Person {i}\n"));
    }
    let token = app.owner.api_token.clone();
    let (status, _) = import(&app, &token, csv).await;
    assert_eq!(status, StatusCode::OK);
    let everyone = json!({"and": []});
    let created = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"filter": everyone}, "body": "Hi {{ user.name }}", "email_fallback": false}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id: BulkSendId = serde_json::from_value(created.body["id"].clone()).unwrap();
    let ws = app.owner.workspace_id;

    // A server starts sending; it is stopped once the first chunk is in.
    let (served, stop) = server_running_jobs(&app).await;
    tokio::time::timeout(Duration::from_secs(60), async {
        while app.store.bulk_send(ws, id).await.unwrap().sent == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the send started");
    stop.send(()).unwrap();
    // `serve` returns only once its runner has drained.
    tokio::time::timeout(Duration::from_secs(60), served)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
    let stopped = app.store.bulk_send(ws, id).await.unwrap();
    assert_eq!(stopped.status, BulkStatus::Sending);
    assert!(
        stopped.sent > 0 && stopped.sent < people,
        "stopped at {} of {people}",
        stopped.sent
    );
    // Its job was put back, due now, not left held by a stopped process.
    let due = app.store.due_jobs(SystemClock.now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].job, Ok(Job::BulkSend { bulk_send_id: id }));

    // A restarted server resumes it at once and finishes it.
    let (served, stop) = server_running_jobs(&app).await;
    tokio::time::timeout(Duration::from_secs(120), async {
        while app.store.bulk_send(ws, id).await.unwrap().status == BulkStatus::Sending {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the send finished");
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
    let done = app.store.bulk_send(ws, id).await.unwrap();
    assert_eq!(
        (done.status, done.sent, done.failed, done.pending),
        (BulkStatus::Done, people, 0, 0)
    );
    // Everyone got it exactly once.
    let recipients = all_contact_ids(&app, everyone).await;
    assert_eq!(recipients.len() as u64, people);
    let counts = bulk_messages_per_contact(&app, &recipients).await;
    assert!(counts.iter().all(|n| *n == 1), "{counts:?}");
}
