//! Jobs and the email fallback: claims, retries, failures, settling a
//! burst of emailed messages, inbound reply targets and unsubscribes.

use crate::fixtures::*;

rapport_store::both_backends!(
    jobs_count_failures_in_a_row_and_are_claimed_whatever_their_kind,
    email_jobs_are_claimed_once_and_settle_their_burst,
    email_work_reads_a_chunk_of_one_workspaces_conversations,
    a_failed_job_keeps_its_reason_and_frees_its_key,
    replies_find_their_conversation_and_unsubscribes_keep_their_time,
);

async fn email_jobs_are_claimed_once_and_settle_their_burst(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let team = team(&*f.store, "owner@acme.test").await;
    let ann = contact(&*f.store, team.workspace, "ann").await;
    let c = new_conversation(team.workspace, ann, 0);
    let sent = email_burst(&*f.store, &team, &c, &["one", "two"], 0).await;
    // A note and a message with the fallback off wait for nothing.
    let (off, _) = emailed_message(&team, c.id, "quiet", 2);
    let off_id = off.id;
    f.store
        .append_message(NewMessage {
            email: Some(EmailPlan::Skip(SkipReason::FallbackOff)),
            ..follow_up(ann, off)
        })
        .await
        .unwrap();
    let pending = email_pending(&*f.store, team.workspace, c.id).await;
    assert_eq!(pending.iter().map(|m| m.id).collect::<Vec<_>>(), sent);
    let timeline = timeline(&*f.store, team.workspace, ann, 1).await;
    assert_eq!(
        timeline[0].activity,
        Activity::NotEmailed {
            reason: SkipReason::FallbackOff,
            message_ids: vec![off_id],
            error: None
        }
    );

    // One job for the conversation, due with the first message: waiting
    // before then, due from then on (as /metrics counts them).
    let count = |ms: i64| {
        let store = f.store.clone();
        async move {
            let counts = store.job_counts(at(ms)).await.unwrap();
            assert_eq!(counts.len(), 1, "{counts:?}");
            let c = &counts[0];
            assert_eq!(c.kind, EMAIL_JOB);
            (c.waiting, c.due, c.failed, c.oldest_due_at)
        }
    };
    assert_eq!(count(599_999).await, (1, 0, 0, None));
    assert_eq!(count(600_000).await, (0, 1, 0, Some(at(600_000))));
    let lease = |ms: i64| at(ms + 300_000);
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(599_999), lease(599_999), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let (a, b) = tokio::join!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10),
        f.store
            .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "claimed by exactly one: {a:?} {b:?}");
    let first_claim = a.into_iter().chain(b).next().unwrap();
    assert_eq!(first_claim.due_at, at(600_000));
    assert_eq!(first_claim.attempts, 1);
    // Held until the claim runs out, then claimed again; the first holder
    // can no longer settle it.
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(700_000), lease(700_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claim = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(900_000), lease(900_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(claim.attempts, 2);
    assert!(conflict(f.store.finish_job(&first_claim).await));

    // A message arriving while the job runs joins the next burst.
    let (late, plan) = emailed_message(&team, c.id, "three", 900_001);
    let late_id = late.id;
    f.store
        .append_message(NewMessage {
            email: Some(plan),
            ..follow_up(ann, late)
        })
        .await
        .unwrap();
    let settle = |job: ClaimedJob, emailed: Vec<MessageId>, ms: i64| EmailSettlement {
        job,
        workspace_id: team.workspace,
        conversation_id: c.id,
        contact_id: ann,
        activities: vec![Activity::Emailed {
            to: "ann@example.com".into(),
            message_ids: emailed.clone(),
        }],
        emailed,
        skipped: Vec::new(),
        at: at(ms),
        delay_millis: 600_000,
    };
    // Settled in one batch: the stale holder is refused, the live one not.
    let results = f
        .store
        .settle_emails(vec![
            settle(first_claim.clone(), sent.clone(), 900_002),
            settle(claim, sent.clone(), 900_002),
        ])
        .await
        .unwrap();
    assert!(matches!(results[0], Err(StoreError::Conflict(_))));
    assert!(matches!(results[1], Ok(Some(_))));
    let pending = email_pending(&*f.store, team.workspace, c.id).await;
    assert_eq!(
        pending.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![late_id]
    );
    // The job stays, due with the late message.
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(1_500_000), lease(1_500_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let next = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(1_500_001), lease(1_500_001), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(next.id, first_claim.id);
    let results = f
        .store
        .settle_emails(vec![settle(next, vec![late_id], 1_500_002)])
        .await
        .unwrap();
    assert!(matches!(results[0], Ok(Some(_))));
    assert!(
        email_pending(&*f.store, team.workspace, c.id)
            .await
            .is_empty()
    );
    // Done: the job is gone.
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(99_000_000), lease(99_000_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Retrying moves the due time and keeps the job.
    let other = contact(&*f.store, team.workspace, "bo").await;
    let c2 = new_conversation(team.workspace, other, 0);
    let (m, plan) = emailed_message(&team, c2.id, "hi", 0);
    f.store
        .append_message(NewMessage {
            email: Some(plan),
            ..opening(c2, m)
        })
        .await
        .unwrap();
    let job = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    f.store
        .retry_job(&job, at(630_000), "connection refused")
        .await
        .unwrap();
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(629_999), lease(629_999), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(630_000), lease(630_000), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// One text column of the job's row, read past the store.
async fn job_error(db: &TestDatabase, job: JobId) -> (Option<String>, Option<i64>) {
    let sql = "SELECT last_error, failed_at FROM jobs WHERE id = $1";
    match &db.database {
        rapport_store::Database::Sqlite { path } => {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
                "sqlite://{}",
                path.display()
            ))
            .await
            .unwrap();
            sqlx::query_as(sql)
                .bind(job.as_uuid())
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        rapport_store::Database::Postgres { url, .. } => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                .await
                .unwrap();
            sqlx::query_as(sql)
                .bind(job.as_uuid())
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    }
}

/// On PostgreSQL a message appended while its conversation's email job
/// settles still gets a job: the settle looks for pending messages under
/// the log lock, and an append inserts its job only under that lock, so a
/// message the settle could not see yet makes a new job after the settle
/// has deleted the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_message_appended_while_its_job_settles_keeps_a_job() {
    use sqlx::Connection;
    let Some((_db, url, store)) = postgres_store().await else {
        return;
    };
    let team = team(&*store, "owner@acme.test").await;
    let ann = contact(&*store, team.workspace, "ann").await;
    let c = new_conversation(team.workspace, ann, 0);
    let sent = email_burst(&*store, &team, &c, &["one"], 0).await;
    let lease = |ms: i64| at(ms + 300_000);
    let claim = store
        .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    // Someone holds the contact, so the settle stops at its timeline entry,
    // holding the log lock.
    let mut holder = hold(
        &url,
        "SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE",
        ann.as_uuid(),
    )
    .await;
    let settling = {
        let store = store.clone();
        let settlement = EmailSettlement {
            job: claim,
            workspace_id: team.workspace,
            conversation_id: c.id,
            contact_id: ann,
            activities: vec![Activity::Emailed {
                to: "ann@example.com".into(),
                message_ids: sent.clone(),
            }],
            emailed: sent.clone(),
            skipped: Vec::new(),
            at: at(600_001),
            delay_millis: 600_000,
        };
        tokio::spawn(async move { store.settle_emails(vec![settlement]).await })
    };
    let mut watch = sqlx::PgConnection::connect(&url).await.unwrap();
    assert_eq!(sessions_waiting(&mut watch, "transactionid", 1).await, 1);
    // A message arrives meanwhile and waits for the log lock.
    let (late, plan) = emailed_message(&team, c.id, "two", 600_002);
    let late_id = late.id;
    let appending = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append_message(NewMessage {
                    email: Some(plan),
                    ..follow_up(ann, late)
                })
                .await
        })
    };
    assert_eq!(sessions_waiting(&mut watch, "advisory", 1).await, 1);
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    let settled = settling.await.unwrap().unwrap();
    assert!(matches!(settled[0], Ok(Some(_))), "{settled:?}");
    appending.await.unwrap().unwrap();
    // The late message waits for its email, and a job for it is due with it.
    let pending = email_pending(&*store, team.workspace, c.id).await;
    assert_eq!(pending.iter().map(|m| m.id).collect::<Vec<_>>(), [late_id]);
    let due = store
        .claim_jobs(&[EMAIL_JOB], at(1_200_002), lease(1_200_002), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "the late message's job");
}

