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
    a_workspace_chooses_the_files_it_takes,
    uploads_never_sent_are_deleted_after_a_day,
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

async fn a_workspace_chooses_the_files_it_takes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.owner.api_token.clone();
    let defaults = app.get("/api/v1/workspace").await;
    assert_eq!(
        defaults.body["attachments"],
        json!({"max_bytes": 10_485_760, "kinds": ["image", "pdf", "text", "zip", "office"],
               "server_max_bytes": 10_485_760})
    );
    // Out of bounds, or a kind that does not exist: refused, nothing changed.
    for (bad, field) in [
        (json!({"max_bytes": 0}), "attachments.max_bytes"),
        (json!({"max_bytes": 10_485_761}), "attachments.max_bytes"),
        (json!({"kinds": ["exe"]}), "attachments.kinds"),
        (json!({"kinds": vec!["pdf"; 6]}), "attachments.kinds"),
    ] {
        let refused = app
            .request(
                Method::PATCH,
                "/api/v1/workspace",
                Some(&owner),
                Some(json!({"attachments": bad})),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            refused.error_fields().iter().any(|f| f.starts_with(field)),
            "{bad}: {}",
            refused.body
        );
    }
    let member = app.agent_token("ada@acme.test").await;
    let forbidden = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&member),
            Some(json!({"attachments": {"kinds": []}})),
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/workspace").await.body["attachments"],
        defaults.body["attachments"]
    );

    // PDFs of up to 1,000 bytes only (kinds named twice are kept once).
    let set = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&owner),
            Some(json!({"attachments": {"max_bytes": 1000, "kinds": ["pdf", "pdf"]}})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["attachments"]["kinds"], json!(["pdf"]));
    assert_eq!(set.body["attachments"]["max_bytes"], 1000);
    let (session, _) = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await);
    let booted = boot(
        &app,
        json!({"app_id": app.owner.app_id, "session": session}),
    )
    .await;
    assert_eq!(
        booted.body["attachments"],
        json!({"max_bytes": 1000, "kinds": ["pdf"]})
    );
    let image = upload(&app, &session, "/widget/v1", "a.png", png(2, 2)).await;
    assert_eq!(image.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(image.error_fields(), ["file"]);
    assert!(
        image.body.to_string().contains("takes PDF"),
        "{}",
        image.body
    );
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(900, b' ');
    let taken = upload(&app, &owner, "/api/v1", "a.pdf", pdf.clone()).await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.body);
    pdf.resize(1001, b' ');
    let large = upload(&app, &owner, "/api/v1", "b.pdf", pdf).await;
    assert_eq!(
        large.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        large.body
    );

    // No kinds: attachments are off.
    let off = app
        .request(
            Method::PATCH,
            "/api/v1/workspace",
            Some(&owner),
            Some(json!({"attachments": {"kinds": []}})),
        )
        .await;
    assert_eq!(off.body["attachments"]["max_bytes"], 1000, "kept");
    let refused = upload(&app, &owner, "/api/v1", "c.pdf", b"%PDF-1.7\n".to_vec()).await;
    assert_eq!(refused.error_fields(), ["file"]);
    assert!(refused.body.to_string().contains("no attachments"));
    // Another workspace is untouched.
    let other = app.other_workspace().await;
    let theirs = upload(&app, &other.api_token, "/api/v1", "a.png", png(2, 2)).await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
}

