//! The team tags conversations (the list narrows by tag, the timeline and
//! People filters see them) and searches every conversation of the
//! workspace: message words, contacts' names and emails, tags.

use rapport_store::both_backends;
use rapport_store::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};

both_backends!(
    conversations_are_tagged_listed_by_tag_and_filtered_on,
    search_finds_words_contacts_and_tags_in_every_status,
    search_and_tags_refuse_bad_input_and_other_workspaces,
);

async fn start(app: &TestApp, user: &str, name: &str, body: &str) -> (String, String) {
    let contact = app
        .contact(json!({"user_id": user, "name": name, "email": format!("{user}@example.test")}))
        .await;
    let sent = app.message(&contact, body).await;
    let id = sent.body["conversation"]["id"].as_str().unwrap().to_owned();
    (contact, id)
}

async fn tag(app: &TestApp, id: &str, tag: &str) -> Reply {
    app.post(
        &format!("/api/v1/conversations/{id}/tags"),
        json!({"tag": tag}),
    )
    .await
}

async fn untag(app: &TestApp, id: &str, tag: &str) -> Reply {
    let path = format!("/api/v1/conversations/{id}/tags/{}", urlencoding_path(tag));
    app.request(Method::DELETE, &path, Some(&app.owner.api_token), None)
        .await
}

