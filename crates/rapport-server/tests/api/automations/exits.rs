//! Exits and targets the other files leave out: waiting for a person on
//! the team to answer, an `end` step, unassigning, page URLs that must be
//! equal or match a pattern, and an automation's message reaching an
//! offline contact by email.

use rapport_server::config::{Config, Secret};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    MONDAY_10AM, app_at, app_with, live, messages, page_view, run_log, runs, settle, visitor,
    visitor_replies, visitor_writes,
};
use crate::helpers::{TestApp, user_hash};
use crate::smtp::SmtpSink;
use crate::widget_support::{boot, visitor_of};

both_backends!(
    a_wait_for_a_team_reply_takes_happened_only_for_a_person_on_the_team,
    a_run_that_reaches_an_end_step_is_done_there,
    assigning_to_nobody_unassigns_the_conversation,
    page_visits_start_runs_for_an_equal_url_or_a_matching_one,
    an_automations_message_is_emailed_to_an_offline_contact_after_the_delay,
);

const MINUTE: i64 = 60_000;

async fn tags(app: &TestApp, contact: &str) -> Value {
    app.get(&format!("/api/v1/contacts/{contact}")).await.body["tags"].clone()
}

/// The contact's run of the automation.
async fn run_of(app: &TestApp, automation: &str, contact: &str) -> Value {
    runs(app, automation)
        .await
        .into_iter()
        .find(|r| r["contact_id"] == contact)
        .unwrap_or_else(|| panic!("no run for {contact}"))
}

