//! Conversations: lists, filters and paging, status and assignment
//! changes, read positions and unread counts, and workspace isolation.

use crate::fixtures::*;

rapport_store::both_backends!(
    conversations_filter_and_page,
    conversation_changes_are_logged_once,
    nothing_crosses_workspaces,
    reads_move_forward_and_unread_counts_follow,
    lists_show_newest_parts_and_waiting_order,
);

async fn conversations_filter_and_page(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    let mut started = Vec::new();
    for i in 0..5 {
        started.push(
            start(
                &*f.store,
                &acme,
                if i % 2 == 0 { ada } else { bob },
                100 + i,
            )
            .await,
        );
    }
    let by = Some(acme.owner);
    f.store
        .change_conversation(
            acme.workspace,
            started[0].id,
            ConversationChange::Close,
            by,
            at(200),
        )
        .await
        .unwrap();
    f.store
        .change_conversation(
            acme.workspace,
            started[1].id,
            ConversationChange::Assign {
                assignee_id: Some(acme.owner),
            },
            by,
            at(201),
        )
        .await
        .unwrap();
    let list = |query: ConversationQuery| {
        f.store
            .list_conversations(acme.workspace, ConversationQuery { limit: 50, ..query })
    };
    let ids = |cs: Vec<Conversation>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    // Newest activity first.
    assert_eq!(
        ids(list(Default::default()).await.unwrap()),
        [1, 0, 4, 3, 2].map(|i| started[i].id)
    );
    assert_eq!(
        ids(list(ConversationQuery {
            status: Some(ConversationStatus::Closed),
            ..Default::default()
        })
        .await
        .unwrap()),
        [started[0].id]
    );
    assert_eq!(
        ids(list(ConversationQuery {
            contact_id: Some(bob),
            ..Default::default()
        })
        .await
        .unwrap()),
        [1, 3].map(|i| started[i].id)
    );
    assert_eq!(
        ids(list(ConversationQuery {
            assignee: Some(AssigneeFilter::Agent(acme.owner)),
            ..Default::default()
        })
        .await
        .unwrap()),
        [started[1].id]
    );
    assert_eq!(
        list(ConversationQuery {
            assignee: Some(AssigneeFilter::Unassigned),
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        4
    );
    // Paging with a cursor visits every conversation once.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .list_conversations(
                acme.workspace,
                ConversationQuery {
                    after,
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.updated_at, last.id));
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(seen, [1, 0, 4, 3, 2].map(|i| started[i].id));
}

async fn conversation_changes_are_logged_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    let until = at(10_000);
    let (snoozed, seq) = f
        .store
        .change_conversation(
            acme.workspace,
            c.id,
            ConversationChange::Snooze { until },
            Some(acme.owner),
            at(20),
        )
        .await
        .unwrap();
    assert_eq!(
        (snoozed.status, snoozed.snoozed_until, seq.is_some()),
        (ConversationStatus::Snoozed, Some(until), true)
    );
    let (closed, _) = f
        .store
        .change_conversation(
            acme.workspace,
            c.id,
            ConversationChange::Close,
            Some(acme.owner),
            at(30),
        )
        .await
        .unwrap();
    assert_eq!(
        (closed.status, closed.snoozed_until),
        (ConversationStatus::Closed, None)
    );
    let (_, again) = f
        .store
        .change_conversation(
            acme.workspace,
            c.id,
            ConversationChange::Close,
            Some(acme.owner),
            at(40),
        )
        .await
        .unwrap();
    assert_eq!(again, None, "closing a closed conversation logs nothing");
    let timeline = timeline(&*f.store, acme.workspace, ada, 10).await;
    let kinds = kinds(&timeline);
    assert_eq!(
        kinds,
        [
            "status_changed",
            "status_changed",
            "message",
            "conversation_started",
            "contact_created"
        ]
    );
    assert!(
        matches!(&timeline[0].activity, Activity::StatusChanged { status: ConversationStatus::Closed, by: Some(by), .. } if *by == acme.owner)
    );
    // A contact writing again reopens it.
    let back = message(
        acme.workspace,
        c.id,
        Author::Contact(ada),
        "still there?",
        50,
    );
    let stored = f.store.append_message(follow_up(ada, back)).await.unwrap();
    assert_eq!(stored.conversation.status, ConversationStatus::Open);
}

