//! A run's steps: each effect written with its step, once, fenced by the
//! step count, with the cause it is logged with; runs that wait for their
//! contact; and stopping a run.

use crate::fixtures::*;

rapport_store::both_backends!(
    a_step_is_written_once_with_its_message,
    contact_tag_and_conversation_effects_carry_their_cause,
    stopping_ends_a_going_run_once,
);

/// A contact with a conversation the owner opened at `ms`, in a run of a
/// new automation through `nodes` that works in that conversation.
async fn running(
    store: &dyn Store,
    team: &Team,
    user_id: &str,
    nodes: &[&str],
    ms: i64,
) -> (ContactId, Conversation, Run) {
    let who = contact(store, team.workspace, user_id).await;
    let chat = start(store, team, who, ms).await;
    let version = live_automation(store, team, nodes, json!({"type": "every_time"}), ms).await;
    let run = store
        .start_run(run_of(team, &version, who, Some(chat.id), ms, ms))
        .await
        .unwrap();
    (who, chat, run)
}

/// The newest timeline entry's activity.
async fn newest(store: &dyn Store, team: &Team, contact: ContactId) -> Activity {
    timeline(store, team.workspace, contact, 1).await[0]
        .activity
        .clone()
}

async fn a_step_is_written_once_with_its_message(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let (ada, chat, run) = running(s, &acme, "ada", &["ask", "thanks"], 10).await;
    assert!(
        s.waiting_runs(acme.workspace, &[ada])
            .await
            .unwrap()
            .is_empty()
    );

    // A bot question: the message carries its origin.
    let origin = MessageOrigin {
        cause: Some(cause(&run, "ask")),
        buttons: vec!["Yes".into(), "No".into()],
        input: Some(AnswerType::Choice),
        sources: Vec::new(),
    };
    let mut question = message(acme.workspace, chat.id, Author::Bot, "Sure?", 20);
    question.origin = Some(origin.clone());
    let mut ask = step(
        &run,
        Effect::Message(Box::new(follow_up(ada, question.clone()))),
        None,
        "ask",
        20,
    );
    ask.next.wait = Some(Wait {
        kind: WaitKind::Answer { reasks: 0 },
        until: at(9_000),
        since_seq: 5,
    });
    let done = s.advance_run(ask.clone()).await.unwrap();
    let stored = done.message.clone().unwrap();
    assert_eq!(stored.message, question);
    assert_eq!(done.seq, Some(stored.seq));
    // The same step again (a retried job): refused, nothing twice.
    assert!(conflict(s.advance_run(ask.clone()).await));
    let parts = s.conversation_parts(acme.workspace, chat.id).await.unwrap();
    assert_eq!(parts.len(), 2, "the opening and one question");
    assert_eq!(parts[1].origin, Some(origin.clone()), "origin round-trips");
    let last = s
        .last_parts(acme.workspace, &[chat.id], true)
        .await
        .unwrap();
    assert_eq!(last[0].origin, Some(origin));
    assert_eq!(
        newest(s, &acme, ada).await,
        Activity::Message(question.clone())
    );

    let after = s.run(acme.workspace, run.id).await.unwrap();
    assert_eq!((after.step, after.status), (1, RunStatus::Waiting));
    assert_eq!(
        (after.wait.clone(), after.updated_at),
        (ask.next.wait.clone(), at(20))
    );
    let log = s.run_log(acme.workspace, run.id).await.unwrap();
    assert_eq!(log, vec![ask.log.clone()]);
    let waiting = s.waiting_runs(acme.workspace, &[ada]).await.unwrap();
    assert_eq!(waiting, vec![after.clone()]);
    let other = team(s, "owner@other.test").await;
    assert!(
        s.waiting_runs(other.workspace, &[ada])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(not_found(s.run_log(other.workspace, run.id).await));
    assert!(not_found(s.run(other.workspace, run.id).await));

    // A step whose message cannot be stored writes nothing at all.
    let elsewhere = message(
        acme.workspace,
        ConversationId::generate(),
        Author::Bot,
        "?",
        30,
    );
    let lost = step(
        &after,
        Effect::Message(Box::new(follow_up(ada, elsewhere))),
        Some("button_0"),
        "thanks",
        30,
    );
    assert!(not_found(s.advance_run(lost).await));
    assert_eq!(s.run(acme.workspace, run.id).await.unwrap(), after);
    assert_eq!(s.run_log(acme.workspace, run.id).await.unwrap().len(), 1);
    // Steps of another workspace, or of an unknown run, are refused.
    let mut foreign = step(&after, Effect::None, None, "thanks", 30);
    foreign.workspace_id = other.workspace;
    assert!(conflict(s.advance_run(foreign).await));
    let mut unknown = step(&after, Effect::None, None, "thanks", 30);
    unknown.run_id = RunId::generate();
    assert!(conflict(s.advance_run(unknown).await));

    // The last step ends the run, with its timeline entry.
    let mut end = step(&after, Effect::None, Some("button_0"), "thanks", 40);
    end.next.status = RunStatus::Done;
    end.next.wait = None;
    end.next.ended_reason = Some("went through".into());
    let entry = Activity::Automation {
        automation_id: run.automation_id,
        run_id: run.id,
        what: "done".into(),
        detail: None,
    };
    end.timeline = Some(entry.clone());
    let written = s.advance_run(end).await.unwrap();
    assert!(written.message.is_none());
    let top = &timeline(s, acme.workspace, ada, 1).await[0];
    assert_eq!((&top.activity, written.seq), (&entry, Some(top.seq)));
    assert_eq!(top.conversation_id, Some(chat.id));
    let ended = s.run(acme.workspace, run.id).await.unwrap();
    assert_eq!(
        (ended.status, ended.step, ended.wait.clone()),
        (RunStatus::Done, 2, None)
    );
    assert_eq!(ended.ended_reason.as_deref(), Some("went through"));
    assert!(
        s.waiting_runs(acme.workspace, &[ada])
            .await
            .unwrap()
            .is_empty()
    );
    // An ended run takes no step.
    assert!(conflict(
        s.advance_run(step(&ended, Effect::None, None, "thanks", 50))
            .await
    ));
}

async fn contact_tag_and_conversation_effects_carry_their_cause(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let grace = member(s, acme.workspace, "grace@acme.test", Role::Agent).await;
    let (ada, chat, mut run) = running(s, &acme, "ada", &["a", "b"], 10).await;
    let by = cause(&run, "a");
    let (id, automation) = (run.id, run.automation_id);
    let mut take = |effect: Effect, ms: i64| {
        let advance = step(&run, effect, Some("next"), "a", ms);
        run.step += 1;
        advance
    };

    // Properties.
    let props = serde_json::from_value(json!({"plan": "pro"})).unwrap();
    let input = ContactUpsertInput {
        props,
        ..Default::default()
    };
    let change = ContactUpsert::parse_changes(acme.workspace, input).unwrap();
    let advance = take(
        Effect::Contact {
            change: change.clone(),
            cause: by.clone(),
        },
        20,
    );
    let written = s.advance_run(advance).await.unwrap();
    let updated = Activity::ContactUpdated {
        properties: vec!["plan".into()],
        tags_added: Vec::new(),
        tags_removed: Vec::new(),
        cause: Some(by.clone()),
    };
    assert_eq!(newest(s, &acme, ada).await, updated);
    assert!(written.seq.is_some());
    // The same value again changes nothing and logs nothing.
    let advance = take(
        Effect::Contact {
            change,
            cause: by.clone(),
        },
        21,
    );
    assert_eq!(s.advance_run(advance).await.unwrap().seq, None);
    assert_eq!(newest(s, &acme, ada).await, updated);

    // Tags.
    let tag = |present: bool| Effect::Tag {
        tag: "vip".into(),
        present,
        cause: by.clone(),
    };
    s.advance_run(take(tag(true), 30)).await.unwrap();
    assert_eq!(
        newest(s, &acme, ada).await,
        Activity::ContactUpdated {
            properties: Vec::new(),
            tags_added: vec!["vip".into()],
            tags_removed: Vec::new(),
            cause: Some(by.clone()),
        }
    );
    assert_eq!(s.advance_run(take(tag(true), 31)).await.unwrap().seq, None);
    s.advance_run(take(tag(false), 32)).await.unwrap();
    assert_eq!(
        newest(s, &acme, ada).await,
        Activity::ContactUpdated {
            properties: Vec::new(),
            tags_added: Vec::new(),
            tags_removed: vec!["vip".into()],
            cause: Some(by.clone()),
        }
    );
    assert!(
        s.contact(acme.workspace, ada)
            .await
            .unwrap()
            .tags
            .is_empty()
    );

    // The conversation: assigned (the assignee's last assignment noted),
    // then closed.
    let assign = ConversationChange::Assign {
        assignee_id: Some(grace),
    };
    let effect = Effect::Conversation {
        id: chat.id,
        change: assign,
        cause: by.clone(),
    };
    s.advance_run(take(effect, 40)).await.unwrap();
    assert_eq!(
        newest(s, &acme, ada).await,
        Activity::Assigned {
            assignee_id: Some(grace),
            by: None,
            cause: Some(by.clone()),
        }
    );
    let team_now = s.availability(acme.workspace).await.unwrap();
    let theirs = team_now.iter().find(|a| a.agent_id == grace).unwrap();
    assert_eq!((theirs.last_assigned_at, theirs.open), (Some(at(40)), 1));
    let effect = Effect::Conversation {
        id: chat.id,
        change: ConversationChange::Close,
        cause: by.clone(),
    };
    s.advance_run(take(effect, 50)).await.unwrap();
    assert_eq!(
        newest(s, &acme, ada).await,
        Activity::StatusChanged {
            status: ConversationStatus::Closed,
            snoozed_until: None,
            by: None,
            cause: Some(by),
        }
    );
    let closed = s.conversation(acme.workspace, chat.id).await.unwrap();
    assert_eq!(closed.status, ConversationStatus::Closed);
    // Every step was one line of the run's log, in order.
    let log = s.run_log(acme.workspace, id).await.unwrap();
    let steps: Vec<u32> = log.iter().map(|l| l.step).collect();
    assert_eq!(steps, (0..7).collect::<Vec<_>>());
    let after = s.run(acme.workspace, id).await.unwrap();
    assert_eq!((after.step, after.automation_id), (7, automation));
}

async fn stopping_ends_a_going_run_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let (ada, chat, run) = running(s, &acme, "ada", &["a", "b"], 10).await;
    let stopped = s
        .stop_run(acme.workspace, run.id, "the team stopped it", at(20))
        .await
        .unwrap();
    assert_eq!(stopped.status, RunStatus::Stopped);
    assert_eq!(stopped.ended_reason.as_deref(), Some("the team stopped it"));
    assert_eq!((stopped.step, stopped.wait.clone()), (1, None));
    let log = s.run_log(acme.workspace, run.id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].step, log[0].kind.as_str()), (0, "stop"));
    assert_eq!((log[0].node.as_str(), log[0].exit.clone()), ("a", None));
    let top = &timeline(s, acme.workspace, ada, 1).await[0];
    assert_eq!(top.conversation_id, Some(chat.id));
    assert_eq!(
        top.activity,
        Activity::Automation {
            automation_id: run.automation_id,
            run_id: run.id,
            what: "stopped".into(),
            detail: Some("the team stopped it".into()),
        }
    );
    // Stopping it again changes nothing.
    let again = s
        .stop_run(acme.workspace, run.id, "again", at(30))
        .await
        .unwrap();
    assert_eq!(again, stopped);
    assert_eq!(s.run_log(acme.workspace, run.id).await.unwrap().len(), 1);
    assert!(not_found(
        s.stop_run(acme.workspace, RunId::generate(), "x", at(30))
            .await
    ));
}
