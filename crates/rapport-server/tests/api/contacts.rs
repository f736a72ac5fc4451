use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

both_backends!(
    a_contact_is_created_then_updated_by_user_id,
    bad_contacts_are_refused_naming_the_field_and_change_nothing,
    malformed_requests_get_problem_documents,
    contacts_of_another_workspace_do_not_exist,
    events_land_on_the_timeline,
    timelines_page_with_cursors,
    numbers_at_the_ends_of_the_range_read_back_as_stored,
);

/// PostgreSQL writes a JSON number as an exact decimal (f64::MIN as 309
/// digits); it must read back as the same number, not fail the request.
async fn numbers_at_the_ends_of_the_range_read_back_as_stored(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let props = json!({"low": -1.7976931348623157e308, "high": 1.7976931348623157e308,
        "tiny": 1.1125369292536007e-308, "big": 5.81185156177178e75});
    let created = app
        .post(
            "/api/v1/contacts",
            json!({"user_id": "edge", "props": props}),
        )
        .await;
    assert!(created.status.is_success(), "{}", created.body);
    let id = created.id();
    for _ in 0..2 {
        let read = app.get(&format!("/api/v1/contacts/{id}")).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        assert_eq!(read.body["props"], props);
        let again = app
            .post("/api/v1/contacts", json!({"user_id": "edge", "ops": [{"op": "increment", "prop": "tiny", "value": 0}]}))
            .await;
        assert!(again.status.is_success(), "{}", again.body);
    }
}

async fn a_contact_is_created_then_updated_by_user_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app.post("/api/v1/contacts", json!({"user_id": "u-1", "email": "ada@example.com", "props": {"plan": "free", "seats": 2}})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["name"], json!(null));
    let updated = app.post("/api/v1/contacts", json!({"user_id": "u-1", "name": "Ada Lovelace", "props": {"plan": "pro", "seats": null, "beta": true}})).await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.id(), created.id());
    let fetched = app.get(&format!("/api/v1/contacts/{}", created.id())).await;
    assert_eq!(fetched.body["name"], "Ada Lovelace");
    assert_eq!(fetched.body["email"], "ada@example.com");
    assert_eq!(fetched.body["props"], json!({"plan": "pro", "beta": true}));
    // Matched by email when no user_id is given.
    let by_email = app
        .post(
            "/api/v1/contacts",
            json!({"email": "ADA@example.com", "phone": "+44 20 7946 0000"}),
        )
        .await;
    assert_eq!(
        (by_email.status, by_email.id()),
        (StatusCode::OK, created.id())
    );
}

