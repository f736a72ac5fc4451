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

both_backends!(
    an_unread_burst_reaches_an_offline_contact_as_one_email_once,
    a_message_read_before_the_delay_is_not_emailed,
    an_online_contact_is_not_emailed_until_they_leave,
    a_contact_without_an_address_keeps_the_message_in_the_widget,
    the_fallback_can_be_turned_off_per_workspace_message_and_contact,
    a_mail_server_that_is_down_gets_the_email_once_it_is_back,
    a_crash_between_claim_and_send_still_delivers_once,
    an_emailed_reply_appears_in_the_conversation_live,
    forged_or_foreign_replies_are_refused_and_change_nothing,
    settings_validate_and_send_a_test_email,
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

/// Emails Ann, then returns her id, the conversation and the reply address.
async fn emailed(f: &Fixture, sink: &SmtpSink) -> (String, String, String) {
    let ann = f.contact("u1", Some("ann@example.com")).await;
    let (conversation, _) = f.send(&ann, None, "Any questions?").await;
    f.advance(10 * MINUTE);
    f.run_jobs().await;
    let reply_to = sink.emails().last().unwrap().reply_to();
    (ann, conversation, reply_to)
}

fn reply_email(from: &str, to: &str, text: &str) -> String {
    format!(
        "From: Ann Lee <{from}>\r\nTo: {to}\r\nSubject: Re: New message from Acme\r\nMessage-ID: <r{}@mail.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n",
        rand_suffix()
    )
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn parts(f: &Fixture, conversation: &str) -> Vec<Value> {
    f.app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .body["parts"]
        .as_array()
        .unwrap()
        .clone()
}

async fn an_emailed_reply_appears_in_the_conversation_live(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let (ann, conversation, reply_to) = emailed(&f, &sink).await;
    let smtp = listener::listen(
        f.app.state.clone(),
        "127.0.0.1:0".parse().unwrap(),
        SmtpLimits::default(),
    )
    .await
    .unwrap();

    let ws_base = f.app.base.replacen("http", "ws", 1);
    let (mut inbox, _) = tokio_tungstenite::connect_async(format!("{ws_base}/api/v1/live"))
        .await
        .unwrap();
    inbox
        .send(Frame::Text(
            json!({"type": "hello", "token": f.app.owner.api_token})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();

    // The reply arrives over SMTP, quoting the email it answers.
    let first_raw = reply_email(
        "ann@example.com",
        &reply_to,
        "Thanks, that helps!\r\n\r\nOn Wed, 25 Nov 2026 at 10:02, Grace Hopper from Acme <support@acme.test>\r\nwrote:\r\n> Any questions?",
    );
    let client = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp.port())
        .build();
    let envelope = lettre::address::Envelope::new(
        Some("ann@example.com".parse().unwrap()),
        vec![reply_to.parse().unwrap()],
    )
    .unwrap();
    client
        .send_raw(&envelope, first_raw.as_bytes())
        .await
        .unwrap();

    // Live in the Inbox, as Ann's message.
    let entry = loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), inbox.next())
            .await
            .expect("the reply reaches the Inbox")
            .unwrap()
            .unwrap();
        let Ok(text) = frame.to_text() else { continue };
        let value: Value = serde_json::from_str(text).unwrap();
        if value["kind"] == "message" && value["data"]["author"]["type"] == "contact" {
            break value;
        }
    };
    assert_eq!(entry["data"]["body"], "Thanks, that helps!");
    assert_eq!(entry["conversation_id"], conversation.as_str());
    let stored = parts(&f, &conversation).await;
    assert_eq!(stored.last().unwrap()["body"], "Thanks, that helps!");
    assert_eq!(stored.last().unwrap()["author"]["id"], ann.as_str());

    // The same through the HTTP endpoint a mail provider's webhook calls.
    let raw = reply_email("ann@example.com", &reply_to, "One more thing");
    let posted = f
        .app
        .post_raw("/api/v1/email/inbound", "message/rfc822", raw.clone())
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    assert_eq!(posted.body["conversation_id"], conversation.as_str());
    assert_eq!(
        parts(&f, &conversation).await.last().unwrap()["body"],
        "One more thing"
    );

    // Delivered again (a webhook retry, a mail server that lost our 250):
    // accepted, and kept once.
    let count = parts(&f, &conversation).await.len();
    let again = f
        .app
        .post_raw("/api/v1/email/inbound", "message/rfc822", raw)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["duplicate"], true);
    client
        .send_raw(&envelope, first_raw.as_bytes())
        .await
        .unwrap();
    assert_eq!(parts(&f, &conversation).await.len(), count);
}

