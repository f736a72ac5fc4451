//! Finding people: every filter operator against an independent
//! evaluation of a generated data set, refusals naming the node, cursors
//! in every order, and saved segments.

use std::collections::BTreeSet;

use rapport_core::Timestamp;
use rapport_core::ports::clock::{Clock, SystemClock};
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{DAY, Person, seed};
use crate::helpers::TestApp;

both_backends!(
    every_filter_operator_matches_an_independent_evaluation,
    bad_filters_are_refused_naming_the_node,
    searches_page_with_cursors_in_every_order,
    segments_are_saved_and_used_as_filters,
);

/// The user_ids a filter finds, and the count the server gives.
async fn found(app: &TestApp, filter: &Value) -> (u64, BTreeSet<String>) {
    let reply = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": filter, "limit": 100}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{filter}: {}", reply.body);
    let ids = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user_id"].as_str().unwrap().to_owned())
        .collect();
    (reply.body["count"].as_u64().unwrap(), ids)
}

type Check = Box<dyn Fn(&Person) -> bool>;

async fn every_filter_operator_matches_an_independent_evaluation(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let now = SystemClock.now().as_millis();
    let people = seed(&app, now).await;
    let at = |ms: i64| Timestamp::from_millis(ms).to_string();
    let has = |p: &Person, plan: &str| p.plan.is_some_and(|v| v.to_lowercase().contains(plan));
    let last_login = |p: &Person| p.logins.iter().copied().reduce(f64::min);
    let first_login = |p: &Person| p.logins.iter().copied().reduce(f64::max);
    let cases: Vec<(Value, Check)> = vec![
        // Strings.
        (
            json!({"prop": "plan", "op": "eq", "value": "pro"}),
            Box::new(|p| p.plan == Some("pro")),
        ),
        (
            json!({"prop": "plan", "op": "ne", "value": "pro"}),
            Box::new(|p| p.plan != Some("pro")),
        ),
        (
            json!({"prop": "plan", "op": "contains", "value": "PRO"}),
            Box::new(move |p| has(p, "pro")),
        ),
        (
            json!({"prop": "plan", "op": "not_contains", "value": "pro"}),
            Box::new(move |p| !has(p, "pro")),
        ),
        (
            json!({"prop": "plan", "op": "starts_with", "value": "pro"}),
            Box::new(|p| p.plan.is_some_and(|v| v.to_lowercase().starts_with("pro"))),
        ),
        (
            json!({"prop": "plan", "op": "in", "value": ["free", "enterprise"]}),
            Box::new(|p| matches!(p.plan, Some("free" | "enterprise"))),
        ),
        (
            json!({"prop": "plan", "op": "is_set"}),
            Box::new(|p| p.plan.is_some()),
        ),
        (
            json!({"prop": "plan", "op": "not_set"}),
            Box::new(|p| p.plan.is_none()),
        ),
        // Numbers.
        (
            json!({"prop": "seats", "op": "eq", "value": 3}),
            Box::new(|p| p.seats == Some(3.0)),
        ),
        (
            json!({"prop": "seats", "op": "ne", "value": 3}),
            Box::new(|p| p.seats != Some(3.0)),
        ),
        (
            json!({"prop": "seats", "op": "gt", "value": 3}),
            Box::new(|p| p.seats.is_some_and(|s| s > 3.0)),
        ),
        (
            json!({"prop": "seats", "op": "lt", "value": 3}),
            Box::new(|p| p.seats.is_some_and(|s| s < 3.0)),
        ),
        (
            json!({"prop": "seats", "op": "between", "value": [1.5, 4.5]}),
            Box::new(|p| p.seats.is_some_and(|s| (1.5..=4.5).contains(&s))),
        ),
        (
            json!({"prop": "seats", "op": "is_set"}),
            Box::new(|p| p.seats.is_some()),
        ),
        (
            json!({"prop": "seats", "op": "not_set"}),
            Box::new(|p| p.seats.is_none()),
        ),
        // Booleans.
        (
            json!({"prop": "beta", "op": "eq", "value": true}),
            Box::new(|p| p.beta == Some(true)),
        ),
        (
            json!({"prop": "beta", "op": "eq", "value": false}),
            Box::new(|p| p.beta == Some(false)),
        ),
        (
            json!({"prop": "beta", "op": "is_set"}),
            Box::new(|p| p.beta.is_some()),
        ),
        (
            json!({"prop": "beta", "op": "not_set"}),
            Box::new(|p| p.beta.is_none()),
        ),
        // Date-times.
        (
            json!({"prop": "renews_at", "op": "before", "value": at(now)}),
            Box::new(move |p| p.renews_at.is_some_and(|t| t < now)),
        ),
        (
            json!({"prop": "renews_at", "op": "after", "value": at(now)}),
            Box::new(move |p| p.renews_at.is_some_and(|t| t >= now)),
        ),
        (
            json!({"prop": "renews_at", "op": "more_than_days_ago", "value": 2}),
            Box::new(move |p| p.renews_at.is_some_and(|t| t < now - 2 * DAY)),
        ),
        (
            json!({"prop": "renews_at", "op": "less_than_days_ago", "value": 2}),
            Box::new(move |p| p.renews_at.is_some_and(|t| t >= now - 2 * DAY)),
        ),
        (
            json!({"prop": "renews_at", "op": "is_set"}),
            Box::new(|p| p.renews_at.is_some()),
        ),
        (
            json!({"prop": "renews_at", "op": "not_set"}),
            Box::new(|p| p.renews_at.is_none()),
        ),
        // Lists.
        (
            json!({"prop": "teams", "op": "contains", "value": "dev"}),
            Box::new(|p| p.teams.as_ref().is_some_and(|t| t.contains(&"dev"))),
        ),
        (
            json!({"prop": "teams", "op": "not_contains", "value": "ops"}),
            Box::new(|p| !p.teams.as_ref().is_some_and(|t| t.contains(&"ops"))),
        ),
        (
            json!({"prop": "teams", "op": "is_set"}),
            Box::new(|p| p.teams.is_some()),
        ),
        (
            json!({"prop": "teams", "op": "not_set"}),
            Box::new(|p| p.teams.is_none()),
        ),
        // System properties.
        (
            json!({"prop": "name", "op": "contains", "value": "son 1"}),
            Box::new(|p| p.name.as_ref().is_some_and(|n| n.contains("son 1"))),
        ),
        (
            json!({"prop": "name", "op": "not_set"}),
            Box::new(|p| p.name.is_none()),
        ),
        // Wildcards in a value are plain characters.
        (
            json!({"prop": "name", "op": "contains", "value": "%"}),
            Box::new(|_| false),
        ),
        (
            json!({"prop": "name", "op": "starts_with", "value": "Person_"}),
            Box::new(|_| false),
        ),
        (
            json!({"prop": "country", "op": "eq", "value": "France"}),
            Box::new(|p| p.country == Some("France")),
        ),
        (
            json!({"prop": "country", "op": "ne", "value": "France"}),
            Box::new(|p| p.country != Some("France")),
        ),
        (
            json!({"prop": "email", "op": "starts_with", "value": "u-1"}),
            Box::new(|p| p.user_id.starts_with("u-1")),
        ),
        (
            json!({"prop": "user_id", "op": "in", "value": ["u-01", "u-02", "nobody"]}),
            Box::new(|p| ["u-01", "u-02"].contains(&p.user_id.as_str())),
        ),
        (
            json!({"prop": "created_at", "op": "less_than_days_ago", "value": 1}),
            Box::new(|_| true),
        ),
        (
            json!({"prop": "last_seen_at", "op": "is_set"}),
            Box::new(|_| false),
        ),
        (
            json!({"prop": "sessions", "op": "gt", "value": 0}),
            Box::new(|_| false),
        ),
        // Events.
        (
            json!({"event": "logged_in", "op": "performed"}),
            Box::new(|p| !p.logins.is_empty()),
        ),
        (
            json!({"event": "logged_in", "op": "not_performed"}),
            Box::new(|p| p.logins.is_empty()),
        ),
        (
            json!({"event": "logged_in", "op": "count_at_least", "value": 2}),
            Box::new(|p| p.logins.len() >= 2),
        ),
        (
            json!({"event": "logged_in", "op": "first_within_days", "value": 15}),
            Box::new(move |p| first_login(p).is_some_and(|d| d < 15.0)),
        ),
        (
            json!({"event": "logged_in", "op": "last_within_days", "value": 7}),
            Box::new(move |p| last_login(p).is_some_and(|d| d < 7.0)),
        ),
        // Tags, presence, conversations.
        (
            json!({"tag": "vip", "op": "has"}),
            Box::new(|p| p.tags.contains(&"vip")),
        ),
        (
            json!({"tag": "beta", "op": "has_not"}),
            Box::new(|p| !p.tags.contains(&"beta")),
        ),
        (json!({"online": true}), Box::new(|_| false)),
        (json!({"online": false}), Box::new(|_| true)),
        (
            json!({"open_conversation": true}),
            Box::new(|p| p.open_conversation),
        ),
        (
            json!({"open_conversation": false}),
            Box::new(|p| !p.open_conversation),
        ),
        // Groups, and the issue's own example.
        (json!({"and": []}), Box::new(|_| true)),
        (json!({"or": []}), Box::new(|_| false)),
        (
            json!({"and": [
                {"prop": "plan", "op": "eq", "value": "pro"},
                {"event": "logged_in", "op": "last_within_days", "value": 7},
                {"event": "opened_billing_page", "op": "not_performed"}
            ]}),
            Box::new(move |p| {
                p.plan == Some("pro") && last_login(p).is_some_and(|d| d < 7.0) && !p.opened_billing
            }),
        ),
        (
            json!({"and": [
                {"prop": "seats", "op": "ne", "value": 3},
                {"prop": "beta", "op": "eq", "value": false},
                {"event": "logged_in", "op": "performed"}
            ]}),
            Box::new(|p| p.seats != Some(3.0) && p.beta == Some(false) && !p.logins.is_empty()),
        ),
        (
            json!({"or": [
                {"tag": "vip", "op": "has"},
                {"and": [{"prop": "beta", "op": "eq", "value": false}, {"prop": "seats", "op": "gt", "value": 4}]}
            ]}),
            Box::new(|p| {
                p.tags.contains(&"vip")
                    || (p.beta == Some(false) && p.seats.is_some_and(|s| s > 4.0))
            }),
        ),
    ];
    // Twice: first by the general SQL condition, which asks for the
    // compared properties to be indexed; then, their index built by the
    // job, from id sets wherever the filter allows it.
    for pass in ["general", "indexed"] {
        for (filter, check) in &cases {
            let expected: BTreeSet<String> = people
                .iter()
                .filter(|p| check(p))
                .map(|p| p.user_id.clone())
                .collect();
            let (count, ids) = found(&app, filter).await;
            assert_eq!(ids, expected, "{backend:?}, {pass}: {filter}");
            assert_eq!(count, expected.len() as u64, "{pass}: {filter}");
        }
        if pass == "general" {
            assert!(app.run_jobs().await.claimed >= 3, "plan, seats and beta");
        }
    }
    // The data set is not degenerate: the example finds someone,
    // and not everyone.
    let (example, _) = found(&app, &cases[cases.len() - 3].0).await;
    assert!(example > 0 && example < people.len() as u64);
}

