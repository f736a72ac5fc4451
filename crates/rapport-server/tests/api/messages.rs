use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

both_backends!(
    a_snippet_tag_falls_back_and_the_message_reaches_the_timeline,
    tags_read_the_contact_the_agent_and_the_workspace,
    a_template_that_does_not_parse_is_refused_with_its_position_and_stores_nothing,
    messages_append_to_the_contacts_own_conversations_only,
    ids_from_another_workspace_are_not_found_and_store_nothing,
    a_sent_message_is_announced_on_the_bus,
    preview_renders_without_sending,
);

async fn a_snippet_tag_falls_back_and_the_message_reaches_the_timeline(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let contact = app.contact(json!({"email": "someone@example.com"})).await;
    let sent = app
        .message(&contact, r#"Hi {{ user.name | default("there") }}"#)
        .await;
    assert_eq!(sent.body["body"], "Hi there");
    assert_eq!(sent.body["type"], "comment");
    assert_eq!(
        sent.body["author"],
        json!({"type": "agent", "id": app.owner.owner_id})
    );
    let conversation_id = sent.body["conversation_id"].as_str().unwrap();
    assert_eq!(sent.body["conversation"]["id"], conversation_id);
    assert_eq!(
        sent.body["conversation"]["assignee_id"],
        json!(app.owner.owner_id)
    );
    let timeline = app.timeline(&contact).await;
    assert_eq!(timeline[0]["kind"], "message");
    assert_eq!(timeline[0]["data"]["body"], "Hi there");
    assert_eq!(timeline[0]["conversation_id"], conversation_id);
    assert_eq!(timeline[1]["kind"], "conversation_started");
}

async fn tags_read_the_contact_the_agent_and_the_workspace(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let contact = app
        .contact(json!({"user_id": "ada", "name": "Ada Lovelace", "props": {"plan": "pro"}}))
        .await;
    let sent = app
        .message(&contact, "{{ user.first_name }} on {{ user.props.plan }} / {{ user.props.missing }} / {{ agent.name }} at {{ workspace.name }}")
        .await;
    assert_eq!(sent.body["body"], "Ada on pro /  / Grace Hopper at Acme");
}

async fn a_template_that_does_not_parse_is_refused_with_its_position_and_stores_nothing(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let contact = app.contact(json!({"user_id": "ada"})).await;
    for body in [
        "Hello\n{{ user.name ",
        "Hi {{ user.name | nosuchfilter }}",
        "{% for x in range(100000) %}{{ x }}{% endfor %}",
        "   ",
    ] {
        let reply = app
            .post(
                "/api/v1/messages",
                json!({"contact_id": contact, "body": body}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body:?}: {}",
            reply.body
        );
        assert_eq!(reply.error_fields(), ["body"]);
        assert!(reply.body["errors"][0]["line"].as_u64().unwrap() >= 1);
        assert!(reply.body["errors"][0]["column"].as_u64().unwrap() >= 1);
    }
    let reply = app
        .post(
            "/api/v1/messages",
            json!({"contact_id": contact, "body": "Hello\n{{ user.name "}),
        )
        .await;
    assert_eq!(reply.body["errors"][0]["line"], 2);
    let timeline = app.timeline(&contact).await;
    assert_eq!(timeline.len(), 1, "only contact_created: {timeline:?}");
    let list = app.get("/api/v1/conversations").await;
    assert_eq!(list.body["data"], json!([]));
}

async fn messages_append_to_the_contacts_own_conversations_only(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let bob = app.contact(json!({"user_id": "bob"})).await;
    let first = app.message(&ada, "First").await;
    let conversation = first.body["conversation_id"].as_str().unwrap();
    let second = app
        .post(
            "/api/v1/messages",
            json!({"contact_id": ada, "body": "Second", "conversation_id": conversation}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.body["conversation_id"], conversation);
    let parts = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .body["parts"]
        .clone();
    assert_eq!(parts.as_array().unwrap().len(), 2);
    let wrong = app
        .post(
            "/api/v1/messages",
            json!({"contact_id": bob, "body": "Hi", "conversation_id": conversation}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.error_fields(), ["conversation_id"]);
    assert!(
        app.timeline(&bob)
            .await
            .iter()
            .all(|e| e["kind"] != "message")
    );
}

async fn ids_from_another_workspace_are_not_found_and_store_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let other = app.other_workspace().await;
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let conversation = app.message(&ada, "Hi").await.body["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let send = |token: String, body: serde_json::Value| {
        let app = &app;
        async move {
            app.request(
                reqwest::Method::POST,
                "/api/v1/messages",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    // Another workspace cannot message our contact...
    let reply = send(
        other.api_token.clone(),
        json!({"contact_id": ada, "body": "Hi"}),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["type"].as_str()),
        (StatusCode::NOT_FOUND, Some("urn:rapport:problem:not-found"))
    );
    // ...nor write into our conversation with a contact of its own...
    let theirs = app
        .request(
            reqwest::Method::POST,
            "/api/v1/contacts",
            Some(&other.api_token),
            Some(json!({"user_id": "eve"})),
        )
        .await
        .id();
    let reply = send(
        other.api_token.clone(),
        json!({"contact_id": theirs, "body": "Hi", "conversation_id": conversation}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // ...and we cannot send as their agent.
    let reply = send(
        app.owner.api_token.clone(),
        json!({"contact_id": ada, "body": "Hi", "from_agent_id": other.owner_id}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("from_agent_id")
    );
    let messages = app
        .timeline(&ada)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "message")
        .count();
    assert_eq!(messages, 1);
}

async fn a_sent_message_is_announced_on_the_bus(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let mut notices = app.bus.subscribe();
    app.message(&ada, "Hi").await;
    let rapport_server::live::Notice::Grew(workspace, seq) = notices.recv().await.unwrap() else {
        panic!("a notice that the log grew");
    };
    assert_eq!(workspace.to_string(), app.owner.workspace_id.to_string());
    let newest = app.timeline(&ada).await[0]["seq"].as_i64().unwrap();
    assert_eq!(seq, newest);
}

async fn preview_renders_without_sending(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada", "name": "Ada"})).await;
    let preview = app
        .post(
            "/api/v1/templates/preview",
            json!({"contact_id": ada, "body": "Hi {{ user.name }}, {{ agent.first_name }} here"}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_eq!(preview.body["body"], "Hi Ada, Grace here");
    let broken = app
        .post(
            "/api/v1/templates/preview",
            json!({"contact_id": ada, "body": "{% if %}"}),
        )
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(broken.body["errors"][0]["line"], 1);
    assert_eq!(app.timeline(&ada).await.len(), 1);
}
