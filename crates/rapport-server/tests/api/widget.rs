//! The messenger's API: visitors, identity verification, their own
//! conversations only, read receipts, and live delivery to the widget.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Reply, TestApp, user_hash};
use crate::widget_support::{boot, boot_session, session_of};

both_backends!(
    a_visitor_becomes_a_lead_and_their_session_resumes_them,
    visitors_write_to_the_team_and_read_replies_but_never_notes,
    a_session_reaches_only_its_own_conversations,
    identity_verification_refuses_a_forged_user_id,
    a_lead_who_signs_in_brings_their_conversations_along,
    read_receipts_clear_unread_counts_and_reach_the_inbox,
    the_messenger_hears_replies_live_and_the_inbox_hears_it_typing,
    the_widget_api_is_rate_limited_per_ip_and_per_visitor,
);

async fn as_visitor(
    app: &TestApp,
    session: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    app.request(method, path, Some(session), body).await
}

async fn a_visitor_becomes_a_lead_and_their_session_resumes_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    assert_eq!(
        boot(&app, json!({"app_id": "nope"})).await.status,
        StatusCode::NOT_FOUND
    );
    let first = boot(&app, json!({"app_id": app.owner.app_id, "name": "Curious"})).await;
    let session = session_of(&first);
    assert!(session.starts_with("wst_"));
    assert_eq!(first.body["contact"]["user_id"], Value::Null);
    assert_eq!(first.body["contact"]["name"], "Curious");
    assert_eq!(first.body["team"][0], json!({"name": "Grace Hopper"}));
    let again = boot(
        &app,
        json!({"app_id": app.owner.app_id, "session": session}),
    )
    .await;
    assert_eq!(
        (again.body["session"].as_str(), &again.body["contact"]["id"]),
        (Some(session.as_str()), &first.body["contact"]["id"])
    );
    // A made-up session is a new visitor.
    let stranger = boot(
        &app,
        json!({"app_id": app.owner.app_id, "session": "wst_made_up"}),
    )
    .await;
    assert_ne!(stranger.body["contact"]["id"], first.body["contact"]["id"]);
    // The lead cannot claim someone else's contact by email.
    let known = app
        .contact(json!({"user_id": "ada", "email": "ada@example.com"}))
        .await;
    let claim = as_visitor(
        &app,
        &session,
        Method::POST,
        "/widget/v1/update",
        Some(json!({"email": "ada@example.com"})),
    )
    .await;
    assert_eq!(claim.status, StatusCode::OK);
    assert_ne!(claim.body["id"].as_str(), Some(known.as_str()));
    let tracked = as_visitor(
        &app,
        &session,
        Method::POST,
        "/widget/v1/events",
        Some(json!({"name": "$page_view", "params": {"url": "https://shop.example/"}})),
    )
    .await;
    assert_eq!(tracked.status, StatusCode::CREATED);
    let timeline = app
        .timeline(first.body["contact"]["id"].as_str().unwrap())
        .await;
    assert_eq!(timeline[0]["data"]["name"], "$page_view");
}

async fn visitors_write_to_the_team_and_read_replies_but_never_notes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let session = boot_session(&app).await;
    let xss = "Hi <img src=x onerror=alert(1)>";
    let started = as_visitor(
        &app,
        &session,
        Method::POST,
        "/widget/v1/conversations",
        Some(json!({"body": xss})),
    )
    .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        started.body["message"]["body"], xss,
        "stored as written; escaped when shown"
    );
    let empty = as_visitor(
        &app,
        &session,
        Method::POST,
        "/widget/v1/conversations",
        Some(json!({"body": "  "})),
    )
    .await;
    assert_eq!(empty.error_fields(), ["body"]);
    // The team sees it waiting, replies, and leaves a note.
    let listed = app.get("/api/v1/conversations?sort=waiting").await;
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
    assert_eq!(listed.body["data"][0]["last_part"]["body"], xss);
    app.post(
        &format!("/api/v1/conversations/{id}/reply"),
        json!({"body": "Hello! How can I help?"}),
    )
    .await;
    app.post(
        &format!("/api/v1/conversations/{id}/reply"),
        json!({"body": "secret note", "type": "note"}),
    )
    .await;
    let more = as_visitor(
        &app,
        &session,
        Method::POST,
        &format!("/widget/v1/conversations/{id}/messages"),
        Some(json!({"body": "My order is late"})),
    )
    .await;
    assert_eq!(more.status, StatusCode::CREATED);
    let thread = as_visitor(
        &app,
        &session,
        Method::GET,
        &format!("/widget/v1/conversations/{id}"),
        None,
    )
    .await;
    let parts: Vec<_> = thread.body["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["author"]["type"].as_str().unwrap().to_owned(),
                p["author"]["name"].as_str().unwrap().to_owned(),
                p["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            ("contact".to_owned(), "You".to_owned(), xss.to_owned()),
            (
                "agent".to_owned(),
                "Grace Hopper".to_owned(),
                "Hello! How can I help?".to_owned()
            ),
            (
                "contact".to_owned(),
                "You".to_owned(),
                "My order is late".to_owned()
            ),
        ]
    );
    let list = as_visitor(
        &app,
        &session,
        Method::GET,
        "/widget/v1/conversations",
        None,
    )
    .await;
    assert_eq!(
        list.body["data"][0]["last_part"]["body"], "My order is late",
        "notes are never the preview"
    );
}

