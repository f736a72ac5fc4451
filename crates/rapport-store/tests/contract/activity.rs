//! The activity log: events on a contact's timeline, live streams that
//! resume after a position, the log head, and commit order on PostgreSQL.

use crate::fixtures::*;

rapport_store::both_backends!(
    events_land_on_the_timeline_newest_first,
    streams_resume_after_a_position,
    a_page_view_marks_the_contact_seen_in_the_same_write,
);

async fn events_land_on_the_timeline_newest_first(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    for (i, name) in ["signed_up", "paid", "$page_view"].into_iter().enumerate() {
        f.store
            .record_event(NewEvent {
                params: json!({"i": i}),
                ..event(acme.workspace, ada, name, 10 + i as i64)
            })
            .await
            .unwrap();
    }
    let unknown = event(acme.workspace, ContactId::generate(), "x", 20);
    assert!(not_found(f.store.record_event(unknown).await));
    let page = timeline(&*f.store, acme.workspace, ada, 3).await;
    let names: Vec<_> = page
        .iter()
        .map(|e| match &e.activity {
            Activity::Event { name, .. } => name.as_str(),
            other => other.kind(),
        })
        .collect();
    // The page view was the contact's first visit: it started a session.
    assert_eq!(names, ["$page_view", "$session_start", "paid"]);
    let rest = f
        .store
        .timeline(TimelineQuery {
            workspace_id: acme.workspace,
            contact_id: ada,
            before_seq: Some(page[2].seq),
            kinds: Vec::new(),
            limit: 10,
        })
        .await
        .unwrap();
    let kinds = kinds(&rest);
    assert_eq!(kinds, ["event", "contact_created"]);
}

