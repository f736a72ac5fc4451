//! The server stays up and bounded whatever it is sent (issue 10, points
//! 5 to 8): filters of any size, control characters bound for email
//! headers, password floods and racing setups, oversized bodies and
//! silent sockets. Each test checks the refusal and that nothing changed.

use std::sync::Arc;

use rapport_core::model::agent::Email;
use rapport_core::model::contact::ContactUpsert;
use rapport_core::model::ids::{ContactId, WorkspaceId};
use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
use rapport_server::config::{Config, Secret};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::smtp::SmtpSink;

both_backends!(
    a_huge_filter_is_refused_wherever_a_filter_is_taken,
    line_breaks_in_names_are_refused_and_old_ones_still_email,
    a_burst_of_wrong_passwords_is_throttled_per_account_and_per_ip,
    a_flood_of_sign_ins_keeps_memory_flat,
    racing_first_visits_set_up_exactly_one_workspace,
    a_job_that_panics_fails_alone_and_the_worker_goes_on,
    the_nul_character_is_refused_alike_on_both_databases,
);

/// `{"or": [n × {"and": []}]}`: no conditions at all, only groups.
fn empty_groups(n: usize) -> Value {
    json!({"or": (0..n).map(|_| json!({"and": []})).collect::<Vec<_>>()})
}

fn names_the_node_limit(body: &Value) -> bool {
    body["errors"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .ends_with("filter")
        && body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&rapport_core::model::filter::MAX_NODES.to_string()))
}

async fn a_huge_filter_is_refused_wherever_a_filter_is_taken(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ann = app.contact(json!({"email": "ann@x.test"})).await;
    // The issue's probe: 5,000 empty groups once aborted the process.
    let hostile = empty_groups(5_000);

    let search = app
        .post("/api/v1/contacts/search", json!({"filter": hostile}))
        .await;
    assert_eq!(
        search.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        search.body
    );
    assert!(names_the_node_limit(&search.body), "{}", search.body);

    // The same in a query string (a smaller one: URLs are short).
    let listed = app
        .client
        .get(format!("{}/api/v1/contacts", app.base))
        .bearer_auth(&app.owner.api_token)
        .query(&[("filter", empty_groups(200).to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listed: Value = listed.json().await.unwrap();
    assert!(names_the_node_limit(&listed), "{listed}");

    let segment = app
        .post(
            "/api/v1/segments",
            json!({"name": "all", "filter": hostile}),
        )
        .await;
    assert_eq!(
        segment.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        segment.body
    );
    assert!(names_the_node_limit(&segment.body), "{}", segment.body);

    let bulk = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"filter": hostile}, "body": "Hi"}),
        )
        .await;
    assert_eq!(
        bulk.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bulk.body
    );
    assert!(names_the_node_limit(&bulk.body), "{}", bulk.body);

    // Too many bytes is refused as well, naming that limit.
    let long = "x".repeat(rapport_core::model::filter::MAX_BYTES);
    let wide = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"prop": "name", "op": "eq", "value": long}}),
        )
        .await;
    assert_eq!(
        wide.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wide.body
    );
    assert_eq!(wide.error_fields(), ["filter"]);

    // Nothing was saved, and the server still answers, filters included.
    assert_eq!(app.get("/api/v1/segments").await.body["data"], json!([]));
    assert_eq!(app.get("/api/v1/bulk-sends").await.body["data"], json!([]));
    let found = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"or": [{"and": []}, {"prop": "email", "op": "eq", "value": "ann@x.test"}]}}),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["data"][0]["id"], ann.as_str());
}

