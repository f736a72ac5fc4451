//! The message write path: `append_message` and its batch form
//! `start_conversations`, with the conversations, activity entries, bulk
//! recipient marks and email jobs each writes in its transaction.

use crate::fixtures::*;

rapport_store::both_backends!(
    messages_start_and_continue_conversations,
    concurrent_writes_all_commit_and_a_failing_one_changes_nothing,
);

async fn messages_start_and_continue_conversations(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let c = new_conversation(acme.workspace, ada, 10);
    let first = acme.says(c.id, "Hi there", 10);
    let stored = f
        .store
        .append_message(opening(c.clone(), first.clone()))
        .await
        .unwrap();
    assert_eq!(
        (stored.conversation.id, stored.message.body.as_str()),
        (c.id, "Hi there")
    );
    let reply = message(acme.workspace, c.id, Author::Contact(ada), "Hello!", 20);
    let stored = f
        .store
        .append_message(follow_up(ada, reply.clone()))
        .await
        .unwrap();
    assert_eq!(stored.conversation.waiting_since, Some(at(20)));
    let parts = f
        .store
        .conversation_parts(acme.workspace, c.id)
        .await
        .unwrap();
    assert_eq!(parts, vec![first, reply]);
    let conversation = f.store.conversation(acme.workspace, c.id).await.unwrap();
    assert_eq!(
        (conversation.updated_at, conversation.waiting_since),
        (at(20), Some(at(20)))
    );
    let timeline = timeline(&*f.store, acme.workspace, ada, 10).await;
    let kinds = kinds(&timeline);
    assert_eq!(
        kinds,
        [
            "message",
            "message",
            "conversation_started",
            "contact_created"
        ]
    );
    assert!(timeline.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(timeline[0].conversation_id, Some(c.id));
    // A message into an unknown conversation stores nothing.
    let stray = message(
        acme.workspace,
        ConversationId::generate(),
        Author::Contact(ada),
        "?",
        30,
    );
    assert!(not_found(
        f.store.append_message(follow_up(ada, stray)).await
    ));
    // Nor into another contact's conversation.
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    let misfiled = message(acme.workspace, c.id, Author::Contact(bob), "hi", 40);
    let refused = f.store.append_message(follow_up(bob, misfiled)).await;
    assert!(not_found(refused));
    assert_eq!(
        f.store
            .conversation_parts(acme.workspace, c.id)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn concurrent_writes_all_commit_and_a_failing_one_changes_nothing(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = f.store.clone();
        let ws = acme.workspace;
        tasks.push(tokio::spawn(async move {
            if i % 50 == 7 {
                // Doomed: the conversation does not exist.
                let m = message(
                    ws,
                    ConversationId::generate(),
                    Author::Contact(ada),
                    "lost",
                    20 + i,
                );
                store.append_message(follow_up(ada, m)).await.is_err()
            } else {
                let m = message(ws, c.id, Author::Contact(ada), &format!("m{i}"), 20 + i);
                store.append_message(follow_up(ada, m)).await.is_ok()
            }
        }));
    }
    // Writes that fail after writing part of their rows, in the same burst:
    // a second workspace for an email that already owns one inserts the
    // workspace, then fails on its owner.
    let mut half_done = Vec::new();
    for _ in 0..4 {
        let store = f.store.clone();
        let (again, team) = new_workspace("owner@acme.test");
        half_done.push(tokio::spawn(async move {
            let refused = matches!(
                store.bootstrap_workspace(again).await,
                Err(StoreError::Conflict(_))
            );
            refused
                && matches!(
                    store.workspace(team.workspace).await,
                    Err(StoreError::NotFound)
                )
        }));
    }
    for task in tasks.into_iter().chain(half_done) {
        assert!(task.await.unwrap());
    }
    let parts = f
        .store
        .conversation_parts(acme.workspace, c.id)
        .await
        .unwrap();
    assert_eq!(parts.len(), 1 + 196);
    assert!(parts.iter().all(|p| p.body != "lost"));
}
