//! Widget visitors for the tests: booting one (`POST /widget/v1/boot`) and
//! reading their messenger session, and contact, out of the boot reply.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};

/// `POST /widget/v1/boot` with `body` as it is: its app id, or none.
pub async fn boot(app: &TestApp, body: Value) -> Reply {
    app.request(Method::POST, "/widget/v1/boot", None, Some(body))
        .await
}

/// The messenger session a boot reply gives the visitor; the boot must
/// have succeeded.
pub fn session_of(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["session"].as_str().unwrap().to_owned()
}

/// The session and the contact id a boot reply gives the visitor; the boot
/// must have succeeded.
pub fn visitor_of(reply: &Reply) -> (String, String) {
    let session = session_of(reply);
    (
        session,
        reply.body["contact"]["id"].as_str().unwrap().to_owned(),
    )
}

/// Boots a new anonymous visitor of the app's workspace: their session.
pub async fn boot_session(app: &TestApp) -> String {
    session_of(&boot(app, json!({"app_id": app.owner.app_id})).await)
}
