//! Triggers, general modules, conditions, waits and frequency rules, each
//! driven by the clock.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    MONDAY_10AM, app_at, greeting, live, messages, online, page_view, run_log, runs, settle,
    visitor, visitor_replies, visitor_writes,
};

both_backends!(
    a_visitor_who_stays_on_the_page_is_greeted_once_after_the_delay,
    no_team_reply_is_checked_again_when_due_and_counts_from_the_message,
    events_properties_and_tags_start_runs_that_branch_and_change_the_contact,
    a_wait_for_a_reply_takes_happened_or_timed_out,
    frequency_once_and_per_days_and_one_run_at_a_time,
    an_automation_never_sets_itself_off_and_a_loop_stops_at_the_step_limit,
    steps_overdue_after_downtime_end_the_run_instead_of_firing,
    business_hours_team_availability_and_assignment,
    manual_starts_stops_and_stats,
);

const MINUTE: i64 = 60_000;

async fn a_visitor_who_stays_on_the_page_is_greeted_once_after_the_delay(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(&app, greeting(&app.owner.owner_id.to_string())).await;
    let (session, contact) = visitor(&app).await;
    let _open = online(&app, &contact);
    page_view(&app, &session, "https://shop.test/docs").await;
    page_view(&app, &session, "https://shop.test/pricing?plan=pro").await;
    settle(&app).await;
    assert_eq!(
        runs(&app, &id).await.len(),
        1,
        "one run, for the pricing page"
    );
    clock.advance_millis(29_000);
    settle(&app).await;
    assert!(messages(&app, &contact).await.is_empty(), "not before 30 s");
    clock.advance_millis(1_000);
    settle(&app).await;
    assert_eq!(
        messages(&app, &contact).await,
        [(
            "agent".to_owned(),
            "Hi there, questions about pricing?".to_owned()
        )]
    );
    let run = &runs(&app, &id).await[0];
    assert_eq!(run["status"], "done", "{run}");
    // The message went the one path: the timeline shows it, with its origin.
    let timeline = app
        .get(&format!(
            "/api/v1/contacts/{contact}/timeline?kinds=message"
        ))
        .await;
    assert_eq!(
        timeline.body["data"][0]["data"]["origin"]["automation_id"],
        id.as_str()
    );
    // Settling again sends nothing more.
    clock.advance_millis(MINUTE);
    settle(&app).await;
    assert_eq!(messages(&app, &contact).await.len(), 1);

    // A visitor who moves on before 30 s is not greeted; the run says why.
    let (session, moved) = visitor(&app).await;
    let _open = online(&app, &moved);
    page_view(&app, &session, "https://shop.test/pricing").await;
    settle(&app).await;
    clock.advance_millis(10_000);
    page_view(&app, &session, "https://shop.test/about").await;
    clock.advance_millis(25_000);
    settle(&app).await;
    assert!(messages(&app, &moved).await.is_empty());
    let run = runs(&app, &id)
        .await
        .into_iter()
        .find(|r| r["contact_id"] == moved.as_str())
        .unwrap();
    assert_eq!(run["status"], "stopped");
    assert!(
        run["ended_reason"]
            .as_str()
            .unwrap()
            .contains("another page"),
        "{run}"
    );
}

