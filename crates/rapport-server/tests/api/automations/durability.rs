//! Crashes: a run whose job was claimed by a process that died (during a
//! wait, right after a send, and between a committed send and the next
//! node), two processes taking the same run's step at once, and publishing
//! with runs waiting on an older version.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use rapport_core::Timestamp;
use rapport_core::model::ids::{RunId, WorkspaceId};
use rapport_core::ports::bus::Bus;
use rapport_core::ports::clock::Clock;
use rapport_core::services::Deps;
use rapport_core::services::automations::Env;
use rapport_core::services::automations::runs::take_turn;
use rapport_server::jobs::with_automation_env;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;

use super::{MONDAY_10AM, app_at, live, messages, run_log, runs, settle};
use crate::helpers::TestApp;

both_backends!(
    a_run_held_by_a_dead_process_goes_on_without_sending_twice,
    a_process_dying_between_a_committed_send_and_the_next_node_loses_and_doubles_nothing,
    two_processes_taking_the_same_step_send_once,
    publishing_lets_runs_finish_moves_them_or_stops_them,
);

const MINUTE: i64 = 60_000;

fn two_messages() -> serde_json::Value {
    json!({
        "trigger": {"type": "manual"},
        "frequency": {"type": "every_time"},
        "flow": {"start": "first", "nodes": [
            {"id": "first", "type": "send_message", "from": "bot", "body": "First", "exits": {"next": "wait"}},
            {"id": "wait", "type": "wait", "seconds": 3600, "exits": {"next": "second"}},
            {"id": "second", "type": "send_message", "from": "bot", "body": "Second"}
        ]}
    })
}

async fn start(app: &TestApp, automation: &str, contact: &str) -> RunId {
    let started = app
        .post(
            &format!("/api/v1/automations/{automation}/runs"),
            json!({"contact_id": contact}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    started.id().parse().unwrap()
}

/// Claims every due automation job as a process would, then "dies":
/// nothing is settled and the claims stay until they run out.
async fn claim_and_die(app: &TestApp, now: Timestamp) -> usize {
    app.store
        .claim_jobs(
            &["automation_run"],
            now,
            Timestamp::from_millis(now.as_millis() + 5 * MINUTE),
            100,
        )
        .await
        .unwrap()
        .len()
}

async fn a_run_held_by_a_dead_process_goes_on_without_sending_twice(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(&app, two_messages()).await;
    let contact = app.contact(json!({"user_id": "u"})).await;
    let run = start(&app, &id, &contact).await;

    // A process claims the run's job and dies before doing anything.
    assert_eq!(claim_and_die(&app, clock.now()).await, 1);
    settle(&app).await;
    assert!(
        messages(&app, &contact).await.is_empty(),
        "held by the dead one"
    );
    // Its claim runs out; another process takes the run from its start.
    clock.advance_millis(5 * MINUTE + 1);
    settle(&app).await;
    assert_eq!(messages(&app, &contact).await.len(), 1);

    // The wait comes due; a process claims the job, sends "Second" (the
    // step is written) and dies before it can settle the job.
    clock.advance_millis(60 * MINUTE);
    assert_eq!(claim_and_die(&app, clock.now()).await, 1);
    let turn = with_automation_env(&app.state, async |env| {
        take_turn(env, app.owner.workspace_id, run).await
    })
    .await
    .unwrap();
    assert_eq!(turn, rapport_core::services::automations::runs::Turn::Ended);
    assert_eq!(messages(&app, &contact).await.len(), 2);
    // The job is claimed again once its claim runs out: it finds the run
    // done and sends nothing more.
    clock.advance_millis(5 * MINUTE + 1);
    settle(&app).await;
    let said = messages(&app, &contact).await;
    assert_eq!(
        said.iter().map(|(_, b)| b.as_str()).collect::<Vec<_>>(),
        ["First", "Second"]
    );
    assert_eq!(runs(&app, &id).await[0]["status"], "done");
}

/// The bus a step's write announces itself on, in a process that dies as
/// soon as the write has committed: nothing after the commit runs.
struct DiesAfterCommit;

impl Bus for DiesAfterCommit {
    fn publish(&self, _workspace: WorkspaceId, _seq: i64) {
        panic!("the process dies right after a step was committed");
    }
}

async fn a_process_dying_between_a_committed_send_and_the_next_node_loses_and_doubles_nothing(
    backend: Backend,
) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "manual"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "a", "nodes": [
                {"id": "a", "type": "send_message", "from": "bot", "body": "A", "exits": {"next": "b"}},
                {"id": "b", "type": "send_message", "from": "bot", "body": "B", "exits": {"next": "c"}},
                {"id": "c", "type": "send_message", "from": "bot", "body": "C"}
            ]}
        }),
    )
    .await;
    let contact = app.contact(json!({"user_id": "u"})).await;
    let run = start(&app, &id, &contact).await;
    let bodies = || async {
        messages(&app, &contact)
            .await
            .into_iter()
            .map(|(_, body)| body)
            .collect::<Vec<_>>()
    };

    // A process claims the run's job, commits A's step, and dies before
    // it can plan B (or settle the job).
    assert_eq!(claim_and_die(&app, clock.now()).await, 1);
    let ws = app.owner.workspace_id;
    let died = with_automation_env(&app.state, async |env| {
        let dying = DiesAfterCommit;
        let env = Env {
            deps: Deps {
                bus: &dying,
                ..env.deps
            },
            ..env
        };
        AssertUnwindSafe(take_turn(env, ws, run))
            .catch_unwind()
            .await
    })
    .await;
    assert!(died.is_err(), "the process died: {died:?}");
    assert_eq!(bodies().await, ["A"]);
    let waiting = &runs(&app, &id).await[0];
    assert_eq!(
        (&waiting["status"], &waiting["node"]),
        (&json!("active"), &json!("b")),
        "A's step and the run's move to B are one write: {waiting}"
    );
    // Its claim holds the job...
    settle(&app).await;
    assert_eq!(bodies().await, ["A"]);
    // ...until it runs out: another process goes on from B.
    clock.advance_millis(5 * MINUTE + 1);
    settle(&app).await;
    assert_eq!(bodies().await, ["A", "B", "C"]);
    let done = &runs(&app, &id).await[0];
    assert_eq!(done["status"], "done", "{done}");
    let log = run_log(&app, &id, done["id"].as_str().unwrap()).await;
    assert_eq!(
        log,
        [
            ("a".to_owned(), json!("start")),
            ("a".to_owned(), json!("next")),
            ("b".to_owned(), json!("next")),
            ("c".to_owned(), json!("next"))
        ],
        "each node once"
    );
    // Later rounds send nothing more.
    clock.advance_millis(60 * MINUTE);
    settle(&app).await;
    assert_eq!(bodies().await, ["A", "B", "C"]);
}