/// Starts `conversation` (not yet stored) with a team message per body,
/// a millisecond apart from `ms`, each waiting for an email; their ids.
async fn email_burst(
    store: &dyn Store,
    team: &Team,
    conversation: &Conversation,
    bodies: &[&str],
    ms: i64,
) -> Vec<MessageId> {
    let mut sent = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let (m, plan) = emailed_message(team, conversation.id, body, ms + i as i64);
        sent.push(m.id);
        store
            .append_message(NewMessage {
                new_conversation: (i == 0).then(|| conversation.clone()),
                email: Some(plan),
                ..follow_up(conversation.contact_id, m)
            })
            .await
            .unwrap();
    }
    sent
}

async fn email_work_reads_a_chunk_of_one_workspaces_conversations(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let globex = team(s, "owner@globex.test").await;
    let ann = contact(s, acme.workspace, "ann").await;
    let bob = contact(s, acme.workspace, "bob").await;
    // Ann's conversation: two messages waiting for an email, then one
    // with the fallback off (a part, not pending).
    let ann_chat = new_conversation(acme.workspace, ann, 0);
    let waiting = email_burst(s, &acme, &ann_chat, &["one", "two"], 0).await;
    let (quiet, _) = emailed_message(&acme, ann_chat.id, "quiet", 2);
    let quiet_id = quiet.id;
    s.append_message(NewMessage {
        email: Some(EmailPlan::Skip(SkipReason::FallbackOff)),
        ..follow_up(ann, quiet)
    })
    .await
    .unwrap();
    // Bob's: one waiting. Globex's: one, in the other workspace.
    let bob_chat = new_conversation(acme.workspace, bob, 3);
    let bob_waiting = email_burst(s, &acme, &bob_chat, &["hey bob"], 3).await;
    let gus = contact(s, globex.workspace, "gus").await;
    let g = new_conversation(globex.workspace, gus, 4);
    email_burst(s, &globex, &g, &["hi gus"], 4).await;

    let unknown = ConversationId::generate();
    let work = s
        .email_work(acme.workspace, &[ann_chat.id, g.id, bob_chat.id, unknown])
        .await
        .unwrap();
    assert_eq!(work.workspace.id, acme.workspace);
    assert_eq!(
        work.conversations.len(),
        2,
        "the other workspace's and unknown ids are missing"
    );
    let a = &work.conversations[&ann_chat.id];
    assert_eq!(a.conversation.contact_id, ann);
    assert_eq!(a.contact.id, ann);
    assert_eq!(a.pending.iter().map(|m| m.id).collect::<Vec<_>>(), waiting);
    let mut parts = waiting.clone();
    parts.push(quiet_id);
    assert_eq!(a.parts.iter().map(|m| m.id).collect::<Vec<_>>(), parts);
    let b = &work.conversations[&bob_chat.id];
    assert_eq!(b.contact.id, bob);
    assert_eq!(
        b.pending.iter().map(|m| m.id).collect::<Vec<_>>(),
        bob_waiting
    );
    assert_eq!(b.parts.len(), 1);

    // The same conversations asked of the other workspace: none of them.
    let other = s
        .email_work(globex.workspace, &[ann_chat.id, bob_chat.id, g.id])
        .await
        .unwrap();
    assert_eq!(other.conversations.keys().collect::<Vec<_>>(), [&g.id]);
    assert_eq!(other.conversations[&g.id].contact.id, gus);
    // A workspace that is not there, and more than the cap.
    assert!(not_found(
        s.email_work(WorkspaceId::generate(), &[ann_chat.id]).await
    ));
    let many: Vec<ConversationId> = (0..=EMAIL_WORK_MAX)
        .map(|_| ConversationId::generate())
        .collect();
    assert!(matches!(
        s.email_work(acme.workspace, &many).await,
        Err(StoreError::Invalid(_))
    ));
    // The cap itself reads (its ids padded to no other length).
    let mut cap: Vec<ConversationId> = many[..EMAIL_WORK_MAX - 1].to_vec();
    cap.push(bob_chat.id);
    let work = s.email_work(acme.workspace, &cap).await.unwrap();
    assert_eq!(
        work.conversations.keys().collect::<Vec<_>>(),
        [&bob_chat.id]
    );
}

