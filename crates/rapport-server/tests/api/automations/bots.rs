//! Chatbot modules: reply buttons, typed questions asked again on a bad
//! answer, questions left unanswered, handover; and the shipped templates
//! end to end.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    MONDAY_10AM, app_at, live, messages, online, page_view, run_log, runs, settle, visitor,
    visitor_replies, visitor_writes,
};
use crate::helpers::TestApp;

both_backends!(
    a_condition_reads_the_answer_a_question_saved,
    the_lead_bot_reads_buttons_and_answers_asks_again_and_hands_over,
    the_autoresponder_answers_at_night_asks_for_an_email_and_assigns,
    buttons_and_a_question_left_unanswered_time_out,
    text_and_phone_answers_are_saved_and_a_bad_phone_is_asked_again,
);

const MINUTE: i64 = 60_000;

/// The visitor's one conversation and its parts as the messenger shows them.
async fn thread(app: &TestApp, session: &str) -> (String, Vec<Value>) {
    let list = app
        .request(Method::GET, "/widget/v1/conversations", Some(session), None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let id = list.body["data"][0]["id"].as_str().unwrap().to_owned();
    let thread = app
        .request(
            Method::GET,
            &format!("/widget/v1/conversations/{id}"),
            Some(session),
            None,
        )
        .await;
    assert_eq!(thread.status, StatusCode::OK, "{}", thread.body);
    let parts = thread.body["parts"].as_array().unwrap().clone();
    (id, parts)
}

async fn the_lead_bot_reads_buttons_and_answers_asks_again_and_hands_over(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let created = app
        .post("/api/v1/automations", json!({"template": "lead_bot"}))
        .await;
    let id = created.id();
    app.post(&format!("/api/v1/automations/{id}/publish"), json!({}))
        .await;
    let (session, contact) = visitor(&app).await;
    let _open = online(&app, &contact);
    page_view(&app, &session, "https://shop.test/").await;
    settle(&app).await;
    clock.advance_millis(10_000);
    settle(&app).await;
    let (conversation, parts) = thread(&app, &session).await;
    let last = parts.last().unwrap();
    assert_eq!(last["body"], "Hi! What brings you here today?");
    assert_eq!(last["author"]["type"], "bot");
    assert_eq!(
        last["origin"],
        json!({"buttons": ["I want a demo", "Just looking"]}),
        "the messenger gets the buttons, not the automation's ids"
    );

    // The Inbox shows the conversation as with the bot while it waits.
    let row = app.get("/api/v1/conversations").await;
    assert_eq!(row.body["data"][0]["with_bot"], true, "{}", row.body);
    // A button is a reply with its label.
    visitor_replies(&app, &session, &conversation, "I want a demo").await;
    settle(&app).await;
    let (_, parts) = thread(&app, &session).await;
    assert_eq!(
        parts.last().unwrap()["origin"]["buttons"],
        json!(["1-10", "11-50", "51+"])
    );
    // A choice that is not offered is asked again.
    visitor_replies(&app, &session, &conversation, "banana").await;
    settle(&app).await;
    let (_, parts) = thread(&app, &session).await;
    let reask = parts.last().unwrap()["body"].as_str().unwrap().to_owned();
    assert!(
        reask.starts_with("Sorry, please choose one of: 1-10, 11-50, 51+"),
        "{reask}"
    );
    visitor_replies(&app, &session, &conversation, "11-50").await;
    settle(&app).await;
    let (_, parts) = thread(&app, &session).await;
    assert_eq!(parts.last().unwrap()["origin"]["input"], "email");
    visitor_replies(&app, &session, &conversation, "not an email").await;
    settle(&app).await;
    visitor_replies(&app, &session, &conversation, "Ann@Example.com").await;
    settle(&app).await;

    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["props"]["team_size"], "11-50", "{}", got.body);
    assert_eq!(got.body["email"], "ann@example.com");
    assert_eq!(
        got.body["email_verified"], false,
        "an email typed to a bot is a claim"
    );
    assert_eq!(got.body["tags"], json!(["lead"]));
    let handed = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(handed.body["with_bot"], false, "handed over");
    assert_eq!(
        handed.body["assignee_id"],
        app.owner.owner_id.to_string().as_str()
    );
    let said = messages(&app, &contact).await;
    assert!(
        said.last()
            .unwrap()
            .1
            .starts_with("Thanks! Someone from sales will be with you."),
        "{said:?}"
    );
    // After the handover the bot is done: a new message gets no bot reply.
    let before = messages(&app, &contact).await.len();
    visitor_replies(&app, &session, &conversation, "Thanks").await;
    settle(&app).await;
    assert_eq!(messages(&app, &contact).await.len(), before + 1);
}