async fn two_processes_taking_the_same_step_send_once(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(&app, two_messages()).await;
    for n in 0..5 {
        let contact = app.contact(json!({"user_id": format!("u{n}")})).await;
        let run = start(&app, &id, &contact).await;
        let ws = app.owner.workspace_id;
        let (a, b) = tokio::join!(
            with_automation_env(&app.state, async |env| take_turn(env, ws, run).await),
            with_automation_env(&app.state, async |env| take_turn(env, ws, run).await),
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(messages(&app, &contact).await.len(), 1, "run {n}");
    }
    // Their jobs are still due at once: they find the runs waiting.
    settle(&app).await;
    app.allow_pending_jobs();
}

async fn publishing_lets_runs_finish_moves_them_or_stops_them(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(&app, two_messages()).await;
    let first = app.contact(json!({"user_id": "first"})).await;
    start(&app, &id, &first).await;
    settle(&app).await;
    // Version 2 says something else after the wait; the waiting run
    // finishes on version 1 (the default).
    let mut v2 = two_messages();
    v2["flow"]["nodes"][2]["body"] = json!("Second, v2");
    let put = |draft: serde_json::Value| {
        let app = &app;
        let id = &id;
        async move {
            app.request(
                reqwest::Method::PUT,
                &format!("/api/v1/automations/{id}"),
                Some(&app.owner.api_token),
                Some(json!({"name": "Two", "draft": draft})),
            )
            .await
        }
    };
    put(v2.clone()).await;
    app.post(&format!("/api/v1/automations/{id}/publish"), json!({}))
        .await;
    let second = app.contact(json!({"user_id": "second"})).await;
    start(&app, &id, &second).await;
    settle(&app).await;
    clock.advance_millis(61 * MINUTE);
    settle(&app).await;
    assert_eq!(messages(&app, &first).await[1].1, "Second");
    assert_eq!(messages(&app, &second).await[1].1, "Second, v2");

    // Moving runs is refused while one waits at a node the draft lacks.
    let third = app.contact(json!({"user_id": "third"})).await;
    start(&app, &id, &third).await;
    settle(&app).await;
    let mut v3 = two_messages();
    v3["flow"]["nodes"][1]["id"] = json!("pause");
    v3["flow"]["nodes"][0]["exits"]["next"] = json!("pause");
    put(v3).await;
    let refused = app
        .post(
            &format!("/api/v1/automations/{id}/publish"),
            json!({"runs": "migrate"}),
        )
        .await;
    assert_eq!(refused.error_fields(), ["runs"], "{}", refused.body);
    // With the node kept, the run moves and finishes on the new version.
    let mut v3 = two_messages();
    v3["flow"]["nodes"][2]["body"] = json!("Second, v3");
    put(v3).await;
    let moved = app
        .post(
            &format!("/api/v1/automations/{id}/publish"),
            json!({"runs": "migrate"}),
        )
        .await;
    assert_eq!(moved.body["runs_moved"], 1, "{}", moved.body);
    clock.advance_millis(61 * MINUTE);
    settle(&app).await;
    assert_eq!(messages(&app, &third).await[1].1, "Second, v3");

    // Stopping them.
    let fourth = app.contact(json!({"user_id": "fourth"})).await;
    start(&app, &id, &fourth).await;
    settle(&app).await;
    let stopped = app
        .post(
            &format!("/api/v1/automations/{id}/publish"),
            json!({"runs": "stop"}),
        )
        .await;
    assert_eq!(stopped.body["runs_stopped"], 1, "{}", stopped.body);
    clock.advance_millis(61 * MINUTE);
    settle(&app).await;
    assert_eq!(messages(&app, &fourth).await.len(), 1);
}