async fn bad_filters_are_refused_naming_the_node(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.contact(json!({"user_id": "u", "props": {"plan": "pro", "seats": 2}}))
        .await;
    let cases = [
        (
            json!({"and": [{"prop": "nope", "op": "eq", "value": 1}]}),
            "filter.and[0].prop",
        ),
        (
            json!({"and": [{"prop": "plan", "op": "gt", "value": 1}]}),
            "filter.and[0].op",
        ),
        (
            json!({"or": [{"prop": "seats", "op": "eq", "value": "two"}]}),
            "filter.or[0].value",
        ),
        (
            json!({"event": "x", "op": "count_at_least", "value": 0}),
            "filter.value",
        ),
        (json!({"and": {"online": true}}), "filter.and"),
        (json!([1]), "filter"),
    ];
    for (filter, field) in cases {
        let reply = app
            .post("/api/v1/contacts/search", json!({"filter": filter}))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{filter}");
        assert_eq!(reply.error_fields(), [field], "{filter}");
    }
    // The same over GET, including JSON that does not parse.
    let reply = app.get("/api/v1/contacts?filter=%7Bnope").await;
    assert_eq!(reply.error_fields(), ["filter"]);
    let reply = app
        .get("/api/v1/contacts?filter=%7B%22prop%22%3A%22nope%22%2C%22op%22%3A%22eq%22%7D")
        .await;
    assert_eq!(reply.error_fields(), ["filter.prop"]);
    for query in ["sort=age", "order=up", "limit=101", "cursor=zzz"] {
        let reply = app.get(&format!("/api/v1/contacts?{query}")).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
}

async fn searches_page_with_cursors_in_every_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for i in 0..23 {
        let name = if i % 5 == 0 {
            Value::Null
        } else {
            json!(format!("Name {:02}", (i * 7) % 23))
        };
        app.contact(json!({"user_id": format!("u{i}"), "name": name}))
            .await;
    }
    for (sort, order) in [
        ("name", "asc"),
        ("name", "desc"),
        ("created_at", "desc"),
        ("last_seen_at", "desc"),
        ("first_seen_at", "asc"),
    ] {
        let mut cursor: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let mut body = json!({"sort": sort, "order": order, "limit": 5});
            if let Some(c) = &cursor {
                body["cursor"] = json!(c);
            }
            let page = app.post("/api/v1/contacts/search", body).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            assert_eq!(page.body["count"], 23);
            for c in page.body["data"].as_array().unwrap() {
                seen.push((
                    c["name"].as_str().unwrap_or("").to_owned(),
                    c["user_id"].as_str().unwrap().to_owned(),
                ));
            }
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let distinct: BTreeSet<_> = seen.iter().map(|(_, u)| u.clone()).collect();
        assert_eq!(distinct.len(), 23, "{sort} {order}: every contact once");
        assert_eq!(seen.len(), 23, "{sort} {order}: no repeats");
        if sort == "name" {
            let names: Vec<_> = seen.iter().map(|(n, _)| n.clone()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            if order == "desc" {
                sorted.reverse();
            }
            assert_eq!(names, sorted);
        }
    }
    // Only the count.
    let count = app
        .post("/api/v1/contacts/search", json!({"limit": 0}))
        .await;
    assert_eq!(
        (
            count.body["count"].as_u64(),
            count.body["data"].as_array().map(Vec::len)
        ),
        (Some(23), Some(0))
    );
}

/// The user_ids a filter finds, sorted.
async fn found_ids(app: &TestApp, filter: &Value) -> Vec<String> {
    found(app, filter).await.1.into_iter().collect()
}

async fn segments_are_saved_and_used_as_filters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.contact(json!({"user_id": "a", "props": {"plan": "pro"}}))
        .await;
    app.contact(json!({"user_id": "b", "props": {"plan": "free"}}))
        .await;
    let filter = json!({"prop": "plan", "op": "eq", "value": "pro"});
    let saved = app
        .post("/api/v1/segments", json!({"name": "Pro", "filter": filter}))
        .await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.body);
    let again = app
        .post("/api/v1/segments", json!({"name": "Pro", "filter": filter}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let bad = app
        .post(
            "/api/v1/segments",
            json!({"name": "Bad", "filter": {"prop": "nope", "op": "is_set"}}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["filter.prop"]);
    let found = app
        .post("/api/v1/contacts/search", json!({"segment_id": saved.id()}))
        .await;
    assert_eq!(found.body["count"], 1);
    assert_eq!(found.body["data"][0]["user_id"], "a");
    // As a condition inside a filter: in the segment, or not.
    let inside =
        json!({"or": [{"segment": saved.id()}, {"prop": "plan", "op": "eq", "value": "none"}]});
    assert_eq!(found_ids(&app, &inside).await, ["a"]);
    let both =
        json!({"and": [{"segment": saved.id()}, {"prop": "plan", "op": "ne", "value": "pro"}]});
    assert!(found_ids(&app, &both).await.is_empty());
    let unknown = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"and": [{"segment": uuid::Uuid::now_v7().to_string()}]}}),
        )
        .await;
    assert_eq!(
        unknown.error_fields(),
        ["filter.and[0].segment"],
        "{}",
        unknown.body
    );
    let nested = app
        .post(
            "/api/v1/segments",
            json!({"name": "In pro", "filter": {"segment": saved.id()}}),
        )
        .await;
    assert_eq!(nested.error_fields(), ["filter.segment"], "{}", nested.body);
    let renamed = app
        .request(
            Method::PATCH,
            &format!("/api/v1/segments/{}", saved.id()),
            Some(&app.owner.api_token),
            Some(json!({"name": "Paying", "filter": {"prop": "plan", "op": "is_set"}})),
        )
        .await;
    assert_eq!(renamed.body["name"], "Paying");
    let listed = app.get("/api/v1/segments").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    let found = app
        .get(&format!("/api/v1/contacts?segment_id={}", saved.id()))
        .await;
    assert_eq!(found.body["count"], 2);
    let gone = app
        .request(
            Method::DELETE,
            &format!("/api/v1/segments/{}", saved.id()),
            Some(&app.owner.api_token),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let missing = app
        .post("/api/v1/contacts/search", json!({"segment_id": saved.id()}))
        .await;
    assert_eq!(missing.error_fields(), ["segment_id"]);
    // The searches asked for `plan` to be indexed: that job runs.
    assert!(app.run_jobs().await.claimed >= 1);
}