async fn streams_resume_after_a_position(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let acme = team(&*f.store, "owner@acme.test").await;
    let other = team(&*f.store, "owner@other.test").await;
    let ada = contact(&*f.store, acme.workspace, "ada").await;
    let bob = contact(&*f.store, acme.workspace, "bob").await;
    contact(&*f.store, other.workspace, "eve").await;
    start(&*f.store, &acme, ada, 10).await;
    start(&*f.store, &acme, bob, 20).await;
    let all = f
        .store
        .activity_after(acme.workspace, Stream::Workspace, 0, 100)
        .await
        .unwrap();
    let kinds = kinds(&all);
    assert_eq!(
        kinds,
        [
            "contact_created",
            "contact_created",
            "conversation_started",
            "message",
            "conversation_started",
            "message"
        ]
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");
    assert!(all.iter().all(|e| e.workspace_id == acme.workspace));
    // Resuming after a position returns exactly what came after it.
    let rest = f
        .store
        .activity_after(acme.workspace, Stream::Workspace, all[2].seq, 100)
        .await
        .unwrap();
    assert_eq!(rest, all[3..].to_vec());
    let page = f
        .store
        .activity_after(acme.workspace, Stream::Workspace, 0, 2)
        .await
        .unwrap();
    assert_eq!(page, all[..2].to_vec());
    // A contact's stream is theirs alone.
    let bobs = f
        .store
        .activity_after(acme.workspace, Stream::Contact(bob), 0, 100)
        .await
        .unwrap();
    assert_eq!(bobs.len(), 3);
    assert!(bobs.iter().all(|e| e.contact_id == bob));
    let none = f
        .store
        .activity_after(other.workspace, Stream::Contact(bob), 0, 100)
        .await
        .unwrap();
    assert!(none.is_empty());
    // The head is the workspace's newest position: where a new stream
    // starts. Another workspace's writes do not move it.
    let head = f.store.activity_head(acme.workspace).await.unwrap();
    assert_eq!(head, all.last().unwrap().seq);
    start(
        &*f.store,
        &other,
        contact(&*f.store, other.workspace, "fay").await,
        30,
    )
    .await;
    assert_eq!(f.store.activity_head(acme.workspace).await.unwrap(), head);
    let theirs = f
        .store
        .activity_after(other.workspace, Stream::Workspace, 0, 100)
        .await
        .unwrap();
    assert_eq!(
        f.store.activity_head(other.workspace).await.unwrap(),
        theirs.last().unwrap().seq
    );
    assert_eq!(
        f.store
            .activity_head(WorkspaceId::generate())
            .await
            .unwrap(),
        0
    );
}

/// On PostgreSQL, positions are handed out at insert: appends to one
/// workspace's log must commit in position order, or a stream could pass an
/// entry that becomes visible later. A write that has appended but not yet
/// committed makes the next append wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_log_appends_commit_in_position_order() {
    let Some((_db, url, store)) = postgres_store().await else {
        return;
    };
    let acme = team(&*store, "owner@acme.test").await;
    let ada = contact(&*store, acme.workspace, "ada").await;
    let before = store
        .activity_after(acme.workspace, Stream::Workspace, 0, 100)
        .await
        .unwrap()
        .len();
    // A slow writer appends the way the store does, and does not commit yet.
    let mut slow = hold_log_lock(&url, acme.workspace).await;
    sqlx::query("INSERT INTO activity (workspace_id, contact_id, kind, data, created_at) VALUES ($1, $2, 'event', '{\"name\": \"slow\", \"params\": {}}', 0)")
        .bind(acme.workspace.as_uuid())
        .bind(ada.as_uuid())
        .execute(&mut slow)
        .await
        .unwrap();
    // A later write in the same workspace waits for it...
    let later = {
        let store = store.clone();
        tokio::spawn(async move { start(&*store, &acme, ada, 10).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !later.is_finished(),
        "the later append must wait for the earlier one"
    );
    assert_eq!(
        store
            .activity_after(acme.workspace, Stream::Workspace, 0, 100)
            .await
            .unwrap()
            .len(),
        before
    );
    // ...while another workspace's does not.
    let other = team(&*store, "owner@other.test").await;
    contact(&*store, other.workspace, "eve").await;
    sqlx::raw_sql("COMMIT").execute(&mut slow).await.unwrap();
    later.await.unwrap();
    let after = store
        .activity_after(acme.workspace, Stream::Workspace, 0, 100)
        .await
        .unwrap();
    let kinds = kinds(&after[before..]);
    assert_eq!(kinds, ["event", "conversation_started", "message"]);
}

/// On PostgreSQL two large appends of one workspace (a bulk send's
/// chunks of 500) run at once: each writes its conversations and messages
/// while the other holds the log lock, and only the log entries and what
/// follows them wait. Their entries still commit in position order, each
/// append's together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_large_appends_of_a_workspace_write_at_once() {
    use sqlx::Connection;
    const CHUNK: usize = 500;
    let Some((_db, url, store)) = postgres_store().await else {
        return;
    };
    let acme = team(&*store, "owner@acme.test").await;
    let ada = contact(&*store, acme.workspace, "ada").await;
    let bob = contact(&*store, acme.workspace, "bob").await;
    let head = store
        .activity_after(acme.workspace, Stream::Workspace, 0, 100)
        .await
        .unwrap();
    let before = head.last().map_or(0, |entry| entry.seq);
    // Someone holds the workspace's log lock.
    let mut slow = hold_log_lock(&url, acme.workspace).await;
    let append = |contact: ContactId, ms: i64| {
        let store = store.clone();
        let news = (0..CHUNK)
            .map(|_| {
                let c = new_conversation(acme.workspace, contact, ms);
                let m = acme.says(c.id, "Hi", ms);
                opening(c, m)
            })
            .collect();
        tokio::spawn(async move { store.append_messages(news).await })
    };
    let first = append(ada, 10);
    let second = append(bob, 20);
    // Both get as far as the log lock, each in a transaction of its own.
    let mut watch = sqlx::PgConnection::connect(&url).await.unwrap();
    let seen = sessions_waiting(&mut watch, "advisory", 2).await;
    assert_eq!(seen, 2, "both appends wait for the log lock at once");
    assert!(!first.is_finished() && !second.is_finished());
    sqlx::raw_sql("COMMIT").execute(&mut slow).await.unwrap();
    for appended in [first.await.unwrap(), second.await.unwrap()] {
        assert!(appended.unwrap().iter().all(Result::is_ok));
    }
    let after = store
        .activity_after(acme.workspace, Stream::Workspace, before, 4 * CHUNK as u32)
        .await
        .unwrap();
    assert_eq!(after.len(), 4 * CHUNK);
    assert!(after.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    let (one, other) = after.split_at(2 * CHUNK);
    for half in [one, other] {
        assert!(
            half.iter()
                .all(|entry| entry.contact_id == half[0].contact_id)
        );
    }
    assert_ne!(one[0].contact_id, other[0].contact_id);
}

async fn a_page_view_marks_the_contact_seen_in_the_same_write(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ada = contact(s, acme.workspace, "ada").await;
    let view = |url: &str, ms: i64| {
        NewEvent::new(
            acme.workspace,
            ada,
            "$page_view".into(),
            json!({ "url": url }),
            at(ms),
        )
    };
    s.record_event(view("https://acme.test/pricing", 10))
        .await
        .unwrap();
    let seen = s.contact(acme.workspace, ada).await.unwrap().system;
    assert_eq!(
        (seen.last_seen_at, seen.last_page.as_deref(), seen.sessions),
        (Some(at(10)), Some("https://acme.test/pricing"), 1)
    );
    // Another event is only an event.
    s.record_event(event(acme.workspace, ada, "paid", 20))
        .await
        .unwrap();
    assert_eq!(
        s.contact(acme.workspace, ada)
            .await
            .unwrap()
            .system
            .last_seen_at,
        Some(at(10))
    );
    // A page view of a contact of another workspace changes nothing.
    let other = team(s, "owner@other.test").await;
    let stray = NewEvent {
        workspace_id: other.workspace,
        ..view("https://evil.test/", 30)
    };
    assert!(not_found(s.record_event(stray).await));
    assert_eq!(
        s.contact(acme.workspace, ada)
            .await
            .unwrap()
            .system
            .last_page
            .as_deref(),
        Some("https://acme.test/pricing")
    );
}