async fn the_autoresponder_answers_at_night_asks_for_an_email_and_assigns(backend: Backend) {
    // Monday 22:00 UTC: outside the default hours (9:00 to 17:00 UTC).
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM + 12 * 3_600_000).await else {
        return;
    };
    let created = app
        .post("/api/v1/automations", json!({"template": "autoresponder"}))
        .await;
    let id = created.id();
    let published = app
        .post(&format!("/api/v1/automations/{id}/publish"), json!({}))
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    let _inbox = app
        .state
        .hub
        .agent_connected(app.owner.workspace_id, app.owner.owner_id);
    let (session, contact) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Is anyone there?").await;
    settle(&app).await;
    let said = messages(&app, &contact).await;
    assert_eq!(said.len(), 3, "{said:?}");
    assert!(said[1].1.starts_with("Thanks for your message!"));
    assert_eq!(said[2].1, "What email address can we reach you at?");
    visitor_replies(&app, &session, &conversation, "bob@example.com").await;
    settle(&app).await;
    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["email"], "bob@example.com");
    let assigned = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(
        assigned.body["assignee_id"],
        app.owner.owner_id.to_string().as_str(),
        "round robin among the members online"
    );
}

async fn a_condition_reads_the_answer_a_question_saved(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    // `seats` is known to no contact yet: the flow that asks for it may
    // test it.
    live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "seats", "nodes": [
                {"id": "seats", "type": "ask", "body": "How many seats do you need?", "property": "seats",
                 "answer": "number", "exits": {"next": "big"}},
                {"id": "big", "type": "condition", "filter": {"and": [{"prop": "seats", "op": "gt", "value": 10}]},
                 "exits": {"yes": "sales", "no": "self"}},
                {"id": "sales", "type": "add_tag", "tag": "big_deal"},
                {"id": "self", "type": "add_tag", "tag": "self_serve"}
            ]}
        }),
    )
    .await;
    for (answer, tag) in [("25", "big_deal"), ("3", "self_serve")] {
        let (session, contact) = visitor(&app).await;
        let conversation = visitor_writes(&app, &session, "Hi").await;
        settle(&app).await;
        let (_, parts) = thread(&app, &session).await;
        assert_eq!(parts.last().unwrap()["origin"]["input"], "number");
        visitor_replies(&app, &session, &conversation, answer).await;
        settle(&app).await;
        let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
        assert_eq!(got.body["tags"], json!([tag]), "{answer}: {}", got.body);
    }
}

