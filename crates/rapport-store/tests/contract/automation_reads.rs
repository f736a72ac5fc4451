//! What automations read: what their conditions ask of contacts,
//! messages, replies and the log, the office and the team's availability.

use crate::fixtures::*;

rapport_store::both_backends!(
    conditions_read_contacts_messages_replies_and_the_log,
    office_and_availability_round_trip,
);

async fn conditions_read_contacts_messages_replies_and_the_log(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ada = person(s, acme.workspace, "ada", None, json!({"plan": "pro"}), 1).await;
    let bob = person(s, acme.workspace, "bob", None, json!({"plan": "free"}), 1).await;
    let eve = person(s, other.workspace, "eve", None, json!({"plan": "pro"}), 1).await;
    let pro = filter(
        s,
        acme.workspace,
        json!({"prop": "plan", "op": "eq", "value": "pro"}),
    )
    .await;
    let among = [eve, bob, ada, ContactId::generate()];
    let found = s
        .matching_contacts(acme.workspace, &pro, &[], &among)
        .await
        .unwrap();
    assert_eq!(found, [ada]);
    let online = filter(s, acme.workspace, json!({"online": true})).await;
    let found = s
        .matching_contacts(acme.workspace, &online, &[bob], &among)
        .await
        .unwrap();
    assert_eq!(found, [bob]);

    // Replies: the contact's comment, and a person's on the team (a bot's
    // and an automation's do not count, nor do notes).
    let chat = start(s, &acme, ada, 10).await;
    let note = Message {
        kind: PartKind::Note,
        ..message(
            acme.workspace,
            chat.id,
            Author::Agent(acme.owner),
            "psst",
            30,
        )
    };
    let from_ada = message(acme.workspace, chat.id, Author::Contact(ada), "Hi", 20);
    let bot = message(acme.workspace, chat.id, Author::Bot, "Hello", 40);
    for part in [from_ada, note, bot] {
        s.append_message(follow_up(ada, part)).await.unwrap();
    }
    let replies = |ms: i64| s.replies_since(acme.workspace, chat.id, at(ms));
    assert_eq!(replies(5).await.unwrap(), (true, true));
    assert_eq!(
        replies(20).await.unwrap(),
        (false, false),
        "notes are not replies, and a bot is not a person"
    );
    // An automation's message from a member is not a person's reply; the
    // member's own is.
    let automated = Message {
        origin: Some(MessageOrigin {
            cause: Some(Cause {
                automation_id: AutomationId::generate(),
                run_id: RunId::generate(),
                node: "hi".into(),
                depth: 0,
            }),
            buttons: Vec::new(),
            input: None,
            sources: Vec::new(),
        }),
        ..message(
            acme.workspace,
            chat.id,
            Author::Agent(acme.owner),
            "Auto",
            50,
        )
    };
    s.append_message(follow_up(ada, automated)).await.unwrap();
    assert_eq!(replies(45).await.unwrap(), (false, false));
    let person_reply = message(acme.workspace, chat.id, Author::Agent(acme.owner), "Me", 60);
    s.append_message(follow_up(ada, person_reply))
        .await
        .unwrap();
    assert_eq!(replies(45).await.unwrap(), (false, true));
    assert_eq!(
        s.replies_since(other.workspace, chat.id, at(0))
            .await
            .unwrap(),
        (false, false)
    );

    // Automated messages: those a run's step sent.
    let version = live_automation(s, &acme, &["a", "b"], json!({"type": "once"}), 50).await;
    let run = s
        .start_run(run_of(&acme, &version, ada, Some(chat.id), 50, 50))
        .await
        .unwrap();
    let greeting = message(acme.workspace, chat.id, Author::Bot, "Hey", 60);
    let effect = Effect::Message(Box::new(follow_up(ada, greeting)));
    s.advance_run(step(&run, effect, Some("next"), "b", 60))
        .await
        .unwrap();
    let sent = |ms: i64| s.automated_messages_since(acme.workspace, ada, at(ms));
    assert_eq!((sent(60).await.unwrap(), sent(61).await.unwrap()), (1, 0));
    assert_eq!(
        s.automated_messages_since(acme.workspace, bob, at(0))
            .await
            .unwrap(),
        0
    );

    // Page views, and the contact's log after a position.
    assert_eq!(s.latest_page_view(acme.workspace, ada).await.unwrap(), None);
    let view = |ms: i64| NewEvent {
        params: json!({"url": "https://acme.test/pricing"}),
        ..event(acme.workspace, ada, PAGE_VIEW, ms)
    };
    s.record_event(view(70)).await.unwrap();
    let second = s.record_event(view(80)).await.unwrap();
    let later = s
        .record_event(event(acme.workspace, ada, "clicked", 90))
        .await
        .unwrap();
    s.record_event(view(10_000_000)).await.unwrap();
    let latest = s.latest_page_view(acme.workspace, ada).await.unwrap();
    assert!(latest > Some(later.seq), "the last page view is the latest");
    assert_eq!(s.latest_page_view(acme.workspace, bob).await.unwrap(), None);
    let after = s
        .contact_activity_after(acme.workspace, ada, second.seq, 10)
        .await
        .unwrap();
    let names: Vec<&str> = after
        .iter()
        .map(|e| match &e.activity {
            Activity::Event { name, .. } => name.as_str(),
            other => other.kind(),
        })
        .collect();
    // The third view came after 30 minutes away: a new session.
    assert_eq!(names, ["clicked", SESSION_START, PAGE_VIEW]);
    assert!(after.iter().all(|e| e.contact_id == ada));
    let first = s
        .contact_activity_after(acme.workspace, ada, second.seq, 1)
        .await
        .unwrap();
    assert_eq!(first, after[..1].to_vec());
}

