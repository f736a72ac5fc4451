//! Points 1 to 4, 10 and 13 of the security review: nobody reads another
//! person's conversations. Identity comes only from proof (the business's
//! API, or a `user_hash` it computed); an email typed in the widget is a
//! claim; sessions, members and tokens stop when they should; visitors
//! write only what the business allows.

use std::sync::Arc;

use rapport_core::model::contact::WIDGET_SESSION_IDLE_MILLIS;
use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
use rapport_server::config::Config;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::email::{Fixture, MINUTE};
use crate::helpers::{Reply, TestApp, user_hash};
use crate::smtp::SmtpSink;
use crate::widget_support::{self, session_of};

both_backends!(
    a_verified_boot_naming_a_victims_email_gets_none_of_their_history,
    a_leads_typed_email_never_turns_it_into_the_user_the_business_names,
    a_session_dies_with_its_identity_and_on_shutdown,
    boots_naming_an_identity_need_proof_by_default,
    a_rotated_secret_keeps_old_hashes_only_for_the_grace_period,
    removed_members_changed_passwords_and_idle_widget_sessions_stop_working,
    members_send_only_as_themselves_and_tokens_never_outrank_their_maker,
    visitors_set_only_properties_the_business_opened,
    an_unvouched_address_is_sent_only_the_teams_words,
);

/// Boots into the app's workspace with `body`.
async fn boot(app: &TestApp, body: Value) -> Reply {
    let mut body = body;
    body["app_id"] = json!(app.owner.app_id);
    widget_support::boot(app, body).await
}

async fn visitor_get(app: &TestApp, session: &str, path: &str) -> Reply {
    app.request(Method::GET, path, Some(session), None).await
}

fn hash(app: &TestApp, subject: &str) -> String {
    user_hash(&app.owner.identity_secret, subject)
}

/// Every contact of the workspace, as the API lists them.
async fn contacts(app: &TestApp) -> Vec<Value> {
    let reply = app.get("/api/v1/contacts?limit=100").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"].as_array().unwrap().clone()
}