async fn a_session_reaches_only_its_own_conversations(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mine = boot_session(&app).await;
    let theirs = boot_session(&app).await;
    let id = as_visitor(
        &app,
        &theirs,
        Method::POST,
        "/widget/v1/conversations",
        Some(json!({"body": "private"})),
    )
    .await
    .body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path, body) in [
        (Method::GET, format!("/widget/v1/conversations/{id}"), None),
        (
            Method::POST,
            format!("/widget/v1/conversations/{id}/messages"),
            Some(json!({"body": "intruding"})),
        ),
        (
            Method::POST,
            format!("/widget/v1/conversations/{id}/read"),
            None,
        ),
    ] {
        assert_eq!(
            as_visitor(&app, &mine, method, &path, body).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        as_visitor(&app, &mine, Method::GET, "/widget/v1/conversations", None)
            .await
            .body["data"],
        json!([])
    );
    // An API token is not a widget session, nor the reverse.
    assert_eq!(
        as_visitor(
            &app,
            &app.owner.api_token,
            Method::GET,
            "/widget/v1/conversations",
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.request(Method::GET, "/api/v1/conversations", Some(&mine), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let thread = as_visitor(
        &app,
        &theirs,
        Method::GET,
        &format!("/widget/v1/conversations/{id}"),
        None,
    )
    .await;
    assert_eq!(thread.body["parts"].as_array().unwrap().len(), 1);
}

async fn identity_verification_refuses_a_forged_user_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.request(
        Method::PATCH,
        "/api/v1/workspace",
        Some(&app.owner.api_token),
        Some(json!({"identity_verification": true})),
    )
    .await;
    let secret = &app.owner.identity_secret;
    let app_id = &app.owner.app_id;
    for forged in [
        json!({"app_id": app_id, "user_id": "ada"}),
        json!({"app_id": app_id, "user_id": "ada", "user_hash": user_hash(secret, "bob")}),
        json!({"app_id": app_id, "user_id": "ada", "user_hash": "zz"}),
    ] {
        let refused = boot(&app, forged).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.body.get("contact").is_none());
    }
    let verified = boot(&app, json!({"app_id": app_id, "user_id": "ada", "user_hash": user_hash(secret, "ada"), "name": "Ada"})).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(verified.body["contact"]["user_id"], "ada");
    // An anonymous boot does not resume an identified user's session.
    let anonymous = boot(
        &app,
        json!({"app_id": app_id, "session": verified.body["session"]}),
    )
    .await;
    assert_ne!(
        anonymous.body["contact"]["id"],
        verified.body["contact"]["id"]
    );
    assert_eq!(anonymous.body["contact"]["user_id"], Value::Null);
}

async fn a_lead_who_signs_in_brings_their_conversations_along(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let lead = boot(&app, json!({"app_id": app.owner.app_id})).await;
    let session = session_of(&lead);
    let id = as_visitor(
        &app,
        &session,
        Method::POST,
        "/widget/v1/conversations",
        Some(json!({"body": "before signing in"})),
    )
    .await
    .body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = app.contact(json!({"user_id": "ada", "name": "Ada"})).await;
    // Without proof, the lead stays a lead and nothing moves.
    let unproven = boot(
        &app,
        json!({"app_id": app.owner.app_id, "session": session, "user_id": "ada"}),
    )
    .await;
    assert_eq!(unproven.status, StatusCode::UNAUTHORIZED);
    let signed_in = boot(
        &app,
        json!({"app_id": app.owner.app_id, "session": session, "user_id": "ada",
               "user_hash": user_hash(&app.owner.identity_secret, "ada")}),
    )
    .await;
    assert_eq!(signed_in.body["contact"]["id"], user.as_str());
    // The lead's session ended with the merge; the browser got a new one.
    assert_ne!(signed_in.body["session"], session.as_str());
    assert_eq!(
        as_visitor(
            &app,
            &session,
            Method::GET,
            "/widget/v1/conversations",
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    let listed = as_visitor(
        &app,
        &session_of(&signed_in),
        Method::GET,
        "/widget/v1/conversations",
        None,
    )
    .await;
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
    let detail = app.get(&format!("/api/v1/conversations/{id}")).await;
    assert_eq!(detail.body["contact_id"], user.as_str());
    let lead_id = lead.body["contact"]["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/contacts/{lead_id}")).await.status,
        StatusCode::NOT_FOUND,
        "the lead merged away"
    );
    assert!(
        app.timeline(&user)
            .await
            .iter()
            .any(|e| e["kind"] == "message")
    );
}

async fn read_receipts_clear_unread_counts_and_reach_the_inbox(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let session = boot_session(&app).await;
    let id = as_visitor(
        &app,
        &session,
        Method::POST,
        "/widget/v1/conversations",
        Some(json!({"body": "hi"})),
    )
    .await
    .body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in ["one", "two"] {
        app.post(
            &format!("/api/v1/conversations/{id}/reply"),
            json!({"body": body}),
        )
        .await;
    }
    app.post(
        &format!("/api/v1/conversations/{id}/reply"),
        json!({"body": "note", "type": "note"}),
    )
    .await;
    let unread = |list: &Reply| list.body["data"][0]["unread"].as_u64().unwrap();
    assert_eq!(
        unread(
            &as_visitor(
                &app,
                &session,
                Method::GET,
                "/widget/v1/conversations",
                None
            )
            .await
        ),
        2
    );
    let read = as_visitor(
        &app,
        &session,
        Method::POST,
        &format!("/widget/v1/conversations/{id}/read"),
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::NO_CONTENT);
    assert_eq!(
        unread(
            &as_visitor(
                &app,
                &session,
                Method::GET,
                "/widget/v1/conversations",
                None
            )
            .await
        ),
        0
    );
    let detail = app.get(&format!("/api/v1/conversations/{id}")).await;
    assert!(detail.body["contact_read_at"].is_string());
    let contact = detail.body["contact_id"].as_str().unwrap();
    assert_eq!(app.timeline(contact).await[0]["kind"], "read");
}

async fn the_messenger_hears_replies_live_and_the_inbox_hears_it_typing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let session = boot_session(&app).await;
    let id = as_visitor(
        &app,
        &session,
        Method::POST,
        "/widget/v1/conversations",
        Some(json!({"body": "hello?"})),
    )
    .await
    .body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ws_base = app.base.replacen("http", "ws", 1);
    let (mut inbox, _) = tokio_tungstenite::connect_async(format!("{ws_base}/api/v1/live"))
        .await
        .unwrap();
    inbox
        .send(Message::Text(
            json!({"type": "hello", "token": app.owner.api_token})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    assert_eq!(next(&mut inbox).await.unwrap()["type"], "ready");
    let (mut widget, _) = tokio_tungstenite::connect_async(format!("{ws_base}/widget/v1/live"))
        .await
        .unwrap();
    widget
        .send(Message::Text(
            json!({"type": "hello", "session": session})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    assert_eq!(next(&mut widget).await.unwrap()["type"], "ready");
    // The inbox learns the visitor is online, then that they type.
    let presence = next_of(&mut inbox, "presence").await;
    assert_eq!(presence["online"], true);
    widget
        .send(Message::Text(
            json!({"type": "typing", "conversation_id": id})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    assert_eq!(
        next_of(&mut inbox, "typing").await["conversation_id"],
        id.as_str()
    );
    // A note never reaches the widget; the reply does, live.
    app.post(
        &format!("/api/v1/conversations/{id}/reply"),
        json!({"body": "internal", "type": "note"}),
    )
    .await;
    app.post(
        &format!("/api/v1/conversations/{id}/reply"),
        json!({"body": "Here to help"}),
    )
    .await;
    let frame = next_of(&mut widget, "activity").await;
    assert_eq!(
        frame["data"]["author"]["name"], "Grace Hopper",
        "named for the visitor"
    );
    assert_eq!(
        (frame["kind"].as_str(), frame["data"]["body"].as_str()),
        (Some("message"), Some("Here to help"))
    );
    // And the contact shows online in the list.
    assert_eq!(
        app.get("/api/v1/conversations").await.body["data"][0]["contact"]["online"],
        true
    );
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .ok()??
        {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            _ => return None,
        }
    }
}

/// The next frame of this type, skipping others.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = next(socket)
            .await
            .unwrap_or_else(|| panic!("no {kind} frame"));
        if frame["type"] == kind {
            return frame;
        }
    }
}

async fn the_widget_api_is_rate_limited_per_ip_and_per_visitor(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // A visitor hammering one endpoint is slowed down...
    let session = boot_session(&app).await;
    // (Requests until the first 429: slow machines refill tokens meanwhile.)
    let mut allowed = 0;
    let mut refused = None;
    while refused.is_none() && allowed < 300 {
        let reply = as_visitor(
            &app,
            &session,
            Method::GET,
            "/widget/v1/conversations",
            None,
        )
        .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(reply);
        } else {
            assert_eq!(reply.status, StatusCode::OK);
            allowed += 1;
        }
    }
    assert!(
        allowed >= 30,
        "the burst of 30 is allowed first, got {allowed}"
    );
    let refused = refused.expect("a 429");
    assert_eq!(refused.body["type"], "urn:rapport:problem:rate-limited");
    assert_eq!(refused.headers["retry-after"], "1");
    // ...and one address cannot create leads without end (60 boots a minute).
    let mut boots = 1;
    loop {
        let reply = boot(&app, json!({"app_id": app.owner.app_id})).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(reply.status, StatusCode::OK);
        boots += 1;
        assert!(boots <= 300, "boots are limited");
    }
    // 60 at once, plus the one a second that refills while this loop runs.
    assert!(boots >= 60, "{boots} boots before the limit");
    // The team's API is not limited this way.
    for _ in 0..40 {
        assert_eq!(
            app.get("/api/v1/conversations").await.status,
            StatusCode::OK
        );
    }
}
