//! The knowledge base and the AI bot over the API: articles with
//! revisions, import and export, search, the help center's pages, and the
//! bot answering, being told it helped, not knowing, and handing over.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::automations::{
    MONDAY_10AM, app_at, live, messages, settle, visitor, visitor_replies, visitor_writes,
};
use crate::helpers::TestApp;

both_backends!(
    articles_keep_revisions_and_are_checked_field_by_field,
    an_imported_folder_is_searched_and_served_as_a_help_center,
    the_bot_answers_with_a_link_is_thanked_admits_what_it_does_not_know_and_hands_over,
    an_ai_answer_step_takes_answered_no_answer_or_handed_over,
    a_configured_model_writes_answers_that_are_checked_against_the_passages,
    the_bot_takes_only_the_conversations_its_settings_give_it,
);

/// The sample knowledge base shipped with the repository, as import files.
fn sample_files() -> Vec<Value> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/knowledge-base/articles"
    );
    let mut files: Vec<Value> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            json!({
                "name": p.file_name().unwrap().to_string_lossy(),
                "content": std::fs::read_to_string(&p).unwrap(),
            })
        })
        .collect();
    files.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    files
}

async fn import_sample(app: &TestApp) {
    let files = sample_files();
    assert!(files.len() >= 40, "the sample has its articles");
    let done = app
        .post("/api/v1/articles/import", json!({"files": files}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["created"].as_u64().unwrap() as usize, files.len());
}

async fn put(app: &TestApp, path: &str, body: Value) -> crate::helpers::Reply {
    app.request(Method::PUT, path, Some(&app.owner.api_token), Some(body))
        .await
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let reply = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
    (reply.status(), reply.text().await.unwrap())
}

async fn articles_keep_revisions_and_are_checked_field_by_field(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    let bad = app
        .post(
            "/api/v1/articles",
            json!({"title": "  ", "body": "x", "language": "english", "slug": "Not OK"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.error_fields(), ["title", "language", "slug"]);
    assert_eq!(
        app.get("/api/v1/articles").await.body["data"],
        json!([]),
        "nothing stored"
    );

    let created = app
        .post(
            "/api/v1/articles",
            json!({"title": "Move a booking", "body": "Drag it.", "collection": "Bookings"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["slug"], "move-a-booking");
    assert_eq!(created.body["status"], "draft");
    assert_eq!(created.body["revision"], 1);
    let id = created.id();
    let again = app
        .post(
            "/api/v1/articles",
            json!({"title": "Move a booking", "body": "Other."}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the slug is taken");

    let edited = put(&app, &format!("/api/v1/articles/{id}"), json!({"title": "Move a booking", "body": "Drag it to the new time.", "collection": "Bookings", "status": "published"})).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["revision"], 2);
    assert_eq!(edited.body["slug"], "move-a-booking", "the slug stays");
    let revisions = app.get(&format!("/api/v1/articles/{id}/revisions")).await;
    let bodies: Vec<&str> = revisions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Drag it to the new time.", "Drag it."]);

    let found = app.get("/api/v1/articles/search?q=drag+booking").await;
    assert_eq!(
        found.body["data"][0]["article_id"],
        id.as_str(),
        "{}",
        found.body
    );
    assert_eq!(found.body["mode"], "keywords");

    // Another workspace sees none of it.
    let other = app.other_workspace().await;
    let theirs = app
        .request(
            Method::GET,
            &format!("/api/v1/articles/{id}"),
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let theirs = app
        .request(
            Method::GET,
            "/api/v1/articles/search?q=drag",
            Some(&other.api_token),
            None,
        )
        .await;
    assert_eq!(theirs.body["data"], json!([]));

    let gone = app
        .request(
            Method::DELETE,
            &format!("/api/v1/articles/{id}"),
            Some(&app.owner.api_token),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/articles/search?q=drag").await.body["data"],
        json!([]),
        "the index follows"
    );
}

async fn an_imported_folder_is_searched_and_served_as_a_help_center(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    // A bad file refuses the whole import, naming it.
    let bad = app
        .post("/api/v1/articles/import", json!({"files": [{"name": "a.md", "content": "---\ntitle: A\n---\nok"}, {"name": "b.md", "content": "no header"}]}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.error_fields(), ["files[1]"]);
    assert_eq!(app.get("/api/v1/articles").await.body["data"], json!([]));

    import_sample(&app).await;
    let again = app
        .post("/api/v1/articles/import", json!({"files": sample_files()}))
        .await;
    assert_eq!(again.body["created"], 0);
    assert_eq!(again.body["updated"], 0, "the same files make no revision");

    for (question, slug) in [
        ("How do I reset my password?", "reset-your-password"),
        ("how do i cancle my plan", "cancel-your-subscription"),
        (
            "Wie kann ich mein Passwort zurücksetzen?",
            "reset-your-password-de",
        ),
    ] {
        let url = reqwest::Url::parse_with_params("http://x/", &[("q", question)]).unwrap();
        let found = app
            .get(&format!("/api/v1/articles/search?{}", url.query().unwrap()))
            .await;
        assert_eq!(
            found.body["data"][0]["slug"], slug,
            "{question}: {}",
            found.body
        );
    }
    // Drafts are neither searched nor served.
    let draft = app
        .get("/api/v1/articles/search?q=waitlist+full+slot")
        .await;
    assert!(
        draft.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["slug"] != "waitlist-for-full-slots")
    );

    let app_id = app.owner.app_id.clone();
    let (status, home) = page(&app, &format!("/help/{app_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        home.contains("Reset your password") || home.contains("reset-your-password"),
        "{home}"
    );
    let (status, article) = page(
        &app,
        &format!("/help/{app_id}/articles/reset-your-password"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(article.contains("<h2>"), "Markdown is rendered");
    let (status, _) = page(
        &app,
        &format!("/help/{app_id}/articles/waitlist-for-full-slots"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a draft is not public");
    let (status, results) =
        page(&app, &format!("/help/{app_id}/search?q=%3Cscript%3Erefund")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        results.contains("&lt;script&gt;refund") && !results.contains("<script>"),
        "the query is escaped"
    );
    let (status, _) = page(&app, "/help/no-such-app/articles/reset-your-password").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let widget = app
        .request(
            Method::GET,
            &format!("/widget/v1/help/search?app_id={app_id}&q=refund+customer"),
            None,
            None,
        )
        .await;
    assert_eq!(widget.status, StatusCode::OK, "{}", widget.body);
    assert!(
        widget.body["data"][0]["url"]
            .as_str()
            .unwrap()
            .contains(&format!("/help/{app_id}/articles/"))
    );

    let exported = app.get("/api/v1/articles/export").await;
    assert_eq!(
        exported.body["files"].as_array().unwrap().len(),
        sample_files().len()
    );
}

async fn the_bot_answers_with_a_link_is_thanked_admits_what_it_does_not_know_and_hands_over(
    backend: Backend,
) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    import_sample(&app).await;
    let owner = app.owner.owner_id.to_string();
    let bad = put(
        &app,
        "/api/v1/bot/settings",
        json!({"enabled": true, "name": "", "threshold": 2}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.error_fields(), ["name", "threshold"]);
    let on = put(
        &app,
        "/api/v1/bot/settings",
        json!({"enabled": true, "name": "Tidy", "threshold": 0.5, "handover_to": {"agent": owner}}),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(on.body["retrieval"], "keywords");

    // A question it knows: the passage, a link to its article, and a
    // "Did that help?" with buttons.
    let (asker, asker_id) = visitor(&app).await;
    let conversation = visitor_writes(&app, &asker, "How do I reset my password?").await;
    settle(&app).await;
    let said = messages(&app, &asker_id).await;
    assert_eq!(said.len(), 3, "{said:?}");
    assert_eq!(said[1].0, "bot");
    assert!(
        said[1].1.contains("/articles/reset-your-password)"),
        "{}",
        said[1].1
    );
    assert_eq!(said[2], ("bot".to_owned(), "Did that help?".to_owned()));
    let thread = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    let parts = thread.body["parts"].as_array().unwrap();
    let ask = parts
        .iter()
        .find(|p| p["body"] == "Did that help?")
        .unwrap();
    assert_eq!(
        ask["origin"]["buttons"],
        json!(["Yes, thanks", "No", "Talk to a person"])
    );
    assert_eq!(thread.body["with_bot"], true);
    // The visitor sees the bot by its name, and the answer's source.
    let seen = app
        .request(
            Method::GET,
            &format!("/widget/v1/conversations/{conversation}"),
            Some(&asker),
            None,
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let answer = &seen.body["parts"][1];
    assert_eq!(answer["author"]["name"], "Tidy", "{}", seen.body);
    assert!(
        answer["origin"]["sources"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/articles/reset-your-password")
    );
    // Taking the job again changes nothing.
    settle(&app).await;
    assert_eq!(messages(&app, &asker_id).await.len(), 3);
    visitor_replies(&app, &asker, &conversation, "Yes, thanks").await;
    settle(&app).await;
    assert!(
        messages(&app, &asker_id)
            .await
            .last()
            .unwrap()
            .1
            .starts_with("Glad")
    );

    // One it does not know: it says so and offers a person; asked, it
    // hands over with the reply time, and the member sees it all.
    let (lost, lost_id) = visitor(&app).await;
    let other = visitor_writes(&app, &lost, "Can customers pay with cryptocurrency?").await;
    settle(&app).await;
    let said = messages(&app, &lost_id).await;
    assert!(said[1].1.contains("not sure"), "{said:?}");
    visitor_replies(&app, &lost, &other, "Talk to a person").await;
    settle(&app).await;
    let said = messages(&app, &lost_id).await;
    assert!(
        said.last().unwrap().1.contains("passing you to the team"),
        "{said:?}"
    );
    let thread = app.get(&format!("/api/v1/conversations/{other}")).await;
    assert_eq!(
        thread.body["assignee_id"],
        owner.as_str(),
        "{}",
        thread.body
    );
    assert_eq!(thread.body["with_bot"], false);
    // After the handover the bot stays out.
    visitor_replies(&app, &lost, &other, "Hello?").await;
    settle(&app).await;
    assert_eq!(messages(&app, &lost_id).await.last().unwrap().1, "Hello?");

    // An answer followed by nothing for a day counts as resolved; one
    // followed by another question within the day does not.
    let (quiet, _) = visitor(&app).await;
    visitor_writes(&app, &quiet, "How do I change my plan?").await;
    let (busy, _) = visitor(&app).await;
    let again = visitor_writes(&app, &busy, "How do I change my plan?").await;
    settle(&app).await;
    clock.advance_millis(3_600_000);
    visitor_replies(&app, &busy, &again, "And how do I export my data?").await;
    settle(&app).await;
    clock.advance_millis(23 * 3_600_000);
    settle(&app).await;

    let report = app.get("/api/v1/bot/report?days=7").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let day = &report.body["days"][0];
    assert_eq!(
        (
            day["conversations"].as_u64(),
            day["resolved_confirmed"].as_u64(),
            day["resolved_assumed"].as_u64(),
            day["handed_over"].as_u64()
        ),
        (Some(4), Some(1), Some(1), Some(1)),
        "{}",
        report.body
    );
    assert_eq!(report.body["resolution_rate"], 0.5);
    assert_eq!(
        report.body["unanswered"][0]["question"],
        "can customers pay with cryptocurrency?"
    );

    let suggested = app
        .post(
            &format!("/api/v1/conversations/{conversation}/suggested-reply"),
            json!({}),
        )
        .await;
    assert_eq!(suggested.status, StatusCode::OK, "{}", suggested.body);
}

async fn an_ai_answer_step_takes_answered_no_answer_or_handed_over(backend: Backend) {
    let Some((app, _clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    import_sample(&app).await;
    let owner = app.owner.owner_id.to_string();
    // The bot itself stays off: the flow decides what follows each exit.
    let settings = put(&app, "/api/v1/bot/settings", json!({"enabled": false, "name": "Tidy", "threshold": 0.5, "handover_to": {"agent": owner}})).await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    live(
        &app,
        json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "ai", "nodes": [
                {"id": "ai", "type": "ai_answer", "exits": {"answered": "t1", "no_answer": "t2", "handed_over": "t3"}},
                {"id": "t1", "type": "add_tag", "tag": "answered"},
                {"id": "t2", "type": "add_tag", "tag": "no-answer"},
                {"id": "t3", "type": "add_tag", "tag": "handed-over"}
            ]}
        }),
    )
    .await;
    for (question, tag) in [
        ("How do I reset my password?", "answered"),
        ("Can customers pay with cryptocurrency?", "no-answer"),
        ("I want to talk to a human", "handed-over"),
    ] {
        let (session, contact) = visitor(&app).await;
        let conversation = visitor_writes(&app, &session, question).await;
        settle(&app).await;
        let got = app.get(&format!("/api/v1/contacts/{contact}")).await;
        assert_eq!(got.body["tags"], json!([tag]), "{question}");
        let said = messages(&app, &contact).await;
        match tag {
            "answered" => assert!(
                said[1].1.contains("/articles/reset-your-password)"),
                "{said:?}"
            ),
            "no-answer" => assert_eq!(said.len(), 1, "nothing sent: {said:?}"),
            _ => {
                assert!(said[1].1.contains("passing you to the team"), "{said:?}");
                let thread = app
                    .get(&format!("/api/v1/conversations/{conversation}"))
                    .await;
                assert_eq!(thread.body["assignee_id"], owner.as_str());
            }
        }
    }
}

/// A chat endpoint speaking the OpenAI API, written for this test: it
/// answers by the question's words, and records what it was asked.
async fn fake_model() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::Json;
    use axum::routing::post;
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let seen = asked.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |Json(body): Json<Value>| {
            let seen = seen.clone();
            async move {
                let prompt = body["messages"][1]["content"].as_str().unwrap_or_default().to_owned();
                seen.lock().unwrap().push(body.clone());
                let question = prompt.rsplit("Question: ").next().unwrap_or_default().to_lowercase();
                let content = if question.contains("password") {
                    // Supported: its words are the passage's.
                    json!({"answer": "Open the sign-in page and choose Forgot password, then follow the link in the email.", "citations": [1]})
                } else if question.contains("refund") {
                    // Invented: a promise no passage makes.
                    json!({"answer": "We refund every payment within one hour by bank transfer and add a gift voucher.", "citations": [1]})
                } else if question.contains("two-factor") {
                    json!({"answer": null, "citations": []})
                } else {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    json!({"answer": "Too late.", "citations": [1]})
                };
                Json(json!({"choices": [{"message": {"role": "assistant", "content": content.to_string()}}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), asked)
}

async fn a_configured_model_writes_answers_that_are_checked_against_the_passages(backend: Backend) {
    let (url, asked) = fake_model().await;
    let config = rapport_server::config::Config {
        llm_base_url: Some(url),
        llm_model: Some("test-model".into()),
        llm_timeout_seconds: 1,
        ..rapport_server::config::Config::default()
    };
    let Some((app, _clock)) = crate::automations::app_with(backend, MONDAY_10AM, config).await
    else {
        return;
    };
    import_sample(&app).await;
    let on = put(
        &app,
        "/api/v1/bot/settings",
        json!({"enabled": true, "name": "Tidy", "threshold": 0.5}),
    )
    .await;
    assert_eq!(on.body["llm"], "test-model", "{}", on.body);
    let ask = async |question: &str| {
        let (session, contact) = visitor(&app).await;
        visitor_writes(&app, &session, question).await;
        settle(&app).await;
        messages(&app, &contact).await
    };
    // Written and supported: the model's words, with the cited article.
    let said = ask("How do I reset my password?").await;
    assert!(said[1].1.starts_with("Open the sign-in page"), "{said:?}");
    assert!(
        said[1].1.contains("Sources: [Reset your password]("),
        "{said:?}"
    );
    let prompt = asked.lock().unwrap()[0]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        prompt.contains("[1] Reset your password")
            && prompt.ends_with("Question: How do I reset my password?"),
        "{prompt}"
    );
    // Invented: refused, and the passage is sent instead.
    let said = ask("How do I refund a customer?").await;
    assert!(!said[1].1.contains("gift voucher"), "{said:?}");
    assert!(said[1].1.contains("[Read more:"), "{said:?}");
    // The model finds no answer in the passages: the bot says so.
    let said = ask("How do I turn on two-factor authentication?").await;
    assert!(said[1].1.contains("couldn't find"), "{said:?}");
    // Too slow: the passage, after the timeout.
    let said = ask("How do I cancel my subscription?").await;
    assert!(
        said[1].1.contains("[Read more:") && !said[1].1.contains("Too late"),
        "{said:?}"
    );
}

async fn the_bot_takes_only_the_conversations_its_settings_give_it(backend: Backend) {
    let Some((app, clock)) = app_at(backend, MONDAY_10AM).await else {
        return;
    };
    import_sample(&app).await;
    let on = put(
        &app,
        "/api/v1/bot/settings",
        json!({"enabled": true, "name": "Tidy", "threshold": 0.5, "answers_when": "outside_hours"}),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    // Monday 10:00 is inside the default office hours: the team's.
    let (day, day_id) = visitor(&app).await;
    let conversation = visitor_writes(&app, &day, "How do I reset my password?").await;
    settle(&app).await;
    assert_eq!(messages(&app, &day_id).await.len(), 1, "the bot stays out");
    // It stays out of that conversation later too.
    clock.advance_millis(12 * 3_600_000);
    visitor_replies(&app, &day, &conversation, "Anyone?").await;
    settle(&app).await;
    assert_eq!(messages(&app, &day_id).await.len(), 2);
    // At 22:00 a new conversation is the bot's.
    let (night, night_id) = visitor(&app).await;
    visitor_writes(&app, &night, "How do I reset my password?").await;
    settle(&app).await;
    let said = messages(&app, &night_id).await;
    assert_eq!(said.len(), 3, "{said:?}");
    // A member writing in a conversation takes it from the bot.
    let (taken, taken_id) = visitor(&app).await;
    let conversation = visitor_writes(&app, &taken, "How do I reset my password?").await;
    settle(&app).await;
    let reply = app
        .post(
            &format!("/api/v1/conversations/{conversation}/reply"),
            json!({"body": "I'll help you with that."}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    visitor_replies(
        &app,
        &taken,
        &conversation,
        "Thanks! And how do I change my plan?",
    )
    .await;
    settle(&app).await;
    let said = messages(&app, &taken_id).await;
    assert_eq!(
        said.last().unwrap().1,
        "Thanks! And how do I change my plan?",
        "{said:?}"
    );
}