async fn no_team_reply_is_checked_again_when_due_and_counts_from_the_message(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "no_team_reply", "minutes": 5},
            "frequency": {"type": "every_time"},
            "flow": {"start": "sorry", "nodes": [
                {"id": "sorry", "type": "send_message", "from": "bot", "body": "Sorry for the wait, we're on it."}
            ]}
        }),
    )
    .await;
    // Answered in time: nothing is sent.
    let (session, answered) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Hello?").await;
    settle(&app).await;
    clock.advance_millis(3 * MINUTE);
    let reply = app
        .post(
            &format!("/api/v1/conversations/{conversation}/reply"),
            json!({"body": "Hi! Looking now."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    // The dispatcher runs late (after the 5 minutes): the delay still
    // counts from the contact's message, and the check sees the reply.
    clock.advance_millis(3 * MINUTE);
    settle(&app).await;
    assert_eq!(messages(&app, &answered).await.len(), 2);
    let run = &runs(&app, &id).await[0];
    assert_eq!(run["status"], "stopped");
    assert!(
        run["ended_reason"]
            .as_str()
            .unwrap()
            .contains("team replied")
    );

    // Not answered: the message comes at 5 minutes.
    let (session, waiting) = visitor(&app).await;
    visitor_writes(&app, &session, "Anyone there?").await;
    settle(&app).await;
    clock.advance_millis(5 * MINUTE - 1);
    settle(&app).await;
    assert_eq!(messages(&app, &waiting).await.len(), 1);
    clock.advance_millis(1);
    settle(&app).await;
    let seen = messages(&app, &waiting).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[1],
        (
            "bot".to_owned(),
            "Sorry for the wait, we're on it.".to_owned()
        )
    );
}

async fn events_properties_and_tags_start_runs_that_branch_and_change_the_contact(
    backend: Backend,
) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let defined = app
        .request(
            Method::PUT,
            "/api/v1/people/properties/score",
            Some(&app.owner.api_token),
            Some(json!({"type": "number"})),
        )
        .await;
    assert!(defined.status.is_success(), "{}", defined.body);
    // Filters name properties the workspace knows.
    let pro = app
        .contact(json!({"user_id": "pro", "props": {"plan": "pro"}}))
        .await;
    let free = app
        .contact(json!({"user_id": "free", "props": {"plan": "free"}}))
        .await;
    let tagged = app
        .post(
            &format!("/api/v1/contacts/{free}/tags"),
            json!({"tag": "trial"}),
        )
        .await;
    assert!(tagged.status.is_success(), "{}", tagged.body);
    live(
        &app,
        json!({
            "trigger": {"type": "event_tracked", "name": "signed_up"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "pro", "nodes": [
                {"id": "pro", "type": "condition", "filter": {"and": [{"prop": "plan", "op": "eq", "value": "pro"}]},
                 "exits": {"yes": "vip", "no": "basic"}},
                {"id": "vip", "type": "add_tag", "tag": "vip", "exits": {"next": "score"}},
                {"id": "score", "type": "set_property", "name": "score", "value": 10, "exits": {"next": "more"}},
                {"id": "more", "type": "increment_property", "name": "score", "by": 5, "exits": {"next": "hello"}},
                {"id": "hello", "type": "send_message", "from": "bot", "body": "Welcome aboard ({{ event.params.source }})"},
                {"id": "basic", "type": "unset_property", "name": "plan", "exits": {"next": "untrial"}},
                {"id": "untrial", "type": "remove_tag", "tag": "trial"}
            ]}
        }),
    )
    .await;
    let property_run = live(
        &app,
        json!({
            "trigger": {"type": "tag_added", "tag": "vip"},
            "frequency": {"type": "once"},
            "flow": {"start": "note", "nodes": [{"id": "note", "type": "set_property", "name": "vip_since", "value": "today"}]}
        }),
    )
    .await;
    for contact in [&pro, &free] {
        let tracked = app
            .post(
                &format!("/api/v1/contacts/{contact}/events"),
                json!({"name": "signed_up", "params": {"source": "ads"}}),
            )
            .await;
        assert!(tracked.status.is_success(), "{}", tracked.body);
    }
    settle(&app).await;
    let got = app.get(&format!("/api/v1/contacts/{pro}")).await;
    assert_eq!(got.body["tags"], json!(["vip"]));
    assert_eq!(got.body["props"]["score"], json!(15.0));
    // The tag an automation added started the other automation (depth 1).
    assert_eq!(got.body["props"]["vip_since"], "today");
    assert_eq!(
        messages(&app, &pro).await,
        [("bot".to_owned(), "Welcome aboard (ads)".to_owned())]
    );
    let got = app.get(&format!("/api/v1/contacts/{free}")).await;
    assert_eq!(got.body["tags"], json!([]), "the trial tag was removed");
    assert!(got.body["props"].get("plan").is_none(), "{}", got.body);
    assert!(messages(&app, &free).await.is_empty());
    // Everything it did is on the timeline, with the automation that did it.
    let timeline = app
        .get(&format!(
            "/api/v1/contacts/{pro}/timeline?kinds=contact_updated,automation"
        ))
        .await;
    let entries = timeline.body["data"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "contact_updated" && e["data"]["cause"]["node"] == "vip"),
        "{entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "automation"
                && e["data"]["automation_id"] == property_run.as_str())
    );
}

