//! The rest of the triggers, modules, conditions and waits: a session
//! starting, replies either way, a status change, notes, snooze and
//! reopen, goals, waiting for an event or a property, and the daily cap.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    MONDAY_10AM, app_at, live, messages, run_log, runs, settle, visitor, visitor_replies,
    visitor_writes,
};
use crate::helpers::TestApp;

both_backends!(
    a_new_session_starts_a_run,
    replies_either_way_and_what_a_wait_finds_since_the_run_began,
    the_team_going_quiet_and_a_status_change_start_runs_that_snooze_reopen_and_note,
    reaching_the_goal_ends_the_run_and_counts,
    waits_for_an_event_or_a_property_change,
    the_daily_cap_holds_back_automated_messages,
    waits_until_a_time_of_day_or_business_hours,
    a_date_coming_due_starts_one_run_per_contact_and_date,
    teams_are_assigned_round_robin_among_their_available_members,
);

const MINUTE: i64 = 60_000;

async fn tags(app: &TestApp, contact: &str) -> Value {
    app.get(&format!("/api/v1/contacts/{contact}")).await.body["tags"].clone()
}

async fn a_new_session_starts_a_run(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "session_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "t", "nodes": [{"id": "t", "type": "increment_property", "name": "visits", "by": 1}]}
        }),
    )
    .await;
    let (session, contact) = visitor(&app).await;
    settle(&app).await;
    // Another page in the same visit is not a new session; one after 30
    // minutes away is.
    super::page_view(&app, &session, "https://shop.test/a").await;
    clock.advance_millis(31 * MINUTE);
    super::page_view(&app, &session, "https://shop.test/b").await;
    settle(&app).await;
    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["props"]["visits"], json!(2.0), "{}", got.body);
    assert_eq!(runs(&app, &id).await.len(), 2);
}

async fn replies_either_way_and_what_a_wait_finds_since_the_run_began(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    live(
        &app,
        json!({
            "trigger": {"type": "contact_replied"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "w", "nodes": [
                {"id": "w", "type": "wait", "seconds": 600, "exits": {"next": "team"}},
                {"id": "team", "type": "team_replied", "exits": {"yes": "ok", "no": "contact"}},
                {"id": "ok", "type": "add_tag", "tag": "answered"},
                {"id": "contact", "type": "contact_replied", "exits": {"yes": "keen", "no": "waiting"}},
                {"id": "keen", "type": "add_tag", "tag": "keen"},
                {"id": "waiting", "type": "add_tag", "tag": "waiting"}
            ]}
        }),
    )
    .await;
    let (a, a_id) = visitor(&app).await;
    let (b, b_id) = visitor(&app).await;
    let (c, c_id) = visitor(&app).await;
    let mut conversations = Vec::new();
    for session in [&a, &b, &c] {
        // Starting a conversation is not a reply; writing again is.
        let conversation = visitor_writes(&app, session, "Hello").await;
        settle(&app).await;
        visitor_replies(&app, session, &conversation, "Anyone?").await;
        conversations.push(conversation);
    }
    settle(&app).await;
    clock.advance_millis(5 * MINUTE);
    // The team answers A; B writes once more (that run is already going:
    // no second run); C stays quiet.
    app.post(
        &format!("/api/v1/conversations/{}/reply", conversations[0]),
        json!({"body": "Here!"}),
    )
    .await;
    visitor_replies(&app, &b, &conversations[1], "Hello??").await;
    settle(&app).await;
    clock.advance_millis(5 * MINUTE);
    settle(&app).await;
    assert_eq!(tags(&app, &a_id).await, json!(["answered"]));
    assert_eq!(tags(&app, &b_id).await, json!(["keen"]));
    assert_eq!(tags(&app, &c_id).await, json!(["waiting"]));
}

