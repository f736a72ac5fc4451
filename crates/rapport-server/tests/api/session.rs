//! Signing in to the Inbox, first-run setup, and workspace settings.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

both_backends!(
    the_first_visit_sets_up_then_setup_is_closed,
    agents_sign_in_with_a_cookie_that_needs_the_csrf_header_to_change_things,
    admins_change_settings_and_bad_origins_are_refused,
);

/// A client that keeps cookies, like a browser.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn call(
    client: &reqwest::Client,
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    csrf: bool,
) -> (StatusCode, Value) {
    let mut request = client.request(method, format!("{}{path}", app.base));
    if let Some(body) = body {
        request = request.json(&body);
    }
    if csrf {
        request = request.header("x-rapport-csrf", "1");
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn the_first_visit_sets_up_then_setup_is_closed(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else {
        return;
    };
    let client = browser();
    assert_eq!(
        call(&client, &app, Method::GET, "/api/v1/setup", None, false)
            .await
            .1,
        json!({"needed": true})
    );
    let weak = call(
        &client,
        &app,
        Method::POST,
        "/api/v1/setup",
        Some(json!({"workspace": "Acme", "email": "o@acme.test", "password": "short"})),
        false,
    )
    .await;
    assert_eq!(weak.0, StatusCode::UNPROCESSABLE_ENTITY);
    let body = json!({"workspace": "Acme", "email": "o@acme.test", "password": "long enough", "name": "Olive"});
    let (status, created) = call(
        &client,
        &app,
        Method::POST,
        "/api/v1/setup",
        Some(body.clone()),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["agent"]["role"], "owner");
    // Signed in by the same response.
    let (status, me) = call(&client, &app, Method::GET, "/api/v1/session", None, false).await;
    assert_eq!(
        (status, me["workspace"]["name"].as_str()),
        (StatusCode::OK, Some("Acme"))
    );
    assert_eq!(
        call(&client, &app, Method::GET, "/api/v1/setup", None, false)
            .await
            .1,
        json!({"needed": false})
    );
    let again = call(
        &browser(),
        &app,
        Method::POST,
        "/api/v1/setup",
        Some(body),
        false,
    )
    .await;
    assert_eq!(again.0, StatusCode::CONFLICT);
}

async fn agents_sign_in_with_a_cookie_that_needs_the_csrf_header_to_change_things(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = browser();
    for password in ["wrong horse", ""] {
        let (status, _) = call(
            &client,
            &app,
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": "owner@acme.test", "password": password})),
            false,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let unknown = call(
        &client,
        &app,
        Method::POST,
        "/api/v1/session",
        Some(json!({"email": "nobody@acme.test", "password": "correct horse"})),
        false,
    )
    .await;
    assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&client, &app, Method::GET, "/api/v1/session", None, false)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, me) = call(
        &client,
        &app,
        Method::POST,
        "/api/v1/session",
        Some(json!({"email": "Owner@Acme.test", "password": "correct horse"})),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["agent"]["name"], "Grace Hopper");
    assert_eq!(
        call(
            &client,
            &app,
            Method::GET,
            "/api/v1/conversations",
            None,
            false
        )
        .await
        .0,
        StatusCode::OK
    );
    // A change without the header (what a forged cross-site form sends) is refused.
    let forged = call(
        &client,
        &app,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"user_id": "u-1"})),
        false,
    )
    .await;
    assert_eq!(
        (forged.0, forged.1["type"].as_str()),
        (StatusCode::FORBIDDEN, Some("urn:rapport:problem:forbidden"))
    );
    let made = call(
        &client,
        &app,
        Method::POST,
        "/api/v1/contacts",
        Some(json!({"user_id": "u-1"})),
        true,
    )
    .await;
    assert_eq!(made.0, StatusCode::CREATED);
    // Signing out ends the session.
    let client_out = call(&client, &app, Method::DELETE, "/api/v1/session", None, true).await;
    assert_eq!(client_out.0, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&client, &app, Method::GET, "/api/v1/session", None, false)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

async fn admins_change_settings_and_bad_origins_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let got = app.get("/api/v1/workspace").await;
    assert_eq!(got.body["identity_verification"], true, "on by default");
    assert_eq!(got.body["identity_secret"].as_str().unwrap().len(), 64);
    let bad = app
        .request(Method::PATCH, "/api/v1/workspace", Some(&app.owner.api_token), Some(json!({"allowed_origins": ["https://ok.example", "ftp://nope", "https://x.example/path"]})))
        .await;
    assert_eq!(
        bad.error_fields(),
        ["allowed_origins[1]", "allowed_origins[2]"]
    );
    assert_eq!(
        app.get("/api/v1/workspace").await.body["allowed_origins"],
        json!([]),
        "nothing changed"
    );
    let good = app
        .request(Method::PATCH, "/api/v1/workspace", Some(&app.owner.api_token), Some(json!({"name": "Acme Inc", "identity_verification": true, "allowed_origins": ["https://Shop.Example/"]})))
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert_eq!(
        good.body["allowed_origins"],
        json!(["https://shop.example"])
    );
    let page = app
        .client
        .get(format!(
            "{}/messenger?app_id={}",
            app.base, app.owner.app_id
        ))
        .send()
        .await
        .unwrap();
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    // The allowed site, and this server's own demo page.
    assert!(
        policy.ends_with("frame-ancestors 'self' https://shop.example"),
        "{policy}"
    );
    let demo = app
        .client
        .get(format!("{}/try?app_id={}", app.base, app.owner.app_id))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), StatusCode::OK);
    let demo_policy = demo.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        demo_policy.contains("script-src 'self';")
            && demo_policy.contains("frame-ancestors 'none'"),
        "{demo_policy}"
    );
    assert!(demo.text().await.unwrap().contains("/assets/widget/try.js"));
    // Agents see settings but not the secret, and cannot change them.
    let agent = app.post("/api/v1/agents", json!({"email": "ada@acme.test", "name": "Ada", "role": "agent", "password": "long enough"})).await.id();
    let token = app
        .post("/api/v1/tokens", json!({"name": "ada", "agent_id": agent}))
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen = app
        .request(Method::GET, "/api/v1/workspace", Some(&token), None)
        .await;
    assert!(seen.body.get("identity_secret").is_none());
    let refused = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&token),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