async fn buttons_and_a_question_left_unanswered_time_out(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let id = live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "pick", "nodes": [
                {"id": "pick", "type": "bot_message", "body": "Is this about billing?", "buttons": ["Yes", "No"],
                 "timeout_seconds": 600, "exits": {"button_0": "billing", "button_1": "billing", "timed_out": "topic"}},
                {"id": "billing", "type": "add_tag", "tag": "chose"},
                // No time-out given: seven days.
                {"id": "topic", "type": "ask", "body": "What is it about, then?", "property": "topic",
                 "answer": "text", "exits": {"next": "told", "timed_out": "silent"}},
                {"id": "told", "type": "add_tag", "tag": "told"},
                {"id": "silent", "type": "add_tag", "tag": "silent"}
            ]}
        }),
    )
    .await;
    let (session, contact) = visitor(&app).await;
    visitor_writes(&app, &session, "Hi").await;
    settle(&app).await;
    let (_, parts) = thread(&app, &session).await;
    assert_eq!(
        parts.last().unwrap()["origin"]["buttons"],
        json!(["Yes", "No"])
    );
    // The buttons wait ten minutes from when they were sent.
    clock.advance_millis(10 * MINUTE - 1);
    settle(&app).await;
    assert_eq!(messages(&app, &contact).await.len(), 2);
    clock.advance_millis(1);
    settle(&app).await;
    let said = messages(&app, &contact).await;
    assert_eq!(
        said.last().unwrap(),
        &("bot".to_owned(), "What is it about, then?".to_owned()),
        "{said:?}"
    );
    // The question waits seven days.
    clock.advance_millis(7 * 24 * 60 * MINUTE - 1);
    settle(&app).await;
    assert_eq!(tags(&app, &contact).await, json!([]));
    clock.advance_millis(1);
    settle(&app).await;
    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["tags"], json!(["silent"]), "{}", got.body);
    assert!(got.body["props"].get("topic").is_none(), "{}", got.body);
    assert_eq!(messages(&app, &contact).await.len(), 3, "nothing re-sent");
    let run = &runs(&app, &id).await[0];
    assert_eq!(run["status"], "done", "{run}");
    let exits: Vec<_> = run_log(&app, &id, run["id"].as_str().unwrap())
        .await
        .into_iter()
        .filter(|(_, exit)| !exit.is_null())
        .collect();
    assert_eq!(
        exits,
        [
            ("pick".to_owned(), json!("start")),
            ("pick".to_owned(), json!("timed_out")),
            ("topic".to_owned(), json!("timed_out")),
            ("silent".to_owned(), json!("next"))
        ]
    );
}

async fn text_and_phone_answers_are_saved_and_a_bad_phone_is_asked_again(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "company", "nodes": [
                {"id": "company", "type": "ask", "body": "Which company are you with?", "property": "company",
                 "answer": "text", "exits": {"next": "phone"}},
                {"id": "phone", "type": "ask", "body": "What number can we call you on?", "property": "phone",
                 "answer": "phone", "exits": {"next": "callable", "timed_out": "no_phone"}},
                {"id": "callable", "type": "add_tag", "tag": "callable"},
                {"id": "no_phone", "type": "add_tag", "tag": "no_phone"}
            ]}
        }),
    )
    .await;
    let (session, contact) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Hi").await;
    settle(&app).await;
    let (_, parts) = thread(&app, &session).await;
    assert_eq!(parts.last().unwrap()["origin"]["input"], "text");
    visitor_replies(&app, &session, &conversation, "  Acme Ltd  ").await;
    settle(&app).await;
    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["props"]["company"], "Acme Ltd", "{}", got.body);
    let (_, parts) = thread(&app, &session).await;
    assert_eq!(parts.last().unwrap()["origin"]["input"], "phone");
    // Words, then too few digits: asked again each time, with the input.
    for bad in ["call me maybe", "12345"] {
        visitor_replies(&app, &session, &conversation, bad).await;
        settle(&app).await;
        let (_, parts) = thread(&app, &session).await;
        let last = parts.last().unwrap();
        assert_eq!(
            last["body"],
            "Sorry, that does not look like a phone number.\n\nWhat number can we call you on?",
            "{bad}"
        );
        assert_eq!(last["origin"]["input"], "phone");
    }
    visitor_replies(&app, &session, &conversation, "+44 (20) 7946-0958").await;
    settle(&app).await;
    let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(got.body["phone"], "+44 (20) 7946-0958", "saved as typed");
    assert_eq!(got.body["tags"], json!(["callable"]));

    // Three answers that are not phone numbers: the question gives up.
    let (session, other) = visitor(&app).await;
    let conversation = visitor_writes(&app, &session, "Hi").await;
    settle(&app).await;
    for answer in ["Initech", "no", "nope", "never"] {
        visitor_replies(&app, &session, &conversation, answer).await;
        settle(&app).await;
    }
    let got = app.get(&format!("/api/v1/contacts/{other}")).await;
    assert_eq!(got.body["props"]["company"], "Initech");
    assert!(got.body["phone"].is_null(), "{}", got.body);
    assert_eq!(got.body["tags"], json!(["no_phone"]));
}

async fn tags(app: &TestApp, contact: &str) -> Value {
    app.get(&format!("/api/v1/contacts/{contact}")).await.body["tags"].clone()
}