async fn bad_contacts_are_refused_naming_the_field_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = [
        (
            json!({"user_id": "u-1", "email": "not-an-email"}),
            vec!["email"],
        ),
        (
            json!({"user_id": "u-1", "props": {"address": {"city": "London"}}}),
            vec!["props.address"],
        ),
        (
            json!({"user_id": "u-1", "props": {"bad key!": 1}}),
            vec!["props.bad key!"],
        ),
        (json!({"name": "Nobody"}), vec!["user_id"]),
        (json!({"user_id": 42}), vec!["user_id"]),
        (json!({"user_id": "u-1", "plan": "pro"}), vec!["plan"]),
        (
            json!({"user_id": "u-1", "email": "x", "name": ""}),
            vec!["email", "name"],
        ),
    ];
    for (body, fields) in cases {
        let reply = app.post("/api/v1/contacts", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.body["type"], "urn:rapport:problem:validation");
        assert_eq!(reply.error_fields(), fields, "{body}");
    }
    // None of those created u-1: creating it now is a creation.
    let reply = app
        .post("/api/v1/contacts", json!({"user_id": "u-1"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["props"], json!({}));
}

async fn malformed_requests_get_problem_documents(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let bad_json = app
        .post_raw("/api/v1/contacts", "application/json", "{\"user_id\": ")
        .await;
    assert_eq!(
        (bad_json.status, bad_json.body["type"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("urn:rapport:problem:bad-request")
        )
    );
    let not_json = app
        .post_raw("/api/v1/contacts", "text/plain", "user_id=u-1")
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(not_json.content_type, "application/problem+json");
    let huge = format!(
        "{{\"user_id\": \"u-1\", \"name\": \"{}\"}}",
        "x".repeat(1024 * 1024 + 1)
    );
    let too_big = app
        .post_raw("/api/v1/contacts", "application/json", huge)
        .await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        too_big.body["type"],
        "urn:rapport:problem:payload-too-large"
    );
    let unknown_route = app.get("/api/v1/nowhere").await;
    assert_eq!(
        (unknown_route.status, unknown_route.content_type.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    let bad_query = app.get("/api/v1/conversations?status=sleeping").await;
    assert_eq!(bad_query.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_query.error_fields(), ["status"]);
    // The 413 body was not stored.
    assert_eq!(
        app.post("/api/v1/contacts", json!({"user_id": "u-1"}))
            .await
            .status,
        StatusCode::CREATED
    );
}

async fn contacts_of_another_workspace_do_not_exist(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let other = app.other_workspace().await;
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let as_other = |path: String| {
        let app = &app;
        let token = other.api_token.clone();
        async move {
            app.request(reqwest::Method::GET, &path, Some(&token), None)
                .await
        }
    };
    for path in [
        format!("/api/v1/contacts/{ada}"),
        format!("/api/v1/contacts/{ada}/timeline"),
    ] {
        let reply = as_other(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.body["type"], "urn:rapport:problem:not-found");
    }
    let event = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/contacts/{ada}/events"),
            Some(&other.api_token),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(event.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/contacts/not-a-uuid").await.status,
        StatusCode::NOT_FOUND
    );
    // The same user_id in the other workspace is another contact.
    let twin = app
        .request(
            reqwest::Method::POST,
            "/api/v1/contacts",
            Some(&other.api_token),
            Some(json!({"user_id": "ada"})),
        )
        .await;
    assert_eq!(twin.status, StatusCode::CREATED);
    assert_ne!(twin.id(), ada);
}

async fn events_land_on_the_timeline(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let tracked = app
        .post(
            &format!("/api/v1/contacts/{ada}/events"),
            json!({"name": "paid", "params": {"amount": 49}, "created_at": "2026-01-02T03:04:05Z"}),
        )
        .await;
    assert_eq!(tracked.status, StatusCode::CREATED, "{}", tracked.body);
    assert_eq!(tracked.body["created_at"], "2026-01-02T03:04:05Z");
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "params": [1]}), "params"),
        (
            json!({"name": "x", "created_at": "yesterday"}),
            "created_at",
        ),
    ] {
        let reply = app
            .post(&format!("/api/v1/contacts/{ada}/events"), body)
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.error_fields(), [field]);
    }
    let timeline = app.timeline(&ada).await;
    let kinds: Vec<_> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["event", "contact_created"]);
    assert_eq!(
        timeline[0]["data"],
        json!({"name": "paid", "params": {"amount": 49}})
    );
    let unknown = app
        .post(
            "/api/v1/contacts/01a21449-be13-7296-9c72-d23a386f61b7/events",
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn timelines_page_with_cursors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada"})).await;
    for i in 0..5 {
        app.post(
            &format!("/api/v1/contacts/{ada}/events"),
            json!({"name": format!("e{i}")}),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut path = format!("/api/v1/contacts/{ada}/timeline?limit=2");
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let data = page.body["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        names.extend(
            data.iter()
                .map(|e| e["data"]["name"].as_str().unwrap_or("created").to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/contacts/{ada}/timeline?limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(names, ["e4", "e3", "e2", "e1", "e0", "created"]);
    for query in ["limit=0", "limit=101", "cursor=%%%", "cursor=bm9wZQ"] {
        let reply = app
            .get(&format!("/api/v1/contacts/{ada}/timeline?{query}"))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.body
        );
    }
}