async fn line_breaks_in_names_are_refused_and_old_ones_still_email(backend: Backend) {
    let sink = SmtpSink::start();
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let config = Config {
        smtp_url: Some(Secret::from(sink.url())),
        email_from: "support@acme.test".into(),
        ..Config::default()
    };
    let Some(app) = TestApp::spawn_with(backend, clock.clone(), config).await else {
        return;
    };
    let injected = "Ann\nBcc: all@x.test";

    // At input, every header-bound name refuses a line break, naming it.
    let contact = app
        .post(
            "/api/v1/contacts",
            json!({"email": "new@x.test", "name": injected}),
        )
        .await;
    assert_eq!(
        contact.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        contact.body
    );
    assert_eq!(contact.error_fields(), ["name"]);
    let member = app
        .post(
            "/api/v1/agents",
            json!({"email": "bob@acme.test", "name": "Bob\r\nX-Evil: 1", "password": "long enough", "role": "agent"}),
        )
        .await;
    assert_eq!(
        member.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        member.body
    );
    assert_eq!(member.error_fields(), ["name"]);
    let renamed = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&app.owner.api_token),
            Some(json!({"name": "Acme\nBcc: all@x.test"})),
        )
        .await;
    assert_eq!(
        renamed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        renamed.body
    );
    assert_eq!(renamed.error_fields(), ["name"]);
    let event = app
        .post(
            "/api/v1/contacts",
            json!({"email": "ev@x.test", "name": "Eve"}),
        )
        .await;
    let tracked = app
        .post(
            &format!("/api/v1/contacts/{}/events", event.id()),
            json!({"name": "signed\nup"}),
        )
        .await;
    assert_eq!(
        tracked.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        tracked.body
    );
    assert_eq!(tracked.error_fields(), ["name"]);
    // Nothing was written: no such contact, member, name or event.
    let search = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"prop": "email", "op": "eq", "value": "new@x.test"}}),
        )
        .await;
    assert_eq!(search.body["count"], 0);
    let team = app.get("/api/v1/agents").await;
    assert_eq!(team.body.as_array().map(Vec::len), Some(1), "{}", team.body);
    assert_eq!(app.get("/api/v1/workspace").await.body["name"], "Acme");
    let events: Vec<Value> = app
        .timeline(&event.id())
        .await
        .into_iter()
        .filter(|e| e["kind"] == "event")
        .collect();
    assert!(events.is_empty(), "{events:?}");

    // A row stored before the rule, written past validation, still emails,
    // with no header of its own; and the worker goes on to the next job.
    let workspace: WorkspaceId = app.owner.workspace_id;
    let old = ContactUpsert {
        workspace_id: workspace,
        user_id: Some("old".into()),
        email: Some(Email::parse("old@x.test").unwrap()),
        email_verified: true,
        name: Some(injected.into()),
        phone: None,
        ops: Vec::new(),
        tags: Vec::new(),
    };
    let (old, _) = app
        .store
        .upsert_contact(old, ContactId::generate(), clock.now())
        .await
        .unwrap();
    assert_eq!(old.name.as_deref(), Some(injected));
    let bob = app
        .contact(json!({"email": "bob@x.test", "name": "Bob"}))
        .await;
    app.message(&old.id.to_string(), "Your reset code is in the app")
        .await;
    app.message(&bob, "Hello Bob").await;
    clock.advance_millis(11 * 60_000);
    assert_eq!(app.run_jobs().await.claimed, 2);
    let emails = sink.emails();
    assert_eq!(emails.len(), 2, "both jobs ran");
    let to_old = emails
        .iter()
        .find(|e| e.envelope_to == ["old@x.test"])
        .expect("the old row's email");
    assert!(to_old.parsed().header_raw("Bcc").is_none());
    let raw = String::from_utf8_lossy(&to_old.raw);
    let (headers, _) = raw.split_once("\r\n\r\n").expect("headers, then a body");
    assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
    assert!(to_old.header("To").contains("old@x.test"));
    assert!(emails.iter().any(|e| e.envelope_to == ["bob@x.test"]));
    // The server still answers.
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn a_burst_of_wrong_passwords_is_throttled_per_account_and_per_ip(backend: Backend) {
    // Two a minute: one comes back every 30 s, far longer than the burst
    // takes, so the count is exact.
    let per_account = 2;
    let config = Config {
        sign_in_attempts_per_minute_per_account: per_account,
        ..Config::default()
    };
    let Some(app) = TestApp::spawn_with(backend, Arc::new(SystemClock), config).await else {
        return;
    };
    let owner = app.owner.owner_email.clone();
    for _ in 0..per_account {
        let wrong = sign_in(&app, &owner, "wrong horse").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = sign_in(&app, &owner, "wrong horse").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&throttled) >= 1);
    assert_eq!(
        throttled.headers()["content-type"],
        "application/problem+json"
    );
    // Even the right password waits now: no session is started.
    let right = sign_in(&app, &owner, "correct horse").await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.headers().get("set-cookie").is_none());
    // Another account from the same address is not locked out.
    let member = app
        .post(
            "/api/v1/agents",
            json!({"email": "bob@acme.test", "name": "Bob", "password": "long enough", "role": "agent"}),
        )
        .await;
    assert_eq!(member.status, StatusCode::CREATED, "{}", member.body);
    let bob = sign_in(&app, "bob@acme.test", "long enough").await;
    assert_eq!(bob.status(), StatusCode::OK);
    assert!(bob.headers().get("set-cookie").is_some());

    // Per IP: many accounts from one address are throttled too.
    let config = Config {
        sign_in_attempts_per_minute_per_ip: 2,
        ..Config::default()
    };
    let Some(app) = TestApp::spawn_with(backend, Arc::new(SystemClock), config).await else {
        return;
    };
    for i in 0..2 {
        let unknown = sign_in(&app, &format!("nobody{i}@x.test"), "guess one").await;
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = sign_in(&app, "nobody9@x.test", "guess one").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&throttled) >= 1);
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
}

/// This process's resident memory, in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