async fn the_team_going_quiet_and_a_status_change_start_runs_that_snooze_reopen_and_note(
    backend: Backend,
) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    live(
        &app,
        json!({
            "trigger": {"type": "contact_unresponsive", "minutes": 30},
            "frequency": {"type": "every_time"},
            "flow": {"start": "snooze", "nodes": [
                {"id": "snooze", "type": "snooze", "minutes": 60, "exits": {"next": "w"}},
                {"id": "w", "type": "wait", "seconds": 1800, "exits": {"next": "reopen"}},
                {"id": "reopen", "type": "reopen"}
            ]}
        }),
    )
    .await;
    let noted = live(
        &app,
        json!({
            "trigger": {"type": "status_changed", "to": "snoozed"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "n", "nodes": [{"id": "n", "type": "note", "body": "Snoozed: {{ user.name | default(\"a visitor\") }} went quiet"}]}
        }),
    )
    .await;
    let (session, contact) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Question").await;
    app.post(
        &format!("/api/v1/conversations/{conversation}/reply"),
        json!({"body": "Answer: does that help?"}),
    )
    .await;
    settle(&app).await;
    clock.advance_millis(30 * MINUTE);
    settle(&app).await;
    let got = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(got.body["status"], "snoozed", "{}", got.body);
    // The snooze (an automation's doing) started the other automation,
    // whose note only the team sees.
    assert_eq!(runs(&app, &noted).await.len(), 1);
    let parts = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    let bodies: Vec<&str> = parts.body["parts"]
        .as_array()
        .map(|p| p.iter().filter_map(|m| m["body"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        bodies.contains(&"Snoozed: a visitor went quiet"),
        "{}",
        parts.body
    );
    assert_eq!(
        messages(&app, &contact).await.len(),
        3,
        "a note counts as a part, not a message to the contact"
    );
    clock.advance_millis(30 * MINUTE);
    settle(&app).await;
    let got = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(got.body["status"], "open");

    // A contact who answers in time is not snoozed.
    let (session, _) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Another").await;
    app.post(
        &format!("/api/v1/conversations/{conversation}/reply"),
        json!({"body": "Sure"}),
    )
    .await;
    settle(&app).await;
    clock.advance_millis(10 * MINUTE);
    visitor_replies(&app, &session, &conversation, "Thanks!").await;
    clock.advance_millis(25 * MINUTE);
    settle(&app).await;
    let got = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(got.body["status"], "open");
}

async fn reaching_the_goal_ends_the_run_and_counts(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "contact_created"},
            "goal": {"and": [{"tag": "customer", "op": "has"}]},
            "frequency": {"type": "once"},
            "flow": {"start": "w", "nodes": [
                {"id": "w", "type": "wait", "seconds": 86400, "exits": {"next": "nudge"}},
                {"id": "nudge", "type": "send_message", "from": "bot", "body": "Still thinking it over?"}
            ]}
        }),
    )
    .await;
    let converted = app.contact(json!({"user_id": "c"})).await;
    let undecided = app.contact(json!({"user_id": "u"})).await;
    settle(&app).await;
    let tagged = app
        .post(
            &format!("/api/v1/contacts/{converted}/tags"),
            json!({"tag": "customer"}),
        )
        .await;
    assert!(tagged.status.is_success(), "{}", tagged.body);
    clock.advance_millis(24 * 60 * MINUTE);
    settle(&app).await;
    assert!(messages(&app, &converted).await.is_empty());
    assert_eq!(messages(&app, &undecided).await.len(), 1);
    let stats = app.get(&format!("/api/v1/automations/{id}/stats")).await;
    assert_eq!(stats.body["goal_reached"], 1, "{}", stats.body);
    let run = runs(&app, &id)
        .await
        .into_iter()
        .find(|r| r["contact_id"] == converted.as_str())
        .unwrap();
    assert_eq!(run["goal_reached"], true);
}

async fn waits_for_an_event_or_a_property_change(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "event_tracked", "name": "trial_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "pay", "nodes": [
                {"id": "pay", "type": "wait_for", "for": {"type": "event", "name": "paid"}, "timeout_seconds": 86400,
                 "exits": {"happened": "plan", "timed_out": "unpaid"}},
                {"id": "plan", "type": "wait_for", "for": {"type": "property_changed", "name": "plan"}, "timeout_seconds": 3600,
                 "exits": {"happened": "done", "timed_out": "unpaid"}},
                {"id": "done", "type": "add_tag", "tag": "paying"},
                {"id": "unpaid", "type": "add_tag", "tag": "unpaid"}
            ]}
        }),
    )
    .await;
    let payer = app.contact(json!({"user_id": "p"})).await;
    let lapsed = app.contact(json!({"user_id": "l"})).await;
    for contact in [&payer, &lapsed] {
        app.post(
            &format!("/api/v1/contacts/{contact}/events"),
            json!({"name": "trial_started"}),
        )
        .await;
    }
    settle(&app).await;
    clock.advance_millis(60 * MINUTE);
    app.post(
        &format!("/api/v1/contacts/{payer}/events"),
        json!({"name": "paid"}),
    )
    .await;
    settle(&app).await;
    app.request(
        Method::PATCH,
        &format!("/api/v1/contacts/{payer}"),
        Some(&app.owner.api_token),
        Some(json!({"props": {"plan": "pro"}})),
    )
    .await;
    settle(&app).await;
    assert_eq!(tags(&app, &payer).await, json!(["paying"]));
    clock.advance_millis(23 * 60 * MINUTE);
    settle(&app).await;
    assert_eq!(tags(&app, &lapsed).await, json!(["unpaid"]));
    let run = runs(&app, &id)
        .await
        .into_iter()
        .find(|r| r["contact_id"] == payer.as_str())
        .unwrap();
    // Each wait is two lines: where it began waiting, and the exit it took.
    let exits: Vec<_> = run_log(&app, &id, run["id"].as_str().unwrap())
        .await
        .into_iter()
        .filter(|(_, exit)| !exit.is_null())
        .collect();
    assert_eq!(
        exits,
        [
            ("pay".to_owned(), json!("start")),
            ("pay".to_owned(), json!("happened")),
            ("plan".to_owned(), json!("happened")),
            ("done".to_owned(), json!("next"))
        ]
    );
}

