//! Starting runs: the dispatcher's cursor, the frequency rules and the
//! one going run per contact, waking waiting runs, and the numbers of what
//! runs did.

use crate::fixtures::*;

rapport_store::both_backends!(
    the_cursor_starts_at_the_head_and_each_stretch_is_dispatched_once,
    frequencies_and_one_going_run_per_contact,
    waking_moves_a_runs_job_earlier_only,
    stats_count_runs_messages_reads_replies_and_exits,
);

async fn the_cursor_starts_at_the_head_and_each_stretch_is_dispatched_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ada = contact(s, acme.workspace, "ada").await;
    s.record_event(event(acme.workspace, ada, "old", 5))
        .await
        .unwrap();
    assert!(s.dispatch_work().await.unwrap().is_empty(), "nothing live");
    let version = live_automation(s, &acme, &["a", "b"], json!({"type": "every_time"}), 10).await;
    let head = s.activity_head(acme.workspace).await.unwrap();
    // Publishing the workspace's first live automation skipped its history.
    let mine = |work: Vec<DispatchWork>| -> Vec<DispatchWork> {
        work.into_iter()
            .filter(|w| w.workspace_id == acme.workspace)
            .collect()
    };
    assert!(mine(s.dispatch_work().await.unwrap()).is_empty());
    s.record_event(event(acme.workspace, ada, "new", 20))
        .await
        .unwrap();
    let to = s.activity_head(acme.workspace).await.unwrap();
    assert_eq!(
        mine(s.dispatch_work().await.unwrap()),
        vec![DispatchWork {
            workspace_id: acme.workspace,
            cursor: head
        }]
    );

    let stretch = |from: i64| Dispatch {
        workspace_id: acme.workspace,
        from,
        to,
        runs: vec![run_of(&acme, &version, ada, None, 30, 40)],
        wake: Vec::new(),
        jobs: Vec::new(),
        at: at(30),
    };
    // A dispatcher that read from elsewhere is refused, and starts nothing.
    assert!(conflict(s.dispatch(stretch(head - 1)).await));
    let started = s.dispatch(stretch(head)).await.unwrap();
    assert_eq!(started.len(), 1);
    // The same stretch again: the cursor moved on, nothing starts twice.
    assert!(conflict(s.dispatch(stretch(head)).await));
    let query = RunQuery {
        automation_id: Some(version.automation_id),
        limit: 10,
        ..Default::default()
    };
    let runs = s.runs(acme.workspace, query.clone()).await.unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), started);
    assert_eq!(
        (runs[0].status, runs[0].contact_id),
        (RunStatus::Waiting, ada)
    );
    // Its job takes the first step when its wait ends; the timeline says
    // it started.
    let due = s.due_jobs(at(40), 10).await.unwrap();
    assert!(due.iter().any(|j| j.kind == RUN_JOB
        && j.job == Ok(Job::AutomationRun { run_id: started[0] })
        && j.due_at == at(40)));
    assert!(s.due_jobs(at(39), 10).await.unwrap().is_empty());
    let newest = timeline(s, acme.workspace, ada, 1).await;
    assert_eq!(
        newest[0].activity,
        Activity::Automation {
            automation_id: version.automation_id,
            run_id: started[0],
            what: "started".into(),
            detail: None,
        }
    );
    // The started entry is past the cursor: there is more to read.
    assert_eq!(
        mine(s.dispatch_work().await.unwrap()),
        vec![DispatchWork {
            workspace_id: acme.workspace,
            cursor: to
        }]
    );
    let head = s.activity_head(acme.workspace).await.unwrap();
    let caught_up = Dispatch {
        from: to,
        to: head,
        runs: Vec::new(),
        ..stretch(to)
    };
    assert!(s.dispatch(caught_up).await.unwrap().is_empty());
    assert!(mine(s.dispatch_work().await.unwrap()).is_empty());

    // Paused, the workspace has no work; resumed, what happened while it
    // was paused is skipped.
    let paused = AutomationStatus::Paused;
    s.set_automation_status(acme.workspace, version.automation_id, paused, at(50))
        .await
        .unwrap();
    s.record_event(event(acme.workspace, ada, "meanwhile", 60))
        .await
        .unwrap();
    assert!(mine(s.dispatch_work().await.unwrap()).is_empty());
    let live = AutomationStatus::Live;
    s.set_automation_status(acme.workspace, version.automation_id, live, at(70))
        .await
        .unwrap();
    assert!(mine(s.dispatch_work().await.unwrap()).is_empty());
    let head = s.activity_head(acme.workspace).await.unwrap();
    assert!(
        conflict(s.dispatch(stretch(to)).await),
        "the cursor is at {head}"
    );
}

