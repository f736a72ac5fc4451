//! A visitor rates their closed conversation: once, only their own, only
//! once closed; the Inbox's thread, the widget's thread and the timeline
//! show it.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::widget_support::{boot, visitor_of};

both_backends!(a_closed_conversation_is_rated_once_by_its_visitor);

async fn a_closed_conversation_is_rated_once_by_its_visitor(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (session, contact) = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await);
    let started = app
        .request(
            Method::POST,
            "/widget/v1/conversations",
            Some(&session),
            Some(json!({"body": "My order is late"})),
        )
        .await;
    let id = started.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rate = |session: String, body: Value| {
        let app = &app;
        let path = format!("/widget/v1/conversations/{id}/rating");
        async move {
            app.request(Method::POST, &path, Some(&session), Some(body))
                .await
        }
    };

    let early = rate(session.clone(), json!({"score": 3})).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    app.post(&format!("/api/v1/conversations/{id}/close"), json!({}))
        .await;

    let bad = rate(
        session.clone(),
        json!({"score": 5, "comment": "x".repeat(1001)}),
    )
    .await;
    assert_eq!(bad.error_fields(), ["score", "comment"]);
    let stranger = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await).0;
    let theirs = rate(stranger, json!({"score": 1})).await;
    assert_eq!(
        theirs.status,
        StatusCode::NOT_FOUND,
        "only the visitor's own"
    );

    let rated = rate(
        session.clone(),
        json!({"score": 3, "comment": "  Quick, thanks! "}),
    )
    .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
    assert_eq!(rated.body, json!({"score": 3, "comment": "Quick, thanks!"}));
    let again = rate(session.clone(), json!({"score": 1})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "once");

    let inbox = app.get(&format!("/api/v1/conversations/{id}")).await;
    assert_eq!(inbox.body["rating"]["score"], 3);
    assert_eq!(inbox.body["rating"]["comment"], "Quick, thanks!");
    let widget = app
        .request(
            Method::GET,
            &format!("/widget/v1/conversations/{id}"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(
        widget.body["rating"],
        json!({"score": 3, "comment": "Quick, thanks!"})
    );
    let timeline = app.timeline(&contact).await;
    let entry = timeline
        .iter()
        .find(|e| e["kind"] == "rated")
        .expect("on the timeline");
    assert_eq!(
        entry["data"],
        json!({"score": 3, "comment": "Quick, thanks!"})
    );
    assert_eq!(entry["conversation_id"], id.as_str());
}
