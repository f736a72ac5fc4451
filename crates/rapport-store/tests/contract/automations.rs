//! Automations: drafts and versions, their status and their limit, what
//! publishing does to going runs, and deleting one.

use crate::fixtures::*;

rapport_store::both_backends!(
    drafts_publish_into_versions_and_statuses_need_one,
    a_workspace_holds_at_most_max_automations,
    publishing_finishes_migrates_or_stops_going_runs,
    deleting_an_automation_stops_its_runs_and_keeps_their_history,
);

async fn drafts_publish_into_versions_and_statuses_need_one(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let first = definition(&["a", "b"], json!({"type": "once"}));
    let new = new_automation(&acme, "Welcome", first.clone(), 10);
    let id = new.id;
    let created = s.create_automation(new).await.unwrap();
    assert_eq!(created.status, AutomationStatus::Draft);
    assert_eq!((created.live_version, created.draft_changed), (None, true));
    assert_eq!(s.automation(acme.workspace, id).await.unwrap(), created);
    assert!(not_found(s.automation(other.workspace, id).await));
    let later = new_automation(&acme, "Later", first.clone(), 20);
    let later_id = later.id;
    s.create_automation(later).await.unwrap();
    let listed: Vec<_> = s
        .automations(acme.workspace)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, [id, later_id], "oldest first");
    assert!(s.automations(other.workspace).await.unwrap().is_empty());

    // Never published: it cannot be made live, paused, or a draft again.
    for status in [
        AutomationStatus::Live,
        AutomationStatus::Paused,
        AutomationStatus::Draft,
    ] {
        assert!(conflict(
            s.set_automation_status(acme.workspace, id, status, at(11))
                .await
        ));
    }
    assert!(s.versions(acme.workspace, id).await.unwrap().is_empty());

    let published = s
        .publish_automation(
            acme.workspace,
            id,
            Some(acme.owner),
            RunsOnPublish::Finish,
            at(30),
        )
        .await
        .unwrap();
    assert_eq!(
        published,
        Published {
            version: 1,
            runs_moved: 0,
            runs_stopped: 0
        }
    );
    let live = s.automation(acme.workspace, id).await.unwrap();
    assert_eq!(live.status, AutomationStatus::Live);
    assert_eq!((live.live_version, live.draft_changed), (Some(1), false));
    assert_eq!(live.updated_at, at(30));

    // Editing the draft leaves the version; the draft now differs.
    let second = definition(&["a", "b", "c"], json!({"type": "every_time"}));
    let saved = s
        .save_draft(acme.workspace, id, "Hello".into(), second.clone(), at(40))
        .await
        .unwrap();
    assert_eq!((saved.name.as_str(), &saved.draft), ("Hello", &second));
    assert!(saved.draft_changed);
    assert_eq!(saved.live_version, Some(1));
    assert!(not_found(
        s.save_draft(other.workspace, id, "x".into(), second.clone(), at(41))
            .await
    ));
    let again = s
        .publish_automation(acme.workspace, id, None, RunsOnPublish::Finish, at(50))
        .await
        .unwrap();
    assert_eq!(again.version, 2);
    assert!(
        !s.automation(acme.workspace, id)
            .await
            .unwrap()
            .draft_changed
    );
    let versions = s.versions(acme.workspace, id).await.unwrap();
    let numbers: Vec<u32> = versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [2, 1], "newest first");
    assert_eq!(versions[1].definition, first);
    assert_eq!(versions[1].published_by, Some(acme.owner));
    assert_eq!(versions[1].published_at, at(30));
    assert_eq!(versions[0].published_by, None);
    assert_eq!(s.version(acme.workspace, id, 2).await.unwrap(), versions[0]);
    assert!(not_found(s.version(acme.workspace, id, 3).await));
    assert!(not_found(s.version(other.workspace, id, 1).await));
    assert!(not_found(s.versions(other.workspace, id).await));

    // Pausing and resuming.
    let paused = s
        .set_automation_status(acme.workspace, id, AutomationStatus::Paused, at(60))
        .await
        .unwrap();
    assert_eq!(paused.status, AutomationStatus::Paused);
    assert!(s.live_versions(acme.workspace).await.unwrap().is_empty());
    let resumed = s
        .set_automation_status(acme.workspace, id, AutomationStatus::Live, at(70))
        .await
        .unwrap();
    assert_eq!(
        (resumed.status, resumed.live_version),
        (AutomationStatus::Live, Some(2))
    );
    let lives = s.live_versions(acme.workspace).await.unwrap();
    assert_eq!(
        lives,
        vec![versions[0].clone()],
        "the draft `Later` is not live"
    );
}