async fn frequencies_and_one_going_run_per_contact(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ada = contact(s, acme.workspace, "ada").await;
    let day = 86_400_000;
    let is = |result: Result<Run, StoreError>, why: &str| match result {
        Err(StoreError::Conflict(said)) => assert_eq!(said, why),
        other => panic!("expected a conflict ({why}), got {other:?}"),
    };
    let busy = "the contact is already in a run of this automation";
    let too_soon = "the frequency rule does not allow another run yet";
    let stop = |run: Run, ms: i64| async move {
        s.stop_run(acme.workspace, run.id, "by hand", at(ms))
            .await
            .unwrap()
    };

    // Once: never again, even after the run ended.
    let once = live_automation(s, &acme, &["a"], json!({"type": "once"}), 1).await;
    let run = s
        .start_run(run_of(&acme, &once, ada, None, 10, 10))
        .await
        .unwrap();
    is(
        s.start_run(run_of(&acme, &once, ada, None, 11, 11)).await,
        busy,
    );
    stop(run, 12).await;
    is(
        s.start_run(run_of(&acme, &once, ada, None, 10 * day, 0))
            .await,
        too_soon,
    );

    // Every day: not within a day of the last start.
    let daily = live_automation(
        s,
        &acme,
        &["a"],
        json!({"type": "every_days", "days": 1}),
        2,
    )
    .await;
    let run = s
        .start_run(run_of(&acme, &daily, ada, None, 100, 100))
        .await
        .unwrap();
    stop(run, 200).await;
    is(
        s.start_run(run_of(&acme, &daily, ada, None, 99 + day, 0))
            .await,
        too_soon,
    );
    s.start_run(run_of(&acme, &daily, ada, None, 100 + day, 0))
        .await
        .unwrap();

    // Every time: whenever no run is going.
    let always = live_automation(s, &acme, &["a"], json!({"type": "every_time"}), 3).await;
    let run = s
        .start_run(run_of(&acme, &always, ada, None, 300, 300))
        .await
        .unwrap();
    is(
        s.start_run(run_of(&acme, &always, ada, None, 301, 301))
            .await,
        busy,
    );
    stop(run, 302).await;
    let again = s
        .start_run(run_of(&acme, &always, ada, None, 303, 303))
        .await
        .unwrap();
    assert_eq!(s.run(acme.workspace, again.id).await.unwrap(), again);

    // A dispatch starts one run per contact however often the trigger
    // fired, and none the rules forbid.
    let bob = contact(s, acme.workspace, "bob").await;
    let from = s.dispatch_work().await.unwrap()[0].cursor;
    let started = s
        .dispatch(Dispatch {
            workspace_id: acme.workspace,
            from,
            to: from + 1,
            runs: vec![
                run_of(&acme, &always, bob, None, 400, 400),
                run_of(&acme, &always, bob, None, 400, 400),
                run_of(&acme, &once, bob, None, 400, 400),
                run_of(&acme, &once, ada, None, 400, 400),
            ],
            wake: Vec::new(),
            jobs: Vec::new(),
            at: at(400),
        })
        .await
        .unwrap();
    assert_eq!(started.len(), 2, "bob once each; ada had her one run");
    let going = RunQuery {
        contact_id: Some(bob),
        going: true,
        limit: 10,
        ..Default::default()
    };
    let bobs = s.runs(acme.workspace, going).await.unwrap();
    let mut ids: Vec<RunId> = bobs.iter().map(|r| r.id).collect();
    ids.reverse();
    assert_eq!(ids, started, "newest first");
    let older = RunQuery {
        contact_id: Some(bob),
        before: Some(bobs[0].id),
        limit: 10,
        ..Default::default()
    };
    let rest = s.runs(acme.workspace, older).await.unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), [bobs[1].id]);

    // A contact or version that does not exist starts nothing.
    let nobody = run_of(&acme, &always, ContactId::generate(), None, 500, 500);
    assert!(not_found(s.start_run(nobody).await));
    let other = team(s, "owner@other.test").await;
    let eve = contact(s, other.workspace, "eve").await;
    assert!(not_found(
        s.start_run(run_of(&other, &always, eve, None, 500, 500))
            .await
    ));
}

