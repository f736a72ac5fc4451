//! The server stays up and bounded whatever it is sent (issue 10, points
//! 5 to 8): filters of any size, control characters bound for email
//! headers, password floods and racing setups, oversized bodies and
//! silent sockets. Each test checks the refusal and that nothing changed.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

both_backends!(a_huge_filter_is_refused_wherever_a_filter_is_taken,);

/// `{"or": [n × {"and": []}]}`: no conditions at all, only groups.
fn empty_groups(n: usize) -> Value {
    json!({"or": (0..n).map(|_| json!({"and": []})).collect::<Vec<_>>()})
}

fn names_the_node_limit(body: &Value) -> bool {
    body["errors"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .ends_with("filter")
        && body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&rapport_core::filter::MAX_NODES.to_string()))
}

async fn a_huge_filter_is_refused_wherever_a_filter_is_taken(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ann = app.contact(json!({"email": "ann@x.test"})).await;
    // The probe: 5,000 empty groups once aborted the process.
    let hostile = empty_groups(5_000);

    let search = app
        .post("/api/v1/contacts/search", json!({"filter": hostile}))
        .await;
    assert_eq!(
        search.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        search.body
    );
    assert!(names_the_node_limit(&search.body), "{}", search.body);

    // The same in a query string (a smaller one: URLs are short).
    let listed = app
        .client
        .get(format!("{}/api/v1/contacts", app.base))
        .bearer_auth(&app.owner.api_token)
        .query(&[("filter", empty_groups(200).to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listed: Value = listed.json().await.unwrap();
    assert!(names_the_node_limit(&listed), "{listed}");

    let segment = app
        .post(
            "/api/v1/segments",
            json!({"name": "all", "filter": hostile}),
        )
        .await;
    assert_eq!(
        segment.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        segment.body
    );
    assert!(names_the_node_limit(&segment.body), "{}", segment.body);

    let bulk = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"filter": hostile}, "body": "Hi"}),
        )
        .await;
    assert_eq!(
        bulk.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bulk.body
    );
    assert!(names_the_node_limit(&bulk.body), "{}", bulk.body);

    // Too many bytes is refused as well, naming that limit.
    let long = "x".repeat(rapport_core::filter::MAX_BYTES);
    let wide = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"prop": "name", "op": "eq", "value": long}}),
        )
        .await;
    assert_eq!(
        wide.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wide.body
    );
    assert_eq!(wide.error_fields(), ["filter"]);

    // Nothing was saved, and the server still answers, filters included.
    assert_eq!(app.get("/api/v1/segments").await.body["data"], json!([]));
    assert_eq!(app.get("/api/v1/bulk-sends").await.body["data"], json!([]));
    let found = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"or": [{"and": []}, {"prop": "email", "op": "eq", "value": "ann@x.test"}]}}),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["data"][0]["id"], ann.as_str());
}
