//! Property operations: types kept, the wrong one refused.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

both_backends!(property_operations_keep_types_and_refuse_the_wrong_one);

async fn property_operations_keep_types_and_refuse_the_wrong_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let id = app
        .contact(json!({"user_id": "u", "props": {"plan": "pro", "logins": 1}}))
        .await;
    let path = format!("/api/v1/contacts/{id}");
    let patch =
        |body: Value| app.request(Method::PATCH, &path, Some(&app.owner.api_token), Some(body));
    let changed = patch(json!({"ops": [
        {"op": "increment", "prop": "logins", "value": 2},
        {"op": "set_once", "prop": "source", "value": "ads"},
        {"op": "set_once", "prop": "source", "value": "blog"},
        {"op": "append", "prop": "teams", "value": ["ops", "dev"]},
        {"op": "remove", "prop": "teams", "value": "dev"},
        {"op": "unset", "prop": "plan"},
        {"op": "set", "prop": "city", "value": "Lyon"}
    ]}))
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        changed.body["props"],
        json!({"logins": 3.0, "source": "ads", "teams": ["ops"]})
    );
    assert_eq!(changed.body["city"], "Lyon");
    // Another contact cannot give `logins` another type, nor can this one.
    let other = app
        .post(
            "/api/v1/contacts",
            json!({"user_id": "v", "props": {"logins": "many"}}),
        )
        .await;
    assert_eq!(other.error_fields(), ["props.logins"]);
    let wrong = patch(
        json!({"props": {"source": 1}, "ops": [{"op": "append", "prop": "logins", "value": "x"}]}),
    )
    .await;
    assert_eq!(wrong.error_fields(), ["props.source", "ops[0]"]);
    let fetched = app.get(&path).await;
    assert_eq!(
        fetched.body["props"], changed.body["props"],
        "nothing changed"
    );
    // The schema knows the types.
    let schema = app.get("/api/v1/people/schema").await;
    let types: Vec<(String, String)> = schema.body["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["system"] == false)
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("logins".into(), "number".into()),
            ("plan".into(), "string".into()),
            ("source".into(), "string".into()),
            ("teams".into(), "list".into())
        ]
    );
}
