//! Who may enter: an audience as a People filter, or naming a saved
//! segment, which a run follows as the segment is edited.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{MONDAY_10AM, app_at, live, runs, settle};
use crate::helpers::TestApp;

both_backends!(an_audience_names_a_segment_and_follows_its_edits,);

async fn tags(app: &TestApp, contact: &str) -> Value {
    app.get(&format!("/api/v1/contacts/{contact}")).await.body["tags"].clone()
}

/// A tag for each new contact in the audience, and whether a segment of
/// the flow's condition holds them (`in` / `out`).
fn welcome(audience: Value, segment: &str) -> Value {
    json!({
        "trigger": {"type": "contact_created"},
        "audience": audience,
        "frequency": {"type": "once"},
        "flow": {"start": "c", "nodes": [
            {"id": "c", "type": "condition", "filter": {"or": [{"segment": segment}]},
             "exits": {"yes": "in", "no": "out"}},
            {"id": "in", "type": "add_tag", "tag": "in"},
            {"id": "out", "type": "add_tag", "tag": "out"}
        ]}
    })
}

async fn an_audience_names_a_segment_and_follows_its_edits(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    app.contact(json!({"user_id": "seed", "props": {"plan": "pro", "seats": 3}}))
        .await;
    let pro = app
        .post(
            "/api/v1/segments",
            json!({"name": "Pro", "filter": {"prop": "plan", "op": "eq", "value": "pro"}}),
        )
        .await;
    assert_eq!(pro.status, StatusCode::CREATED, "{}", pro.body);
    let big = app
        .post(
            "/api/v1/segments",
            json!({"name": "Big", "filter": {"prop": "seats", "op": "gt", "value": 9}}),
        )
        .await;
    let (pro, big) = (pro.id(), big.id());

    // Refused, naming the node: an unknown segment, an id that is not one,
    // a segment in a segment.
    let unknown = uuid::Uuid::now_v7().to_string();
    let refused = app
        .post(
            "/api/v1/automations",
            json!({"name": "x", "draft": welcome(json!({"segment": unknown}), &big)}),
        )
        .await;
    assert_eq!(
        refused.error_fields(),
        ["audience.segment"],
        "{}",
        refused.body
    );
    let refused = app
        .post(
            "/api/v1/automations",
            json!({"name": "x", "draft": welcome(json!({"segment": &pro}), "nope")}),
        )
        .await;
    assert_eq!(
        refused.error_fields(),
        ["flow.nodes[0].filter.or[0].segment"],
        "{}",
        refused.body
    );
    let nested = app
        .post(
            "/api/v1/segments",
            json!({"name": "Nested", "filter": {"and": [{"segment": &pro}]}}),
        )
        .await;
    assert_eq!(
        nested.error_fields(),
        ["filter.and[0].segment"],
        "{}",
        nested.body
    );

    let id = live(&app, welcome(json!({"segment": &pro}), &big)).await;
    let small_pro = app
        .contact(json!({"user_id": "p1", "props": {"plan": "pro", "seats": 2}}))
        .await;
    let big_pro = app
        .contact(json!({"user_id": "p2", "props": {"plan": "pro", "seats": 40}}))
        .await;
    let free = app
        .contact(json!({"user_id": "f1", "props": {"plan": "free", "seats": 50}}))
        .await;
    settle(&app).await;
    assert_eq!(tags(&app, &small_pro).await, json!(["out"]));
    assert_eq!(tags(&app, &big_pro).await, json!(["in"]));
    assert_eq!(tags(&app, &free).await, json!([]), "not in the audience");

    // The segment is edited: the live automation follows it.
    let edited = app
        .request(
            Method::PATCH,
            &format!("/api/v1/segments/{pro}"),
            Some(&app.owner.api_token),
            Some(json!({"filter": {"prop": "plan", "op": "eq", "value": "free"}})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    let later_pro = app
        .contact(json!({"user_id": "p3", "props": {"plan": "pro", "seats": 1}}))
        .await;
    let later_free = app
        .contact(json!({"user_id": "f2", "props": {"plan": "free", "seats": 1}}))
        .await;
    settle(&app).await;
    assert_eq!(tags(&app, &later_pro).await, json!([]));
    assert_eq!(tags(&app, &later_free).await, json!(["out"]));

    // Deleted: the audience admits no one, and nothing fails.
    let gone = app
        .request(
            Method::DELETE,
            &format!("/api/v1/segments/{pro}"),
            Some(&app.owner.api_token),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let after = app
        .contact(json!({"user_id": "f3", "props": {"plan": "free", "seats": 1}}))
        .await;
    settle(&app).await;
    assert_eq!(tags(&app, &after).await, json!([]));
    assert_eq!(runs(&app, &id).await.len(), 3);
    // Publishing again names the missing segment.
    let publish = app
        .post(&format!("/api/v1/automations/{id}/publish"), json!({}))
        .await;
    assert_eq!(
        publish.error_fields(),
        ["audience.segment"],
        "{}",
        publish.body
    );
}
