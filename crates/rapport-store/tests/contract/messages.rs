//! The one write of messages, `append_messages` (tests that store one
//! message at a time call it through `append_message`, a batch of one),
//! with the conversations, activity entries, bulk recipient marks, email
//! jobs and inbound email keys it writes in its transaction.

use crate::fixtures::*;

rapport_store::both_backends!(
    messages_start_and_continue_conversations,
    concurrent_writes_all_commit_and_a_failing_one_changes_nothing,
    append_messages_answers_per_message_and_writes_what_append_does,
    a_bulk_recipient_is_sent_once_and_a_stopped_send_sends_nobody,
    message_context_reads_the_workspace_contact_and_sender,
    one_batch_mixes_replies_new_conversations_and_emailed_replies,
    concurrent_calls_each_get_their_own_answers,
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

async fn append_messages_answers_per_message_and_writes_what_append_does(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let [ada, bob, cy, dee, cat] = [
        contact(s, ws, "ada").await,
        contact(s, ws, "bob").await,
        contact(s, ws, "cy").await,
        contact(s, ws, "dee").await,
        contact(s, ws, "cat").await,
    ];
    let eve = contact(s, other.workspace, "eve").await;
    let send = bulk_send_to(s, &acme, &[ada, bob, cat], 5).await;
    assert!(s.append_messages(Vec::new()).await.unwrap().is_empty());

    let mut to_ada = bulk_message(&acme, send.id, ada, 10);
    to_ada.email = Some(email_plan(&acme, to_ada.message.conversation_id, 10));
    // Another workspace's contact, through this workspace.
    let to_eve = opened_by_team(&acme, eve, 11);
    let to_cy = NewMessage {
        email: Some(EmailPlan::Skip(SkipReason::FallbackOff)),
        ..opened_by_team(&acme, cy, 12)
    };
    let to_bob = bulk_message(&acme, send.id, bob, 13);
    let batch = vec![
        to_ada.clone(),
        to_eve.clone(),
        to_cy.clone(),
        to_bob.clone(),
    ];
    let results = s.append_messages(batch).await.unwrap();
    assert_eq!(results.len(), 4, "one result per message, in order");
    assert!(matches!(results[1], Err(StoreError::NotFound)));
    for (result, new) in [
        (&results[0], &to_ada),
        (&results[2], &to_cy),
        (&results[3], &to_bob),
    ] {
        let stored = result.as_ref().unwrap();
        let id = new.message.conversation_id;
        assert_eq!(stored.message, new.message);
        assert_eq!(
            (stored.conversation.id, stored.conversation.contact_id),
            (id, new.contact_id)
        );
        assert_eq!(s.conversation(ws, id).await.unwrap(), stored.conversation);
        assert_eq!(
            s.conversation_parts(ws, id).await.unwrap(),
            std::slice::from_ref(&new.message)
        );
        // `seq` is the last entry the message wrote.
        assert_eq!(timeline(s, ws, new.contact_id, 1).await[0].seq, stored.seq);
    }
    // Nothing of the refused message exists in either workspace.
    let eve_conversation = to_eve.message.conversation_id;
    assert!(not_found(s.conversation(ws, eve_conversation).await));
    assert!(not_found(
        s.conversation(other.workspace, eve_conversation).await
    ));
    assert_eq!(
        kinds(&timeline(s, other.workspace, eve, 10).await),
        ["contact_created"]
    );

    // The same entries, in the same order, as `append_message` writes.
    let ada_kinds = kinds(&timeline(s, ws, ada, 10).await);
    assert_eq!(
        ada_kinds,
        [
            "bulk_send_received",
            "message",
            "conversation_started",
            "contact_created"
        ]
    );
    let mut to_cat = bulk_message(&acme, send.id, cat, 14);
    to_cat.email = Some(email_plan(&acme, to_cat.message.conversation_id, 14));
    s.append_message(to_cat).await.unwrap();
    assert_eq!(kinds(&timeline(s, ws, cat, 10).await), ada_kinds);
    let cy_timeline = timeline(s, ws, cy, 10).await;
    assert_eq!(
        cy_timeline[0].activity,
        Activity::NotEmailed {
            reason: SkipReason::FallbackOff,
            message_ids: vec![to_cy.message.id],
            error: None
        }
    );
    let to_dee = NewMessage {
        email: Some(EmailPlan::Skip(SkipReason::FallbackOff)),
        ..opened_by_team(&acme, dee, 15)
    };
    s.append_message(to_dee).await.unwrap();
    assert_eq!(kinds(&timeline(s, ws, dee, 10).await), kinds(&cy_timeline));

    // Ada's email waits in its job; Cy's was settled by the skip.
    let ada_conversation = to_ada.message.conversation_id;
    assert_eq!(
        email_pending(s, ws, ada_conversation).await,
        std::slice::from_ref(&to_ada.message)
    );
    assert!(
        email_pending(s, ws, to_cy.message.conversation_id)
            .await
            .is_empty()
    );
    assert!(
        s.claim_jobs(&[EMAIL_JOB], at(600_009), at(900_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let jobs = s
        .claim_jobs(&[EMAIL_JOB], at(600_010), at(900_000), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].job,
        Ok(Job::EmailFallback {
            conversation_id: ada_conversation
        })
    );
    // Bulk recipients were marked sent in the same write.
    let progress = s.bulk_send(ws, send.id).await.unwrap();
    assert_eq!((progress.sent, progress.pending), (3, 0));
}

async fn a_bulk_recipient_is_sent_once_and_a_stopped_send_sends_nobody(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ws = acme.workspace;
    let [ada, bob, cy] = [
        contact(s, ws, "ada").await,
        contact(s, ws, "bob").await,
        contact(s, ws, "cy").await,
    ];
    let send = bulk_send_to(s, &acme, &[ada, bob], 5).await;
    s.append_messages(vec![bulk_message(&acme, send.id, ada, 10)])
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    let before = timeline(s, ws, ada, 10).await;
    // Ada again, in a batch or alone, and Cy, who is no recipient: refused,
    // and nothing is written for them.
    let again = bulk_message(&acme, send.id, ada, 20);
    let stranger = bulk_message(&acme, send.id, cy, 21);
    let results = s
        .append_messages(vec![again.clone(), stranger.clone()])
        .await
        .unwrap();
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(StoreError::Conflict(_))))
    );
    assert!(conflict(
        s.append_message(bulk_message(&acme, send.id, ada, 22))
            .await
    ));
    for refused in [&again, &stranger] {
        assert!(not_found(
            s.conversation(ws, refused.message.conversation_id).await
        ));
    }
    assert_eq!(timeline(s, ws, ada, 10).await, before);
    assert_eq!(kinds(&timeline(s, ws, cy, 10).await), ["contact_created"]);
    assert_eq!(s.bulk_send(ws, send.id).await.unwrap().sent, 1);
    // A cancelled send sends its pending recipients nothing, either way.
    s.cancel_bulk_send(ws, send.id, at(30)).await.unwrap();
    let late = bulk_message(&acme, send.id, bob, 31);
    let results = s.append_messages(vec![late.clone()]).await.unwrap();
    assert!(matches!(results[0], Err(StoreError::Conflict(_))));
    assert!(conflict(
        s.append_message(bulk_message(&acme, send.id, bob, 32))
            .await
    ));
    assert!(not_found(
        s.conversation(ws, late.message.conversation_id).await
    ));
    let cancelled = s.bulk_send(ws, send.id).await.unwrap();
    assert_eq!((cancelled.sent, cancelled.pending), (1, 1));
    assert_eq!(s.bulk_pending(ws, send.id, 10).await.unwrap(), [bob]);
}