async fn a_workspace_holds_at_most_max_automations(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let draft = definition(&["a"], json!({"type": "once"}));
    let mut tasks = Vec::new();
    for _ in 0..MAX_AUTOMATIONS {
        let (store, new) = (
            f.store.clone(),
            new_automation(&acme, "A", draft.clone(), 1),
        );
        tasks.push(tokio::spawn(
            async move { store.create_automation(new).await },
        ));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let one_more = new_automation(&acme, "A", draft.clone(), 2);
    assert!(conflict(f.store.create_automation(one_more).await));
    let len = f.store.automations(acme.workspace).await.unwrap().len();
    assert_eq!(len, MAX_AUTOMATIONS as usize);
    // Another workspace has its own count.
    let other = team(&*f.store, "owner@other.test").await;
    let theirs = new_automation(&other, "A", draft, 3);
    f.store.create_automation(theirs).await.unwrap();
}

/// Starts a run of `version` for a new contact and moves it to `node`.
async fn run_at(
    store: &dyn Store,
    team: &Team,
    version: &Version,
    user_id: &str,
    node: &str,
) -> Run {
    let who = contact(store, team.workspace, user_id).await;
    let run = store
        .start_run(run_of(team, version, who, None, 100, 200))
        .await
        .unwrap();
    if run.node != node {
        store
            .advance_run(step(&run, Effect::None, Some("next"), node, 150))
            .await
            .unwrap();
    }
    store.run(team.workspace, run.id).await.unwrap()
}

async fn publishing_finishes_migrates_or_stops_going_runs(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let v1 = live_automation(s, &acme, &["a", "b", "c"], json!({"type": "once"}), 10).await;
    let id = v1.automation_id;
    let ada = run_at(s, &acme, &v1, "ada", "a").await;
    let bob = run_at(s, &acme, &v1, "bob", "c").await;
    let runs = || async {
        let mut runs = Vec::new();
        for run in [ada.id, bob.id] {
            runs.push(s.run(acme.workspace, run).await.unwrap());
        }
        runs
    };

    // Without node c, bob's run could not migrate: nothing changes.
    let without_c = definition(&["a", "b"], json!({"type": "once"}));
    s.save_draft(acme.workspace, id, "G".into(), without_c, at(300))
        .await
        .unwrap();
    let refused = s
        .publish_automation(acme.workspace, id, None, RunsOnPublish::Migrate, at(310))
        .await;
    assert!(conflict(refused));
    assert_eq!(s.versions(acme.workspace, id).await.unwrap().len(), 1);
    assert_eq!(runs().await, vec![ada.clone(), bob.clone()]);

    // Finish: runs stay on the version they started on.
    let v2 = s
        .publish_automation(acme.workspace, id, None, RunsOnPublish::Finish, at(320))
        .await
        .unwrap();
    assert_eq!((v2.version, v2.runs_moved, v2.runs_stopped), (2, 0, 0));
    assert!(
        runs()
            .await
            .iter()
            .all(|r| r.version == 1 && r.status.is_going())
    );

    // Migrate: every node a run is at exists in version 3.
    let with_c = definition(&["c", "a", "b"], json!({"type": "once"}));
    s.save_draft(acme.workspace, id, "G".into(), with_c, at(330))
        .await
        .unwrap();
    let v3 = s
        .publish_automation(acme.workspace, id, None, RunsOnPublish::Migrate, at(340))
        .await
        .unwrap();
    assert_eq!((v3.version, v3.runs_moved, v3.runs_stopped), (3, 2, 0));
    let moved = runs().await;
    assert!(moved.iter().all(|r| r.version == 3 && r.status.is_going()));
    assert_eq!((moved[0].node.as_str(), moved[1].node.as_str()), ("a", "c"));
    assert_eq!(moved[0].step, ada.step, "moving is not a step");

    // Stop: each going run ends, with a line in its log and on the timeline.
    let v4 = s
        .publish_automation(acme.workspace, id, None, RunsOnPublish::Stop, at(350))
        .await
        .unwrap();
    assert_eq!((v4.version, v4.runs_moved, v4.runs_stopped), (4, 0, 2));
    let reason = "stopped when version 4 was published";
    for run in runs().await {
        assert_eq!(run.status, RunStatus::Stopped);
        assert_eq!(run.ended_reason.as_deref(), Some(reason));
        assert_eq!((run.wait, run.updated_at), (None, at(350)));
        let log = s.run_log(acme.workspace, run.id).await.unwrap();
        let last = log.last().unwrap();
        assert_eq!((last.kind.as_str(), last.detail.as_str()), ("stop", reason));
        assert_eq!((last.step + 1, last.version), (run.step, 3));
        let newest = timeline(s, acme.workspace, run.contact_id, 1).await;
        assert_eq!(
            newest[0].activity,
            Activity::Automation {
                automation_id: id,
                run_id: run.id,
                what: "stopped".into(),
                detail: Some(reason.into()),
            }
        );
    }
    // With nothing going, a later Stop stops nothing.
    let v5 = s
        .publish_automation(acme.workspace, id, None, RunsOnPublish::Stop, at(360))
        .await
        .unwrap();
    assert_eq!((v5.version, v5.runs_stopped), (5, 0));
}

async fn deleting_an_automation_stops_its_runs_and_keeps_their_history(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let version = live_automation(s, &acme, &["a", "b"], json!({"type": "once"}), 10).await;
    let id = version.automation_id;
    let run = run_at(s, &acme, &version, "ada", "b").await;
    assert!(not_found(
        s.delete_automation(other.workspace, id, at(390)).await
    ));
    s.delete_automation(acme.workspace, id, at(400))
        .await
        .unwrap();
    assert!(not_found(s.automation(acme.workspace, id).await));
    assert!(not_found(s.versions(acme.workspace, id).await));
    assert!(not_found(s.automation_stats(acme.workspace, id).await));
    assert!(s.live_versions(acme.workspace).await.unwrap().is_empty());
    let stopped = s.run(acme.workspace, run.id).await.unwrap();
    assert_eq!(stopped.status, RunStatus::Stopped);
    assert_eq!(
        stopped.ended_reason.as_deref(),
        Some("the automation was deleted")
    );
    let log = s.run_log(acme.workspace, run.id).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["wait", "stop"], "oldest step first");
    assert!(not_found(
        s.delete_automation(acme.workspace, id, at(410)).await
    ));
}