async fn a_wait_for_a_reply_takes_happened_or_timed_out(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "ask", "nodes": [
                {"id": "ask", "type": "send_message", "from": "bot", "body": "Is this about billing?", "exits": {"next": "wait"}},
                {"id": "wait", "type": "wait_for", "for": {"type": "reply"}, "timeout_seconds": 172800,
                 "exits": {"happened": "thanks", "timed_out": "close"}},
                {"id": "thanks", "type": "add_tag", "tag": "engaged"},
                {"id": "close", "type": "close"}
            ]}
        }),
    )
    .await;
    let (talker, talker_id) = visitor(&app).await;
    let conversation = visitor_writes(&app, &talker, "Hi").await;
    let (_quiet_session, _) = visitor(&app).await;
    let (quiet, quiet_id) = visitor(&app).await;
    let quiet_conversation = visitor_writes(&app, &quiet, "Hello").await;
    settle(&app).await;
    clock.advance_millis(24 * 60 * MINUTE);
    visitor_replies(&app, &talker, &conversation, "Yes, billing").await;
    settle(&app).await;
    let got = app.get(&format!("/api/v1/contacts/{talker_id}")).await;
    assert_eq!(
        got.body["tags"],
        json!(["engaged"]),
        "the reply cut the wait short"
    );
    // Two days after the question: the quiet one times out, closed.
    clock.advance_millis(24 * 60 * MINUTE);
    settle(&app).await;
    let closed = app
        .get(&format!("/api/v1/conversations/{quiet_conversation}"))
        .await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    let got = app.get(&format!("/api/v1/contacts/{quiet_id}")).await;
    assert_eq!(got.body["tags"], json!([]));
    let quiet_run = runs(&app, &id)
        .await
        .into_iter()
        .find(|r| r["contact_id"] == quiet_id.as_str())
        .unwrap();
    let log = run_log(&app, &id, quiet_run["id"].as_str().unwrap()).await;
    assert!(
        log.contains(&("wait".to_owned(), json!("timed_out"))),
        "{log:?}"
    );
}

async fn frequency_once_and_per_days_and_one_run_at_a_time(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let flow = json!({"start": "w", "nodes": [
        {"id": "w", "type": "wait", "seconds": 3600, "exits": {"next": "t"}},
        {"id": "t", "type": "increment_property", "name": "hits", "by": 1}
    ]});
    let once = live(
        &app,
        json!({"trigger": {"type": "event_tracked", "name": "ping"}, "frequency": {"type": "once"}, "flow": flow}),
    )
    .await;
    let weekly = live(
        &app,
        json!({"trigger": {"type": "event_tracked", "name": "ping"}, "frequency": {"type": "every_days", "days": 7}, "flow": flow}),
    )
    .await;
    let always = live(
        &app,
        json!({"trigger": {"type": "event_tracked", "name": "ping"}, "frequency": {"type": "every_time"}, "flow": flow}),
    )
    .await;
    let contact = app.contact(json!({"user_id": "u"})).await;
    let ping = || async {
        app.post(
            &format!("/api/v1/contacts/{contact}/events"),
            json!({"name": "ping"}),
        )
        .await;
        settle(&app).await;
    };
    ping().await;
    // A second trigger while the runs wait starts no second run.
    ping().await;
    for id in [&once, &weekly, &always] {
        assert_eq!(runs(&app, id).await.len(), 1);
    }
    clock.advance_millis(2 * 60 * MINUTE);
    settle(&app).await;
    ping().await;
    assert_eq!(runs(&app, &once).await.len(), 1, "once ever");
    assert_eq!(runs(&app, &weekly).await.len(), 1, "not within 7 days");
    assert_eq!(
        runs(&app, &always).await.len(),
        2,
        "again once the first ended"
    );
    clock.advance_millis(8 * 24 * 60 * MINUTE);
    settle(&app).await;
    ping().await;
    assert_eq!(runs(&app, &once).await.len(), 1);
    assert_eq!(runs(&app, &weekly).await.len(), 2, "a week later");
    clock.advance_millis(2 * 60 * MINUTE);
    settle(&app).await;
    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["props"]["hits"], json!(5.0));
}

