//! The server's edges: who a request is counted as (rate-limit keys and
//! `X-Forwarded-For`), who may frame the messenger, and the SMTP listener
//! under floods, slow clients and too many connections.

use rapport_server::client_addr::TrustedProxies;
use rapport_server::config::Config;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

both_backends!(
    forged_forwarded_for_from_an_untrusted_peer_buys_no_fresh_bucket,
    a_trusted_proxy_names_the_client_and_one_ipv6_64_is_one_client,
    the_messenger_is_served_only_for_a_named_app_with_its_own_frame_ancestors,
);

/// A server whose widget allows 2 boots a minute per client.
async fn two_boots_a_minute(backend: Backend, trusted: &str) -> Option<TestApp> {
    let config = Config {
        widget_boots_per_minute_per_ip: 2,
        trusted_proxies: trusted.parse::<TrustedProxies>().unwrap(),
        ..Config::default()
    };
    TestApp::spawn_with(
        backend,
        std::sync::Arc::new(rapport_core::clock::SystemClock),
        config,
    )
    .await
}

/// Boots a new visitor, claiming to come from `forwarded_for`.
async fn boot_from(app: &TestApp, forwarded_for: &str) -> StatusCode {
    app.client
        .post(format!("{}/widget/v1/boot", app.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"app_id": app.owner.app_id}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn contact_count(app: &TestApp) -> u64 {
    let reply = app.get("/api/v1/contacts").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["count"].as_u64().unwrap()
}

async fn forged_forwarded_for_from_an_untrusted_peer_buys_no_fresh_bucket(backend: Backend) {
    let Some(app) = two_boots_a_minute(backend, "").await else {
        return;
    };
    assert_eq!(boot_from(&app, "198.51.100.1").await, StatusCode::OK);
    assert_eq!(boot_from(&app, "198.51.100.2").await, StatusCode::OK);
    let leads = contact_count(&app).await;
    assert_eq!(leads, 2);
    // A new "address" in the header each time: still the same peer.
    for forged in [
        "198.51.100.3",
        "2001:db8:dead::1",
        "203.0.113.9, 198.51.100.4",
    ] {
        assert_eq!(
            boot_from(&app, forged).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{forged}"
        );
    }
    assert_eq!(contact_count(&app).await, leads, "no lead was created");
}

async fn a_trusted_proxy_names_the_client_and_one_ipv6_64_is_one_client(backend: Backend) {
    // The test's requests come from 127.0.0.1: that is the proxy here.
    let Some(app) = two_boots_a_minute(backend, "127.0.0.1").await else {
        return;
    };
    // Two addresses of one /64 share a bucket.
    assert_eq!(boot_from(&app, "2001:db8:1:2::1").await, StatusCode::OK);
    assert_eq!(
        boot_from(&app, "2001:db8:1:2:ffff:ffff:ffff:fffe").await,
        StatusCode::OK
    );
    let leads = contact_count(&app).await;
    assert_eq!(
        boot_from(&app, "2001:db8:1:2::3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Prepending a made-up address does not help: the proxy appended the
    // real one, and that one counts.
    assert_eq!(
        boot_from(&app, "198.51.100.50, 2001:db8:1:2::4").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(contact_count(&app).await, leads, "no lead was created");
    // Another /64, and an IPv4 client, are clients of their own; the same
    // IPv4 client written as IPv4-mapped IPv6 is the same client.
    assert_eq!(boot_from(&app, "2001:db8:1:3::1").await, StatusCode::OK);
    assert_eq!(boot_from(&app, "203.0.113.7").await, StatusCode::OK);
    assert_eq!(boot_from(&app, "::ffff:203.0.113.7").await, StatusCode::OK);
    assert_eq!(
        boot_from(&app, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(contact_count(&app).await, leads + 3);
}

/// The status and `frame-ancestors` of the messenger page at `query`.
async fn messenger(app: &TestApp, query: &str) -> (StatusCode, Option<String>) {
    let page = app
        .client
        .get(format!("{}/messenger{query}", app.base))
        .send()
        .await
        .unwrap();
    let ancestors = page.headers().get("content-security-policy").map(|policy| {
        let policy = policy.to_str().unwrap();
        let at = policy.find("frame-ancestors").expect("frame-ancestors");
        policy[at..].split(';').next().unwrap().trim().to_owned()
    });
    (page.status(), ancestors)
}

async fn the_messenger_is_served_only_for_a_named_app_with_its_own_frame_ancestors(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let allow = |token: String, origin: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .request(
                    Method::PATCH,
                    "/api/v1/workspace",
                    Some(&token),
                    Some(json!({"allowed_origins": [origin]})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    };
    allow(app.owner.api_token.clone(), "https://shop.example").await;
    let other = app.other_workspace().await;
    allow(other.api_token.clone(), "https://other.example").await;

    // Bare, empty or unknown: nothing to frame, so no `frame-ancestors *`
    // page that any site could frame and boot into any app.
    for query in ["", "?app_id=", "?app_id=app_unknown", "?other=1"] {
        let (status, ancestors) = messenger(&app, query).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{query}");
        assert_eq!(ancestors, None, "{query}");
    }
    // Each app is framable by its own workspace's origins only.
    assert_eq!(
        messenger(&app, &format!("?app_id={}", app.owner.app_id)).await,
        (
            StatusCode::OK,
            Some("frame-ancestors https://shop.example".to_owned())
        )
    );
    assert_eq!(
        messenger(&app, &format!("?app_id={}", other.app_id)).await,
        (
            StatusCode::OK,
            Some("frame-ancestors https://other.example".to_owned())
        )
    );
    // The server still answers, and the settings are untouched.
    assert_eq!(
        app.get("/api/v1/workspace").await.body["allowed_origins"],
        json!(["https://shop.example"])
    );
}