async fn a_failed_job_keeps_its_reason_and_frees_its_key(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let team = team(&*f.store, "owner@acme.test").await;
    let ann = contact(&*f.store, team.workspace, "ann").await;
    let c = new_conversation(team.workspace, ann, 0);
    let send = |body: &str, ms: i64, new: bool| {
        let (m, plan) = emailed_message(&team, c.id, body, ms);
        NewMessage {
            new_conversation: new.then(|| c.clone()),
            email: Some(plan),
            ..follow_up(ann, m)
        }
    };
    f.store.append_message(send("one", 0, true)).await.unwrap();
    let lease = |ms: i64| at(ms + 300_000);
    let job = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(600_000), lease(600_000), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    f.store
        .fail_job(&job, at(600_001), "the worker panicked: boom")
        .await
        .unwrap();
    // Counted as failed, and nothing else, by the counts `/metrics` reads.
    let counts = f.store.job_counts(at(99_000_000)).await.unwrap();
    let counts: Vec<_> = counts
        .iter()
        .map(|c| (c.kind.as_str(), c.waiting, c.due, c.failed, c.oldest_due_at))
        .collect();
    assert_eq!(counts, [(EMAIL_JOB, 0, 0, 1, None)]);
    // Kept with its reason, and never claimed again.
    let (error, failed_at) = job_error(&f.db, job.id).await;
    assert_eq!(error.as_deref(), Some("the worker panicked: boom"));
    assert_eq!(failed_at, Some(at(600_001).as_millis()));
    assert!(
        f.store
            .claim_jobs(&[EMAIL_JOB], at(99_000_000), lease(99_000_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Its key is free: the conversation's next message gets a job again.
    f.store
        .append_message(send("two", 700_000, false))
        .await
        .unwrap();
    // One kind, a due job and a failed one.
    let counts = f.store.job_counts(at(99_000_000)).await.unwrap();
    let counts: Vec<_> = counts
        .iter()
        .map(|c| (c.kind.as_str(), c.waiting, c.due, c.failed))
        .collect();
    assert_eq!(counts, [(EMAIL_JOB, 0, 1, 1)]);
    let next = f
        .store
        .claim_jobs(&[EMAIL_JOB], at(99_000_000), lease(99_000_000), 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_ne!(next[0].id, job.id);
}

async fn replies_find_their_conversation_and_unsubscribes_keep_their_time(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let ada = contact(s, ws, "ada").await;
    let bob = contact(s, ws, "bob").await;
    let c = start(s, &acme, ada, 10).await;
    // An inbound reply finds the conversation it names, with its
    // workspace and contact, before anything else scopes it.
    let target = s.reply_target(c.id).await.unwrap();
    assert_eq!(target.workspace, s.workspace(ws).await.unwrap());
    assert_eq!(target.conversation, s.conversation(ws, c.id).await.unwrap());
    assert_eq!(target.contact, s.contact(ws, ada).await.unwrap());
    assert!(not_found(s.reply_target(ConversationId::generate()).await));

    // Unsubscribing keeps the first time, and is for this workspace only.
    let off = s.unsubscribe_contact(ws, ada, at(20)).await.unwrap();
    assert_eq!(off.unsubscribed_at, Some(at(20)));
    let again = s.unsubscribe_contact(ws, ada, at(30)).await.unwrap();
    assert_eq!(again.unsubscribed_at, Some(at(20)));
    assert_eq!(
        s.contact(ws, ada).await.unwrap().unsubscribed_at,
        Some(at(20))
    );
    assert!(not_found(
        s.unsubscribe_contact(other.workspace, bob, at(40)).await
    ));
    assert_eq!(s.contact(ws, bob).await.unwrap().unsubscribed_at, None);
    // The reply target reads the contact as it is now.
    assert_eq!(
        s.reply_target(c.id).await.unwrap().contact.unsubscribed_at,
        Some(at(20))
    );
}

async fn jobs_count_failures_in_a_row_and_are_claimed_whatever_their_kind(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let team = team(&*f.store, "owner@acme.test").await;
    let lease = |ms: i64| at(ms + 300_000);
    let send = BulkSendId::generate();
    let known =
        f.db.insert_raw_job(
            team.workspace,
            BULK_JOB,
            json!({"bulk_send_id": send}),
            at(0),
        )
        .await;
    let unknown =
        f.db.insert_raw_job(team.workspace, "resume_run", json!({"run": 1}), at(1))
            .await;
    // Due and unclaimed: both, oldest first; no kinds claims every kind.
    let due = f.store.due_jobs(at(1), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|j| j.id).collect::<Vec<_>>(),
        [known, unknown]
    );
    // Every kind but the known one: the unknown job alone, held until its
    // claim runs out.
    let others = f
        .store
        .claim_jobs_except(&[BULK_JOB, EMAIL_JOB], at(1), at(2), 10)
        .await
        .unwrap();
    assert_eq!(others.iter().map(|j| j.id).collect::<Vec<_>>(), [unknown]);
    assert_eq!(f.store.due_jobs(at(1), 10).await.unwrap().len(), 1);
    let claimed = f.store.claim_jobs(&[], at(2), lease(1), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].job, Ok(Job::BulkSend { bulk_send_id: send }));
    assert_eq!(
        claimed[1].job,
        Err(JobParseError::UnknownKind("resume_run".into()))
    );
    assert!(f.store.due_jobs(at(1), 10).await.unwrap().is_empty());
    // A retry counts a failure; a release (progress) restarts the count.
    f.store
        .retry_job(&claimed[1], at(10), "no handler")
        .await
        .unwrap();
    let again = f
        .store
        .claim_jobs(&[], at(10), lease(10), 10)
        .await
        .unwrap();
    assert_eq!((again[0].id, again[0].failures), (unknown, 1));
    f.store
        .retry_job(&again[0], at(20), "no handler")
        .await
        .unwrap();
    let again = f
        .store
        .claim_jobs(&[], at(20), lease(20), 10)
        .await
        .unwrap();
    assert_eq!(again[0].failures, 2);
    f.store.release_job(&again[0], at(30)).await.unwrap();
    let again = f
        .store
        .claim_jobs(&[], at(30), lease(30), 10)
        .await
        .unwrap();
    assert_eq!((again[0].failures, again[0].attempts), (0, 5));
    // Failed for good: never due or claimed again.
    f.store
        .fail_job(&again[0], at(30), "gave up")
        .await
        .unwrap();
    assert_eq!(
        f.db.job_state(unknown).await,
        Some((0, true, Some("gave up".into())))
    );
    assert!(
        f.store
            .due_jobs(at(99_000_000), 10)
            .await
            .unwrap()
            .iter()
            .all(|j| j.id != unknown)
    );
}