async fn an_automation_never_sets_itself_off_and_a_loop_stops_at_the_step_limit(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    // It changes the property it is triggered by: it does not run again.
    let own = live(
        &app,
        json!({
            "trigger": {"type": "property_changed", "name": "stage"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "s", "nodes": [{"id": "s", "type": "increment_property", "name": "stage_changes", "by": 1, "exits": {"next": "t"}},
                {"id": "t", "type": "set_property", "name": "stage", "value": "touched"}]}
        }),
    )
    .await;
    // A flow that loops without waiting ends at the step limit.
    let looping = live(
        &app,
        json!({
            "trigger": {"type": "event_tracked", "name": "loop"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "a", "nodes": [
                {"id": "a", "type": "increment_property", "name": "spins", "by": 1, "exits": {"next": "b"}},
                {"id": "b", "type": "split", "percent": 100, "exits": {"a": "a"}}
            ]}
        }),
    )
    .await;
    let contact = app
        .contact(json!({"user_id": "u", "props": {"stage": "new"}}))
        .await;
    app.request(
        Method::PATCH,
        &format!("/api/v1/contacts/{contact}"),
        Some(&app.owner.api_token),
        Some(json!({"props": {"stage": "lead"}})),
    )
    .await;
    app.post(
        &format!("/api/v1/contacts/{contact}/events"),
        json!({"name": "loop"}),
    )
    .await;
    settle(&app).await;
    assert_eq!(runs(&app, &own).await.len(), 1);
    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["props"]["stage"], "touched");
    assert_eq!(got.body["props"]["stage_changes"], json!(1.0));
    let run = &runs(&app, &looping).await[0];
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["ended_reason"].as_str().unwrap().contains("200 steps"));
    assert_eq!(got.body["props"]["spins"], json!(100.0));
}

async fn steps_overdue_after_downtime_end_the_run_instead_of_firing(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "contact_created"},
            "frequency": {"type": "once"},
            "flow": {"start": "w", "nodes": [
                {"id": "w", "type": "wait", "seconds": 600, "exits": {"next": "hi"}},
                {"id": "hi", "type": "send_message", "from": "bot", "body": "Good morning!"}
            ]}
        }),
    )
    .await;
    let contact = app.contact(json!({"user_id": "u"})).await;
    settle(&app).await;
    // The server is down for three hours: the wait is found long overdue.
    clock.advance_millis(3 * 60 * MINUTE);
    settle(&app).await;
    assert!(messages(&app, &contact).await.is_empty());
    let run = &runs(&app, &id).await[0];
    assert_eq!(run["status"], "stopped", "{run}");
    assert!(
        run["ended_reason"]
            .as_str()
            .unwrap()
            .contains("minutes ago")
    );
}