async fn waking_moves_a_runs_job_earlier_only(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ada = contact(s, acme.workspace, "ada").await;
    let version = live_automation(s, &acme, &["a"], json!({"type": "every_time"}), 1).await;
    let run = s
        .start_run(run_of(&acme, &version, ada, None, 10, 1_000_000))
        .await
        .unwrap();
    let due = |ms: i64| async move {
        s.due_jobs(at(ms), 10)
            .await
            .unwrap()
            .iter()
            .any(|j| j.job == Ok(Job::AutomationRun { run_id: run.id }))
    };
    assert!(!due(500).await && due(1_000_000).await);
    let head = s.dispatch_work().await.unwrap()[0].cursor;
    let wake = |from: i64, ms: i64| Dispatch {
        workspace_id: acme.workspace,
        from,
        to: from + 1,
        runs: Vec::new(),
        wake: vec![run.id, RunId::generate()],
        jobs: Vec::new(),
        at: at(ms),
    };
    assert!(s.dispatch(wake(head, 500)).await.unwrap().is_empty());
    assert!(due(500).await && !due(499).await);
    // A later wake does not put it off.
    s.dispatch(wake(head + 1, 800)).await.unwrap();
    assert!(due(500).await);
}

async fn stats_count_runs_messages_reads_replies_and_exits(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let version = live_automation(s, &acme, &["greet", "wait"], json!({"type": "once"}), 1).await;
    let id = version.automation_id;
    let mut runs = Vec::new();
    for (user, ms) in [("ada", 100), ("bob", 200), ("cy", 300)] {
        let who = contact(s, acme.workspace, user).await;
        let chat = start(s, &acme, who, ms).await;
        let run = s
            .start_run(run_of(&acme, &version, who, Some(chat.id), ms, ms))
            .await
            .unwrap();
        runs.push((who, chat, run));
    }
    // Each run greets its contact and goes on to wait.
    for (who, chat, run) in &runs {
        let at_ms = run.started_at.as_millis() - at(0).as_millis() + 10;
        let mut greeting = message(acme.workspace, chat.id, Author::Bot, "Hey", at_ms);
        greeting.origin = Some(MessageOrigin {
            cause: Some(cause(run, "greet")),
            buttons: Vec::new(),
            input: None,
            sources: Vec::new(),
        });
        let effect = Effect::Message(Box::new(follow_up(*who, greeting)));
        s.advance_run(step(run, effect, Some("next"), "wait", at_ms))
            .await
            .unwrap();
    }
    // Ada reads hers; bob answers his; cy neither.
    let (ada, ada_chat, ada_run) = &runs[0];
    s.mark_read(acme.workspace, ada_chat.id, *ada, at(1_000))
        .await
        .unwrap();
    let (bob, bob_chat, bob_run) = &runs[1];
    s.append_message(follow_up(
        *bob,
        message(
            acme.workspace,
            bob_chat.id,
            Author::Contact(*bob),
            "Hi!",
            1_100,
        ),
    ))
    .await
    .unwrap();
    // Ada's run reaches its goal, bob's is stopped, cy's goes on.
    let ada_run = s.run(acme.workspace, ada_run.id).await.unwrap();
    let mut done = step(&ada_run, Effect::None, None, "wait", 2_000);
    done.next.status = RunStatus::Done;
    done.next.wait = None;
    done.next.goal_reached = true;
    done.next.ended_reason = Some("reached the goal".into());
    s.advance_run(done).await.unwrap();
    s.stop_run(acme.workspace, bob_run.id, "by hand", at(2_100))
        .await
        .unwrap();

    let stats = s.automation_stats(acme.workspace, id).await.unwrap();
    let expected = AutomationStats {
        runs: 3,
        going: 1,
        done: 1,
        stopped: 1,
        failed: 0,
        goal_reached: 1,
        sent: 3,
        nodes: vec![
            NodeStats {
                version: 1,
                node: "greet".into(),
                entered: 3,
                sent: 3,
                read: 1,
                replied: 1,
                exits: [("next".to_owned(), 3)].into(),
            },
            NodeStats {
                version: 1,
                node: "wait".into(),
                entered: 2,
                sent: 0,
                read: 0,
                replied: 0,
                exits: Default::default(),
            },
        ],
    };
    assert_eq!(stats, expected);
    let other = team(s, "owner@other.test").await;
    assert!(not_found(s.automation_stats(other.workspace, id).await));
}