/// A path segment as a browser's `encodeURIComponent` writes it.
fn urlencoding_path(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn reply_note(app: &TestApp, id: &str, body: &str) {
    let sent = app
        .post(
            &format!("/api/v1/conversations/{id}/reply"),
            json!({"body": body, "type": "note"}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect()
}

async fn conversations_are_tagged_listed_by_tag_and_filtered_on(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (ada, billing) = start(&app, "ada", "Ada", "About your invoice").await;
    let (bob, shipping) = start(&app, "bob", "Bob", "Your parcel left").await;

    let added = tag(&app, &billing, "  refund ").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body, json!({"tags": ["refund"]}));
    assert_eq!(
        tag(&app, &billing, "Billing / EU").await.body,
        json!({"tags": ["Billing / EU", "refund"]})
    );
    // Again: nothing changes, nothing more is logged.
    assert_eq!(
        tag(&app, &billing, "refund").await.body,
        json!({"tags": ["Billing / EU", "refund"]})
    );
    tag(&app, &shipping, "Billing / EU").await;

    // The list carries tags and narrows by one; the detail carries them.
    let tagged = app.get("/api/v1/conversations?tag=refund").await;
    assert_eq!(ids(&tagged.body), [billing.as_str()]);
    assert_eq!(
        tagged.body["data"][0]["tags"],
        json!(["Billing / EU", "refund"])
    );
    let both = app
        .get("/api/v1/conversations?tag=Billing%20%2F%20EU&status=open")
        .await;
    assert_eq!(ids(&both.body), [shipping.as_str(), billing.as_str()]);
    assert_eq!(
        app.get(&format!("/api/v1/conversations/{shipping}"))
            .await
            .body["tags"],
        json!(["Billing / EU"])
    );
    let in_use = app.get("/api/v1/conversation-tags").await;
    assert_eq!(
        in_use.body["data"],
        json!([{"name": "Billing / EU", "conversations": 2}, {"name": "refund", "conversations": 1}])
    );

    // People filters: whose conversation has the tag.
    let who = |filter: Value| {
        let app = &app;
        async move {
            let found = app
                .post("/api/v1/contacts/search", json!({"filter": filter}))
                .await;
            assert_eq!(found.status, StatusCode::OK, "{}", found.body);
            let mut users: Vec<String> = found.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["user_id"].as_str().unwrap().to_owned())
                .collect();
            users.sort();
            users
        }
    };
    assert_eq!(
        who(json!({"conversation_tag": "refund", "op": "has"})).await,
        ["ada"]
    );
    assert_eq!(
        who(json!({"conversation_tag": "refund", "op": "has_not"})).await,
        ["bob"]
    );
    let schema = app.get("/api/v1/people/schema").await;
    assert_eq!(schema.body["conversation_tags"][1]["name"], "refund");

    // Taking a tag off, and the timeline's record of both.
    let removed = untag(&app, &billing, "Billing / EU").await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(removed.body, json!({"tags": ["refund"]}));
    assert_eq!(
        untag(&app, &billing, "Billing / EU").await.body,
        json!({"tags": ["refund"]})
    );
    let entries: Vec<(String, String)> = app
        .timeline(&ada)
        .await
        .iter()
        .filter(|e| e["kind"] == "tagged" || e["kind"] == "untagged")
        .map(|e| {
            assert_eq!(e["conversation_id"], billing.as_str());
            assert_eq!(e["data"]["by"], app.owner.owner_id.to_string());
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["data"]["tag"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("untagged".to_owned(), "Billing / EU".to_owned()),
            ("tagged".to_owned(), "Billing / EU".to_owned()),
            ("tagged".to_owned(), "refund".to_owned()),
        ],
        "newest first, one entry per change"
    );
    assert!(
        app.timeline(&bob)
            .await
            .iter()
            .any(|e| e["kind"] == "tagged")
    );

    // At most 20 tags on a conversation.
    for n in 1..20 {
        assert_eq!(
            tag(&app, &shipping, &format!("t{n}")).await.status,
            StatusCode::OK
        );
    }
    let full = tag(&app, &shipping, "one too many").await;
    assert_eq!(full.status, StatusCode::CONFLICT, "{}", full.body);
    assert_eq!(
        app.get(&format!("/api/v1/conversations/{shipping}"))
            .await
            .body["tags"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
}

/// What a search answers: (conversation id, match field, the marked
/// excerpt) per hit.
async fn search(app: &TestApp, q: &str) -> Vec<(String, String, String)> {
    let reply = app
        .get(&format!(
            "/api/v1/conversations/search?q={}",
            urlencoding_path(q)
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{q}: {}", reply.body);
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| {
            let marked: String = hit["match"]["excerpt"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let text = s["text"].as_str().unwrap();
                    if s["hit"] == true {
                        format!("[{text}]")
                    } else {
                        text.to_owned()
                    }
                })
                .collect();
            assert!(hit["contact"]["name"].is_string(), "a list row: {hit}");
            (
                hit["id"].as_str().unwrap().to_owned(),
                hit["match"]["field"].as_str().unwrap().to_owned(),
                marked,
            )
        })
        .collect()
}

async fn search_finds_words_contacts_and_tags_in_every_status(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, refund) = start(
        &app,
        "ada",
        "Ada Lovelace",
        "Your refund for order 1234 is on its way",
    )
    .await;
    let (_, parcel) = start(&app, "bob", "Bob Stone", "The parcel left the depot").await;
    let (_, other) = start(&app, "cy", "Cy Twombly", "Nothing to see here").await;
    // A later message in Bob's conversation, and a note: the newest
    // matching part is the one shown.
    app.post(
        &format!("/api/v1/conversations/{parcel}/reply"),
        json!({"body": "Parcel tracking: the parcel reached Lyon", "type": "note"}),
    )
    .await;
    app.post(&format!("/api/v1/conversations/{refund}/close"), json!({}))
        .await;
    let snoozed = app
        .post(
            &format!("/api/v1/conversations/{other}/snooze"),
            json!({"until": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(snoozed.status, StatusCode::OK, "{}", snoozed.body);

    // Every word, the last as a prefix; case aside; a closed conversation too.
    assert_eq!(
        search(&app, "REFUND ord").await,
        [(
            refund.clone(),
            "message".to_owned(),
            "Your [refund] for [order] 1234 is on its way".to_owned()
        )]
    );
    assert!(search(&app, "refund parcel").await.is_empty(), "every word");
    assert!(
        search(&app, "efund").await.is_empty(),
        "words, not inside them"
    );
    assert_eq!(
        search(&app, "parcel").await,
        [(
            parcel.clone(),
            "message".to_owned(),
            "[Parcel] tracking: the [parcel] reached Lyon".to_owned()
        )],
        "each conversation once, at its newest match"
    );
    // A contact's name or email, and a snoozed conversation.
    assert_eq!(
        search(&app, "twomb").await,
        [(
            other.clone(),
            "contact".to_owned(),
            "[Cy Twombly]".to_owned()
        )]
    );
    assert_eq!(
        search(&app, "bob@example").await,
        [(
            parcel.clone(),
            "contact".to_owned(),
            "[bob@example.test]".to_owned()
        )]
    );
    // A tag, as the conversation holds it.
    tag(&app, &other, "VIP Lead").await;
    assert_eq!(
        search(&app, "vip lead").await,
        [(other.clone(), "tag".to_owned(), "[VIP Lead]".to_owned())]
    );
    // An email address or a URL in a message is words on both databases.
    reply_note(
        &app,
        &other,
        "Write to john.doe@mail.test or see https://docs.test/return_policy",
    )
    .await;
    for q in ["doe", "mail test", "docs", "policy"] {
        let found = search(&app, q).await;
        assert_eq!(found.len(), 1, "{q}: {found:?}");
        assert_eq!(found[0].0, other);
    }
    // Newest first across kinds of match: a word in two conversations.
    app.post(
        &format!("/api/v1/conversations/{parcel}/reply"),
        json!({"body": "A refund is possible too"}),
    )
    .await;
    let both: Vec<String> = search(&app, "refund")
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(both, [parcel.clone(), refund.clone()]);
    let one = app
        .get("/api/v1/conversations/search?q=refund&limit=1")
        .await;
    assert_eq!(ids(&one.body), [parcel.as_str()]);

    // An erased contact's messages and tags leave the index with them.
    let cy = app
        .get(&format!("/api/v1/conversations/{other}"))
        .await
        .body["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.message(&cy, "A farewell word: quokka").await;
    assert_eq!(search(&app, "quokka").await.len(), 1);
    let erase = app
        .request(
            Method::DELETE,
            &format!("/api/v1/contacts/{cy}"),
            Some(&app.owner.api_token),
            None,
        )
        .await;
    assert!(erase.status.is_success(), "{}", erase.body);
    app.run_jobs().await;
    assert!(search(&app, "quokka").await.is_empty());
    assert!(search(&app, "vip").await.is_empty());
    assert_eq!(
        app.get("/api/v1/conversation-tags").await.body["data"],
        json!([])
    );
}

async fn search_and_tags_refuse_bad_input_and_other_workspaces(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, ours) = start(&app, "ada", "Ada", "The secret word is marmalade").await;
    let other = app.other_workspace().await;
    let theirs = app
        .client
        .post(format!("{}/api/v1/contacts", app.base))
        .bearer_auth(&other.api_token)
        .json(&json!({"user_id": "eve", "name": "Eve Marmalade"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let sent = app
        .client
        .post(format!("{}/api/v1/messages", app.base))
        .bearer_auth(&other.api_token)
        .json(&json!({"contact_id": theirs["id"], "body": "marmalade for Eve"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let their_conversation = sent["conversation"]["id"].as_str().unwrap().to_owned();

    // Only this workspace's messages, contacts and tags.
    let found = search(&app, "marmalade").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ours);
    assert_eq!(
        tag(&app, &their_conversation, "x").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        untag(&app, &their_conversation, "x").await.status,
        StatusCode::NOT_FOUND
    );

    // Bad input is refused naming the field, and changes nothing.
    for (path, field) in [
        ("/api/v1/conversations/search?q=%20%20", "q"),
        ("/api/v1/conversations/search?q=", "q"),
        ("/api/v1/conversations/search?q=a&limit=51", "limit"),
        ("/api/v1/conversations?tag=%20", "tag"),
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(reply.error_fields(), [field], "{path}");
    }
    let long = "a".repeat(201);
    let reply = app
        .get(&format!("/api/v1/conversations/search?q={long}"))
        .await;
    assert_eq!(reply.error_fields(), ["q"]);
    // FTS and tsquery syntax in a query are words, not operators.
    assert_eq!(search(&app, "marmalade OR \"x\" *:'").await.len(), 0);
    assert_eq!(search(&app, "(marmalade)").await.len(), 1);
    // Without letters or digits only contacts and tags can match.
    assert!(search(&app, "%_%").await.is_empty());
    for bad in ["", "   ", &"x".repeat(65), "line\nbreak"] {
        let reply = tag(&app, &ours, bad).await;
        assert_eq!(reply.error_fields(), ["tag"], "{bad:?}");
    }
    let unknown = tag(&app, &uuid::Uuid::new_v4().to_string(), "x").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/conversations/{ours}")).await.body["tags"],
        json!([])
    );
    let bad_filter = app
        .post(
            "/api/v1/contacts/search",
            json!({"filter": {"conversation_tag": "", "op": "has"}}),
        )
        .await;
    assert_eq!(bad_filter.error_fields(), ["filter.conversation_tag"]);
}
