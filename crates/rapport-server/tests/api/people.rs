//! People: every filter operator against an independent evaluation of a
//! generated data set, property operations and types, segments, import,
//! and bulk sends (exactly once across a restart, cancel, admin-only).

use std::collections::BTreeSet;
use std::sync::Arc;

use rapport_core::Timestamp;
use rapport_core::model::conversation::{Author, PartKind};
use rapport_core::model::ids::{BulkSendId, ContactId};
use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
use rapport_core::ports::store::{StoreError, TimelineQuery};
use rapport_core::services::SendError;
use rapport_core::services::messages::{ChatMessage, send_chat_message};
use rapport_server::AppState;
use rapport_server::config::Config;
use rapport_server::live::LocalBus;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

both_backends!(
    every_filter_operator_matches_an_independent_evaluation,
    bad_filters_are_refused_naming_the_node,
    searches_page_with_cursors_in_every_order,
    property_operations_keep_types_and_refuse_the_wrong_one,
    segments_are_saved_and_used_as_filters,
    an_import_reports_bad_rows_by_line_and_imports_the_rest,
    a_bulk_send_reaches_each_recipient_once_across_a_restart,
    a_cancelled_bulk_send_stops,
    bulk_sends_can_be_kept_to_admins,
    another_workspaces_people_are_out_of_reach,
);

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
    for (filter, check) in &cases {
        let expected: BTreeSet<String> = people
            .iter()
            .filter(|p| check(p))
            .map(|p| p.user_id.clone())
            .collect();
        let (count, ids) = found(&app, filter).await;
        assert_eq!(ids, expected, "{backend:?}: {filter}");
        assert_eq!(count, expected.len() as u64, "{filter}");
    }
    // The data set is not degenerate: the example finds someone,
    // and not everyone.
    let (example, _) = found(&app, &cases[cases.len() - 2].0).await;
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

async fn property_operations_keep_types_and_refuse_the_wrong_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let id = app
        .contact(json!({"user_id": "u", "props": {"plan": "pro", "logins": 1}}))
        .await;
    let path = format!("/api/v1/contacts/{id}");
    let patch =
        |body: Value| app.request(Method::PATCH, &path, Some(&app.owner.api_token), Some(body));
    let changed = patch(json!({"ops": [
        {"op": "increment", "prop": "logins", "value": 2},
        {"op": "set_once", "prop": "source", "value": "ads"},
        {"op": "set_once", "prop": "source", "value": "blog"},
        {"op": "append", "prop": "teams", "value": ["ops", "dev"]},
        {"op": "remove", "prop": "teams", "value": "dev"},
        {"op": "unset", "prop": "plan"},
        {"op": "set", "prop": "city", "value": "Lyon"}
    ]}))
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        changed.body["props"],
        json!({"logins": 3.0, "source": "ads", "teams": ["ops"]})
    );
    assert_eq!(changed.body["city"], "Lyon");
    // Another contact cannot give `logins` another type, nor can this one.
    let other = app
        .post(
            "/api/v1/contacts",
            json!({"user_id": "v", "props": {"logins": "many"}}),
        )
        .await;
    assert_eq!(other.error_fields(), ["props.logins"]);
    let wrong = patch(
        json!({"props": {"source": 1}, "ops": [{"op": "append", "prop": "logins", "value": "x"}]}),
    )
    .await;
    assert_eq!(wrong.error_fields(), ["props.source", "ops[0]"]);
    let fetched = app.get(&path).await;
    assert_eq!(
        fetched.body["props"], changed.body["props"],
        "nothing changed"
    );
    // The schema knows the types.
    let schema = app.get("/api/v1/people/schema").await;
    let types: Vec<(String, String)> = schema.body["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["system"] == false)
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("logins".into(), "number".into()),
            ("plan".into(), "string".into()),
            ("source".into(), "string".into()),
            ("teams".into(), "list".into())
        ]
    );
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

