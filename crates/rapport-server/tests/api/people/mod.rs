//! People: every filter operator against an independent evaluation of a
//! generated data set, property operations and types, segments, import,
//! and bulk sends (exactly once across a restart, cancel, admin-only).
//! The generated people and the import helper, which more than one topic
//! uses, are here; each topic has its own file.

mod bulk_sends;

pub(crate) use bulk_sends::{all_contact_ids, bulk_messages_per_contact};
mod filters;
mod import;
mod properties;

use rapport_core::Timestamp;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

both_backends!(another_workspaces_people_are_out_of_reach);

const DAY: i64 = 24 * 60 * 60 * 1000;

/// One generated contact, as the test knows it.
struct Person {
    user_id: String,
    name: Option<String>,
    country: Option<&'static str>,
    plan: Option<&'static str>,
    seats: Option<f64>,
    beta: Option<bool>,
    renews_at: Option<i64>,
    teams: Option<Vec<&'static str>>,
    tags: Vec<&'static str>,
    /// Days ago, one per login.
    logins: Vec<f64>,
    opened_billing: bool,
    open_conversation: bool,
}

fn people(now: i64) -> Vec<Person> {
    (0..48)
        .map(|i: usize| Person {
            user_id: format!("u-{i:02}"),
            name: (i % 6 != 5).then(|| format!("Person {i:02}")),
            country: [Some("France"), Some("Germany"), None][i % 3],
            plan: [
                Some("pro"),
                Some("free"),
                Some("Pro Max"),
                None,
                Some("enterprise"),
            ][i % 5],
            seats: (i % 4 != 3).then_some((i % 6) as f64 * 1.5),
            beta: [Some(true), Some(false), None][i % 3],
            renews_at: (i % 5 != 4).then(|| now + (i as i64 % 9 - 4) * DAY + 3_600_000),
            teams: [
                Some(vec!["ops"]),
                Some(vec!["ops", "dev"]),
                Some(vec![]),
                None,
            ][i % 4]
                .clone(),
            tags: [vec!["vip"], vec!["vip", "beta"], vec![], vec![]][i % 4].clone(),
            logins: [vec![10.5, 2.5], vec![20.5], vec![]][i % 3].clone(),
            opened_billing: i % 5 == 2,
            open_conversation: i.is_multiple_of(7),
        })
        .collect()
}

async fn seed(app: &TestApp, now: i64) -> Vec<Person> {
    let people = people(now);
    for p in &people {
        let mut props = serde_json::Map::new();
        if let Some(plan) = p.plan {
            props.insert("plan".into(), json!(plan));
        }
        if let Some(seats) = p.seats {
            props.insert("seats".into(), json!(seats));
        }
        if let Some(beta) = p.beta {
            props.insert("beta".into(), json!(beta));
        }
        if let Some(at) = p.renews_at {
            props.insert(
                "renews_at".into(),
                json!(Timestamp::from_millis(at).to_string()),
            );
        }
        if let Some(teams) = &p.teams {
            props.insert("teams".into(), json!(teams));
        }
        let ops = match p.country {
            Some(country) => json!([{"op": "set", "prop": "country", "value": country}]),
            None => json!([]),
        };
        let id = app
            .contact(json!({"user_id": p.user_id, "name": p.name, "email": format!("{}@example.test", p.user_id),
                            "props": props, "ops": ops}))
            .await;
        for tag in &p.tags {
            let tagged = app
                .post(&format!("/api/v1/contacts/{id}/tags"), json!({"tag": tag}))
                .await;
            assert_eq!(tagged.status, StatusCode::OK, "{}", tagged.body);
        }
        let mut events: Vec<(&str, f64)> = p.logins.iter().map(|d| ("logged_in", *d)).collect();
        if p.opened_billing {
            events.push(("opened_billing_page", 1.5));
        }
        for (name, days_ago) in events {
            let at = Timestamp::from_millis(now - (days_ago * DAY as f64) as i64);
            let tracked = app
                .post(
                    &format!("/api/v1/contacts/{id}/events"),
                    json!({"name": name, "created_at": at.to_string()}),
                )
                .await;
            assert_eq!(tracked.status, StatusCode::CREATED, "{}", tracked.body);
        }
        if p.open_conversation {
            assert_eq!(app.message(&id, "Hello").await.status, StatusCode::CREATED);
        }
    }
    people
}

/// Posts a CSV to the import and returns its JSON lines.
pub(crate) async fn import(app: &TestApp, token: &str, csv: String) -> (StatusCode, Vec<Value>) {
    let response = app
        .client
        .post(format!("{}/api/v1/contacts/import", app.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({"raw": l})))
        .collect();
    (status, lines)
}

async fn another_workspaces_people_are_out_of_reach(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ours = app
        .contact(json!({"user_id": "u", "props": {"plan": "pro"}}))
        .await;
    let segment = app
        .post(
            "/api/v1/segments",
            json!({"name": "All", "filter": {"and": []}}),
        )
        .await;
    let other = app.other_workspace().await;
    let token = other.api_token.clone();
    let theirs = |method: Method, path: String, body: Option<Value>| {
        let token = token.clone();
        let app = &app;
        async move { app.request(method, &path, Some(&token), body).await }
    };
    let search = theirs(
        Method::POST,
        "/api/v1/contacts/search".into(),
        Some(json!({})),
    )
    .await;
    assert_eq!(search.body["count"], 0);
    let by_segment = theirs(
        Method::POST,
        "/api/v1/contacts/search".into(),
        Some(json!({"segment_id": segment.id()})),
    )
    .await;
    assert_eq!(by_segment.error_fields(), ["segment_id"]);
    let send = theirs(
        Method::POST,
        "/api/v1/bulk-sends".into(),
        Some(json!({"audience": {"contact_ids": [ours]}, "body": "Hi"})),
    )
    .await;
    assert_eq!(send.error_fields(), ["audience"]);
    let tag = theirs(
        Method::POST,
        format!("/api/v1/contacts/{ours}/tags"),
        Some(json!({"tag": "x"})),
    )
    .await;
    assert_eq!(tag.status, StatusCode::NOT_FOUND);
    // Their filter cannot name our property either.
    let prop = theirs(
        Method::POST,
        "/api/v1/contacts/search".into(),
        Some(json!({"filter": {"prop": "plan", "op": "is_set"}})),
    )
    .await;
    assert_eq!(prop.error_fields(), ["filter.prop"]);
}
