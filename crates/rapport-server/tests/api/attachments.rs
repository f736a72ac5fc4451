//! Attachments: uploaded, sniffed and bounded, sent by id with a message,
//! read back only by the team or the conversation's visitor, deleted with
//! an erased contact.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};
use crate::widget_support::{boot, visitor_of};

both_backends!(
    the_team_sends_files_that_only_the_conversation_can_read,
    a_visitor_starts_a_conversation_with_an_image,
    files_that_are_not_taken_are_refused_and_change_nothing,
);

/// A PNG's signature and header: enough for its type and size (the server
/// never decodes the image).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    bytes.extend(13u32.to_be_bytes());
    bytes.extend(b"IHDR");
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes
}

async fn upload(app: &TestApp, token: &str, prefix: &str, name: &str, bytes: Vec<u8>) -> Reply {
    let response = app
        .client
        .post(format!("{}{prefix}/attachments", app.base))
        .query(&[("name", name)])
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        headers: Default::default(),
        body,
    }
}

async fn fetch(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn the_team_sends_files_that_only_the_conversation_can_read(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.allow_pending_jobs();
    let owner = app.owner.api_token.clone();
    let (session, contact) = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await);
    let started = app
        .request(
            Method::POST,
            "/widget/v1/conversations",
            Some(&session),
            Some(json!({"body": "Can you send the invoice?"})),
        )
        .await;
    let conversation = started.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let image = upload(&app, &owner, "/api/v1", "../../chart.png", png(640, 480)).await;
    assert_eq!(image.status, StatusCode::CREATED, "{}", image.body);
    assert_eq!(image.body["name"], "chart.png");
    assert_eq!(image.body["content_type"], "image/png");
    assert_eq!(
        (image.body["width"].as_u64(), image.body["height"].as_u64()),
        (Some(640), Some(480))
    );
    let text = "Invoice 42\nTotal: 10 EUR\n";
    let invoice = upload(&app, &owner, "/api/v1", "invoice.txt", text.into()).await;
    assert_eq!(invoice.body["content_type"], "text/plain");
    let ids = [image.id(), invoice.id()];

    // Sent with an empty body: the files are the message.
    let sent = app
        .post(
            &format!("/api/v1/conversations/{conversation}/reply"),
            json!({"body": "", "attachment_ids": ids}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    let names: Vec<&str> = sent.body["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["chart.png", "invoice.txt"]);
    // Once sent, not again.
    let again = app
        .post(
            &format!("/api/v1/conversations/{conversation}/reply"),
            json!({"body": "again", "attachment_ids": [ids[0]]}),
        )
        .await;
    assert_eq!(again.error_fields(), ["attachment_ids"]);

    // The Inbox and the visitor's thread both carry them.
    let detail = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    let part = detail.body["parts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(part["attachments"][0]["id"], ids[0].as_str());
    let thread = app
        .request(
            Method::GET,
            &format!("/widget/v1/conversations/{conversation}"),
            Some(&session),
            None,
        )
        .await;
    let last = thread.body["parts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["attachments"][1]["name"], "invoice.txt");

    // Read back: an image to show, anything else to download, never sniffed
    // or run by the browser.
    let shown = fetch(&app, &owner, &format!("/api/v1/attachments/{}", ids[0])).await;
    assert_eq!(shown.status(), StatusCode::OK);
    let headers = shown.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(shown.bytes().await.unwrap().to_vec(), png(640, 480));
    let downloaded = fetch(
        &app,
        &session,
        &format!("/widget/v1/attachments/{}", ids[1]),
    )
    .await;
    assert_eq!(downloaded.status(), StatusCode::OK);
    assert_eq!(
        downloaded.headers()["content-disposition"],
        "attachment; filename*=UTF-8''invoice.txt"
    );
    assert_eq!(downloaded.text().await.unwrap(), text);

    // Nobody else: another visitor, another workspace.
    let stranger = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await).0;
    let theirs = fetch(
        &app,
        &stranger,
        &format!("/widget/v1/attachments/{}", ids[0]),
    )
    .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let other = app.other_workspace().await;
    let foreign = fetch(
        &app,
        &other.api_token,
        &format!("/api/v1/attachments/{}", ids[0]),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // Erasing the contact deletes the files too.
    let erased = app
        .request(
            Method::DELETE,
            &format!("/api/v1/contacts/{contact}"),
            Some(&owner),
            None,
        )
        .await;
    assert!(erased.status.is_success(), "{}", erased.body);
    app.run_jobs().await;
    let gone = fetch(&app, &owner, &format!("/api/v1/attachments/{}", ids[0])).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let files = app
        .data_dir
        .path()
        .join("attachments")
        .join(app.owner.workspace_id.to_string());
    let left = std::fs::read_dir(&files).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no file left in {}", files.display());
}

async fn a_visitor_starts_a_conversation_with_an_image(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.allow_pending_jobs();
    let (session, _) = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await);
    let pasted = upload(&app, &session, "/widget/v1", "image.png", png(2, 2)).await;
    assert_eq!(pasted.status, StatusCode::CREATED, "{}", pasted.body);
    // Not sent yet: the uploader may read it, nobody else in the widget.
    let own = fetch(
        &app,
        &session,
        &format!("/widget/v1/attachments/{}", pasted.id()),
    )
    .await;
    assert_eq!(own.status(), StatusCode::OK);
    let stranger = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await).0;
    assert_eq!(
        fetch(
            &app,
            &stranger,
            &format!("/widget/v1/attachments/{}", pasted.id())
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    // Another visitor cannot send it as theirs.
    let stolen = app
        .request(
            Method::POST,
            "/widget/v1/conversations",
            Some(&stranger),
            Some(json!({"body": "", "attachment_ids": [pasted.id()]})),
        )
        .await;
    assert_eq!(stolen.error_fields(), ["attachment_ids"]);

    let started = app
        .request(
            Method::POST,
            "/widget/v1/conversations",
            Some(&session),
            Some(json!({"body": "", "attachment_ids": [pasted.id()]})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    assert_eq!(started.body["message"]["attachments"][0]["width"], 2);
    let conversation = started.body["conversation"]["id"].as_str().unwrap();
    let detail = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(detail.body["parts"][0]["body"], "");
    assert_eq!(
        detail.body["parts"][0]["attachments"][0]["content_type"],
        "image/png"
    );
    // Neither text nor files: refused.
    let empty = app
        .request(
            Method::POST,
            &format!("/widget/v1/conversations/{conversation}/messages"),
            Some(&session),
            Some(json!({"body": "  "})),
        )
        .await;
    assert_eq!(empty.error_fields(), ["body"]);
}

async fn files_that_are_not_taken_are_refused_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.owner.api_token.clone();
    for (name, bytes) in [
        (
            "evil.html",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(),
        ),
        (
            "logo.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
        ),
        (
            "run.exe",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec(),
        ),
        ("empty.txt", Vec::new()),
        // A decompression bomb's promise: a tiny file, a huge image.
        ("bomb.png", png(60_000, 60_000)),
    ] {
        let refused = upload(&app, &owner, "/api/v1", name, bytes).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            refused.body
        );
        assert_eq!(refused.error_fields(), ["file"], "{name}");
    }
    let mut big = png(10, 10);
    big.resize(
        rapport_core::model::attachment::DEFAULT_MAX_BYTES as usize + 1,
        0,
    );
    // Refused from its declared length: a 413, or (when the server's answer
    // and close race the client still writing) a connection closed early.
    let too_big = app
        .client
        .post(format!("{}/api/v1/attachments?name=big.png", app.base))
        .bearer_auth(&owner)
        .body(big)
        .send()
        .await;
    if let Ok(answer) = too_big {
        assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let files = app.data_dir.path().join("attachments");
    let stored = std::fs::read_dir(&files).map(|d| d.count()).unwrap_or(0);
    assert_eq!(stored, 0, "nothing kept");
    // No more than 10 on a message, and only real ids.
    let contact = app.contact(json!({"user_id": "u1"})).await;
    let sent = app.message(&contact, "Hello").await;
    let conversation = sent.body["conversation"]["id"].as_str().unwrap();
    let eleven: Vec<String> = (0..11).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for ids in [eleven, vec![uuid::Uuid::new_v4().to_string()]] {
        let reply = app
            .post(
                &format!("/api/v1/conversations/{conversation}/reply"),
                json!({"body": "x", "attachment_ids": ids}),
            )
            .await;
        assert_eq!(reply.error_fields(), ["attachment_ids"]);
    }
    // Another member's unsent upload is not yours to send.
    let ada = app.agent_token("ada@acme.test").await;
    let hers = upload(&app, &ada, "/api/v1", "a.txt", b"hers".to_vec()).await;
    let reply = app
        .post(
            &format!("/api/v1/conversations/{conversation}/reply"),
            json!({"body": "x", "attachment_ids": [hers.id()]}),
        )
        .await;
    assert_eq!(reply.error_fields(), ["attachment_ids"]);
}