async fn an_import_reports_bad_rows_by_line_and_imports_the_rest(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.owner.api_token.clone();
    app.contact(json!({"user_id": "typed", "props": {"seats": 1}}))
        .await;
    let mut csv = String::from("user_id,email,name,seats,plan,tags\n");
    for i in 0..1_500 {
        match i {
            7 => csv.push_str("u7,not-an-email,Seven,1,pro,\n"),
            9 => csv.push_str("u9,u9@example.test,Nine,many,pro,\n"),
            11 => csv.push_str(",,No identifier,1,pro,\n"),
            _ => csv.push_str(&format!(
                "u{i},u{i}@example.test,\"Person, {i}\",{},pro,vip;new\n",
                i % 5
            )),
        }
    }
    let (status, lines) = import(&app, &token, csv).await;
    assert_eq!(status, StatusCode::OK);
    let errors: Vec<(u64, String)> = lines
        .iter()
        .filter(|l| l["type"] == "error")
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Line 1 is the header, so row i is on line i + 2.
    assert_eq!(
        errors,
        [
            (9, "email".into()),
            (11, "seats".into()),
            (13, "user_id".into())
        ]
    );
    assert!(lines.iter().any(|l| l["type"] == "progress"));
    let done = lines.last().unwrap();
    assert_eq!(
        (
            done["type"].as_str(),
            done["rows"].as_u64(),
            done["created"].as_u64(),
            done["failed"].as_u64()
        ),
        (Some("done"), Some(1_500), Some(1_497), Some(3))
    );
    let found = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"tag": "vip", "op": "has"}, "limit": 0}),
        )
        .await;
    assert_eq!(found.body["count"], 1_497);
    let one = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"prop": "user_id", "op": "eq", "value": "u3"}}),
        )
        .await;
    assert_eq!(one.body["data"][0]["name"], "Person, 3");
    assert_eq!(
        one.body["data"][0]["props"],
        json!({"seats": 3.0, "plan": "pro"})
    );
    // Importing again updates by user_id.
    let (_, lines) = import(&app, &token, "user_id,plan\nu3,free\n".into()).await;
    assert_eq!(lines.last().unwrap()["updated"], 1);
    // A bad header is refused before anything is read.
    for header in ["name,plan\nAda,pro\n", "email,plan,plan\na@b.test,x,y\n"] {
        let (status, lines) = import(&app, &token, header.into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{header}");
        assert!(
            lines[0]["errors"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with("header")
        );
    }
}

/// How many bulk messages each contact got, from their timelines.
pub(crate) async fn bulk_messages_per_contact(app: &TestApp, contacts: &[ContactId]) -> Vec<usize> {
    let mut counts = Vec::new();
    for contact in contacts {
        let entries = app
            .store
            .timeline(TimelineQuery {
                workspace_id: app.owner.workspace_id,
                contact_id: *contact,
                before_seq: None,
                kinds: vec!["bulk_send_received".into()],
                limit: 10,
            })
            .await
            .unwrap();
        counts.push(entries.len());
    }
    counts
}

pub(crate) async fn all_contact_ids(app: &TestApp, filter: Value) -> Vec<ContactId> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({"filter": filter, "limit": 100});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let page = app.post("/api/v1/contacts/search", body).await;
        for c in page.body["data"].as_array().unwrap() {
            ids.push(serde_json::from_value(c["id"].clone()).unwrap());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

async fn a_bulk_send_reaches_each_recipient_once_across_a_restart(backend: Backend) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let Some(app) = TestApp::spawn_with(backend, clock.clone(), Config::default()).await else {
        return;
    };
    let mut csv = String::from("user_id,email,name,plan\n");
    for i in 0..1_010 {
        let plan = if i < 1_000 { "pro" } else { "free" };
        csv.push_str(&format!("u{i},u{i}@example.test,Person {i},{plan}\n"));
    }
    let token = app.owner.api_token.clone();
    let (_, lines) = import(&app, &token, csv).await;
    assert_eq!(lines.last().unwrap()["created"], 1_010);
    let pro = json!({"prop": "plan", "op": "eq", "value": "pro"});
    let created = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"filter": pro}, "body": "Hi {{ user.name }}, see what's new"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["total"], 1_000);
    let id: BulkSendId = serde_json::from_value(created.body["id"].clone()).unwrap();

    // A first worker sends a batch, and the job is released for the next.
    assert_eq!(
        rapport_server::jobs::Runner::new(app.state.clone())
            .bulk_batch(300)
            .run_due()
            .await
            .unwrap()
            .bulk_messages,
        300
    );
    // Then a worker claims it and dies mid-batch (its claim is left held).
    let held = app
        .store
        .claim_jobs(
            &["bulk_send"],
            clock.now(),
            clock.now().plus_millis(5 * 60_000),
            10,
        )
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        rapport_server::jobs::Runner::new(app.state.clone())
            .bulk_batch(300)
            .run_due()
            .await
            .unwrap()
            .bulk_messages,
        0
    );
    // A restarted server on the same database resumes once the claim ends.
    let restarted = AppState::new(
        app.store.clone(),
        LocalBus::default(),
        clock.clone(),
        &Config::default(),
    )
    .unwrap();
    clock.advance_millis(5 * 60_000 + 1);
    let mut sent = 300;
    loop {
        let ran = rapport_server::jobs::Runner::new(restarted.clone())
            .bulk_batch(300)
            .run_due()
            .await
            .unwrap()
            .bulk_messages;
        if ran == 0 {
            break;
        }
        sent += ran;
    }
    assert_eq!(sent, 1_000);

    // A recipient already sent is refused by the store, not sent again.
    let recipients = all_contact_ids(&app, pro).await;
    assert_eq!(recipients.len(), 1_000);
    let again = send_chat_message(
        restarted.deps(),
        ChatMessage {
            workspace_id: app.owner.workspace_id,
            from: Author::Agent(app.owner.owner_id),
            contact_id: recipients[0],
            conversation_id: None,
            kind: PartKind::Comment,
            body: "again".into(),
            event: None,
            email_fallback: true,
            bulk_send: Some(id),
        },
    )
    .await;
    assert!(
        matches!(again, Err(SendError::Store(StoreError::Conflict(_)))),
        "{again:?}"
    );

    // Every recipient got exactly one, on their timeline; nobody else did.
    let counts = bulk_messages_per_contact(&app, &recipients).await;
    assert!(counts.iter().all(|n| *n == 1), "{counts:?}");
    let others = all_contact_ids(&app, json!({"prop": "plan", "op": "eq", "value": "free"})).await;
    assert_eq!(bulk_messages_per_contact(&app, &others).await, [0; 10]);
    let timeline = app.timeline(&recipients[7].to_string()).await;
    let message = timeline.iter().find(|e| e["kind"] == "message").unwrap();
    assert!(
        message["data"]["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi Person "),
        "{message}"
    );
    // Each message follows the email fallback: one job per conversation.
    let emails = app
        .store
        .claim_jobs(
            &["email_fallback"],
            clock.now().plus_millis(60 * 60_000),
            clock.now().plus_millis(120 * 60_000),
            5_000,
        )
        .await
        .unwrap();
    assert_eq!(emails.len(), 1_000);
    let done = app.get(&format!("/api/v1/bulk-sends/{id}")).await;
    assert_eq!(
        (
            done.body["status"].as_str(),
            done.body["sent"].as_u64(),
            done.body["pending"].as_u64()
        ),
        (Some("done"), Some(1_000), Some(0))
    );
    // Who read it and who answered are counted once it is done.
    assert_eq!(
        (done.body["read"].as_u64(), done.body["replied"].as_u64()),
        (Some(0), Some(0))
    );
    let conversation: rapport_core::model::ids::ConversationId =
        serde_json::from_value(message["conversation_id"].clone()).unwrap();
    app.store
        .mark_read(
            app.owner.workspace_id,
            conversation,
            recipients[7],
            clock.now(),
        )
        .await
        .unwrap();
    rapport_core::services::replies::post_contact_message(
        restarted.deps(),
        app.owner.workspace_id,
        recipients[7],
        Some(conversation),
        "Thanks!",
    )
    .await
    .unwrap();
    let counted = app.get(&format!("/api/v1/bulk-sends/{id}")).await;
    assert_eq!(
        (
            counted.body["read"].as_u64(),
            counted.body["replied"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

async fn a_cancelled_bulk_send_stops(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(app.contact(json!({"user_id": format!("u{i}")})).await);
    }
    let created = app
        .post(
            "/api/v1/bulk-sends",
            json!({"audience": {"contact_ids": ids}, "body": "Hello", "email_fallback": false}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        rapport_server::jobs::Runner::new(app.state.clone())
            .bulk_batch(10)
            .run_due()
            .await
            .unwrap()
            .bulk_messages,
        10
    );
    let cancelled = app
        .post(
            &format!("/api/v1/bulk-sends/{}/cancel", created.id()),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(
        rapport_server::jobs::Runner::new(app.state.clone())
            .bulk_batch(10)
            .run_due()
            .await
            .unwrap()
            .bulk_messages,
        0
    );
    let after = app
        .get(&format!("/api/v1/bulk-sends/{}", created.id()))
        .await;
    assert_eq!(
        (after.body["sent"].as_u64(), after.body["pending"].as_u64()),
        (Some(10), Some(20))
    );
    // The job is gone: nothing is claimable any more.
    let jobs = app
        .store
        .claim_jobs(
            &["bulk_send"],
            SystemClock.now().plus_millis(DAY),
            SystemClock.now().plus_millis(2 * DAY),
            10,
        )
        .await
        .unwrap();
    assert!(jobs.is_empty());
    let listed = app.get("/api/v1/bulk-sends").await;
    assert_eq!(listed.body["data"][0]["id"], created.id());
}

async fn bulk_sends_can_be_kept_to_admins(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let contact = app.contact(json!({"user_id": "u"})).await;
    let ada = app
        .post("/api/v1/agents", json!({"email": "ada@acme.test", "name": "Ada", "role": "agent", "password": "long enough"}))
        .await;
    let token = app
        .post(
            "/api/v1/tokens",
            json!({"name": "ada's", "agent_id": ada.id()}),
        )
        .await;
    let ada_token = token.body["secret"].as_str().unwrap().to_owned();
    let send = json!({"audience": {"contact_ids": [contact]}, "body": "Hi"});
    let restrict = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&app.owner.api_token),
            Some(json!({"bulk_sends_admins_only": true})),
        )
        .await;
    assert_eq!(restrict.body["bulk_sends_admins_only"], true);
    let refused = app
        .request(
            Method::POST,
            "/api/v1/bulk-sends",
            Some(&ada_token),
            Some(send.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/bulk-sends").await.body["data"], json!([]));
    let owner = app.post("/api/v1/bulk-sends", send.clone()).await;
    assert_eq!(owner.status, StatusCode::CREATED);
    // Bad input is refused naming the field, and stores nothing.
    for (body, field) in [
        (json!({"audience": {}, "body": "Hi"}), "audience"),
        (
            json!({"audience": {"contact_ids": []}, "body": "Hi"}),
            "audience.contact_ids",
        ),
        (
            json!({"audience": {"filter": {"prop": "x", "op": "is_set"}}, "body": "Hi"}),
            "audience.filter.prop",
        ),
        (
            json!({"audience": {"contact_ids": [contact]}, "body": "{{ oops"}),
            "body",
        ),
        (
            json!({"audience": {"filter": {"or": []}}, "body": "Hi"}),
            "audience",
        ),
    ] {
        let reply = app.post("/api/v1/bulk-sends", body.clone()).await;
        assert_eq!(reply.error_fields(), [field], "{body}");
    }
    assert_eq!(
        app.get("/api/v1/bulk-sends").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The one send that was made goes out to its one recipient.
    assert_eq!(app.run_jobs().await.bulk_messages, 1);
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
