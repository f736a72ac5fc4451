//! Bulk sends and segments: a send stores its audience as resolved when it
//! is made, and its job; its recipients are sent or failed once; it ends
//! once. Segments are saved filters, named uniquely per workspace. A
//! send's messages are found by the Inbox's search (on SQLite once the
//! writer has indexed them, after the send).

use crate::fixtures::*;

rapport_store::both_backends!(
    bulk_sends_resolve_their_audience_when_made,
    bulk_recipients_fail_once_and_sends_end_once,
    segments_are_named_uniquely_per_workspace,
    a_send_whose_job_failed_ends_with_its_pending_recipients_failed,
    a_sends_messages_are_found_by_search_once_indexed,
);

/// Ada, Bob and Cy, contacts of `ws`: a send's recipients.
async fn three_contacts(s: &dyn Store, ws: WorkspaceId) -> [ContactId; 3] {
    [
        contact(s, ws, "ada").await,
        contact(s, ws, "bob").await,
        contact(s, ws, "cy").await,
    ]
}

/// The contacts `bulk_pending` should list: in its stable order, by id.
fn sorted(mut ids: Vec<ContactId>) -> Vec<ContactId> {
    ids.sort();
    ids
}

async fn bulk_sends_resolve_their_audience_when_made(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let pro = json!({"plan": "pro"});
    let ada = person(s, ws, "ada", None, pro.clone(), 1).await;
    let bob = person(s, ws, "bob", None, pro.clone(), 1).await;
    let cy = person(s, ws, "cy", None, json!({"plan": "free"}), 1).await;
    let eve = person(s, other.workspace, "eve", None, pro.clone(), 1).await;
    let pros = filter(s, ws, json!({"prop": "plan", "op": "eq", "value": "pro"})).await;

    // An audience of nobody is refused, and leaves neither send nor job.
    let nobody = filter(s, ws, json!({"prop": "plan", "op": "eq", "value": "team"})).await;
    let refused = new_bulk_send(
        &acme,
        Audience::Filter {
            filter: nobody,
            online: Vec::new(),
        },
        5,
    );
    let refused_id = refused.id;
    assert!(matches!(
        s.create_bulk_send(refused).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(not_found(s.bulk_send(ws, refused_id).await));
    assert!(s.bulk_sends(ws, 10).await.unwrap().is_empty());
    let jobs = |ms| s.claim_jobs(&[BULK_JOB], at(ms), at(ms + 60_000), 10);
    assert!(jobs(1_000).await.unwrap().is_empty());

    // A filter audience: who matches now, in this workspace only.
    let new = new_bulk_send(
        &acme,
        Audience::Filter {
            filter: pros.clone(),
            online: Vec::new(),
        },
        10,
    );
    let made = s.create_bulk_send(new.clone()).await.unwrap();
    assert_eq!(
        (
            made.id,
            made.status,
            made.total,
            made.sent,
            made.failed,
            made.pending
        ),
        (new.id, BulkStatus::Sending, 2, 0, 0, 2)
    );
    assert_eq!(
        (made.read, made.replied, made.finished_at, made.created_at),
        (None, None, None, at(10))
    );
    assert_eq!(s.bulk_send(ws, made.id).await.unwrap(), made);
    assert_eq!(
        s.bulk_pending(ws, made.id, 10).await.unwrap(),
        sorted(vec![ada, bob])
    );
    assert_eq!(
        s.bulk_pending(ws, made.id, 1).await.unwrap(),
        sorted(vec![ada, bob])[..1]
    );
    // Its job was stored with it.
    let job = jobs(10).await.unwrap();
    assert_eq!(job.len(), 1);
    assert_eq!(
        (job[0].workspace_id, &job[0].job, job[0].due_at),
        (
            ws,
            &Ok(Job::BulkSend {
                bulk_send_id: made.id
            }),
            at(10)
        )
    );
    // Someone who matches later is not added.
    person(s, ws, "dan", None, pro.clone(), 11).await;
    assert_eq!(s.bulk_pending(ws, made.id, 10).await.unwrap().len(), 2);

    // Listed contacts: those of this workspace, once each.
    let listed = s
        .create_bulk_send(new_bulk_send(
            &acme,
            Audience::Contacts(vec![cy, eve, ContactId::generate(), cy]),
            20,
        ))
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(s.bulk_pending(ws, listed.id, 10).await.unwrap(), [cy]);
    // Who is online now, as the caller says.
    let online = filter(s, ws, json!({"online": true})).await;
    let live = s
        .create_bulk_send(new_bulk_send(
            &acme,
            Audience::Filter {
                filter: online,
                online: vec![bob, eve],
            },
            30,
        ))
        .await
        .unwrap();
    assert_eq!(s.bulk_pending(ws, live.id, 10).await.unwrap(), [bob]);

    // Newest first, as many as asked for.
    let ids = |sends: Vec<BulkSend>| sends.into_iter().map(|b| b.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.bulk_sends(ws, 10).await.unwrap()),
        [live.id, listed.id, made.id]
    );
    assert_eq!(
        ids(s.bulk_sends(ws, 2).await.unwrap()),
        [live.id, listed.id]
    );
    // Another workspace sees none of it.
    assert!(s.bulk_sends(other.workspace, 10).await.unwrap().is_empty());
    assert!(not_found(s.bulk_send(other.workspace, made.id).await));
    assert!(
        s.bulk_pending(other.workspace, made.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn bulk_recipients_fail_once_and_sends_end_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let [ada, bob, cy] = three_contacts(s, ws).await;
    let send = bulk_send_to(s, &acme, &[ada, bob, cy], 10).await;
    let to_ada = bulk_message(&acme, send.id, ada, 20);
    let conversation = to_ada.message.conversation_id;
    s.append_message(to_ada).await.unwrap();
    s.fail_bulk_recipient(ws, send.id, bob, "the contact was removed")
        .await
        .unwrap();
    // A failed recipient is failed once; a sent one stays sent; another
    // workspace fails nobody here.
    s.fail_bulk_recipient(ws, send.id, bob, "again")
        .await
        .unwrap();
    s.fail_bulk_recipient(ws, send.id, ada, "late")
        .await
        .unwrap();
    let _ = s
        .fail_bulk_recipient(other.workspace, send.id, cy, "stray")
        .await;
    let progress = s.bulk_send(ws, send.id).await.unwrap();
    assert_eq!(
        (progress.sent, progress.failed, progress.pending),
        (1, 1, 1)
    );
    assert_eq!(s.bulk_pending(ws, send.id, 10).await.unwrap(), [cy]);

    // Ending is for this workspace only, and changes nothing elsewhere.
    assert!(not_found(
        s.finish_bulk_send(other.workspace, send.id, at(40)).await
    ));
    assert!(not_found(
        s.cancel_bulk_send(other.workspace, send.id, at(40)).await
    ));
    assert_eq!(s.bulk_send(ws, send.id).await.unwrap(), progress);
    s.finish_bulk_send(ws, send.id, at(50)).await.unwrap();
    let done = s.bulk_send(ws, send.id).await.unwrap();
    assert_eq!(
        (done.status, done.finished_at, done.read, done.replied),
        (BulkStatus::Done, Some(at(50)), Some(0), Some(0))
    );
    // Once ended, who read and who replied are counted.
    s.mark_read(ws, conversation, ada, at(60)).await.unwrap();
    let reply = message(ws, conversation, Author::Contact(ada), "thanks", 61);
    s.append_message(follow_up(ada, reply)).await.unwrap();
    let done = s.bulk_send(ws, send.id).await.unwrap();
    assert_eq!((done.read, done.replied), (Some(1), Some(1)));
    // It ends once: finishing or cancelling again keeps it as it was.
    s.finish_bulk_send(ws, send.id, at(70)).await.unwrap();
    assert_eq!(s.cancel_bulk_send(ws, send.id, at(71)).await.unwrap(), done);

    let second = bulk_send_to(s, &acme, &[ada], 80).await;
    let cancelled = s.cancel_bulk_send(ws, second.id, at(90)).await.unwrap();
    assert_eq!(
        (cancelled.status, cancelled.finished_at, cancelled.pending),
        (BulkStatus::Cancelled, Some(at(90)), 1)
    );
    s.finish_bulk_send(ws, second.id, at(95)).await.unwrap();
    assert_eq!(s.bulk_send(ws, second.id).await.unwrap(), cancelled);
    assert!(not_found(
        s.cancel_bulk_send(ws, BulkSendId::generate(), at(96)).await
    ));
}

async fn segments_are_named_uniquely_per_workspace(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let vip_tree = json!({"tag": "vip", "op": "has"});
    let vips = segment(ws, "VIPs", vip_tree.clone(), 1);
    assert_eq!(s.save_segment(vips.clone()).await.unwrap(), vips);
    assert_eq!(s.segment(ws, vips.id).await.unwrap(), vips);
    let trial = segment(ws, "Trial", json!({"and": []}), 2);
    s.save_segment(trial.clone()).await.unwrap();
    // By name.
    assert_eq!(s.segments(ws).await.unwrap(), [trial.clone(), vips.clone()]);

    // A second segment of that name is refused and stores nothing.
    let twin = segment(ws, "VIPs", json!({"or": []}), 3);
    assert!(conflict(s.save_segment(twin.clone()).await));
    assert!(not_found(s.segment(ws, twin.id).await));
    // Renaming onto a taken name is refused too.
    let clash = Segment {
        name: "Trial".into(),
        updated_at: at(4),
        ..vips.clone()
    };
    assert!(conflict(s.save_segment(clash).await));
    assert_eq!(s.segments(ws).await.unwrap(), [trial.clone(), vips.clone()]);

    // An update changes name, filter and time; it was made when it was.
    let renamed = Segment {
        name: "gold".into(),
        filter: json!({"tag": "gold", "op": "has"}),
        created_at: at(5),
        updated_at: at(5),
        ..vips.clone()
    };
    let saved = s.save_segment(renamed.clone()).await.unwrap();
    assert_eq!(
        saved,
        Segment {
            created_at: at(1),
            ..renamed
        }
    );
    assert_eq!(s.segment(ws, vips.id).await.unwrap(), saved);
    // Names sort byte by byte on every backend: "Trial" before "gold".
    assert_eq!(
        s.segments(ws).await.unwrap(),
        [trial.clone(), saved.clone()]
    );

    // Another workspace may use the name, and sees none of these.
    let theirs = segment(other.workspace, "gold", vip_tree, 6);
    s.save_segment(theirs.clone()).await.unwrap();
    assert_eq!(s.segments(other.workspace).await.unwrap(), [theirs]);
    assert!(not_found(s.segment(other.workspace, vips.id).await));
    assert!(not_found(s.delete_segment(other.workspace, vips.id).await));
    let hijack = Segment {
        workspace_id: other.workspace,
        name: "Mine".into(),
        ..saved.clone()
    };
    assert!(not_found(s.save_segment(hijack).await));
    assert_eq!(s.segment(ws, vips.id).await.unwrap(), saved);

    s.delete_segment(ws, vips.id).await.unwrap();
    assert!(not_found(s.segment(ws, vips.id).await));
    assert!(not_found(s.delete_segment(ws, vips.id).await));
    assert_eq!(s.segments(ws).await.unwrap(), [trial]);
}

async fn a_send_whose_job_failed_ends_with_its_pending_recipients_failed(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let ws = acme.workspace;
    let [ada, bob, cy] = three_contacts(s, ws).await;
    let send = bulk_send_to(s, &acme, &[ada, bob, cy], 5).await;
    s.append_message(bulk_message(&acme, send.id, ada, 10))
        .await
        .unwrap();
    // Another workspace cannot end it.
    let other = team(s, "owner@other.test").await;
    s.fail_bulk_send(other.workspace, send.id, "nope", at(15))
        .await
        .ok();
    assert_eq!(
        s.bulk_send(ws, send.id).await.unwrap().status,
        BulkStatus::Sending
    );

    s.fail_bulk_send(ws, send.id, "the job kept failing", at(20))
        .await
        .unwrap();
    let ended = s.bulk_send(ws, send.id).await.unwrap();
    assert_eq!(
        (ended.status, ended.sent, ended.failed, ended.pending),
        (BulkStatus::Done, 1, 2, 0)
    );
    assert!(s.bulk_pending(ws, send.id, 10).await.unwrap().is_empty());

    // A cancelled send keeps its pending recipients.
    let later = bulk_send_to(s, &acme, &[ada, bob], 30).await;
    s.cancel_bulk_send(ws, later.id, at(31)).await.unwrap();
    s.fail_bulk_send(ws, later.id, "late", at(32))
        .await
        .unwrap();
    let cancelled = s.bulk_send(ws, later.id).await.unwrap();
    assert_eq!(
        (cancelled.status, cancelled.failed, cancelled.pending),
        (BulkStatus::Cancelled, 0, 2)
    );
}

/// The conversations a search for `word` finds in `ws`, in its order.
async fn found(s: &dyn Store, ws: WorkspaceId, word: &str) -> Vec<ConversationId> {
    let query = SearchQuery::parse(word).unwrap();
    s.search_conversations(ws, &query, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|hit| hit.conversation.id)
        .collect()
}

/// Searches for `word` until it finds `want` (the backlog is indexed once
/// the writer has been idle for half a second), for at most 10 s.
async fn found_eventually(
    s: &dyn Store,
    ws: WorkspaceId,
    word: &str,
    want: &[ConversationId],
) -> Vec<ConversationId> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = found(s, ws, word).await;
        if now == want || std::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn a_sends_messages_are_found_by_search_once_indexed(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let s = &*f.store;
    let acme = team(s, "owner@acme.test").await;
    let other = team(s, "owner@other.test").await;
    let ws = acme.workspace;
    let [ada, bob, cy] = three_contacts(s, ws).await;
    let send = bulk_send_to(s, &acme, &[ada, bob, cy], 10).await;
    let to = |contact, ms| {
        let mut new = bulk_message(&acme, send.id, contact, ms);
        new.message.body = "Your zebrafish invoice is ready".into();
        new
    };
    let (to_ada, to_bob, to_cy) = (to(ada, 20), to(bob, 21), to(cy, 22));
    let ids = [&to_ada, &to_bob, &to_cy].map(|n| n.message.conversation_id);
    for new in [to_ada, to_bob, to_cy] {
        s.append_message(new).await.unwrap();
    }
    // Cy is erased before the writer had a moment to index the send.
    let erasure = s.request_erasure(ws, cy, None, at(23)).await.unwrap();
    s.erase_contact(ws, erasure.id, at(24)).await.unwrap();
    // A team member's message is found at once, whatever waits.
    let c = new_conversation(ws, ada, 30);
    let note = opening(c.clone(), acme.says(c.id, "About the zebrafish", 30));
    s.append_message(note).await.unwrap();
    assert_eq!(found(s, ws, "about").await, [c.id]);

    // Newest first; the erased contact's message is gone, not an error.
    assert_eq!(
        found_eventually(s, ws, "zebrafish", &[c.id, ids[1], ids[0]]).await,
        [c.id, ids[1], ids[0]]
    );
    assert_eq!(found(s, ws, "invoice").await, [ids[1], ids[0]]);
    assert!(found(s, other.workspace, "zebrafish").await.is_empty());
}