async fn uploads_never_sent_are_deleted_after_a_day(backend: Backend) {
    use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
    const HOUR_MS: i64 = 60 * 60 * 1000;
    let clock = std::sync::Arc::new(ManualClock::new(SystemClock.now()));
    let Some(app) = TestApp::spawn_with(
        backend,
        clock.clone(),
        rapport_server::config::Config::default(),
    )
    .await
    else {
        return;
    };
    let owner = app.owner.api_token.clone();
    let (session, _) = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await);
    let dropped = upload(&app, &session, "/widget/v1", "left.png", png(2, 2)).await;
    let sent = upload(&app, &owner, "/api/v1", "sent.txt", b"sent".to_vec()).await;
    let contact = app.contact(json!({"user_id": "u1"})).await;
    let conversation = app.message(&contact, "Hello").await.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .post(
            &format!("/api/v1/conversations/{conversation}/reply"),
            json!({"body": "here", "attachment_ids": [sent.id()]}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    clock.advance_millis(12 * HOUR_MS);
    let later = upload(&app, &owner, "/api/v1", "later.txt", b"later".to_vec()).await;
    let files = || {
        std::fs::read_dir(app.data_dir.path().join("attachments"))
            .unwrap()
            .flat_map(|ws| std::fs::read_dir(ws.unwrap().path()).unwrap())
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(files().len(), 3);
    // Not a day yet: nothing due, nothing deleted.
    app.run_jobs().await;
    assert_eq!(files().len(), 3);

    clock.advance_millis(13 * HOUR_MS);
    app.run_jobs().await;
    let status = |id: String| {
        let app = &app;
        let owner = owner.clone();
        async move {
            fetch(app, &owner, &format!("/api/v1/attachments/{id}"))
                .await
                .status()
        }
    };
    assert_eq!(status(dropped.id()).await, StatusCode::NOT_FOUND);
    assert_eq!(status(sent.id()).await, StatusCode::OK);
    assert_eq!(status(later.id()).await, StatusCode::OK);
    assert_eq!(
        files(),
        [sent.id(), later.id()].into_iter().collect(),
        "the dropped file's bytes are gone too"
    );
    // The later one, a day after its upload.
    clock.advance_millis(12 * HOUR_MS);
    app.run_jobs().await;
    assert_eq!(status(later.id()).await, StatusCode::NOT_FOUND);
    assert_eq!(files(), [sent.id()].into_iter().collect());
}

/// The S3-compatible server `scripts/test` starts (moto), or `None` when
/// none is set, unless `RAPPORT_REQUIRE_S3` says one must be.
fn s3_endpoint() -> Option<String> {
    match std::env::var("RAPPORT_TEST_S3_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) => {
            assert!(
                std::env::var("RAPPORT_REQUIRE_S3").is_err(),
                "RAPPORT_REQUIRE_S3 is set but RAPPORT_TEST_S3_ENDPOINT is not"
            );
            eprintln!(
                "skipping: set RAPPORT_TEST_S3_ENDPOINT (scripts/test does) to test S3 storage"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_live_in_an_s3_bucket_when_one_is_configured() {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    use rapport_core::ports::clock::{Clock, ManualClock, SystemClock};
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let bucket = format!("rapport-{}", uuid::Uuid::new_v4().simple());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let config = rapport_server::config::Config {
        attachment_s3_bucket: Some(bucket.clone()),
        attachment_s3_endpoint: Some(endpoint.clone()),
        attachment_s3_region: Some("us-east-1".into()),
        attachment_s3_access_key_id: Some("test".into()),
        attachment_s3_secret_access_key: Some(serde_json::from_value(json!("test")).unwrap()),
        ..Default::default()
    };
    let clock = std::sync::Arc::new(ManualClock::new(SystemClock.now()));
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, clock.clone(), config.clone()).await
    else {
        return;
    };
    let bucket_store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .unwrap();
    let keys = || async {
        bucket_store
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
    };

    let (session, _) = visitor_of(&boot(&app, json!({"app_id": app.owner.app_id})).await);
    let image = png(3, 2);
    let pasted = upload(&app, &session, "/widget/v1", "image.png", image.clone()).await;
    assert_eq!(pasted.status, StatusCode::CREATED, "{}", pasted.body);
    assert_eq!(
        keys().await,
        [format!("{}/{}", app.owner.workspace_id, pasted.id())]
    );
    assert!(
        !app.data_dir.path().join("attachments").exists(),
        "nothing on local disk"
    );
    let read = fetch(
        &app,
        &app.owner.api_token,
        &format!("/api/v1/attachments/{}", pasted.id()),
    )
    .await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.bytes().await.unwrap().to_vec(), image);
    // Never sent: a day later, deleted from the bucket.
    clock.advance_millis(25 * 60 * 60 * 1000);
    app.run_jobs().await;
    assert_eq!(keys().await, Vec::<String>::new());
}
