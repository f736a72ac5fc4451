//! Automations over the API: drafts, versions, templates and isolation
//! here; triggers, steps and waits in `flows` and `more`; the rest of the
//! exits (a team reply, `end`, unassigning, exact and pattern URLs, the
//! email fallback) in `exits`; bots in `bots`; webhooks in `webhooks`;
//! crashes in `durability`. Time is a `ManualClock`: a two-day wait takes
//! no time.

mod audiences;
mod bots;
mod durability;
mod exits;
mod flows;
mod more;
mod webhooks;

use std::sync::Arc;

use rapport_core::Timestamp;
use rapport_core::model::ids::ContactId;
use rapport_core::ports::clock::ManualClock;
use rapport_server::config::Config;
use rapport_server::live::VisitorGuard;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::widget_support::{boot, visitor_of};

both_backends!(
    drafts_are_checked_field_by_field_and_publishing_freezes_versions,
    every_template_creates_a_publishable_draft,
    automations_are_the_workspaces_own,
    a_dry_run_shows_the_path_and_messages_and_writes_nothing,
);

/// Monday 2026-11-30 10:00 UTC: inside the default business hours.
pub const MONDAY_10AM: i64 = 1_796_032_800_000;

/// A server whose clock moves only when the test says.
pub async fn app_at(backend: Backend, at: i64) -> Option<(TestApp, Arc<ManualClock>)> {
    app_with(backend, at, Config::default()).await
}

/// The same, with this configuration.
pub async fn app_with(
    backend: Backend,
    at: i64,
    config: Config,
) -> Option<(TestApp, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(at)));
    let app = TestApp::spawn_with(backend, clock.clone(), config).await?;
    Some((app, clock))
}

