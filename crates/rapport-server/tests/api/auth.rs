use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

both_backends!(
    requests_without_a_valid_token_are_refused,
    health_and_the_openapi_document_are_served
);

async fn requests_without_a_valid_token_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for token in [None, Some("rpt_not-a-real-token"), Some("")] {
        let reply = app
            .request(
                Method::POST,
                "/api/v1/contacts",
                token,
                Some(json!({"user_id": "u-1"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.content_type, "application/problem+json");
        assert_eq!(reply.body["type"], "urn:rapport:problem:unauthorized");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
    let basic = app
        .client
        .get(format!("{}/api/v1/agents", app.base))
        .basic_auth("owner@acme.test", Some("correct horse"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    // Nothing was created by the refused requests.
    assert_eq!(
        app.post("/api/v1/contacts", json!({"user_id": "u-1"}))
            .await
            .status,
        StatusCode::CREATED
    );
}

async fn health_and_the_openapi_document_are_served(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let doc = app
        .request(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/contacts", "post"),
        ("/api/v1/contacts/{id}", "get"),
        ("/api/v1/contacts/{id}/events", "post"),
        ("/api/v1/contacts/{id}/timeline", "get"),
        ("/api/v1/messages", "post"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations/{id}", "get"),
        ("/api/v1/conversations/{id}/reply", "post"),
        ("/api/v1/conversations/{id}/assign", "post"),
        ("/api/v1/conversations/{id}/close", "post"),
        ("/api/v1/conversations/{id}/snooze", "post"),
        ("/api/v1/conversations/{id}/open", "post"),
        ("/api/v1/agents", "get"),
        ("/api/v1/agents", "post"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{id}", "delete"),
        ("/api/v1/templates/preview", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    assert!(doc.body["components"]["schemas"]["Problem"].is_object());
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
}