async fn nothing_crosses_workspaces(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    let s = &*f.store;
    assert!(not_found(s.contact(other.workspace, ada).await));
    assert!(not_found(s.conversation(other.workspace, c.id).await));
    assert!(not_found(s.conversation_parts(other.workspace, c.id).await));
    assert!(
        s.list_conversations(
            other.workspace,
            ConversationQuery {
                limit: 10,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty()
    );
    assert!(timeline(s, other.workspace, ada, 10).await.is_empty());
    assert!(not_found(
        s.change_conversation(
            other.workspace,
            c.id,
            ConversationChange::Close,
            None,
            at(20)
        )
        .await
    ));
    // Starting a conversation in one workspace with another's contact fails.
    let stray = new_conversation(other.workspace, ada, 30);
    let m = other.says(stray.id, "Hi", 30);
    assert!(not_found(s.append_message(opening(stray, m)).await));
    // The same user_id in two workspaces is two contacts.
    let twin = contact(s, other.workspace, "ada").await;
    assert_ne!(twin, ada);
}

async fn reads_move_forward_and_unread_counts_follow(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    let c = start(&*f.store, &acme, ada, 10).await;
    for (ms, author, kind) in [
        (20, Author::Agent(acme.owner), PartKind::Comment),
        (30, Author::Agent(acme.owner), PartKind::Note),
        (40, Author::Contact(ada), PartKind::Comment),
    ] {
        let m = Message {
            kind,
            ..message(acme.workspace, c.id, author, "x", ms)
        };
        f.store.append_message(follow_up(ada, m)).await.unwrap();
    }
    // Two team comments; notes and the contact's own words do not count.
    assert_eq!(
        f.store.unread_counts(acme.workspace, ada).await.unwrap(),
        vec![(c.id, 2)]
    );
    assert!(
        f.store
            .mark_read(acme.workspace, c.id, ada, at(15))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        f.store.unread_counts(acme.workspace, ada).await.unwrap(),
        vec![(c.id, 1)]
    );
    assert!(
        f.store
            .mark_read(acme.workspace, c.id, ada, at(50))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        f.store
            .unread_counts(acme.workspace, ada)
            .await
            .unwrap()
            .is_empty()
    );
    // Reading again, or reading backwards, changes and logs nothing.
    assert_eq!(
        f.store
            .mark_read(acme.workspace, c.id, ada, at(20))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.store
            .conversation(acme.workspace, c.id)
            .await
            .unwrap()
            .contact_read_at,
        Some(at(50))
    );
    // Only the conversation's own contact reads it.
    assert!(not_found(
        f.store.mark_read(acme.workspace, c.id, bob, at(60)).await
    ));
}

async fn lists_show_newest_parts_and_waiting_order(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    let first = start(&*f.store, &acme, ada, 10).await;
    let second = start(&*f.store, &acme, bob, 20).await;
    let note = Message {
        kind: PartKind::Note,
        ..acme.says(first.id, "note", 30)
    };
    f.store.append_message(follow_up(ada, note)).await.unwrap();
    let ids = [first.id, second.id];
    let mut any = f
        .store
        .last_parts(acme.workspace, &ids, false)
        .await
        .unwrap();
    any.sort_by_key(|m| m.created_at);
    assert_eq!(
        any.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["Hi", "note"]
    );
    let visible = f
        .store
        .last_parts(acme.workspace, &[first.id], true)
        .await
        .unwrap();
    assert_eq!(visible[0].body, "Hi");
    assert!(
        f.store
            .last_parts(acme.workspace, &[], false)
            .await
            .unwrap()
            .is_empty()
    );
    // Waiting: whoever wrote first and has no answer comes first.
    for (c, contact_id, ms) in [(second.id, bob, 40), (first.id, ada, 50)] {
        let m = message(acme.workspace, c, Author::Contact(contact_id), "help", ms);
        f.store
            .append_message(follow_up(contact_id, m))
            .await
            .unwrap();
    }
    let waiting = f
        .store
        .list_conversations(
            acme.workspace,
            ConversationQuery {
                sort: ConversationSort::Waiting,
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        waiting.iter().map(|c| c.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    let rest = f
        .store
        .list_conversations(
            acme.workspace,
            ConversationQuery {
                sort: ConversationSort::Waiting,
                after: Some((at(40), second.id)),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), [first.id]);
    // Another workspace's contact is not among them, asked for by id.
    let other = team(&*f.store, "owner@other.test").await;
    let theirs = contact(&*f.store, other.workspace, "theirs").await;
    let contacts = f
        .store
        .contacts(acme.workspace, &[ada, bob, ContactId::generate(), theirs])
        .await
        .unwrap();
    let mut ids: Vec<ContactId> = contacts.iter().map(|c| c.id).collect();
    ids.sort_by_key(|id| id.as_uuid());
    let mut ours = vec![ada, bob];
    ours.sort_by_key(|id| id.as_uuid());
    assert_eq!(ids, ours);
}