async fn a_wait_for_a_team_reply_takes_happened_only_for_a_person_on_the_team(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let owner = app.owner.owner_id.to_string();
    let id = live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "wait", "nodes": [
                {"id": "wait", "type": "wait_for", "for": {"type": "team_reply"}, "timeout_seconds": 3600,
                 "exits": {"happened": "answered", "timed_out": "unanswered"}},
                {"id": "answered", "type": "add_tag", "tag": "answered"},
                {"id": "unanswered", "type": "add_tag", "tag": "unanswered"}
            ]}
        }),
    )
    .await;
    // Another automation writes as a member whenever the contact writes
    // again: its message is not a person answering.
    live(
        &app,
        json!({
            "trigger": {"type": "contact_replied"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "ack", "nodes": [
                {"id": "ack", "type": "send_message", "from": {"agent": owner}, "body": "Got it, thanks."}
            ]}
        }),
    )
    .await;
    let (helped, helped_id) = visitor(&app).await;
    let helped_conversation = visitor_writes(&app, &helped, "Can you help?").await;
    let (left, left_id) = visitor(&app).await;
    let left_conversation = visitor_writes(&app, &left, "Hello?").await;
    settle(&app).await;

    clock.advance_millis(20 * MINUTE);
    // A member answers the first; in the second only the contact writes
    // (answered by the other automation) and a member leaves a note.
    let reply = app
        .post(
            &format!("/api/v1/conversations/{helped_conversation}/reply"),
            json!({"body": "Of course, what do you need?"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    visitor_replies(&app, &left, &left_conversation, "Still there?").await;
    let note = app
        .post(
            &format!("/api/v1/conversations/{left_conversation}/reply"),
            json!({"body": "Looks like a lead", "type": "note"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    settle(&app).await;
    assert_eq!(
        tags(&app, &helped_id).await,
        json!(["answered"]),
        "the member's reply cut the wait short"
    );
    assert_eq!(tags(&app, &left_id).await, json!([]), "still waiting");
    assert_eq!(
        messages(&app, &left_id).await.last().unwrap().1,
        "Got it, thanks."
    );

    // An hour after the run began: the second times out.
    clock.advance_millis(40 * MINUTE - 1);
    settle(&app).await;
    assert_eq!(tags(&app, &left_id).await, json!([]), "not before the hour");
    clock.advance_millis(1);
    settle(&app).await;
    assert_eq!(tags(&app, &left_id).await, json!(["unanswered"]));
    assert_eq!(tags(&app, &helped_id).await, json!(["answered"]));
    for (contact, exit) in [(&helped_id, "happened"), (&left_id, "timed_out")] {
        let run = run_of(&app, &id, contact).await;
        assert_eq!(run["status"], "done", "{run}");
        let log = run_log(&app, &id, run["id"].as_str().unwrap()).await;
        assert!(log.contains(&("wait".to_owned(), json!(exit))), "{log:?}");
    }
}

async fn a_run_that_reaches_an_end_step_is_done_there(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    // Nothing may follow an end step: an exit on it is refused.
    let refused = app
        .post(
            "/api/v1/automations",
            json!({"name": "x", "draft": {"trigger": {"type": "manual"}, "frequency": {"type": "once"},
                "flow": {"start": "stop", "nodes": [
                    {"id": "stop", "type": "end", "exits": {"next": "more"}},
                    {"id": "more", "type": "add_tag", "tag": "after"}
                ]}}}),
        )
        .await;
    assert_eq!(refused.error_fields(), ["flow.nodes[0].exits.next"]);

    // Filters name properties the workspace knows.
    let pro = app
        .contact(json!({"user_id": "pro", "props": {"plan": "pro"}}))
        .await;
    let id = live(
        &app,
        json!({
            "trigger": {"type": "manual"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "hi", "nodes": [
                {"id": "hi", "type": "send_message", "from": "bot", "body": "Hello", "exits": {"next": "vip"}},
                {"id": "vip", "type": "condition", "filter": {"and": [{"prop": "plan", "op": "eq", "value": "pro"}]},
                 "exits": {"yes": "stop", "no": "upsell"}},
                {"id": "stop", "type": "end"},
                {"id": "upsell", "type": "send_message", "from": "bot", "body": "Have you seen our pro plan?"}
            ]}
        }),
    )
    .await;
    let started = app
        .post(
            &format!("/api/v1/automations/{id}/runs"),
            json!({"contact_id": pro}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    settle(&app).await;
    let run = run_of(&app, &id, &pro).await;
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(run["node"], "stop");
    assert_eq!(run["ended_reason"], "reached an end", "{run}");
    let got = app
        .get(&format!(
            "/api/v1/automations/{id}/runs/{}",
            run["id"].as_str().unwrap()
        ))
        .await;
    let last = got.body["log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["node"], &last["kind"], &last["exit"]),
        (&json!("stop"), &json!("end"), &Value::Null),
        "{last}"
    );
    // Nothing more happens, however long it is left.
    clock.advance_millis(24 * 60 * MINUTE);
    settle(&app).await;
    let said: Vec<String> = messages(&app, &pro)
        .await
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(said, ["Hello"]);
    let timeline = app
        .get(&format!("/api/v1/contacts/{pro}/timeline?kinds=automation"))
        .await;
    assert!(
        timeline.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["what"] == "done" && e["data"]["detail"] == "reached an end"),
        "{}",
        timeline.body
    );
}

async fn assigning_to_nobody_unassigns_the_conversation(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let owner = app.owner.owner_id.to_string();
    let id = live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "wait", "nodes": [
                {"id": "wait", "type": "wait", "seconds": 600, "exits": {"next": "pick"}},
                {"id": "pick", "type": "assign", "to": "round_robin", "exits": {"next": "later"}},
                {"id": "later", "type": "wait", "seconds": 600, "exits": {"next": "free"}},
                {"id": "free", "type": "assign", "to": "nobody"}
            ]}
        }),
    )
    .await;
    // The owner has the Inbox open: "nobody" is not "whoever is available".
    let _inbox = app
        .state
        .hub
        .agent_connected(app.owner.workspace_id, app.owner.owner_id);
    let (session, contact) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Hi").await;
    settle(&app).await;
    let assigned = app
        .post(
            &format!("/api/v1/conversations/{conversation}/assign"),
            json!({"assignee_id": owner}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    let assignee = || async {
        app.get(&format!("/api/v1/conversations/{conversation}"))
            .await
            .body["assignee_id"]
            .clone()
    };
    assert_eq!(assignee().await, json!(owner));
    // Round robin with the only member away finds no one: the owner keeps
    // the conversation; "nobody" then unassigns it.
    let away = app
        .request(
            Method::PUT,
            &format!("/api/v1/team/{owner}/availability"),
            Some(&app.owner.api_token),
            Some(json!({"away": true, "max_open": null})),
        )
        .await;
    assert_eq!(away.status, StatusCode::NO_CONTENT, "{}", away.body);
    clock.advance_millis(10 * MINUTE);
    settle(&app).await;
    assert_eq!(assignee().await, json!(owner), "kept when no one is free");
    clock.advance_millis(10 * MINUTE);
    settle(&app).await;
    assert_eq!(assignee().await, Value::Null, "unassigned by the run");
    let run = run_of(&app, &id, &contact).await;
    assert_eq!(run["status"], "done", "{run}");
    let log = run_log(&app, &id, run["id"].as_str().unwrap()).await;
    assert_eq!(
        log[log.len() - 4..],
        [
            ("pick".to_owned(), json!("next")),
            ("later".to_owned(), Value::Null),
            ("later".to_owned(), json!("next")),
            ("free".to_owned(), json!("next"))
        ]
    );
    // The change is on the timeline, with the run that made it.
    let timeline = app
        .get(&format!(
            "/api/v1/contacts/{contact}/timeline?kinds=assigned"
        ))
        .await;
    // The owner's assignment and the run's unassignment: round robin,
    // finding no one, changed nothing.
    let entries = timeline.body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["data"]["cause"]["node"], "free", "{entries:?}");
}

async fn page_visits_start_runs_for_an_equal_url_or_a_matching_one(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let tagging = |url: Value, tag: &str| {
        json!({
            "trigger": {"type": "page_visited", "url": url},
            "frequency": {"type": "every_time"},
            "flow": {"start": "t", "nodes": [{"id": "t", "type": "add_tag", "tag": tag}]}
        })
    };
    let equals = live(
        &app,
        tagging(json!({"equals": "https://shop.test/pricing"}), "pricing"),
    )
    .await;
    let matches = live(
        &app,
        tagging(
            json!({"matches": r"^https://shop\.test/docs/[0-9]+$"}),
            "doc",
        ),
    )
    .await;
    let bad = app
        .post(
            "/api/v1/automations",
            json!({"name": "x", "draft": tagging(json!({"matches": "(unclosed"}), "x")}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["trigger.url"]);

    // Longer URLs that contain the page, and pages the pattern does not
    // match all the way: nothing.
    let (session, near) = visitor(&app).await;
    for url in [
        "https://shop.test/pricing?plan=pro",
        "https://shop.test/pricing/enterprise",
        "http://shop.test/pricing",
        "https://shop.test/docs/12/edit",
        "https://shop.test/docs/intro",
    ] {
        page_view(&app, &session, url).await;
    }
    settle(&app).await;
    assert_eq!(tags(&app, &near).await, json!([]));
    assert!(runs(&app, &equals).await.is_empty());
    assert!(runs(&app, &matches).await.is_empty());
    // The page itself, and a page the pattern matches.
    let (session, exact) = visitor(&app).await;
    page_view(&app, &session, "https://shop.test/pricing").await;
    settle(&app).await;
    assert_eq!(tags(&app, &exact).await, json!(["pricing"]));
    page_view(&app, &session, "https://shop.test/docs/42").await;
    settle(&app).await;
    let mut got: Vec<String> = serde_json::from_value(tags(&app, &exact).await).unwrap();
    got.sort();
    assert_eq!(got, ["doc", "pricing"]);
    assert_eq!(runs(&app, &equals).await.len(), 1);
    assert_eq!(runs(&app, &matches).await.len(), 1);
}

async fn an_automations_message_is_emailed_to_an_offline_contact_after_the_delay(backend: Backend) {
    let sink = SmtpSink::start();
    let config = Config {
        smtp_url: Some(Secret::from(sink.url())),
        email_from: "support@acme.test".into(),
        public_url: Some("https://chat.acme.test".into()),
        ..Config::default()
    };
    let Some((app, clock)) = app_with(backend, MONDAY_10AM, config).await else {
        return;
    };
    let delay = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&app.owner.api_token),
            Some(json!({"email": {"fallback_delay_minutes": 3}})),
        )
        .await;
    assert_eq!(delay.status, StatusCode::OK, "{}", delay.body);
    let owner = app.owner.owner_id.to_string();
    let flow = |email_fallback: bool| {
        json!({
            "trigger": {"type": "manual"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "hi", "nodes": [
                {"id": "hi", "type": "send_message", "from": {"agent": owner}, "email_fallback": email_fallback,
                 "body": "Hi {{ user.name }}, your trial ends on Friday."}
            ]}
        })
    };
    let id = live(&app, flow(true)).await;
    let quiet = live(&app, flow(false)).await;
    let start = |automation: String, contact: String| {
        let app = &app;
        async move {
            let started = app
                .post(
                    &format!("/api/v1/automations/{automation}/runs"),
                    json!({"contact_id": contact}),
                )
                .await;
            assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
        }
    };
    let email_entries = |contact: String| {
        let app = &app;
        async move {
            let mut found: Vec<Value> = app
                .timeline(&contact)
                .await
                .into_iter()
                .filter(|e| e["kind"] == "emailed" || e["kind"] == "not_emailed")
                .collect();
            found.reverse();
            found
        }
    };

    // Ann is offline and never opens it.
    let ann = app
        .contact(json!({"user_id": "ann", "name": "Ann", "email": "ann@example.com"}))
        .await;
    // Bo reads it in the messenger before the delay.
    let (bo_session, bo) = visitor_of(
        &boot(
            &app,
            json!({"app_id": app.owner.app_id, "user_id": "bo", "email": "bo@example.com", "name": "Bo",
                   "user_hash": user_hash(&app.owner.identity_secret, "bo")}),
        )
        .await,
    );
    // Cy's message comes from a step that turned the fallback off.
    let cy = app
        .contact(json!({"user_id": "cy", "name": "Cy", "email": "cy@example.com"}))
        .await;
    start(id.clone(), ann.clone()).await;
    start(id.clone(), bo.clone()).await;
    start(quiet.clone(), cy.clone()).await;
    settle(&app).await;
    let bo_conversation = run_of(&app, &id, &bo).await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance_millis(MINUTE);
    let read = app
        .request(
            Method::POST,
            &format!("/widget/v1/conversations/{bo_conversation}/read"),
            Some(&bo_session),
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::NO_CONTENT, "{}", read.body);

    // Not before the workspace's three minutes...
    clock.advance_millis(2 * MINUTE - 1);
    settle(&app).await;
    assert!(sink.emails().is_empty());
    // ...and then once, to Ann only.
    clock.advance_millis(1);
    settle(&app).await;
    let emails = sink.emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0].envelope_to, vec!["ann@example.com"]);
    let from = emails[0].header("From");
    assert!(from.contains("Grace Hopper from Acme"), "{from}");
    let text = emails[0].text();
    assert!(
        text.contains("Hi Ann, your trial ends on Friday."),
        "{text}"
    );
    let message = app
        .get(&format!(
            "/api/v1/contacts/{ann}/timeline?kinds=message&limit=1"
        ))
        .await
        .body["data"][0]["data"]["id"]
        .clone();
    let entries = email_entries(ann.clone()).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["kind"], "emailed");
    assert_eq!(entries[0]["data"]["message_ids"], json!([message]));
    let entries = email_entries(bo.clone()).await;
    assert_eq!(entries[0]["kind"], "not_emailed", "{entries:?}");
    assert_eq!(entries[0]["data"]["reason"], "read");
    let entries = email_entries(cy.clone()).await;
    assert_eq!(entries[0]["kind"], "not_emailed", "{entries:?}");
    assert_eq!(entries[0]["data"]["reason"], "fallback_off");
    // Nothing more, however long we wait.
    clock.advance_millis(60 * MINUTE);
    settle(&app).await;
    assert_eq!(sink.emails().len(), 1);
}