async fn message_context_reads_the_workspace_contact_and_sender(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let ada = person(s, ws, "ada", Some("Ada"), json!({"plan": "pro"}), 1).await;
    let ann = member(s, ws, "ann@acme.test", Role::Agent).await;
    let context = s.message_context(ws, ada, Some(ann)).await.unwrap();
    assert_eq!(context.workspace, s.workspace(ws).await.unwrap());
    assert_eq!(context.contact, s.contact(ws, ada).await.unwrap());
    assert_eq!(context.agent, Some(s.agent(ws, ann).await.unwrap()));
    assert_eq!(s.message_context(ws, ada, None).await.unwrap().agent, None);
    // Another workspace's member, or a removed one, is no sender here.
    assert_eq!(
        s.message_context(ws, ada, Some(other.owner))
            .await
            .unwrap()
            .agent,
        None
    );
    s.remove_agent(ws, ann, at(2)).await.unwrap();
    assert_eq!(
        s.message_context(ws, ada, Some(ann)).await.unwrap().agent,
        None
    );
    // Another workspace's contact is not found through this one.
    assert!(not_found(
        s.message_context(other.workspace, ada, Some(other.owner))
            .await
    ));
}

async fn one_batch_mixes_replies_new_conversations_and_emailed_replies(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ws = acme.workspace;
    let [ada, bob, cy] = [
        contact(s, ws, "ada").await,
        contact(s, ws, "bob").await,
        contact(s, ws, "cy").await,
    ];
    let ada_chat = start(s, &acme, ada, 0).await;
    let bob_chat = start(s, &acme, bob, 1).await;
    let before_bob = s.conversation(ws, bob_chat.id).await.unwrap();

    // Two replies to Ada's conversation, the contact's own emailed reply
    // (and the same email again), a reply into Bob's conversation filed
    // under Ada, and a new conversation with Cy: one transaction.
    let first = acme.says(ada_chat.id, "one", 10);
    let second = acme.says(ada_chat.id, "two", 11);
    let emailed = NewMessage {
        email_key: Some("<reply-1@mail.test>".into()),
        ..follow_up(
            ada,
            message(ws, ada_chat.id, Author::Contact(ada), "thanks", 12),
        )
    };
    let again = NewMessage {
        message: message(ws, ada_chat.id, Author::Contact(ada), "thanks", 13),
        ..emailed.clone()
    };
    let misfiled = follow_up(ada, acme.says(bob_chat.id, "wrong door", 14));
    let to_cy = opened_by_team(&acme, cy, 15);
    // Another workspace's conversation, named through this one.
    let other = team(s, "owner@other.test").await;
    let eve = contact(s, other.workspace, "eve").await;
    let eve_chat = start(s, &other, eve, 2).await;
    let before_eve = s.conversation(other.workspace, eve_chat.id).await.unwrap();
    let across = follow_up(ada, acme.says(eve_chat.id, "across", 16));
    let results = s
        .append_messages(vec![
            follow_up(ada, first.clone()),
            follow_up(ada, second.clone()),
            emailed.clone(),
            again,
            misfiled,
            to_cy.clone(),
            across,
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 7, "one result per message, in order");
    assert!(
        matches!(results[6], Err(StoreError::NotFound)),
        "another workspace's conversation"
    );
    assert_eq!(
        s.conversation(other.workspace, eve_chat.id).await.unwrap(),
        before_eve
    );
    assert_eq!(
        s.conversation_parts(other.workspace, eve_chat.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        matches!(results[3], Err(StoreError::Conflict(_))),
        "the same email twice is a Conflict"
    );
    assert!(
        matches!(results[4], Err(StoreError::NotFound)),
        "another contact's conversation"
    );
    let [one, two, thanks] = [&results[0], &results[1], &results[2]].map(|r| r.as_ref().unwrap());
    // Each message's conversation is as that message left it: the team's
    // replies keep nobody waiting, the contact's reply starts the wait.
    assert_eq!(one.conversation.updated_at, at(10));
    assert_eq!(two.conversation.updated_at, at(11));
    assert_eq!(thanks.conversation.waiting_since, Some(at(12)));
    assert_eq!(
        s.conversation(ws, ada_chat.id).await.unwrap(),
        thanks.conversation
    );
    let bodies: Vec<String> = s
        .conversation_parts(ws, ada_chat.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["Hi", "one", "two", "thanks"]);
    // The refused ones changed nothing.
    assert_eq!(s.conversation(ws, bob_chat.id).await.unwrap(), before_bob);
    assert_eq!(
        s.conversation_parts(ws, bob_chat.id).await.unwrap().len(),
        1
    );
    let cy_stored = results[5].as_ref().unwrap();
    assert_eq!(cy_stored.message, to_cy.message);
    assert_eq!(
        kinds(&timeline(s, ws, cy, 10).await),
        ["message", "conversation_started", "contact_created"]
    );
    // The key stays taken: a later delivery of the same email is refused.
    let later = NewMessage {
        message: message(ws, ada_chat.id, Author::Contact(ada), "thanks", 20),
        ..emailed
    };
    assert!(conflict(s.append_message(later).await));
}

/// SQLite's writer appends the messages of one workspace that wait
/// together in one `append_messages`; each caller must still get exactly
/// its own answers, in its order, and a malformed call must fail alone.
async fn concurrent_calls_each_get_their_own_answers(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let globex = team(&*f.store, "owner@globex.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let gil = contact(&*f.store, globex.workspace, "gil").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    let g = start(&*f.store, &globex, gil, 10).await;
    let mut tasks = Vec::new();
    for i in 0..120i64 {
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            let body = |n: i64| format!("call {i} message {n}");
            match i % 6 {
                // Two messages of one call, into the same conversation.
                0 => {
                    let news = vec![
                        follow_up(ada, acme.says(c.id, &body(1), 20 + i)),
                        follow_up(ada, acme.says(c.id, &body(2), 20 + i)),
                    ];
                    let answers = store.append_messages(news).await.unwrap();
                    let bodies: Vec<String> = answers
                        .into_iter()
                        .map(|a| a.unwrap().message.body)
                        .collect();
                    assert_eq!(bodies, [body(1), body(2)]);
                }
                // A new conversation, and one message refused in the call.
                1 => {
                    let started = new_conversation(acme.workspace, ada, 20 + i);
                    let stray = message(
                        acme.workspace,
                        ConversationId::generate(),
                        Author::Contact(ada),
                        &body(2),
                        20 + i,
                    );
                    let news = vec![
                        opening(started.clone(), acme.says(started.id, &body(1), 20 + i)),
                        follow_up(ada, stray),
                    ];
                    let mut answers = store.append_messages(news).await.unwrap().into_iter();
                    let opened = answers.next().unwrap().unwrap();
                    assert_eq!(
                        (opened.conversation.id, opened.message.body),
                        (started.id, body(1))
                    );
                    assert!(not_found(answers.next().unwrap()));
                    assert!(answers.next().is_none());
                }
                // Another workspace's message.
                2 | 3 => {
                    let news = vec![follow_up(gil, globex.says(g.id, &body(1), 20 + i))];
                    let answer = store.append_messages(news).await.unwrap();
                    assert_eq!(answer.len(), 1);
                    let stored = answer.into_iter().next().unwrap().unwrap();
                    assert_eq!(
                        (stored.conversation.id, stored.message.body),
                        (g.id, body(1))
                    );
                }
                // A malformed call (two workspaces in one) is refused whole.
                4 => {
                    let news = vec![
                        follow_up(ada, acme.says(c.id, &body(1), 20 + i)),
                        follow_up(gil, globex.says(g.id, &body(2), 20 + i)),
                    ];
                    assert!(store.append_messages(news).await.is_err());
                }
                _ => {
                    let news = vec![follow_up(ada, acme.says(c.id, &body(1), 20 + i))];
                    let stored = store.append_messages(news).await.unwrap();
                    assert_eq!(stored[0].as_ref().unwrap().message.body, body(1));
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let acme_parts = f
        .store
        .conversation_parts(acme.workspace, c.id)
        .await
        .unwrap();
    // "Hi", 20 calls of two, 20 of one; the malformed calls stored nothing.
    assert_eq!(acme_parts.len(), 1 + 20 * 2 + 20);
    assert!(acme_parts.iter().all(|p| !p.body.starts_with("call 4 ")));
    let globex_parts = f
        .store
        .conversation_parts(globex.workspace, g.id)
        .await
        .unwrap();
    assert_eq!(globex_parts.len(), 1 + 40);
}
