//! CSV import: bad rows reported by line, the rest imported.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::StatusCode;
use serde_json::json;

use super::import;
use crate::helpers::TestApp;

both_backends!(an_import_reports_bad_rows_by_line_and_imports_the_rest);

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
