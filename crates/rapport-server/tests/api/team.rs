use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

both_backends!(
    owners_add_teammates_who_cannot_manage_the_team,
    tokens_are_created_listed_and_revoked,
);

async fn owners_add_teammates_who_cannot_manage_the_team(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = app.post("/api/v1/agents", json!({"email": "Ada@Acme.test", "name": "Ada", "role": "agent", "password": "long enough"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["email"], "ada@acme.test");
    assert!(created.body.get("password_hash").is_none());
    let again = app.post("/api/v1/agents", json!({"email": "ada@acme.test", "name": "Ada", "role": "admin", "password": "long enough"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let invalid = app
        .post(
            "/api/v1/agents",
            json!({"email": "x", "name": "", "role": "owner", "password": "short"}),
        )
        .await;
    assert_eq!(
        invalid.error_fields(),
        ["email", "name", "password", "role"]
    );
    let bad_role = app
        .post(
            "/api/v1/agents",
            json!({"email": "b@acme.test", "name": "B", "role": "god", "password": "long enough"}),
        )
        .await;
    assert_eq!(bad_role.error_fields(), ["role"]);
    let listed = app.get("/api/v1/agents").await;
    let roles: Vec<_> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "agent"]);
    // The owner makes Ada a token; with it, Ada cannot add members.
    let token = app
        .post(
            "/api/v1/tokens",
            json!({"name": "ada's", "agent_id": created.id()}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.body);
    let ada_token = token.body["secret"].as_str().unwrap();
    let forbidden = app
        .request(Method::POST, "/api/v1/agents", Some(ada_token), Some(json!({"email": "c@acme.test", "name": "C", "role": "agent", "password": "long enough"})))
        .await;
    assert_eq!(
        (forbidden.status, forbidden.body["type"].as_str()),
        (StatusCode::FORBIDDEN, Some("urn:rapport:problem:forbidden"))
    );
    let listed = app
        .request(Method::GET, "/api/v1/agents", Some(ada_token), None)
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    // Nor make tokens for others.
    let theirs = app
        .request(
            Method::POST,
            "/api/v1/tokens",
            Some(ada_token),
            Some(json!({"name": "x", "agent_id": app.owner.owner_id})),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN);
}

async fn tokens_are_created_listed_and_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let other = app.other_workspace().await;
    let created = app
        .post("/api/v1/tokens", json!({"name": "billing sync"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("rpt_"));
    let listed = app.get("/api/v1/tokens").await;
    let names: Vec<_> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bootstrap", "billing sync"]);
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("secret").is_none())
    );
    assert_eq!(
        app.request(Method::GET, "/api/v1/agents", Some(&secret), None)
            .await
            .status,
        StatusCode::OK
    );
    // Another workspace cannot revoke it, nor make tokens for our agents.
    let path = format!("/api/v1/tokens/{}", created.id());
    assert_eq!(
        app.request(Method::DELETE, &path, Some(&other.api_token), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let cross = app
        .request(
            Method::POST,
            "/api/v1/tokens",
            Some(&other.api_token),
            Some(json!({"name": "x", "agent_id": app.owner.owner_id})),
        )
        .await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    let revoked = app
        .request(Method::DELETE, &path, Some(&app.owner.api_token), None)
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.body["revoked_at"].is_string());
    assert_eq!(
        app.request(Method::GET, "/api/v1/agents", Some(&secret), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}