async fn a_flood_of_sign_ins_keeps_memory_flat(backend: Backend) {
    // The throttles off, so only the hashing bound stands in the way.
    let config = Config {
        sign_in_attempts_per_minute_per_account: 0,
        sign_in_attempts_per_minute_per_ip: 0,
        password_hash_concurrency: 1,
        password_hash_wait_secs: 1,
        ..Config::default()
    };
    let Some(app) = TestApp::spawn_with(backend, Arc::new(SystemClock), config).await else {
        return;
    };
    let app = Arc::new(app);
    const FLOOD: usize = 32;
    const ARGON2_BYTES: u64 = 19 * 1024 * 1024;
    let before = resident_bytes();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(resident_bytes());
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let attempts: Vec<_> = (0..FLOOD)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let reply = sign_in(&app, &app.owner.owner_email, "wrong horse").await;
                let status = reply.status();
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    assert!(retry_after(&reply) >= 1);
                }
                status
            })
        })
        .collect();
    let mut busy = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => busy += 1,
            other => panic!("unexpected {other}"),
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    // Unbounded, the flood would hold 32 hashes (608 MiB) at once; bounded,
    // one runs at a time. The slack (ten hashes' worth, still a third of
    // the unbounded figure) is for the tests running beside this one in the
    // same process, which the sampler counts too.
    let grew = peak.saturating_sub(before);
    assert!(
        grew < 10 * ARGON2_BYTES,
        "memory grew by {} MiB",
        grew / 1024 / 1024
    );
    assert!(busy > 0, "a queue this long is told to come back later");
    // And the server still signs people in.
    let right = sign_in(&app, &app.owner.owner_email, "correct horse").await;
    assert_eq!(right.status(), StatusCode::OK);
}

async fn racing_first_visits_set_up_exactly_one_workspace(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let setups: Vec<_> = (0..8)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.request(
                    Method::POST,
                    "/api/v1/setup",
                    None,
                    Some(json!({"workspace": format!("Acme {i}"), "email": format!("owner{i}@acme.test"), "password": "correct horse"})),
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for setup in setups {
        statuses.push(setup.await.unwrap().status);
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (1, 7), "{statuses:?}");
    assert_eq!(app.store.workspace_count().await.unwrap(), 1);
    let state = app.request(Method::GET, "/api/v1/setup", None, None).await;
    assert_eq!(state.body["needed"], false);
}

async fn a_job_that_panics_fails_alone_and_the_worker_goes_on(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = crate::email::Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    for (user, address) in [("ann", "ann@x.test"), ("bob", "bob@x.test")] {
        let contact = f.contact(user, Some(address)).await;
        f.send(&contact, None, "Are you still there?").await;
    }
    f.advance(10 * crate::email::MINUTE);
    // A worker claims one of the two due jobs, and its work panics.
    let state = &f.app.state;
    let now = state.clock.now();
    let claimed = state
        .store
        .claim_jobs(
            &["email_fallback"],
            now,
            now.plus_millis(5 * crate::email::MINUTE),
            1,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let outcome = rapport_server::jobs::run_contained(state, &claimed[0], async {
        if claimed.len() == 1 {
            panic!("a bug in one job");
        }
        Ok(())
    })
    .await;
    assert!(outcome.is_none(), "the panic was contained");
    // The worker goes on with the other job...
    assert_eq!(f.run_jobs().await, 1);
    assert_eq!(sink.emails().len(), 1);
    // ...and the failed one is not claimed again once its claim runs out:
    // it keeps its reason instead of crashing the worker in a loop.
    f.advance(6 * crate::email::MINUTE);
    assert_eq!(f.run_jobs().await, 0);
    assert_eq!(sink.emails().len(), 1);
    assert_eq!(f.app.get("/healthz").await.status, StatusCode::OK);
}

/// PostgreSQL stores U+0000 neither in text nor in JSON: it is refused on
/// every backend alike, naming the field, before anything is written.
async fn the_nul_character_is_refused_alike_on_both_databases(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let before = app.get("/api/v1/contacts").await.body["data"].clone();
    for (body, field) in [
        (r#"{"user_id": "u\u0000"}"#, "user_id"),
        (
            r#"{"user_id": "u1", "props": {"plan": ["a\u0000"]}}"#,
            "props.plan[0]",
        ),
    ] {
        let reply = app
            .post_raw("/api/v1/contacts", "application/json", body)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(reply.error_fields(), [field]);
    }
    let filtered = app
        .get("/api/v1/contacts?filter=%7B%22and%22%3A%5B%5D%7D%00")
        .await;
    assert_eq!(filtered.error_fields(), ["filter"]);
    assert_eq!(app.get("/api/v1/contacts").await.body["data"], before);
    // An escaped backslash before "u0000" is ordinary text.
    let plain = app
        .post_raw(
            "/api/v1/contacts",
            "application/json",
            r#"{"user_id": "u\\u0000"}"#,
        )
        .await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.body);
}
