//! Replies to fallback emails, over SMTP and HTTP, and the test email of
//! the email settings. Every case runs on SQLite and PostgreSQL.

use super::*;

both_backends!(
    an_emailed_reply_appears_in_the_conversation_live,
    forged_or_foreign_replies_are_refused_and_change_nothing,
    settings_validate_and_send_a_test_email,
);

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