async fn business_hours_team_availability_and_assignment(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let owner = app.owner.owner_id.to_string();
    let saved = app
        .request(
            Method::PUT,
            "/api/v1/settings/office",
            Some(&app.owner.api_token),
            Some(json!({
                "time_zone": "Europe/Warsaw",
                "weekly": [[{"from": "09:00", "to": "17:00"}], [], [], [], [], [], []],
                "holidays": [],
                "reply_time_in_hours": "We reply in minutes.",
                "reply_time_out_of_hours": "We're back Monday.",
                "automated_messages_per_day": 5
            })),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let bad = app
        .request(
            Method::PUT,
            "/api/v1/settings/office",
            Some(&app.owner.api_token),
            Some(json!({"time_zone": "Nowhere/Else", "weekly": [[], [], [], [], [], [], []], "reply_time_in_hours": "x", "reply_time_out_of_hours": "y", "automated_messages_per_day": 5})),
        )
        .await;
    assert_eq!(bad.error_fields(), ["time_zone"]);
    // The messenger says when to expect a reply, by the office's hours.
    let booted = crate::widget_support::boot(&app, json!({"app_id": app.owner.app_id})).await;
    assert_eq!(
        booted.body["workspace"]["reply_time"],
        "We reply in minutes."
    );
    let id = live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "open", "nodes": [
                {"id": "open", "type": "business_hours", "exits": {"yes": "team", "no": "away"}},
                {"id": "team", "type": "team_available", "exits": {"yes": "assign", "no": "away"}},
                {"id": "assign", "type": "assign", "to": "round_robin"},
                {"id": "away", "type": "handover", "to": {"agent": owner}, "message": "Thanks for writing."}
            ]}
        }),
    )
    .await;
    // Monday 11:00 in Warsaw, but nobody has the Inbox open: handover.
    let (session, first) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Hi").await;
    settle(&app).await;
    let seen = messages(&app, &first).await;
    assert_eq!(seen[1].1, "Thanks for writing.\n\nWe reply in minutes.");
    let got = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(got.body["assignee_id"], owner.as_str());
    // With the owner's Inbox open, round robin assigns them.
    let _inbox = app
        .state
        .hub
        .agent_connected(app.owner.workspace_id, app.owner.owner_id);
    let (session, _) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Hi again").await;
    settle(&app).await;
    let got = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(got.body["assignee_id"], owner.as_str());
    let log = run_log(&app, &id, runs(&app, &id).await[0]["id"].as_str().unwrap()).await;
    assert_eq!(
        log[1..],
        [
            ("open".to_owned(), json!("yes")),
            ("team".to_owned(), json!("yes")),
            ("assign".to_owned(), json!("next"))
        ]
    );
    // Away: not available. Tuesday: outside hours.
    app.request(
        Method::PUT,
        &format!("/api/v1/team/{owner}/availability"),
        Some(&app.owner.api_token),
        Some(json!({"away": true, "max_open": null})),
    )
    .await;
    clock.advance_millis(24 * 60 * MINUTE);
    let (session, late) = visitor(&app).await;
    visitor_writes(&app, &session, "Tuesday").await;
    settle(&app).await;
    assert_eq!(
        messages(&app, &late).await[1].1,
        "Thanks for writing.\n\nWe're back Monday."
    );
}

async fn manual_starts_stops_and_stats(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "manual"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "hi", "nodes": [
                {"id": "hi", "type": "send_message", "from": "bot", "body": "Hello from the team", "exits": {"next": "w"}},
                {"id": "w", "type": "wait", "seconds": 3600, "exits": {"next": "bye"}},
                {"id": "bye", "type": "send_message", "from": "bot", "body": "Bye"}
            ]}
        }),
    )
    .await;
    let contact = app.contact(json!({"user_id": "u"})).await;
    let started = app
        .post(
            &format!("/api/v1/automations/{id}/runs"),
            json!({"contact_id": contact}),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let again = app
        .post(
            &format!("/api/v1/automations/{id}/runs"),
            json!({"contact_id": contact}),
        )
        .await;
    assert_eq!(again.error_fields(), ["contact_id"], "{}", again.body);
    settle(&app).await;
    let run_id = started.id();
    let stopped = app
        .post(
            &format!("/api/v1/automations/{id}/runs/{run_id}/stop"),
            json!({}),
        )
        .await;
    assert_eq!(stopped.body["status"], "stopped", "{}", stopped.body);
    let stats = app.get(&format!("/api/v1/automations/{id}/stats")).await;
    assert_eq!(stats.body["runs"], 1);
    assert_eq!(stats.body["stopped"], 1);
    assert_eq!(stats.body["sent"], 1);
    let hi: Vec<&Value> = stats.body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["node"] == "hi")
        .collect();
    assert_eq!(hi[0]["entered"], 1);
    assert_eq!(hi[0]["exits"]["next"], 1);
    assert_eq!(messages(&app, &contact).await.len(), 1);
}