async fn a_verified_boot_naming_a_victims_email_gets_none_of_their_history(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The business knows the victim by email only, and sent them a code.
    let victim = app.contact(json!({"email": "victim@x.test"})).await;
    let sent = app.message(&victim, "Your reset code is 4242").await;
    let conversation = sent.body["conversation"]["id"].as_str().unwrap().to_owned();
    // The attacker has a valid hash for their own id and claims the email.
    let attacker = boot(
        &app,
        json!({"user_id": "att-1", "user_hash": hash(&app, "att-1"), "email": "victim@x.test"}),
    )
    .await;
    let session = session_of(&attacker);
    assert_ne!(attacker.body["contact"]["id"], victim.as_str());
    let listed = visitor_get(&app, &session, "/widget/v1/conversations").await;
    assert_eq!(listed.body["data"], json!([]), "no history came along");
    let thread = visitor_get(
        &app,
        &session,
        &format!("/widget/v1/conversations/{conversation}"),
    )
    .await;
    assert_eq!(thread.status, StatusCode::NOT_FOUND);
    // The victim is untouched: no user_id, still the conversation's owner.
    let stored = app.get(&format!("/api/v1/contacts/{victim}")).await;
    assert_eq!(stored.body["user_id"], Value::Null);
    assert_eq!(stored.body["email_verified"], true);
    let detail = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(detail.body["contact_id"], victim.as_str());
    // The attacker's own contact holds the claim, marked unvouched.
    let mine = app
        .get(&format!(
            "/api/v1/contacts/{}",
            attacker.body["contact"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(mine.body["email_verified"], false);
}

async fn a_leads_typed_email_never_turns_it_into_the_user_the_business_names(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let lead = boot(&app, json!({})).await;
    let session = session_of(&lead);
    let lead_id = lead.body["contact"]["id"].as_str().unwrap().to_owned();
    let typed = app
        .request(
            Method::POST,
            "/widget/v1/update",
            Some(&session),
            Some(json!({"email": "u42@x.test"})),
        )
        .await;
    assert_eq!(typed.status, StatusCode::OK, "{}", typed.body);
    // Later the business upserts its user with that email...
    let user = app
        .contact(json!({"user_id": "u42", "email": "u42@x.test"}))
        .await;
    assert_ne!(user, lead_id, "a new contact, not the lead re-keyed");
    app.message(&user, "Welcome back, here is your invoice")
        .await;
    // ...and the lead's session still reads only the lead's (empty) inbox.
    let listed = visitor_get(&app, &session, "/widget/v1/conversations").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["data"], json!([]));
    let stored = app.get(&format!("/api/v1/contacts/{lead_id}")).await;
    assert_eq!(stored.body["user_id"], Value::Null);
    assert_eq!(stored.body["email_verified"], false);
}

async fn a_session_dies_with_its_identity_and_on_shutdown(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let lead = boot(&app, json!({})).await;
    let session = session_of(&lead);
    let lead_id = lead.body["contact"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        visitor_get(&app, &session, "/widget/v1/conversations")
            .await
            .status,
        StatusCode::OK
    );
    // The business identifies the contact: the session issued to the
    // anonymous lead stops working; the messenger boots afresh.
    let patched = app
        .request(
            Method::PATCH,
            &format!("/api/v1/contacts/{lead_id}"),
            Some(&app.owner.api_token),
            Some(json!({"user_id": "u7"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    app.message(&lead_id, "For u7 only").await;
    assert_eq!(
        visitor_get(&app, &session, "/widget/v1/conversations")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Resuming with it gives a new lead, not u7.
    let again = boot(&app, json!({"session": session})).await;
    assert_ne!(again.body["contact"]["id"], lead_id.as_str());
    // Shutdown ends a session at once.
    let fresh = session_of(&again);
    let shut = app
        .request(Method::POST, "/widget/v1/shutdown", Some(&fresh), None)
        .await;
    assert_eq!(shut.status, StatusCode::NO_CONTENT);
    assert_eq!(
        visitor_get(&app, &fresh, "/widget/v1/conversations")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn boots_naming_an_identity_need_proof_by_default(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let known = app
        .contact(json!({"user_id": "ada", "email": "ada@x.test"}))
        .await;
    app.message(&known, "Private to Ada").await;
    let before = contacts(&app).await.len();
    for body in [
        json!({"user_id": "ada"}),
        json!({"email": "ada@x.test"}),
        json!({"user_id": "ada", "user_hash": "00".repeat(32)}),
        json!({"user_id": "ada", "user_hash": hash(&app, "someone-else")}),
        json!({"email": "ada@x.test", "user_hash": hash(&app, "eve@x.test")}),
    ] {
        let refused = boot(&app, body.clone()).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(refused.content_type, "application/problem+json");
    }
    assert_eq!(contacts(&app).await.len(), before, "no contact was made");
    // Proof by user_id, or by email (signed without a user_id), works.
    let ada = boot(
        &app,
        json!({"user_id": "ada", "user_hash": hash(&app, "ada")}),
    )
    .await;
    assert_eq!(ada.body["contact"]["id"], known.as_str());
    let by_email = boot(
        &app,
        json!({"email": "ada@x.test", "user_hash": hash(&app, "ada@x.test")}),
    )
    .await;
    assert_eq!(by_email.body["contact"]["id"], known.as_str());
    // Anonymous visitors need nothing.
    assert_eq!(boot(&app, json!({})).await.status, StatusCode::OK);
    // Turned off by an admin, a bare user_id is taken at its word (and
    // the settings say so).
    let off = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&app.owner.api_token),
            Some(json!({"identity_verification": false})),
        )
        .await;
    assert_eq!(off.body["identity_verification"], false);
    assert_eq!(
        boot(&app, json!({"user_id": "ada"})).await.body["contact"]["id"],
        known.as_str()
    );
}

async fn a_rotated_secret_keeps_old_hashes_only_for_the_grace_period(backend: Backend) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let Some(app) = TestApp::spawn_with(backend, clock.clone(), Config::default()).await else {
        return;
    };
    let old_hash = hash(&app, "ada");
    let rotate = |grace: Value| {
        app.request(
            Method::POST,
            "/api/v1/workspace/identity-secret",
            Some(&app.owner.api_token),
            Some(json!({"grace_hours": grace})),
        )
    };
    assert_eq!(
        rotate(json!(721)).await.error_fields(),
        ["grace_hours"],
        "bounded"
    );
    let rotated = rotate(json!(2)).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_secret = rotated.body["identity_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, app.owner.identity_secret);
    let new_hash = user_hash(&new_secret, "ada");
    let with = |hash: &str| json!({"user_id": "ada", "user_hash": hash});
    assert_eq!(boot(&app, with(&old_hash)).await.status, StatusCode::OK);
    assert_eq!(boot(&app, with(&new_hash)).await.status, StatusCode::OK);
    clock.advance_millis(2 * 3_600_000);
    assert_eq!(
        boot(&app, with(&old_hash)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(boot(&app, with(&new_hash)).await.status, StatusCode::OK);
    // Agents cannot rotate it.
    let agent = member(&app, "agent").await;
    let refused = app
        .request(
            Method::POST,
            "/api/v1/workspace/identity-secret",
            Some(&agent.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let settings = app.get("/api/v1/workspace").await;
    assert_eq!(settings.body["identity_secret"], new_secret.as_str());
}

struct Member {
    id: String,
    token: String,
    email: String,
}

/// A new team member with `role`, and a token of their own.
async fn member(app: &TestApp, role: &str) -> Member {
    let email = format!("{role}-{}@acme.test", uuid::Uuid::new_v4().simple());
    let created = app
        .post(
            "/api/v1/agents",
            json!({"email": email, "name": "Member", "role": role, "password": "a long password"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let token = app
        .post("/api/v1/tokens", json!({"name": "theirs", "agent_id": id}))
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.body);
    Member {
        id,
        token: token.body["secret"].as_str().unwrap().to_owned(),
        email,
    }
}

/// Signs in with a password; returns the session cookie (`name=value`).
async fn sign_in(app: &TestApp, email: &str, password: &str) -> Option<String> {
    let reply = app
        .client
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    if reply.status() != StatusCode::OK {
        return None;
    }
    let cookie = reply.headers()["set-cookie"].to_str().unwrap().to_owned();
    Some(cookie.split(';').next().unwrap().to_owned())
}

async fn with_cookie(app: &TestApp, cookie: &str) -> StatusCode {
    app.client
        .get(format!("{}/api/v1/session", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

async fn removed_members_changed_passwords_and_idle_widget_sessions_stop_working(backend: Backend) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let config = Config {
        public_url: Some("https://chat.acme.test".into()),
        ..Config::default()
    };
    let Some(app) = TestApp::spawn_with(backend, clock.clone(), config).await else {
        return;
    };
    // The cookie is Secure when the server is reached over https.
    let set_cookie = app
        .client
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"email": "owner@acme.test", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");

    // A removed member's token and sign-in stop at once.
    let ann = member(&app, "agent").await;
    let cookie = sign_in(&app, &ann.email, "a long password").await.unwrap();
    assert_eq!(with_cookie(&app, &cookie).await, StatusCode::OK);
    let removed = app
        .request(
            Method::DELETE,
            &format!("/api/v1/agents/{}", ann.id),
            Some(&app.owner.api_token),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(with_cookie(&app, &cookie).await, StatusCode::UNAUTHORIZED);
    let with_token = app
        .request(Method::GET, "/api/v1/contacts", Some(&ann.token), None)
        .await;
    assert_eq!(with_token.status, StatusCode::UNAUTHORIZED);
    assert!(sign_in(&app, &ann.email, "a long password").await.is_none());
    // Nobody removes the owner, and agents remove nobody.
    let bob = member(&app, "agent").await;
    let owner_id = app.owner.owner_id.to_string();
    for (token, target, status) in [
        (&app.owner.api_token, &owner_id, StatusCode::CONFLICT),
        (&bob.token, &owner_id, StatusCode::FORBIDDEN),
    ] {
        let reply = app
            .request(
                Method::DELETE,
                &format!("/api/v1/agents/{target}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }

    // A password change ends the member's other sessions, not this one.
    let first = sign_in(&app, "owner@acme.test", "correct horse")
        .await
        .unwrap();
    let second = sign_in(&app, "owner@acme.test", "correct horse")
        .await
        .unwrap();
    let change = |current: &str| {
        app.client
            .post(format!("{}/api/v1/me/password", app.base))
            .header("cookie", first.clone())
            .header("x-rapport-csrf", "1")
            .json(&json!({"current_password": current, "new_password": "an even longer one"}))
            .send()
    };
    assert_eq!(
        change("wrong").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        with_cookie(&app, &second).await,
        StatusCode::OK,
        "nothing changed"
    );
    assert_eq!(
        change("correct horse").await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(with_cookie(&app, &first).await, StatusCode::OK);
    assert_eq!(with_cookie(&app, &second).await, StatusCode::UNAUTHORIZED);
    assert!(
        sign_in(&app, "owner@acme.test", "correct horse")
            .await
            .is_none()
    );

    // A widget session unused for 90 days is over.
    let session = session_of(&boot(&app, json!({})).await);
    clock.advance_millis(WIDGET_SESSION_IDLE_MILLIS + 1);
    assert_eq!(
        visitor_get(&app, &session, "/widget/v1/conversations")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn members_send_only_as_themselves_and_tokens_never_outrank_their_maker(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.contact(json!({"user_id": "ada"})).await;
    let agent = member(&app, "agent").await;
    let owner_id = app.owner.owner_id.to_string();
    let before = app.timeline(&ada).await.len();
    let as_owner = app
        .request(
            Method::POST,
            "/api/v1/messages",
            Some(&agent.token),
            Some(json!({"contact_id": ada, "body": "I am the owner", "from_agent_id": owner_id})),
        )
        .await;
    assert_eq!(as_owner.status, StatusCode::FORBIDDEN, "{}", as_owner.body);
    assert_eq!(app.timeline(&ada).await.len(), before, "nothing was sent");
    // As themselves it works.
    let own = app
        .request(
            Method::POST,
            "/api/v1/messages",
            Some(&agent.token),
            Some(json!({"contact_id": ada, "body": "Hello"})),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    // An admin cannot mint a token that acts as the owner.
    let admin = member(&app, "admin").await;
    let minted = app
        .request(
            Method::POST,
            "/api/v1/tokens",
            Some(&admin.token),
            Some(json!({"name": "escalate", "agent_id": owner_id})),
        )
        .await;
    assert_eq!(minted.status, StatusCode::FORBIDDEN, "{}", minted.body);
    let tokens = app.get("/api/v1/tokens").await;
    assert!(
        tokens
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "escalate"),
        "no token was made"
    );
}

async fn visitors_set_only_properties_the_business_opened(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // A visitor tries to squat `plan` as a string and to add a hundred names.
    let squat = boot(&app, json!({"props": {"plan": "free"}})).await;
    assert_eq!(squat.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(squat.error_fields(), ["props.plan"]);
    let many: serde_json::Map<String, Value> =
        (0..100).map(|i| (format!("junk{i}"), json!(i))).collect();
    let flood = boot(&app, json!({"props": many})).await;
    assert_eq!(flood.status, StatusCode::UNPROCESSABLE_ENTITY);
    let session = session_of(&boot(&app, json!({})).await);
    let update = app
        .request(
            Method::POST,
            "/widget/v1/update",
            Some(&session),
            Some(json!({"props": {"plan": "free"}})),
        )
        .await;
    assert_eq!(update.error_fields(), ["props.plan"]);
    let properties = app.get("/api/v1/people/properties").await;
    assert_eq!(properties.body, json!([]), "no property was created");
    // The business's own write fixes the type as it means it.
    app.contact(json!({"user_id": "u1", "props": {"plan": 3}}))
        .await;
    // An admin opens a property to the messenger; agents cannot.
    let agent = member(&app, "agent").await;
    let body = json!({"type": "string", "messenger_writable": true});
    let path = "/api/v1/people/properties/color";
    let refused = app
        .request(Method::PUT, path, Some(&agent.token), Some(body.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let opened = app
        .request(Method::PUT, path, Some(&app.owner.api_token), Some(body))
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let booted = boot(&app, json!({"props": {"color": "teal"}})).await;
    assert_eq!(booted.status, StatusCode::OK, "{}", booted.body);
    let wrong_type = boot(&app, json!({"props": {"color": 5}})).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn an_unvouched_address_is_sent_only_the_teams_words(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    // A visitor types someone else's address and a message with a link.
    let (session, lead) = f.visitor(json!({})).await;
    let update = f
        .app
        .request(
            Method::POST,
            "/widget/v1/update",
            Some(&session),
            Some(json!({"email": "someone@else.test", "name": "Click https://evil.test"})),
        )
        .await;
    assert_eq!(update.status, StatusCode::OK, "{}", update.body);
    let started = f
        .app
        .request(
            Method::POST,
            "/widget/v1/conversations",
            Some(&session),
            Some(json!({"body": "Win a prize at https://evil.test/prize"})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let conversation = started.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    f.send(&lead, Some(&conversation), "Thanks, we will look into it")
        .await;
    f.advance(10 * MINUTE);
    // The email fallback's job, and the team digest's (which sends nothing:
    // the team has answered).
    assert_eq!(f.run_jobs().await, 2);
    let emails = sink.emails();
    assert_eq!(emails.len(), 1);
    let (text, html) = (emails[0].text(), emails[0].html());
    assert!(text.contains("we will look into it"), "{text}");
    for body in [&text, &html] {
        assert!(
            !body.contains("evil.test"),
            "the visitor's words stayed out: {body}"
        );
    }
    assert!(!emails[0].header("To").contains("evil"));
}