/// Creates an automation from `draft` and publishes it; its id.
pub async fn live(app: &TestApp, draft: Value) -> String {
    let created = app
        .post(
            "/api/v1/automations",
            json!({"name": "Test", "draft": draft}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let published = app
        .post(&format!("/api/v1/automations/{id}/publish"), json!({}))
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    id
}

/// An anonymous visitor: their messenger session and contact id.
pub async fn visitor(app: &TestApp) -> (String, String) {
    visitor_of(&boot(app, json!({"app_id": app.owner.app_id})).await)
}

/// Keeps the visitor online (as an open messenger would) while held.
pub fn online(app: &TestApp, contact: &str) -> VisitorGuard {
    app.state.hub.visitor_arrived(
        app.owner.workspace_id,
        contact.parse::<ContactId>().unwrap(),
    )
}

/// The visitor viewed a page.
pub async fn page_view(app: &TestApp, session: &str, url: &str) {
    let reply = app
        .request(
            Method::POST,
            "/widget/v1/events",
            Some(session),
            Some(json!({"name": "$page_view", "params": {"url": url}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

/// The visitor starts a conversation; its id.
pub async fn visitor_writes(app: &TestApp, session: &str, body: &str) -> String {
    let reply = app
        .request(
            Method::POST,
            "/widget/v1/conversations",
            Some(session),
            Some(json!({"body": body})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The visitor writes in a conversation.
pub async fn visitor_replies(app: &TestApp, session: &str, conversation: &str, body: &str) {
    let reply = app
        .request(
            Method::POST,
            &format!("/widget/v1/conversations/{conversation}/messages"),
            Some(session),
            Some(json!({"body": body})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

/// Runs the dispatcher and due jobs until nothing is left to do now.
pub async fn settle(app: &TestApp) {
    for _ in 0..50 {
        let round = app.run_jobs().await;
        if round.claimed == 0 && round.runs_started == 0 && round.webhooks_queued == 0 {
            return;
        }
    }
    panic!("automations kept working for 50 rounds");
}

/// The contact's messages, oldest first: (author type, body).
pub async fn messages(app: &TestApp, contact: &str) -> Vec<(String, String)> {
    let reply = app
        .get(&format!(
            "/api/v1/contacts/{contact}/timeline?kinds=message&limit=100"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut found: Vec<(String, String)> = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["data"]["author"]["type"].as_str().unwrap().to_owned(),
                e["data"]["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.reverse();
    found
}

/// The automation's runs, newest first.
pub async fn runs(app: &TestApp, automation: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/api/v1/automations/{automation}/runs"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"].as_array().unwrap().clone()
}

/// One run's log: (node, exit) per step.
pub async fn run_log(app: &TestApp, automation: &str, run: &str) -> Vec<(String, Value)> {
    let reply = app
        .get(&format!("/api/v1/automations/{automation}/runs/{run}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["node"].as_str().unwrap().to_owned(), l["exit"].clone()))
        .collect()
}

fn greeting(agent: &str) -> Value {
    json!({
        "trigger": {"type": "page_visited", "url": {"contains": "/pricing"}, "seconds_on_page": 30},
        "frequency": {"type": "every_time"},
        "flow": {"start": "hi", "nodes": [
            {"id": "hi", "type": "send_message", "from": {"agent": agent},
             "body": "Hi {{ user.name | default(\"there\") }}, questions about pricing?"}
        ]}
    })
}

async fn drafts_are_checked_field_by_field_and_publishing_freezes_versions(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let bad = app
        .post(
            "/api/v1/automations",
            json!({"name": "Bad", "draft": {
                "trigger": {"type": "no_team_reply", "minutes": 0},
                "frequency": {"type": "once"},
                "flow": {"start": "a", "nodes": [
                    {"id": "a", "type": "send_message", "from": "bot", "body": "{{ oops", "exits": {"yes": "b"}}
                ]}
            }}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(
        bad.error_fields(),
        [
            "trigger.minutes",
            "flow.nodes[0].body",
            "flow.nodes[0].exits.yes"
        ]
    );
    let unknown_type = app
        .post(
            "/api/v1/automations",
            json!({"name": "Bad", "draft": {"trigger": {"type": "teleport"}, "frequency": {"type": "once"}, "flow": {"start": "a", "nodes": []}}}),
        )
        .await;
    assert_eq!(unknown_type.error_fields(), ["draft.trigger.type"]);
    assert_eq!(
        app.get("/api/v1/automations").await.body["data"],
        json!([]),
        "a refused draft stores nothing"
    );

    // A draft may be unfinished; publishing may not.
    let created = app
        .post(
            "/api/v1/automations",
            json!({"name": "Greeting", "draft": {
                "trigger": {"type": "contact_created"},
                "frequency": {"type": "once"},
                "flow": {"start": "a", "nodes": [
                    {"id": "a", "type": "wait", "seconds": 60, "exits": {"next": "gone"}},
                    {"id": "lost", "type": "end"}
                ]}
            }}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "draft");
    let id = created.id();
    let refused = app
        .post(&format!("/api/v1/automations/{id}/publish"), json!({}))
        .await;
    assert_eq!(
        refused.error_fields(),
        ["flow.nodes[0].exits.next", "flow.nodes[1]"]
    );
    let fixed = json!({
        "trigger": {"type": "contact_created"},
        "frequency": {"type": "once"},
        "flow": {"start": "a", "nodes": [{"id": "a", "type": "add_tag", "tag": "new"}]}
    });
    let saved = app
        .request(
            Method::PUT,
            &format!("/api/v1/automations/{id}"),
            Some(&app.owner.api_token),
            Some(json!({"name": "Tag new contacts", "draft": fixed})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let published = app
        .post(&format!("/api/v1/automations/{id}/publish"), json!({}))
        .await;
    assert_eq!(published.body["version"], 1, "{}", published.body);
    assert_eq!(published.body["automation"]["status"], "live");
    assert_eq!(published.body["automation"]["draft_changed"], false);

    // Editing makes a draft; the live version stays as it was.
    let mut edited = fixed.clone();
    edited["flow"]["nodes"][0]["tag"] = json!("newer");
    app.request(
        Method::PUT,
        &format!("/api/v1/automations/{id}"),
        Some(&app.owner.api_token),
        Some(json!({"name": "Tag new contacts", "draft": edited})),
    )
    .await;
    let got = app.get(&format!("/api/v1/automations/{id}")).await;
    assert_eq!(got.body["draft_changed"], true);
    assert_eq!(got.body["live_version"], 1);
    let versions = app.get(&format!("/api/v1/automations/{id}/versions")).await;
    assert_eq!(
        versions.body["data"][0]["definition"]["flow"]["nodes"][0]["tag"],
        "new"
    );
    app.post(&format!("/api/v1/automations/{id}/publish"), json!({}))
        .await;
    let versions = app.get(&format!("/api/v1/automations/{id}/versions")).await;
    let numbers: Vec<_> = versions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);

    // Pause and resume; export and import elsewhere.
    let paused = app
        .post(&format!("/api/v1/automations/{id}/pause"), json!({}))
        .await;
    assert_eq!(paused.body["status"], "paused");
    let resumed = app
        .post(&format!("/api/v1/automations/{id}/resume"), json!({}))
        .await;
    assert_eq!(resumed.body["status"], "live");
    let exported = app.get(&format!("/api/v1/automations/{id}/export")).await;
    assert_eq!(exported.body["name"], "Tag new contacts");
    let other = app.other_workspace().await;
    let imported = app
        .request(
            Method::POST,
            "/api/v1/automations",
            Some(&other.api_token),
            Some(exported.body.clone()),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    assert_eq!(imported.body["draft"], exported.body["draft"]);
}

async fn every_template_creates_a_publishable_draft(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for template in ["greeting", "autoresponder", "lead_bot"] {
        let created = app
            .post("/api/v1/automations", json!({"template": template}))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.id();
        let published = app
            .post(&format!("/api/v1/automations/{id}/publish"), json!({}))
            .await;
        assert_eq!(
            published.status,
            StatusCode::OK,
            "{template}: {}",
            published.body
        );
    }
    let unknown = app
        .post("/api/v1/automations", json!({"template": "nope"}))
        .await;
    assert_eq!(unknown.error_fields(), ["template"]);
}

async fn automations_are_the_workspaces_own(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let id = live(&app, greeting(&app.owner.owner_id.to_string())).await;
    let other = app.other_workspace().await;
    let theirs = app.contact(json!({"user_id": "mine"})).await;
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/automations/{id}"), None),
        (Method::GET, format!("/api/v1/automations/{id}/runs"), None),
        (Method::GET, format!("/api/v1/automations/{id}/stats"), None),
        (
            Method::POST,
            format!("/api/v1/automations/{id}/pause"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/automations/{id}/runs"),
            Some(json!({"contact_id": theirs})),
        ),
        (Method::DELETE, format!("/api/v1/automations/{id}"), None),
    ] {
        let reply = app
            .request(method.clone(), &path, Some(&other.api_token), body)
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let listed = app
        .request(
            Method::GET,
            "/api/v1/automations",
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(listed.body["data"], json!([]));
    // Still live here.
    assert_eq!(
        app.get(&format!("/api/v1/automations/{id}")).await.body["status"],
        "live"
    );
}

async fn a_dry_run_shows_the_path_and_messages_and_writes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let pro = app
        .contact(json!({"user_id": "p", "name": "Ada", "props": {"plan": "pro"}}))
        .await;
    let created = app
        .post(
            "/api/v1/automations",
            json!({"name": "Pro welcome", "draft": {
                "trigger": {"type": "manual"},
                "frequency": {"type": "once"},
                "flow": {"start": "pro", "nodes": [
                    {"id": "pro", "type": "condition", "filter": {"and": [{"prop": "plan", "op": "eq", "value": "pro"}]},
                     "exits": {"yes": "hi", "no": "bye"}},
                    {"id": "hi", "type": "send_message", "from": "bot", "body": "Welcome, {{ user.name }}!", "exits": {"next": "wait"}},
                    {"id": "wait", "type": "wait", "seconds": 86400, "exits": {"next": "tag"}},
                    {"id": "tag", "type": "add_tag", "tag": "welcomed"},
                    {"id": "bye", "type": "end"}
                ]}
            }}),
        )
        .await;
    let id = created.id();
    let sim = app
        .post(
            &format!("/api/v1/automations/{id}/simulate"),
            json!({"contact_id": pro}),
        )
        .await;
    assert_eq!(sim.status, StatusCode::OK, "{}", sim.body);
    let path: Vec<_> = sim.body["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["node"].as_str().unwrap(), s["exit"].clone()))
        .collect();
    assert_eq!(
        path,
        [
            ("pro", json!("yes")),
            ("hi", json!("next")),
            ("wait", json!("next")),
            ("tag", json!("next"))
        ]
    );
    assert_eq!(sim.body["messages"][0]["body"], "Welcome, Ada!");
    // Nothing was sent or changed.
    assert!(messages(&app, &pro).await.is_empty());
    let contact = app.get(&format!("/api/v1/contacts/{pro}")).await;
    assert_eq!(contact.body["tags"], json!([]));
    assert_eq!(runs(&app, &id).await.len(), 0);
}
