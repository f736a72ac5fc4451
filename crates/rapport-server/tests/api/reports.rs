//! Reports: new conversations, first response time, time to close and
//! ratings over a period, by day, member and channel, as JSON and CSV,
//! from conversations played out on a clock the test moves.

use std::sync::Arc;

use rapport_core::Timestamp;
use rapport_core::ports::clock::ManualClock;
use rapport_server::config::Config;
use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::widget_support::{boot, visitor_of};

both_backends!(a_report_counts_what_happened_in_its_period);

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// A visitor writes first in the widget: (their session, the conversation).
async fn visitor_starts(app: &TestApp) -> (String, String) {
    let (session, _) = visitor_of(&boot(app, json!({"app_id": app.owner.app_id})).await);
    let started = app
        .request(
            Method::POST,
            "/widget/v1/conversations",
            Some(&session),
            Some(json!({"body": "Hello?"})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (session, id)
}

async fn reply(app: &TestApp, token: &str, id: &str, body: Value) {
    let sent = app
        .request(
            Method::POST,
            &format!("/api/v1/conversations/{id}/reply"),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
}

fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {report}"))
}

async fn a_report_counts_what_happened_in_its_period(backend: Backend) {
    let t0 = Timestamp::parse_rfc3339("2026-11-10T10:00:00Z").unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let Some(app) = TestApp::spawn_with(backend, clock.clone(), Config::default()).await else {
        return;
    };
    // Email fallback and digest jobs fall due as the clock moves a day.
    app.allow_pending_jobs();
    let owner = app.owner.api_token.clone();
    let ada = app.agent_token("ada@acme.test").await;

    // 10 November: two visitors write, the team starts a third.
    let (rater, first) = visitor_starts(&app).await;
    let (_, second) = visitor_starts(&app).await;
    let contact = app.contact(json!({"user_id": "u1", "name": "Uma"})).await;
    let team = app.message(&contact, "We have news").await.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The owner answers the first after 90 s; a note on the second does
    // not count, Ada answers it after 10 minutes; a reply to the team's own
    // conversation is no first response.
    clock.advance_millis(90_000);
    reply(&app, &owner, &first, json!({"body": "Hi!"})).await;
    reply(
        &app,
        &owner,
        &second,
        json!({"body": "Looking", "type": "note"}),
    )
    .await;
    clock.advance_millis(10 * MINUTE - 90_000);
    reply(&app, &ada, &second, json!({"body": "Here"})).await;
    reply(&app, &ada, &team, json!({"body": "More news"})).await;
    reply(&app, &owner, &first, json!({"body": "Anything else?"})).await;
    // The first is closed an hour in, and rated great.
    clock.advance_millis(50 * MINUTE);
    app.post(&format!("/api/v1/conversations/{first}/close"), json!({}))
        .await;
    let rated = app
        .request(
            Method::POST,
            &format!("/widget/v1/conversations/{first}/rating"),
            Some(&rater),
            Some(json!({"score": 3})),
        )
        .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
    // 11 November: a fourth visitor; the second closed a day after it began.
    clock.advance_millis(DAY - 60 * MINUTE);
    visitor_starts(&app).await;
    app.post(&format!("/api/v1/conversations/{second}/close"), json!({}))
        .await;
    // Reopened and closed again: the latest close counts, once.
    clock.advance_millis(MINUTE);
    app.post(&format!("/api/v1/conversations/{second}/open"), json!({}))
        .await;
    app.post(&format!("/api/v1/conversations/{second}/close"), json!({}))
        .await;

    let get = |query: &'static str| {
        let app = &app;
        async move {
            let reply = app.get(&format!("/api/v1/reports?{query}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
            reply.body
        }
    };
    let by_day = get("from=2026-11-09&to=2026-11-11").await;
    let days: Vec<&str> = by_day["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        days,
        ["2026-11-09", "2026-11-10", "2026-11-11"],
        "every day"
    );
    assert_eq!(row(&by_day, "2026-11-09")["new_conversations"], 0);
    let tenth = row(&by_day, "2026-11-10");
    assert_eq!(tenth["new_conversations"], 3);
    assert_eq!(
        tenth["first_response"],
        json!({"count": 2, "median_seconds": 90.0, "p90_seconds": 600.0})
    );
    assert_eq!(
        tenth["time_to_close"],
        json!({"count": 1, "median_seconds": 3600.0, "p90_seconds": 3600.0})
    );
    assert_eq!(
        tenth["ratings"],
        json!({"count": 1, "bad": 0, "ok": 0, "great": 1})
    );
    let eleventh = row(&by_day, "2026-11-11");
    assert_eq!(eleventh["new_conversations"], 1);
    assert_eq!(
        eleventh["time_to_close"],
        json!({"count": 1, "median_seconds": 86_460.0, "p90_seconds": 86_460.0})
    );
    assert_eq!(by_day["totals"]["new_conversations"], 4);
    assert_eq!(
        by_day["totals"]["time_to_close"],
        json!({"count": 2, "median_seconds": 3600.0, "p90_seconds": 86_460.0})
    );

    // Days are counted where the team is: at UTC-11, 10:00 UTC is the 9th.
    let west = get("from=2026-11-09&to=2026-11-09&offset_minutes=-660").await;
    assert_eq!(row(&west, "2026-11-09")["new_conversations"], 3);

    let by_channel = get("from=2026-11-01&to=2026-11-30&by=channel").await;
    let channels: Vec<(&str, u64)> = by_channel["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap(),
                r["new_conversations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        channels,
        [
            ("widget", 3),
            ("team", 1),
            ("bulk", 0),
            ("automation", 0),
            ("bot", 0)
        ]
    );

    // First responses count under who answered.
    let by_member = get("from=2026-11-01&to=2026-11-30&by=member").await;
    let responders: Vec<(&str, u64)> = by_member["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["first_response"]["count"] != 0)
        .map(|r| {
            (
                r["label"].as_str().unwrap(),
                r["first_response"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(responders, [("Ada", 1), ("Grace Hopper", 1)]);

    // New conversations and closes count under the assignee as it is now:
    // a reassignment after the conversation began moves them.
    let per_member = |report: &Value, figure: &str| -> std::collections::BTreeMap<String, u64> {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let n = &r[figure];
                let n = n.get("count").unwrap_or(n).as_u64().unwrap();
                (r["label"].as_str().unwrap().to_owned(), n)
            })
            .collect()
    };
    let agents = app.get("/api/v1/agents").await.body;
    let ada_id = agents
        .as_array()
        .or_else(|| agents["items"].as_array())
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ada@acme.test")
        .unwrap()["id"]
        .clone();
    let before = per_member(&by_member, "new_conversations");
    let closed_before = per_member(&by_member, "time_to_close");
    let assigned = app
        .post(
            &format!("/api/v1/conversations/{first}/assign"),
            json!({"assignee_id": ada_id}),
        )
        .await;
    assert!(assigned.status.is_success(), "{}", assigned.body);
    let after_report = get("from=2026-11-01&to=2026-11-30&by=member").await;
    let after = per_member(&after_report, "new_conversations");
    let closed_after = per_member(&after_report, "time_to_close");
    let of_ada = |m: &std::collections::BTreeMap<String, u64>| m.get("Ada").copied().unwrap_or(0);
    assert_eq!(
        of_ada(&after),
        of_ada(&before) + 1,
        "{before:?} -> {after:?}"
    );
    assert_eq!(of_ada(&closed_after), of_ada(&closed_before) + 1);
    assert_eq!(after.values().sum::<u64>(), before.values().sum::<u64>());

    // Nothing in another period, nothing from another workspace.
    let before = get("from=2026-10-01&to=2026-10-31").await;
    assert_eq!(before["totals"]["new_conversations"], 0);
    assert!(before["totals"]["first_response"]["median_seconds"].is_null());
    let other = app.other_workspace().await;
    let theirs = app
        .request(
            Method::GET,
            "/api/v1/reports?from=2026-11-01&to=2026-11-30",
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(theirs.body["totals"]["new_conversations"], 0);

    // CSV: the same rows and a total.
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/reports/csv?from=2026-11-10&to=2026-11-11",
            app.base
        ))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("rapport-report-2026-11-10-2026-11-11-by-day.csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "group,new_conversations,first_responses,first_response_median_seconds,first_response_p90_seconds,closed,time_to_close_median_seconds,time_to_close_p90_seconds,ratings,bad,ok,great",
            "2026-11-10,3,2,90,600,1,3600,3600,1,0,0,1",
            "2026-11-11,1,0,,,1,86460,86460,0,0,0,0",
            "Total,4,2,90,600,2,3600,86460,1,0,0,1",
        ]
    );

    // A conversation a member starts counts under them from its first
    // message: its summary is written with the conversation's assignee.
    clock.advance_millis(10 * DAY);
    let started = app
        .request(
            Method::POST,
            "/api/v1/messages",
            Some(&ada),
            Some(json!({"contact_id": contact, "body": "One more thing"})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let later = get("from=2026-11-21&to=2026-11-21&by=member").await;
    let counted: Vec<(String, u64)> = per_member(&later, "new_conversations")
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(counted, [("Ada".to_owned(), 1)], "{later}");

    // Bad periods are refused naming the field.
    for (query, field) in [
        ("from=2026-11-31&to=2026-12-01", "from"),
        ("from=2026-11-10&to=2026-11-09", "to"),
        ("from=2025-01-01&to=2026-11-09", "to"),
        (
            "from=2026-11-01&to=2026-11-09&offset_minutes=900",
            "offset_minutes",
        ),
        ("from=2026-11-01&to=2026-11-09&by=week", "by"),
    ] {
        let reply = app.get(&format!("/api/v1/reports?{query}")).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }
}
