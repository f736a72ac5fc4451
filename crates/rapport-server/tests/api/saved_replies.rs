//! Saved replies: the workspace's for everyone (changed by owners and
//! admins), each member's own for them alone; shortcuts unique per scope;
//! bad fields named; nothing across workspaces.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

both_backends!(saved_replies_are_the_workspace_s_or_one_member_s);

fn shortcuts(list: &Value) -> Vec<(String, bool)> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["shortcut"].as_str().unwrap().to_owned(),
                r["owner_id"].is_string(),
            )
        })
        .collect()
}

async fn saved_replies_are_the_workspace_s_or_one_member_s(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.agent_token("ada@acme.test").await;
    let as_ada = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        let ada = ada.clone();
        async move { app.request(method, &path, Some(&ada), body).await }
    };

    let shared = app
        .post(
            "/api/v1/saved-replies",
            json!({"title": "Refund policy", "shortcut": "refund", "body": "Hi {{ user.name | default(\"there\") }}, refunds take 5 days."}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.body);
    assert_eq!(shared.body["owner_id"], Value::Null);
    let shared_id = shared.id();

    // A member adds her own, with the same shortcut; not the workspace's.
    let refused = as_ada(
        Method::POST,
        "/api/v1/saved-replies".into(),
        Some(json!({"title": "Mine", "shortcut": "mine", "body": "x"})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let own = as_ada(
        Method::POST,
        "/api/v1/saved-replies".into(),
        Some(json!({"title": "My refund words", "shortcut": "refund", "body": "Sorry!", "personal": true})),
    )
    .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    let own_id = own.id();
    let twice = as_ada(
        Method::POST,
        "/api/v1/saved-replies".into(),
        Some(json!({"title": "Again", "shortcut": "refund", "body": "x", "personal": true})),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);

    // Each sees the workspace's and their own, by shortcut.
    let ada_list = as_ada(Method::GET, "/api/v1/saved-replies".into(), None).await;
    assert_eq!(
        shortcuts(&ada_list.body),
        [("refund".to_owned(), false), ("refund".to_owned(), true)]
    );
    let owner_list = app.get("/api/v1/saved-replies").await;
    assert_eq!(shortcuts(&owner_list.body), [("refund".to_owned(), false)]);
    // Hers is nobody else's: not even found.
    for method in [Method::GET, Method::DELETE] {
        let answer = app
            .request(
                method,
                &format!("/api/v1/saved-replies/{own_id}"),
                Some(&app.owner.api_token),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
    }
    // The workspace's: read by all, changed by owners and admins.
    let read = as_ada(
        Method::GET,
        format!("/api/v1/saved-replies/{shared_id}"),
        None,
    )
    .await;
    assert_eq!(read.body["title"], "Refund policy");
    let change = json!({"title": "Refunds", "shortcut": "refund", "body": "Refunds take 5 days."});
    let denied = as_ada(
        Method::PUT,
        format!("/api/v1/saved-replies/{shared_id}"),
        Some(change.clone()),
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let changed = app
        .request(
            Method::PUT,
            &format!("/api/v1/saved-replies/{shared_id}"),
            Some(&app.owner.api_token),
            Some(change),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["title"], "Refunds");

    // Bad fields are named, and nothing is stored.
    let bad = app
        .post(
            "/api/v1/saved-replies",
            json!({"title": "a\nb", "shortcut": "Not OK", "body": "Hi {{ user.name"}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["title", "shortcut", "body"]);
    assert_eq!(
        shortcuts(&app.get("/api/v1/saved-replies").await.body).len(),
        1
    );

    // Another workspace sees none of them.
    let other = app.other_workspace().await;
    let theirs = app
        .request(
            Method::GET,
            "/api/v1/saved-replies",
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(theirs.body["data"], json!([]));
    let foreign = app
        .request(
            Method::GET,
            &format!("/api/v1/saved-replies/{shared_id}"),
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);

    // Deleted by whoever may change it.
    let gone = as_ada(
        Method::DELETE,
        format!("/api/v1/saved-replies/{own_id}"),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let again = as_ada(Method::GET, format!("/api/v1/saved-replies/{own_id}"), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}