async fn the_daily_cap_holds_back_automated_messages(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let mut office = app.get("/api/v1/settings/office").await.body;
    office["automated_messages_per_day"] = json!(2);
    let saved = app
        .request(
            Method::PUT,
            "/api/v1/settings/office",
            Some(&app.owner.api_token),
            Some(office),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let id = live(
        &app,
        json!({
            "trigger": {"type": "manual"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "one", "nodes": [
                {"id": "one", "type": "send_message", "from": "bot", "body": "One", "exits": {"next": "two"}},
                {"id": "two", "type": "send_message", "from": "bot", "body": "Two", "exits": {"next": "three"}},
                {"id": "three", "type": "send_message", "from": "bot", "body": "Three"}
            ]}
        }),
    )
    .await;
    let contact = app.contact(json!({"user_id": "u"})).await;
    let start = || async {
        let started = app
            .post(
                &format!("/api/v1/automations/{id}/runs"),
                json!({"contact_id": contact}),
            )
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
        settle(&app).await;
    };
    start().await;
    let said: Vec<String> = messages(&app, &contact)
        .await
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(said, ["One", "Two"]);
    // A day later the cap has room again.
    clock.advance_millis(24 * 60 * MINUTE + 1);
    start().await;
    assert_eq!(messages(&app, &contact).await.len(), 4);
}

async fn waits_until_a_time_of_day_or_business_hours(backend: Backend) {
    // Monday 10:00 UTC; the default office is Monday to Friday 9 to 17 UTC.
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "manual"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "morning", "nodes": [
                {"id": "morning", "type": "wait_until", "time": "09:00", "exits": {"next": "a"}},
                {"id": "a", "type": "add_tag", "tag": "morning", "exits": {"next": "open"}},
                {"id": "open", "type": "wait_until", "business_hours": true, "exits": {"next": "b"}},
                {"id": "b", "type": "add_tag", "tag": "open"}
            ]}
        }),
    )
    .await;
    let contact = app.contact(json!({"user_id": "u"})).await;
    app.post(
        &format!("/api/v1/automations/{id}/runs"),
        json!({"contact_id": contact}),
    )
    .await;
    settle(&app).await;
    // Tuesday 08:59: not yet.
    clock.advance_millis(22 * 60 * MINUTE + 59 * MINUTE);
    settle(&app).await;
    assert_eq!(tags(&app, &contact).await, json!([]));
    // 09:00: the morning tag, and business hours are open: at once.
    clock.advance_millis(MINUTE);
    settle(&app).await;
    assert_eq!(tags(&app, &contact).await, json!(["morning", "open"]));
    let bad = app
        .post(
            "/api/v1/automations",
            json!({"name": "x", "draft": {"trigger": {"type": "manual"}, "frequency": {"type": "once"},
                "flow": {"start": "w", "nodes": [{"id": "w", "type": "wait_until", "time": "09:00", "business_hours": true}]}}}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["flow.nodes[0].time"]);
}

