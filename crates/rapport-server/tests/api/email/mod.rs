//! The email fallback end to end: a clock the test moves, a real SMTP server
//! over TCP receiving what Rapport sends, and replies coming back over SMTP
//! and HTTP. Every case runs on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rapport_core::Timestamp;
use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
use rapport_server::config::{Config, Secret};
use rapport_server::email::listener::{self, SmtpLimits};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::helpers::{TestApp, user_hash};
use crate::smtp::{SmtpSink, free_address};
use crate::widget_support::{boot, visitor_of};

mod attachments;
mod replies;

both_backends!(
    an_unread_burst_reaches_an_offline_contact_as_one_email_once,
    a_message_read_before_the_delay_is_not_emailed,
    an_online_contact_is_not_emailed_until_they_leave,
    a_contact_without_an_address_keeps_the_message_in_the_widget,
    the_fallback_can_be_turned_off_per_workspace_message_and_contact,
    a_mail_server_that_is_down_gets_the_email_once_it_is_back,
    a_crash_between_claim_and_send_still_delivers_once,
);

pub(crate) const MINUTE: i64 = 60_000;

/// A server with a clock the test moves (shared with the hostile suite).
pub(crate) struct Fixture {
    pub(crate) app: TestApp,
    clock: Arc<ManualClock>,
}

impl Fixture {
    /// A server whose outgoing mail goes to `smtp_url` (none: not configured).
    pub(crate) async fn start(backend: Backend, smtp_url: Option<String>) -> Option<Fixture> {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let config = Config {
            smtp_url: smtp_url.map(Secret::from),
            email_from: "support@acme.test".into(),
            public_url: Some("https://chat.acme.test".into()),
            ..Config::default()
        };
        let app = TestApp::spawn_with(backend, clock.clone(), config).await?;
        Some(Fixture { app, clock })
    }

    pub(crate) fn advance(&self, millis: i64) {
        self.clock.advance_millis(millis);
    }

    /// Runs the email jobs due now, as the worker does each second.
    pub(crate) async fn run_jobs(&self) -> usize {
        self.app.run_jobs().await.claimed
    }

    pub(crate) async fn contact(&self, user_id: &str, email: Option<&str>) -> String {
        let mut body = json!({"user_id": user_id, "name": "Ann Lee"});
        if let Some(email) = email {
            body["email"] = json!(email);
        }
        self.app.contact(body).await
    }

    /// Sends a message; returns (conversation id, message id).
    pub(crate) async fn send(
        &self,
        contact: &str,
        conversation: Option<&str>,
        body: &str,
    ) -> (String, String) {
        self.send_with(contact, conversation, json!({"body": body}))
            .await
    }

    pub(crate) async fn send_with(
        &self,
        contact: &str,
        conversation: Option<&str>,
        mut request: Value,
    ) -> (String, String) {
        request["contact_id"] = json!(contact);
        if let Some(conversation) = conversation {
            request["conversation_id"] = json!(conversation);
        }
        let reply = self.app.post("/api/v1/messages", request).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        (
            reply.body["conversation"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            reply.id(),
        )
    }

    /// The contact's email-fallback timeline entries, oldest first.
    pub(crate) async fn email_entries(&self, contact: &str) -> Vec<Value> {
        let mut entries: Vec<Value> = self
            .app
            .timeline(contact)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "emailed" || e["kind"] == "not_emailed")
            .collect();
        entries.reverse();
        entries
    }

    /// A widget visitor with this identity; returns (session, contact id).
    pub(crate) async fn visitor(&self, body: Value) -> (String, String) {
        let mut body = body;
        body["app_id"] = json!(self.app.owner.app_id);
        if let Some(user_id) = body["user_id"].as_str() {
            body["user_hash"] = json!(user_hash(&self.app.owner.identity_secret, user_id));
        }
        visitor_of(&boot(&self.app, body).await)
    }
}

