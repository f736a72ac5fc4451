use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

both_backends!(
    conversations_list_by_status_assignee_and_contact_and_page,
    a_conversation_shows_its_contact_and_parts_and_takes_replies_and_notes,
    conversations_are_assigned_closed_snoozed_and_reopened,
    other_workspaces_conversations_do_not_exist,
);

fn ids(reply: &Value) -> Vec<String> {
    reply["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn conversations_list_by_status_assignee_and_contact_and_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let bob = app.contact(json!({"user_id": "bob"})).await;
    let mut started = Vec::new();
    for (i, contact) in [&ada, &bob, &ada].into_iter().enumerate() {
        started.push(
            app.message(contact, &format!("m{i}")).await.body["conversation_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Newest first.
    let all = app.get("/api/v1/conversations").await;
    assert_eq!(
        ids(&all.body),
        [started[2].as_str(), &started[1], &started[0]]
    );
    assert_eq!(all.body["next_cursor"], Value::Null);
    let closed = app
        .post(
            &format!("/api/v1/conversations/{}/close", started[0]),
            json!({}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    app.post(
        &format!("/api/v1/conversations/{}/assign", started[1]),
        json!({"assignee_id": null}),
    )
    .await;
    assert_eq!(
        ids(&app.get("/api/v1/conversations?status=closed").await.body),
        [started[0].as_str()]
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/conversations?status=open&assignee=me")
            .await
            .body),
        [started[2].as_str()]
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/conversations?assignee=unassigned")
            .await
            .body),
        [started[1].as_str()]
    );
    let by_owner = app
        .get(&format!(
            "/api/v1/conversations?assignee={}",
            app.owner.owner_id
        ))
        .await;
    assert_eq!(ids(&by_owner.body).len(), 2);
    assert_eq!(
        ids(&app
            .get(&format!("/api/v1/conversations?contact_id={bob}"))
            .await
            .body),
        [started[1].as_str()]
    );
    // Pages of one, by cursor, cover everything once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/conversations?limit=1".to_owned();
    loop {
        let page = app.get(&path).await;
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/conversations?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    for query in [
        "assignee=someone",
        "contact_id=nope",
        "limit=500",
        "colour=red",
    ] {
        let reply = app.get(&format!("/api/v1/conversations?{query}")).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
}

async fn a_conversation_shows_its_contact_and_parts_and_takes_replies_and_notes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada", "name": "Ada"})).await;
    let id = app.message(&ada, "Hello {{ user.name }}").await.body["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .post(
            &format!("/api/v1/conversations/{id}/reply"),
            json!({"body": "Following up, {{ user.name }}"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["body"], "Following up, Ada");
    let note = app
        .post(
            &format!("/api/v1/conversations/{id}/reply"),
            json!({"body": "VIP, be nice", "type": "note"}),
        )
        .await;
    assert_eq!(
        (note.status, note.body["type"].as_str()),
        (StatusCode::CREATED, Some("note"))
    );
    let bad = app
        .post(
            &format!("/api/v1/conversations/{id}/reply"),
            json!({"body": "x", "type": "shout"}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["type"]);
    let detail = app.get(&format!("/api/v1/conversations/{id}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body["contact"]["name"], "Ada");
    let parts: Vec<_> = detail.body["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["type"].as_str().unwrap(), p["body"].as_str().unwrap()))
        .collect();
    assert_eq!(
        parts,
        [
            ("comment", "Hello Ada"),
            ("comment", "Following up, Ada"),
            ("note", "VIP, be nice")
        ]
    );
    // A note cannot start a conversation.
    let stray = app
        .post(
            "/api/v1/messages",
            json!({"contact_id": ada, "body": "x", "type": "note"}),
        )
        .await;
    assert_eq!(stray.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn conversations_are_assigned_closed_snoozed_and_reopened(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let teammate = app
        .post("/api/v1/agents", json!({"email": "ada@acme.test", "name": "Ada", "role": "agent", "password": "long enough"}))
        .await
        .id();
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let id = app.message(&ada, "Hi").await.body["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = |action: &str| format!("/api/v1/conversations/{id}/{action}");
    let assigned = app
        .post(&path("assign"), json!({"assignee_id": teammate}))
        .await;
    assert_eq!(assigned.body["assignee_id"], teammate.as_str());
    let snoozed = app
        .post(&path("snooze"), json!({"until": "2099-01-01T00:00:00Z"}))
        .await;
    assert_eq!(
        (
            snoozed.body["status"].as_str(),
            snoozed.body["snoozed_until"].as_str()
        ),
        (Some("snoozed"), Some("2099-01-01T00:00:00Z"))
    );
    let past = app
        .post(&path("snooze"), json!({"until": "2001-01-01T00:00:00Z"}))
        .await;
    assert_eq!(past.error_fields(), ["until"]);
    let closed = app.post(&path("close"), json!({})).await;
    assert_eq!(
        (
            closed.body["status"].as_str(),
            closed.body["snoozed_until"].clone()
        ),
        (Some("closed"), Value::Null)
    );
    let reopened = app.post(&path("open"), json!({})).await;
    assert_eq!(reopened.body["status"], "open");
    let kinds: Vec<_> = app
        .timeline(&ada)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "status_changed",
            "status_changed",
            "status_changed",
            "assigned",
            "message",
            "conversation_started",
            "contact_created"
        ]
    );
}

async fn other_workspaces_conversations_do_not_exist(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let other = app.other_workspace().await;
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let id = app.message(&ada, "Hi").await.body["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = Some(other.api_token.as_str());
    let get = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/conversations/{id}"),
            token,
            None,
        )
        .await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
    for (action, body) in [
        ("reply", json!({"body": "x"})),
        ("close", json!({})),
        ("assign", json!({"assignee_id": null})),
        ("snooze", json!({"until": "2099-01-01T00:00:00Z"})),
    ] {
        let reply = app
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/conversations/{id}/{action}"),
                token,
                Some(body),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{action}: {}",
            reply.body
        );
    }
    let list = app
        .request(reqwest::Method::GET, "/api/v1/conversations", token, None)
        .await;
    assert_eq!(list.body["data"], json!([]));
    // Assigning our conversation to their agent is refused too.
    let reply = app
        .post(
            &format!("/api/v1/conversations/{id}/assign"),
            json!({"assignee_id": other.owner_id}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let status = app.get(&format!("/api/v1/conversations/{id}")).await.body["status"].clone();
    assert_eq!(status, "open");
}