async fn forged_or_foreign_replies_are_refused_and_change_nothing(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let (_, conversation, reply_to) = emailed(&f, &sink).await;
    let before = parts(&f, &conversation).await.len();
    let (local, domain) = reply_to.split_once('@').unwrap();
    let (id, tag) = local.split_once('.').unwrap();
    let flipped = if tag.starts_with('0') { "1" } else { "0" };
    let forged = format!("{id}.{flipped}{}@{domain}", &tag[1..]);

    // Over SMTP: refused with a 5xx, so the sender's server tells them.
    let smtp = listener::listen(
        f.app.state.clone(),
        "127.0.0.1:0".parse().unwrap(),
        SmtpLimits::default(),
    )
    .await
    .unwrap();
    let client = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp.port())
        .build();
    let envelope = lettre::address::Envelope::new(
        Some("ann@example.com".parse().unwrap()),
        vec![forged.parse().unwrap()],
    )
    .unwrap();
    let refused = client
        .send_raw(
            &envelope,
            reply_email("ann@example.com", &forged, "forged").as_bytes(),
        )
        .await
        .unwrap_err();
    assert!(refused.is_permanent(), "{refused}");
    // Not a reply address at all: no such mailbox.
    let stranger = lettre::address::Envelope::new(
        Some("ann@example.com".parse().unwrap()),
        vec!["support@acme.test".parse().unwrap()],
    )
    .unwrap();
    assert!(
        client
            .send_raw(&stranger, b"Subject: hi\r\n\r\nhi\r\n")
            .await
            .is_err()
    );

    // Over HTTP: each refusal names what is wrong.
    let cases = [
        (reply_email("ann@example.com", &forged, "forged"), "to"),
        (
            reply_email("mallory@example.com", &reply_to, "spoofed"),
            "from",
        ),
        (
            reply_email("ann@example.com", &reply_to, "> only a quote"),
            "body",
        ),
    ];
    for (raw, field) in cases {
        let reply = f
            .app
            .post_raw("/api/v1/email/inbound", "message/rfc822", raw)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(reply.error_fields(), vec![field]);
    }
    // Another workspace's token cannot post into this conversation.
    let other = f.app.other_workspace().await;
    let foreign = f
        .app
        .client
        .post(format!("{}/api/v1/email/inbound", f.app.base))
        .bearer_auth(&other.api_token)
        .header("content-type", "message/rfc822")
        .body(reply_email("ann@example.com", &reply_to, "sneaky"))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(parts(&f, &conversation).await.len(), before);
}

async fn settings_validate_and_send_a_test_email(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let token = f.app.owner.api_token.clone();
    let patch = |body: Value| {
        let token = token.clone();
        let app = &f.app;
        async move {
            app.request(Method::PATCH, "/api/v1/workspace", Some(&token), Some(body))
                .await
        }
    };
    let shown = f.app.get("/api/v1/workspace").await;
    assert_eq!(
        shown.body["email"],
        json!({"fallback_enabled": true, "fallback_delay_minutes": 10, "from_address": null, "sending_configured": true})
    );
    for bad in [0, 61, -1] {
        let reply = patch(json!({"email": {"fallback_delay_minutes": bad}})).await;
        assert_eq!(reply.error_fields(), vec!["email.fallback_delay_minutes"]);
    }
    let reply = patch(json!({"email": {"from_address": "not an address"}})).await;
    assert_eq!(reply.error_fields(), vec!["email.from_address"]);
    // A refused change changed nothing.
    assert_eq!(
        f.app.get("/api/v1/workspace").await.body["email"]["fallback_delay_minutes"],
        10
    );
    let reply =
        patch(json!({"email": {"fallback_delay_minutes": 2, "from_address": "Help@Acme.test"}}))
            .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["email"]["from_address"], "help@acme.test");

    // The new delay applies to the next message, and the new sender too.
    let ann = f.contact("u1", Some("ann@example.com")).await;
    f.send(&ann, None, "Quick one").await;
    f.advance(2 * MINUTE);
    assert_eq!(f.run_jobs().await, 1);
    assert!(sink.emails()[0].header("From").contains("help@acme.test"));

    // The test email goes to the member, or to the address asked for.
    let sent = f.app.post("/api/v1/workspace/email/test", json!({})).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert_eq!(sent.body["sent_to"], "owner@acme.test");
    let sent = f
        .app
        .post(
            "/api/v1/workspace/email/test",
            json!({"to": "ops@acme.test"}),
        )
        .await;
    assert_eq!(sent.body["sent_to"], "ops@acme.test");
    let emails = sink.emails();
    assert_eq!(emails.len(), 3);
    assert_eq!(emails[1].envelope_to, vec!["owner@acme.test"]);
    assert_eq!(emails[2].envelope_to, vec!["ops@acme.test"]);
    let bad = f
        .app
        .post("/api/v1/workspace/email/test", json!({"to": "nope"}))
        .await;
    assert_eq!(bad.error_fields(), vec!["to"]);

    // A server without SMTP says so; one whose SMTP is down, too.
    let Some(g) = Fixture::start(backend, None).await else {
        return;
    };
    let reply = g.app.post("/api/v1/workspace/email/test", json!({})).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(
        g.app.get("/api/v1/workspace").await.body["email"]["sending_configured"],
        false
    );
    let ann = g.contact("u1", Some("ann@example.com")).await;
    g.send(&ann, None, "Nobody will mail this").await;
    g.advance(10 * MINUTE);
    g.run_jobs().await;
    assert_eq!(reason(&g.email_entries(&ann).await[0]), "not_configured");
    let Some(h) = Fixture::start(backend, Some(format!("smtp://{}", free_address()))).await else {
        return;
    };
    let reply = h.app.post("/api/v1/workspace/email/test", json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.body);
}