async fn office_and_availability_round_trip(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    assert_eq!(s.office(acme.workspace).await.unwrap(), Office::default());
    let mut office = Office {
        time_zone: "Europe/Warsaw".into(),
        holidays: vec!["2026-12-25".into()],
        automated_messages_per_day: 3,
        ..Office::default()
    };
    s.save_office(acme.workspace, office.clone()).await.unwrap();
    assert_eq!(s.office(acme.workspace).await.unwrap(), office);
    office.automated_messages_per_day = 4;
    s.save_office(acme.workspace, office.clone()).await.unwrap();
    assert_eq!(s.office(acme.workspace).await.unwrap(), office);
    assert_eq!(s.office(other.workspace).await.unwrap(), Office::default());
    assert!(not_found(
        s.save_office(WorkspaceId::generate(), office).await
    ));

    // Every member, whether or not they said anything about themselves.
    let grace = member(s, acme.workspace, "grace@acme.test", Role::Agent).await;
    let ada = contact(s, acme.workspace, "ada").await;
    let chat = start(s, &acme, ada, 10).await;
    s.change_conversation(
        acme.workspace,
        chat.id,
        ConversationChange::Assign {
            assignee_id: Some(acme.owner),
        },
        Some(acme.owner),
        at(20),
    )
    .await
    .unwrap();
    let bob = contact(s, acme.workspace, "bob").await;
    let closed = start(s, &acme, bob, 30).await;
    for change in [
        ConversationChange::Assign {
            assignee_id: Some(acme.owner),
        },
        ConversationChange::Close,
    ] {
        s.change_conversation(acme.workspace, closed.id, change, None, at(40))
            .await
            .unwrap();
    }
    s.set_availability(acme.workspace, grace, true, Some(3))
        .await
        .unwrap();
    let all = s.availability(acme.workspace).await.unwrap();
    assert_eq!(
        all,
        vec![
            Availability {
                agent_id: acme.owner,
                away: false,
                max_open: None,
                open: 1,
                last_assigned_at: Some(at(40)),
            },
            Availability {
                agent_id: grace,
                away: true,
                max_open: Some(3),
                open: 0,
                last_assigned_at: None,
            },
        ]
    );
    s.set_availability(acme.workspace, grace, false, None)
        .await
        .unwrap();
    let back = &s.availability(acme.workspace).await.unwrap()[1];
    assert_eq!((back.away, back.max_open), (false, None));
    assert!(not_found(
        s.set_availability(other.workspace, grace, true, None).await
    ));
    assert!(not_found(
        s.set_availability(acme.workspace, AgentId::generate(), true, None)
            .await
    ));
    assert_eq!(s.availability(other.workspace).await.unwrap().len(), 1);
}