fn ids(entry: &Value) -> Vec<String> {
    entry["data"]["message_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn reason(entry: &Value) -> &str {
    assert_eq!(entry["kind"], "not_emailed", "{entry}");
    entry["data"]["reason"].as_str().unwrap()
}

async fn an_unread_burst_reaches_an_offline_contact_as_one_email_once(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let ann = f.contact("u1", Some("Ann@Example.com")).await;
    let (conversation, first) = f
        .send(
            &ann,
            None,
            "Hi **{{ user.name }}**, how is the trial going?",
        )
        .await;
    f.advance(MINUTE);
    let (_, second) = f
        .send(
            &ann,
            Some(&conversation),
            "Here is [the guide](https://docs.example/guide)",
        )
        .await;
    f.advance(MINUTE);
    let (_, third) = f.send(&ann, Some(&conversation), "Any questions?").await;

    // Not before the delay (10 minutes after the first message)...
    f.advance(8 * MINUTE - 1);
    assert_eq!(f.run_jobs().await, 0);
    assert!(sink.emails().is_empty());
    assert!(f.email_entries(&ann).await.is_empty());
    // ...and then the three go out together, once.
    f.advance(1);
    assert_eq!(f.run_jobs().await, 1);
    let emails = sink.emails();
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(email.envelope_to, vec!["ann@example.com"]);
    assert!(email.header("To").contains("ann@example.com"));
    assert_eq!(email.parsed().subject(), Some("3 new messages from Acme"));
    let from = email.header("From");
    assert!(from.contains("Grace Hopper from Acme"), "{from}");
    assert!(from.contains("<support@acme.test>"), "{from}");
    let reply_to = email.reply_to();
    assert!(
        reply_to.starts_with("reply+") && reply_to.ends_with("@acme.test"),
        "{reply_to}"
    );
    assert_eq!(
        email.header("Message-ID"),
        format!("<message-{first}@acme.test>")
    );
    assert!(email.header("References").contains(&conversation));
    let unsubscribe = email.header("List-Unsubscribe");
    assert!(
        unsubscribe.starts_with("<https://chat.acme.test/email/unsubscribe/"),
        "{unsubscribe}"
    );
    assert_eq!(
        email.header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let text = email.text();
    for part in [
        "Hi **Ann Lee**, how is the trial going?",
        "Here is [the guide](https://docs.example/guide)",
        "Any questions?",
        "Grace Hopper",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    let html = email.html();
    assert!(html.contains("<strong>Ann Lee</strong>"), "{html}");
    assert!(
        html.contains(r#"href="https://docs.example/guide""#),
        "{html}"
    );
    assert!(html.contains(">GH<"), "the author's initials: {html}");

    let entries = f.email_entries(&ann).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["kind"], "emailed");
    assert_eq!(entries[0]["data"]["to"], "ann@example.com");
    assert_eq!(ids(&entries[0]), vec![first, second, third]);

    // Nothing more for those messages, however long we wait.
    f.advance(60 * MINUTE);
    assert_eq!(f.run_jobs().await, 0);
    assert_eq!(sink.emails().len(), 1);

    // The next burst carries only the new message, the earlier ones shown
    // for context.
    let (_, fourth) = f.send(&ann, Some(&conversation), "Following up").await;
    f.advance(10 * MINUTE);
    assert_eq!(f.run_jobs().await, 1);
    let emails = sink.emails();
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[1].parsed().subject(), Some("New message from Acme"));
    let text = emails[1].text();
    assert!(text.contains("Following up"), "{text}");
    assert!(
        text.contains("Any questions?") && text.contains("[earlier]"),
        "{text}"
    );
    assert_eq!(
        emails[1].header("Message-ID"),
        format!("<message-{fourth}@acme.test>")
    );
    // Both emails thread under the conversation.
    assert_eq!(
        emails[0].header("References"),
        emails[1].header("References")
    );
    let entries = f.email_entries(&ann).await;
    assert_eq!(ids(&entries[1]), vec![fourth]);
}

async fn a_message_read_before_the_delay_is_not_emailed(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let (session, bo) = f
        .visitor(json!({"user_id": "u2", "email": "bo@example.com"}))
        .await;
    let (conversation, message) = f.send(&bo, None, "Your order shipped").await;
    f.advance(3 * MINUTE);
    let read = f
        .app
        .request(
            Method::POST,
            &format!("/widget/v1/conversations/{conversation}/read"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::NO_CONTENT);
    f.advance(10 * MINUTE);
    assert_eq!(f.run_jobs().await, 1);
    assert!(sink.emails().is_empty());
    let entries = f.email_entries(&bo).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(reason(&entries[0]), "read");
    assert_eq!(ids(&entries[0]), vec![message]);
}

async fn an_online_contact_is_not_emailed_until_they_leave(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let (session, cy) = f
        .visitor(json!({"user_id": "u3", "email": "cy@example.com"}))
        .await;
    let ws_base = f.app.base.replacen("http", "ws", 1);
    let (mut widget, _) = tokio_tungstenite::connect_async(format!("{ws_base}/widget/v1/live"))
        .await
        .unwrap();
    widget
        .send(Frame::Text(
            json!({"type": "hello", "session": session})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let ready = tokio::time::timeout(Duration::from_secs(5), widget.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(ready.to_text().unwrap().contains("ready"));

    let (conversation, _) = f.send(&cy, None, "Welcome back").await;
    f.advance(10 * MINUTE);
    assert_eq!(f.run_jobs().await, 1);
    assert!(sink.emails().is_empty());
    assert_eq!(reason(&f.email_entries(&cy).await[0]), "online");

    // They close the tab; past the presence grace period they are offline.
    widget.close(None).await.unwrap();
    drop(widget);
    let hub = f.app.state.hub.clone();
    let (ws, contact) = (
        f.app.owner.workspace_id,
        cy.parse::<rapport_core::model::ids::ContactId>().unwrap(),
    );
    f.send(&cy, Some(&conversation), "Still there?").await;
    f.advance(10 * MINUTE);
    for _ in 0..50 {
        if !hub.is_online(ws, contact) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!hub.is_online(ws, contact));
    assert_eq!(f.run_jobs().await, 1);
    let emails = sink.emails();
    assert_eq!(emails.len(), 1);
    assert!(emails[0].text().contains("Still there?"));
}

async fn a_contact_without_an_address_keeps_the_message_in_the_widget(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let (session, lead) = f.visitor(json!({})).await;
    let (conversation, _) = f.send(&lead, None, "Can I help you find something?").await;
    f.advance(10 * MINUTE);
    assert_eq!(f.run_jobs().await, 1);
    assert!(sink.emails().is_empty());
    assert_eq!(reason(&f.email_entries(&lead).await[0]), "no_email_address");
    // Waiting for their next visit.
    let thread = f
        .app
        .request(
            Method::GET,
            &format!("/widget/v1/conversations/{conversation}"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(thread.status, StatusCode::OK, "{}", thread.body);
    assert!(
        thread
            .body
            .to_string()
            .contains("Can I help you find something?"),
        "{}",
        thread.body
    );
}

async fn the_fallback_can_be_turned_off_per_workspace_message_and_contact(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    // Per message: settled at once, no job.
    let ann = f.contact("u1", Some("ann@example.com")).await;
    let (_, quiet) = f
        .send_with(
            &ann,
            None,
            json!({"body": "FYI only", "email_fallback": false}),
        )
        .await;
    let entries = f.email_entries(&ann).await;
    assert_eq!(reason(&entries[0]), "fallback_off");
    assert_eq!(ids(&entries[0]), vec![quiet]);

    // Per workspace, at send time and for a job already waiting.
    let bo = f.contact("u2", Some("bo@example.com")).await;
    let (conversation, _) = f.send(&bo, None, "Scheduled").await;
    let off = f
        .app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&f.app.owner.api_token),
            Some(json!({"email": {"fallback_enabled": false}})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.body["email"]["fallback_enabled"], false);
    f.send(&bo, Some(&conversation), "Sent while off").await;
    f.advance(10 * MINUTE);
    assert_eq!(f.run_jobs().await, 1);
    let entries = f.email_entries(&bo).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| reason(e) == "fallback_off"));

    // Per contact: the unsubscribe link.
    f.app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&f.app.owner.api_token),
            Some(json!({"email": {"fallback_enabled": true}})),
        )
        .await;
    let cy = f.contact("u3", Some("cy@example.com")).await;
    let (conversation, _) = f.send(&cy, None, "First").await;
    f.advance(10 * MINUTE);
    f.run_jobs().await;
    let emails = sink.emails();
    assert_eq!(emails.len(), 1);
    let link = emails[0]
        .header("List-Unsubscribe")
        .trim_matches(['<', '>'])
        .replace("https://chat.acme.test", &f.app.base);
    // Opening the link only asks; the one-click POST unsubscribes.
    let page = f.app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<form method=\"post\">")
    );
    assert!(f.app.get(&format!("/api/v1/contacts/{cy}")).await.body["unsubscribed_at"].is_null());
    let done = f
        .app
        .client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(!f.app.get(&format!("/api/v1/contacts/{cy}")).await.body["unsubscribed_at"].is_null());
    let (_, after) = f.send(&cy, Some(&conversation), "Second").await;
    f.advance(10 * MINUTE);
    f.run_jobs().await;
    assert_eq!(sink.emails().len(), 1);
    let last = f.email_entries(&cy).await.pop().unwrap();
    assert_eq!(reason(&last), "fallback_off");
    assert_eq!(ids(&last), vec![after]);
    // A forged link changes nothing.
    let flipped = if link.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{flipped}", &link[..link.len() - 1]);
    let refused = f.app.client.post(&forged).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

async fn a_mail_server_that_is_down_gets_the_email_once_it_is_back(backend: Backend) {
    let address = free_address();
    let Some(f) = Fixture::start(backend, Some(format!("smtp://{address}"))).await else {
        return;
    };
    let ann = f.contact("u1", Some("ann@example.com")).await;
    let (_, message) = f.send(&ann, None, "Your invoice is ready").await;
    f.advance(10 * MINUTE);
    // Down: the job waits and tries again, backing off.
    assert_eq!(f.run_jobs().await, 1);
    assert_eq!(f.run_jobs().await, 0, "not before the back-off");
    f.advance(30_000);
    assert_eq!(f.run_jobs().await, 1);
    assert!(f.email_entries(&ann).await.is_empty());
    // Back up: delivered at the next try, once.
    let sink = SmtpSink::start_at(address);
    f.advance(60_000);
    assert_eq!(f.run_jobs().await, 1);
    f.advance(60 * MINUTE);
    assert_eq!(f.run_jobs().await, 0);
    let emails = sink.emails();
    assert_eq!(emails.len(), 1);
    assert!(emails[0].text().contains("Your invoice is ready"));
    let entries = f.email_entries(&ann).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "emailed");
    assert_eq!(ids(&entries[0]), vec![message]);

    // A server that never comes back: tried for 24 hours, then "failed".
    let never = free_address();
    let Some(g) = Fixture::start(backend, Some(format!("smtp://{never}"))).await else {
        return;
    };
    let bo_g = g.contact("u2", Some("bo@example.com")).await;
    g.send(&bo_g, None, "Lost in the void").await;
    let started = g.clock.now();
    g.advance(10 * MINUTE);
    let mut tries = 0;
    while g.email_entries(&bo_g).await.is_empty() {
        tries += g.run_jobs().await;
        g.advance(5 * MINUTE);
        assert!(tries < 100, "still retrying after {tries} tries");
    }
    let hours = (g.clock.now().as_millis() - started.as_millis()) / (60 * MINUTE);
    assert!((24..=25).contains(&hours), "gave up after {hours} h");
    let entries = g.email_entries(&bo_g).await;
    assert_eq!(reason(&entries[0]), "failed");
    assert!(
        entries[0]["data"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
}

async fn a_crash_between_claim_and_send_still_delivers_once(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let ann = f.contact("u1", Some("ann@example.com")).await;
    f.send(&ann, None, "Before the crash").await;
    f.advance(10 * MINUTE);
    // A worker claims the job and dies before sending.
    let now = f.clock.now();
    let claimed = f
        .app
        .store
        .claim_jobs(
            &["email_fallback"],
            now,
            Timestamp::from_millis(now.as_millis() + 5 * MINUTE),
            10,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // Its claim holds the job...
    assert_eq!(f.run_jobs().await, 0);
    // ...until it runs out; then another worker sends it, once.
    f.advance(5 * MINUTE);
    assert_eq!(f.run_jobs().await, 1);
    assert_eq!(sink.emails().len(), 1);
    // The dead worker cannot settle it any more.
    let late = f.app.store.finish_job(&claimed[0]).await;
    assert!(late.is_err());

    // Two workers at once share the due jobs and never send one twice.
    for n in 0..20 {
        let contact = f
            .contact(&format!("many-{n}"), Some(&format!("many{n}@example.com")))
            .await;
        f.send(&contact, None, "Hello from the crowd").await;
    }
    f.advance(10 * MINUTE);
    let (a, b) = tokio::join!(f.app.run_jobs(), f.app.run_jobs());
    assert_eq!(a.claimed + b.claimed, 20);
    let emails = sink.emails();
    assert_eq!(emails.len(), 21);
    let mut recipients: Vec<_> = emails.iter().map(|e| e.envelope_to[0].clone()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 21);
}