async fn a_date_coming_due_starts_one_run_per_contact_and_date(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    // Monday 30 November 10:00 UTC: Ann's trial ends Thursday at 09:59
    // (three days less a minute away), Bob's on Saturday.
    let ann = app
        .contact(json!({"user_id": "ann", "props": {"trial_ends_at": "2026-12-03T09:59:00Z"}}))
        .await;
    let bob = app
        .contact(json!({"user_id": "bob", "props": {"trial_ends_at": "2026-12-05T10:00:00Z"}}))
        .await;
    let id = live(
        &app,
        json!({
            "trigger": {"type": "date_reached", "property": "trial_ends_at", "offset_days": -3},
            "frequency": {"type": "every_time"},
            "flow": {"start": "tell", "nodes": [
                {"id": "tell", "type": "increment_property", "name": "reminders", "by": 1}
            ]}
        }),
    )
    .await;
    settle(&app).await;
    let reminders = |contact: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/contacts/{contact}")).await.body["props"]["reminders"].clone()
        }
    };
    assert_eq!(reminders(ann.clone()).await, json!(1.0));
    assert_eq!(reminders(bob.clone()).await, Value::Null);
    // Scanned again later: no second run for the same date.
    clock.advance_millis(2 * 24 * 60 * MINUTE);
    settle(&app).await;
    assert_eq!(reminders(ann.clone()).await, json!(1.0));
    assert_eq!(reminders(bob.clone()).await, json!(1.0), "Bob's came due");
    // Ann extends her trial: the new date gets its reminder.
    app.request(
        Method::PATCH,
        &format!("/api/v1/contacts/{ann}"),
        Some(&app.owner.api_token),
        Some(json!({"props": {"trial_ends_at": "2026-12-12T10:00:00Z"}})),
    )
    .await;
    clock.advance_millis(7 * 24 * 60 * MINUTE);
    settle(&app).await;
    assert_eq!(reminders(ann.clone()).await, json!(2.0));
    assert_eq!(runs(&app, &id).await.len(), 3);
    // A property that is not a date-time is refused.
    let bad = app
        .post(
            "/api/v1/automations",
            json!({"name": "x", "draft": {"trigger": {"type": "date_reached", "property": "reminders"},
                "frequency": {"type": "once"}, "flow": {"start": "e", "nodes": [{"id": "e", "type": "end"}]}}}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["trigger.property"]);
}

async fn teams_are_assigned_round_robin_among_their_available_members(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let mut sales = Vec::new();
    for name in ["Sam", "Sue"] {
        let created = app
            .post(
                "/api/v1/agents",
                json!({"email": format!("{name}@acme.test"), "name": name, "role": "agent", "password": "correct horse"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        sales.push(created.id());
    }
    let team = app
        .post("/api/v1/teams", json!({"name": "Sales", "members": sales}))
        .await;
    assert_eq!(team.status, StatusCode::CREATED, "{}", team.body);
    let team_id = team.id();
    let twice = app
        .post("/api/v1/teams", json!({"name": "Sales", "members": []}))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    let other = app.other_workspace().await;
    let stranger = app
        .post(
            "/api/v1/teams",
            json!({"name": "Mixed", "members": [other.owner_id]}),
        )
        .await;
    assert_eq!(stranger.error_fields(), ["members"]);
    let listed = app.get("/api/v1/teams").await;
    assert_eq!(listed.body["data"][0]["members"], json!(sales));

    live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "free", "nodes": [
                {"id": "free", "type": "team_available", "team": team_id, "exits": {"yes": "assign", "no": "later"}},
                {"id": "assign", "type": "assign", "to": {"team": team_id}},
                {"id": "later", "type": "add_tag", "tag": "sales_busy"}
            ]}
        }),
    )
    .await;
    // The owner is online, but not in Sales: nobody in the team is.
    let _owner = app
        .state
        .hub
        .agent_connected(app.owner.workspace_id, app.owner.owner_id);
    let (session, first) = visitor(&app).await;
    visitor_writes(&app, &session, "Prices?").await;
    settle(&app).await;
    assert_eq!(tags(&app, &first).await, json!(["sales_busy"]));
    // Both online: each new conversation goes to the one with fewer open.
    let agents: Vec<rapport_core::model::ids::AgentId> =
        sales.iter().map(|id| id.parse().unwrap()).collect();
    let _sam = app
        .state
        .hub
        .agent_connected(app.owner.workspace_id, agents[0]);
    let _sue = app
        .state
        .hub
        .agent_connected(app.owner.workspace_id, agents[1]);
    let mut assigned = Vec::new();
    for _ in 0..2 {
        let (session, _) = visitor(&app).await;
        let conversation = visitor_writes(&app, &session, "Prices?").await;
        settle(&app).await;
        let got = app
            .get(&format!("/api/v1/conversations/{conversation}"))
            .await;
        assigned.push(got.body["assignee_id"].as_str().unwrap().to_owned());
    }
    assigned.sort();
    let mut expected = sales.clone();
    expected.sort();
    assert_eq!(assigned, expected, "one each");
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/v1/teams/{team_id}"),
            Some(&app.owner.api_token),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/teams").await.body["data"], json!([]));
}
