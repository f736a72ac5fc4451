//! The team emailed about conversations started while nobody is online:
//! batched into one email, not sent when someone is online (nor later for
//! those conversations), and not to a member who turned it off.

use std::time::Duration;

use rapport_server::config::{Config, Secret};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::automations::{MONDAY_10AM, app_with};
use crate::helpers::TestApp;
use crate::smtp::SmtpSink;
use crate::widget_support::boot_session;

both_backends!(new_conversations_are_emailed_to_the_team_when_nobody_is_online);

/// A new visitor starts a conversation with `body`.
async fn visitor_writes(app: &TestApp, body: &str) {
    let session = boot_session(app).await;
    let started = app
        .request(
            Method::POST,
            "/widget/v1/conversations",
            Some(&session),
            Some(json!({"body": body})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
}

/// Runs the jobs until nothing more is due.
async fn settle(app: &TestApp) {
    for _ in 0..20 {
        if app.run_jobs().await.claimed == 0 {
            return;
        }
    }
    panic!("jobs kept coming");
}

async fn new_conversations_are_emailed_to_the_team_when_nobody_is_online(backend: Backend) {
    let sink = SmtpSink::start();
    let config = Config {
        smtp_url: Some(Secret::from(sink.url())),
        ..Config::default()
    };
    let Some((app, clock)) = app_with(backend, MONDAY_10AM, config).await else {
        return;
    };
    // A teammate who turned it off.
    let ada_token = app.agent_token("ada@acme.test").await;
    let off = app
        .request(
            Method::PUT,
            "/api/v1/me/email-notifications",
            Some(&ada_token),
            Some(json!({"new_conversations": false})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    let mine = app
        .request(
            Method::GET,
            "/api/v1/me/email-notifications",
            Some(&ada_token),
            None,
        )
        .await;
    assert_eq!(mine.body, json!({"new_conversations": false}));
    assert_eq!(
        app.get("/api/v1/me/email-notifications").await.body,
        json!({"new_conversations": true}),
        "on by default"
    );

    // Nobody online: two conversations in the same minutes, one email.
    visitor_writes(&app, "Is the blue one in stock?").await;
    clock.advance_millis(30_000);
    visitor_writes(&app, "Do you ship to Norway?").await;
    settle(&app).await;
    assert!(sink.emails().is_empty(), "not before two minutes");
    clock.advance_millis(120_000);
    settle(&app).await;
    let emails = sink.emails();
    assert_eq!(emails.len(), 1, "the owner only, once");
    assert_eq!(emails[0].envelope_to, vec!["owner@acme.test".to_owned()]);
    assert_eq!(
        emails[0].header("Subject"),
        "2 new conversations are waiting in Acme"
    );
    let text = emails[0].text();
    assert!(
        text.contains("Is the blue one in stock?") && text.contains("Do you ship to Norway?"),
        "{text}"
    );
    assert!(text.contains("/#/conversations/"), "{text}");

    // Someone online: nothing, then or later, for that conversation.
    let (_inbox, _) = crate::live::open(&app, &app.owner.api_token, None).await;
    visitor_writes(&app, "Anyone there?").await;
    clock.advance_millis(180_000);
    settle(&app).await;
    // The Inbox closes: the owner is offline (members have no grace period).
    drop(_inbox);
    for _ in 0..50 {
        let agents = app.get("/api/v1/agents").await;
        if agents.body[0]["presence"] == "offline" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    visitor_writes(&app, "Hello?").await;
    clock.advance_millis(180_000);
    settle(&app).await;
    let emails = sink.emails();
    assert_eq!(
        emails.len(),
        2,
        "one more, for the conversation started while nobody was online"
    );
    let text = emails[1].text();
    assert_eq!(
        emails[1].header("Subject"),
        "A new conversation is waiting in Acme"
    );
    assert!(
        text.contains("Hello?") && !text.contains("Anyone there?"),
        "{text}"
    );
}
