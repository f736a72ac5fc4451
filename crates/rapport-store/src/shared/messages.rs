//! The one write of messages: `append_messages`. Every message, whoever
//! sends it (a team member, the API, a bulk send, the contact in the
//! widget or by email), is inserted here, with the conversation it starts
//! or the state it moves its conversation to, its activity entries, its
//! bulk recipient mark, its email job and its inbound email key, in the
//! caller's one transaction.

use std::collections::{HashMap, HashSet};

use super::*;
use rapport_core::model::report::Channel;

/// How many messages one statement writes (the activity insert binds 18
/// values per message, well under both drivers' limits).
const CHUNK: usize = 500;

/// The message's email status, and the timeline entry of a skip.
fn email_state(
    message: &Message,
    plan: Option<&EmailPlan>,
) -> (Option<&'static str>, Option<Activity>) {
    match plan {
        None => (None, None),
        Some(EmailPlan::Schedule(_)) => (Some("pending"), None),
        Some(EmailPlan::Skip(reason)) => (
            Some("skipped"),
            Some(Activity::NotEmailed {
                reason: *reason,
                message_ids: vec![message.id],
                error: None,
            }),
        ),
    }
}

/// The ids among `ids` that name contacts of the workspace.
async fn existing_contacts(
    conn: &mut Conn,
    workspace: WorkspaceId,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, StoreError> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let mut sql = QueryBuilder::<Db>::new("SELECT id FROM contacts WHERE ");
        push_ids_of(&mut sql, chunk, workspace);
        found.extend(fetch_ids(sql, conn).await?);
    }
    Ok(found)
}

/// The workspace's conversations among `ids`, locked (on PostgreSQL) until
/// commit, in id order so that concurrent writers lock in the same order.
///
/// Found by primary key ([`push_ids_of`]): on a table not yet analyzed,
/// PostgreSQL had guessed a workspace holds a few hundred conversations
/// and intersected the workspace's index with the primary key's, reading
/// every conversation of the workspace for each call (4 ms on 69,000, the
/// largest statement cost of a bench's write path).
async fn locked_conversations(
    conn: &mut Conn,
    workspace: WorkspaceId,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Conversation>, StoreError> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE "
        ));
        push_ids_of(&mut sql, chunk, workspace);
        sql.push(" ORDER BY id").push(ROW_LOCK);
        for row in sql.build().fetch_all(&mut *conn).await.map_err(db_err)? {
            let conversation = conversation_from_row(&row)?;
            found.insert(conversation.id.as_uuid(), conversation);
        }
    }
    Ok(found)
}

/// The listed recipients of a bulk send of the workspace that are still
/// pending, if the send is still sending (locked on PostgreSQL until
/// commit).
///
/// Each chunk of the sorted list is read as the range from its first id to
/// its last, not as a list: right after a send's recipients are stored,
/// PostgreSQL has no statistics on them, searches the index by the send
/// alone and filters a list, reading every pending recipient of the send
/// for each chunk (20 to 450 ms per chunk of 500, where the range takes
/// about 1 ms), while a range is always searched on both columns. A send's
/// chunks are consecutive in this order (`bulk_pending` reads them so), so
/// the range holds only them; anything else in it is left out here.
async fn pending_recipients(
    conn: &mut Conn,
    workspace: WorkspaceId,
    bulk_send: Uuid,
    contacts: &[Uuid],
) -> Result<HashSet<Uuid>, StoreError> {
    let mut sorted = contacts.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut pending = HashSet::new();
    for chunk in sorted.chunks(CHUNK) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT contact_id FROM bulk_send_recipients WHERE bulk_send_id = ",
        );
        sql.push_bind(bulk_send)
            .push(" AND workspace_id = ")
            .push_bind(workspace.as_uuid())
            .push(" AND message_id IS NULL AND error IS NULL AND contact_id >= ")
            .push_bind(*first)
            .push(" AND contact_id <= ")
            .push_bind(*last)
            .push(" AND EXISTS (SELECT 1 FROM bulk_sends WHERE id = ")
            .push_bind(bulk_send)
            .push(" AND status = 'sending')")
            .push(ROW_LOCK);
        let listed: HashSet<&Uuid> = chunk.iter().collect();
        pending.extend(
            fetch_ids(sql, conn)
                .await?
                .into_iter()
                .filter(|id| listed.contains(id)),
        );
    }
    Ok(pending)
}

/// Records an emailed reply's key; `false` when the workspace has it
/// already (the same email delivered twice).
async fn claim_email_key(
    conn: &mut Conn,
    message: &Message,
    key: &str,
) -> Result<bool, StoreError> {
    let taken = sqlx::query(
        "INSERT INTO inbound_emails (workspace_id, email_key, message_id, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, email_key) DO NOTHING",
    )
    .bind(message.workspace_id.as_uuid())
    .bind(key)
    .bind(message.id.as_uuid())
    .bind(ms(message.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(taken.rows_affected() == 1)
}

/// A message that passed every check, with its conversation as the message
/// leaves it.
struct Accepted {
    index: usize,
    new: NewMessage,
    conversation: Conversation,
}

/// Whether `news` are messages of one workspace, each new conversation its
/// own (what `append_messages` takes; it refuses the whole call otherwise).
pub(crate) fn shape_ok(news: &[NewMessage]) -> bool {
    let Some(first) = news.first() else {
        return true;
    };
    let ws = first.message.workspace_id;
    news.iter().all(|n| {
        n.message.workspace_id == ws
            && n.new_conversation.as_ref().is_none_or(|c| {
                c.id == n.message.conversation_id
                    && c.workspace_id == ws
                    && c.contact_id == n.contact_id
            })
    })
}

/// Stores messages of one workspace (see `ConversationStore::append_messages`):
/// first every check, a statement per 500 messages (contacts of new
/// conversations, existing conversations, bulk recipients) and one per
/// emailed reply; then the accepted messages' rows, a few statements per 500.
/// How long after a contact starts a conversation the team is emailed,
/// if nobody is online by then: the conversations of that time go in one
/// email.
const TEAM_DIGEST_AFTER_MILLIS: i64 = 2 * 60_000;

pub(crate) async fn append_messages(
    conn: &mut Conn,
    news: Vec<NewMessage>,
) -> Result<Vec<Result<StoredMessage, StoreError>>, StoreError> {
    let Some(first) = news.first() else {
        return Ok(Vec::new());
    };
    let ws = first.message.workspace_id;
    if !shape_ok(&news) {
        return Err(StoreError::Other(
            "append_messages takes messages of one workspace, each new conversation its own".into(),
        ));
    }

    // The checks.
    let new_contacts: Vec<Uuid> = news
        .iter()
        .filter(|n| n.new_conversation.is_some())
        .map(|n| n.contact_id.as_uuid())
        .collect();
    let contacts = existing_contacts(conn, ws, &new_contacts).await?;
    let mut existing: Vec<Uuid> = news
        .iter()
        .filter(|n| n.new_conversation.is_none())
        .map(|n| n.message.conversation_id.as_uuid())
        .collect();
    existing.sort_unstable();
    existing.dedup();
    let mut conversations = locked_conversations(conn, ws, &existing).await?;
    let mut pending = HashMap::new();
    let sends: std::collections::BTreeSet<BulkSendId> =
        news.iter().filter_map(|n| n.bulk_send).collect();
    for send in sends {
        let listed: Vec<Uuid> = news
            .iter()
            .filter(|n| n.bulk_send == Some(send))
            .map(|n| n.contact_id.as_uuid())
            .collect();
        let found = pending_recipients(conn, ws, send.as_uuid(), &listed).await?;
        pending.insert(send, found);
    }

    let mut results: Vec<Option<Result<StoredMessage, StoreError>>> = Vec::new();
    let mut accepted: Vec<Accepted> = Vec::new();
    for (index, new) in news.into_iter().enumerate() {
        results.push(None);
        let contact = new.contact_id.as_uuid();
        let current = match &new.new_conversation {
            Some(started) if contacts.contains(&contact) => Some(started.clone()),
            Some(_) => None,
            // Someone else's conversation does not exist for this contact.
            None => conversations
                .get(&new.message.conversation_id.as_uuid())
                .filter(|c| c.contact_id == new.contact_id)
                .cloned(),
        };
        let Some(current) = current else {
            results[index] = Some(Err(StoreError::NotFound));
            continue;
        };
        if let Some(send) = new.bulk_send
            && !pending.get_mut(&send).is_some_and(|p| p.remove(&contact))
        {
            results[index] = Some(Err(StoreError::Conflict(
                "this recipient was sent already, or the bulk send stopped".into(),
            )));
            continue;
        }
        if !new.message.attachments.is_empty() && !claim_attachments(conn, &new.message).await? {
            results[index] = Some(Err(StoreError::Conflict(
                "an attachment is not the sender's to send, or was sent already".into(),
            )));
            continue;
        }
        if let Some(key) = &new.email_key
            && !claim_email_key(conn, &new.message, key).await?
        {
            results[index] = Some(Err(StoreError::Conflict(
                "this email was already received".into(),
            )));
            continue;
        }
        let conversation = current.with_message(&new.message);
        if new.new_conversation.is_none() {
            // The next message of this batch to the same conversation
            // starts from this one's state.
            conversations.insert(conversation.id.as_uuid(), conversation.clone());
        }
        accepted.push(Accepted {
            index,
            new,
            conversation,
        });
    }

    for chunk in accepted.chunks(CHUNK) {
        for (index, stored) in write_chunk(conn, ws, chunk).await? {
            results[index] = Some(Ok(stored));
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StoreError::Other("a message was left out".into()))))
        .collect())
}

/// Inserts the conversations (`existing`: saves their state instead) in
/// one statement. The state of existing ones is saved as an insert that
/// meets their key and updates, one primary-key probe each: one statement
/// for the chunk instead of an `UPDATE` per conversation (each a round
/// trip on PostgreSQL), and no `UPDATE ... FROM` a list of values (see
/// the bulk marks below). Every existing one was read in this
/// transaction, in its workspace, so none is inserted.
async fn write_conversations(
    conn: &mut Conn,
    conversations: &[&Conversation],
    existing: bool,
) -> Result<(), StoreError> {
    if conversations.is_empty() {
        return Ok(());
    }
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO conversations (id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, created_at, updated_at) ",
    );
    sql.push_values(conversations, |mut row, c| {
        row.push_bind(c.id.as_uuid())
            .push_bind(c.workspace_id.as_uuid())
            .push_bind(c.contact_id.as_uuid())
            .push_bind(c.status.as_str())
            .push_bind(c.assignee_id.map(|a| a.as_uuid()))
            .push_bind(c.snoozed_until.map(ms))
            .push_bind(c.waiting_since.map(ms))
            .push_bind(ms(c.created_at))
            .push_bind(ms(c.updated_at));
    });
    if existing {
        sql.push(
            " ON CONFLICT (id) DO UPDATE SET
                status = excluded.status, assignee_id = excluded.assignee_id,
                snoozed_until = excluded.snoozed_until, waiting_since = excluded.waiting_since,
                updated_at = excluded.updated_at",
        );
    }
    sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

/// Claims the message's attachments for it: each must be its sender's and
/// unsent. Checked (and locked, on PostgreSQL) before any is changed, so a
/// refused message changes none.
async fn claim_attachments(conn: &mut Conn, message: &Message) -> Result<bool, StoreError> {
    let (kind, uploader) = match message.author {
        Author::Agent(id) => ("agent", id.as_uuid()),
        Author::Contact(id) => ("contact", id.as_uuid()),
        Author::Bot => return Ok(false),
    };
    let ids: Vec<Uuid> = message.attachments.iter().map(|a| a.id.as_uuid()).collect();
    let mut sql = QueryBuilder::<Db>::new("SELECT id FROM attachments WHERE workspace_id = ");
    sql.push_bind(message.workspace_id.as_uuid())
        .push(" AND message_id IS NULL AND uploader_type = ")
        .push_bind(kind)
        .push(" AND uploader_id = ")
        .push_bind(uploader)
        .push(" AND id IN (");
    let mut list = sql.separated(", ");
    for id in &ids {
        list.push_bind(*id);
    }
    sql.push(")").push(ROW_LOCK);
    let found = sql.build().fetch_all(&mut *conn).await.map_err(db_err)?;
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if found.len() != distinct.len() || distinct.len() != ids.len() {
        return Ok(false);
    }
    let mut sql = QueryBuilder::<Db>::new("UPDATE attachments SET message_id = ");
    sql.push_bind(message.id.as_uuid())
        .push(", conversation_id = ")
        .push_bind(message.conversation_id.as_uuid())
        .push(" WHERE workspace_id = ")
        .push_bind(message.workspace_id.as_uuid())
        .push(" AND id IN (");
    let mut list = sql.separated(", ");
    for id in &ids {
        list.push_bind(*id);
    }
    sql.push(")");
    sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(true)
}

/// The reports' summaries: a row per conversation the chunk starts (its
/// channel from its first message), and the first reply by a person of
/// the team (not an automation in their name) to the visitor-started
/// conversations it answers (one statement per sender and
/// time: a chunk's replies usually share both).
async fn write_stats(
    conn: &mut Conn,
    ws: WorkspaceId,
    chunk: &[Accepted],
) -> Result<(), StoreError> {
    let started: Vec<&Accepted> = chunk
        .iter()
        .filter(|a| a.new.new_conversation.is_some())
        .collect();
    if !started.is_empty() {
        let mut sql = QueryBuilder::<Db>::new(
            "INSERT INTO conversation_stats \
             (conversation_id, workspace_id, channel, started_at, assignee_id) ",
        );
        sql.push_values(&started, |mut row, a| {
            let message = &a.new.message;
            let channel = Channel::of_first(
                message.author,
                message.origin.as_ref(),
                a.new.bulk_send.is_some(),
            );
            row.push_bind(a.conversation.id.as_uuid())
                .push_bind(ws.as_uuid())
                .push_bind(channel.as_str())
                .push_bind(ms(a.conversation.created_at))
                // As the conversation stands once the whole chunk is
                // written: a later message of the chunk may have assigned it.
                .push("(SELECT assignee_id FROM conversations WHERE id = ")
                .push_bind_unseparated(a.conversation.id.as_uuid())
                .push_unseparated(")");
        });
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    // A person's reply: a member's comment, not an automation's message
    // sent in their name. The earliest per conversation.
    let mut first: HashMap<Uuid, (i64, Uuid)> = HashMap::new();
    for a in chunk.iter().filter(|a| a.new.new_conversation.is_none()) {
        let message = &a.new.message;
        if let (Author::Agent(agent), PartKind::Comment, None) =
            (message.author, message.kind, &message.origin)
        {
            let reply = (ms(message.created_at), agent.as_uuid());
            first
                .entry(a.conversation.id.as_uuid())
                .and_modify(|held| *held = (*held).min(reply))
                .or_insert(reply);
        }
    }
    let mut replies: HashMap<(Uuid, i64), Vec<Uuid>> = HashMap::new();
    for (conversation, (at, agent)) in first {
        replies.entry((agent, at)).or_default().push(conversation);
    }
    for ((agent, at), conversations) in replies {
        let mut sql = QueryBuilder::<Db>::new("UPDATE conversation_stats SET first_response_at = ");
        sql.push_bind(at)
            .push(", first_responder_id = ")
            .push_bind(agent)
            .push(
                " WHERE first_response_at IS NULL AND channel = 'widget' AND conversation_id IN (",
            );
        let mut list = sql.separated(", ");
        for id in conversations {
            list.push_bind(id);
        }
        sql.push(")");
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

/// Writes up to `CHUNK` accepted messages: their new conversations, the
/// messages, the states of existing conversations, the bulk recipient
/// marks, the activity entries and then (after the log append, under its
/// lock on PostgreSQL, so that an email job settling a conversation either
/// sees its new message pending and stays, or is gone before this insert
/// looks for it) the email jobs.
async fn write_chunk(
    conn: &mut Conn,
    ws: WorkspaceId,
    chunk: &[Accepted],
) -> Result<Vec<(usize, StoredMessage)>, StoreError> {
    let started: Vec<&Conversation> = chunk
        .iter()
        .filter(|a| a.new.new_conversation.is_some())
        .map(|a| &a.conversation)
        .collect();
    write_conversations(conn, &started, false).await?;

    let states: Vec<_> = chunk
        .iter()
        .map(|a| email_state(&a.new.message, a.new.email.as_ref()))
        .collect();
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO messages (id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at, email_status, origin, attachments, bulk_send_id) ",
    );
    sql.push_values(
        chunk.iter().zip(&states),
        |mut row, (a, (email_status, _))| {
            let message = &a.new.message;
            let (author_type, author_id) = match message.author {
                Author::Agent(id) => ("agent", Some(id.as_uuid())),
                Author::Contact(id) => ("contact", Some(id.as_uuid())),
                Author::Bot => ("bot", None),
            };
            row.push_bind(message.id.as_uuid())
                .push_bind(message.workspace_id.as_uuid())
                .push_bind(message.conversation_id.as_uuid())
                .push_bind(author_type)
                .push_bind(author_id)
                .push_bind(message.kind.as_str())
                .push_bind(message.body.clone())
                .push_bind(ms(message.created_at))
                .push_bind(*email_status)
                .push_bind(message.origin.clone().map(Json))
                .push_bind(
                    (!message.attachments.is_empty()).then(|| Json(message.attachments.clone())),
                )
                .push_bind(a.new.bulk_send.map(|send| send.as_uuid()));
        },
    );
    sql.build().execute(&mut *conn).await.map_err(db_err)?;

    // Each existing conversation once, in the state its last message of
    // the chunk leaves it.
    let mut last_state: HashMap<Uuid, &Conversation> = HashMap::new();
    for a in chunk.iter().filter(|a| a.new.new_conversation.is_none()) {
        last_state.insert(a.conversation.id.as_uuid(), &a.conversation);
    }
    let changed: Vec<&Conversation> = last_state.into_values().collect();
    write_conversations(conn, &changed, true).await?;
    write_stats(conn, ws, chunk).await?;

    let marks: Vec<(BulkSendId, &Accepted)> = chunk
        .iter()
        .filter_map(|a| a.new.bulk_send.map(|send| (send, a)))
        .collect();
    if !marks.is_empty() {
        // Every row exists (each was found pending above, in this
        // transaction), so the insert always meets its key and updates:
        // one primary-key probe per mark. An `UPDATE ... FROM` a list of
        // values let SQLite 3.51 scan every recipient of every send instead,
        // so each send ran slower than the one before.
        let mut sql = QueryBuilder::<Db>::new(
            "INSERT INTO bulk_send_recipients
                (bulk_send_id, workspace_id, contact_id, message_id, conversation_id, sent_at) ",
        );
        sql.push_values(&marks, |mut row, (send, a)| {
            row.push_bind(send.as_uuid())
                .push_bind(ws.as_uuid())
                .push_bind(a.new.contact_id.as_uuid())
                .push_bind(a.new.message.id.as_uuid())
                .push_bind(a.new.message.conversation_id.as_uuid())
                .push_bind(ms(a.new.message.created_at));
        });
        sql.push(
            " ON CONFLICT (bulk_send_id, contact_id) DO UPDATE SET
                message_id = excluded.message_id, conversation_id = excluded.conversation_id,
                sent_at = excluded.sent_at",
        );
        sql.build().execute(&mut *conn).await.map_err(db_err)?;
    }

    let conversation_started = Activity::ConversationStarted;
    let entries: Vec<(Activity, Option<Activity>, Option<Activity>)> = chunk
        .iter()
        .zip(states)
        .map(|(a, (_, skipped))| {
            (
                Activity::Message(a.new.message.clone()),
                skipped,
                a.new
                    .bulk_send
                    .map(|bulk_send_id| Activity::BulkSendReceived { bulk_send_id }),
            )
        })
        .collect();
    let mut rows: Vec<LogRow<'_>> = Vec::with_capacity(chunk.len() * 4);
    for (a, (message, skipped, bulk)) in chunk.iter().zip(&entries) {
        let n = &a.new;
        let (contact, conversation, at) = (
            n.contact_id,
            Some(n.message.conversation_id),
            n.message.created_at,
        );
        if let Some(started) = &n.new_conversation {
            rows.push((
                contact,
                conversation,
                &conversation_started,
                started.created_at,
            ));
        }
        rows.push((contact, conversation, message, at));
        rows.extend(skipped.iter().map(|e| (contact, conversation, e, at)));
        rows.extend(bulk.iter().map(|e| (contact, conversation, e, at)));
    }
    let mut last_seq: HashMap<Option<Uuid>, i64> = HashMap::new();
    for (conversation, seq) in log_rows(conn, ws, &rows).await? {
        let last = last_seq.entry(conversation).or_insert(seq);
        *last = (*last).max(seq);
    }

    // Last, under the log lock (held to commit anyway), the sends'
    // counters: their row is the one thing two appends of one send both
    // write, so it is locked only while the log's is.
    let mut sent: HashMap<BulkSendId, i64> = HashMap::new();
    for (send, _) in &marks {
        *sent.entry(*send).or_default() += 1;
    }
    for (send, n) in sent {
        sqlx::query("UPDATE bulk_sends SET sent_count = sent_count + $2 WHERE id = $1")
            .bind(send.as_uuid())
            .bind(n)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }

    // A conversation a contact starts: the team is emailed about it (and
    // the others of the next minutes) if nobody is online by then
    // (`Job::TeamDigest`, one pending per workspace).
    let digest = chunk
        .iter()
        .find(|a| {
            a.new.new_conversation.is_some() && matches!(a.new.message.author, Author::Contact(_))
        })
        .map(|a| NewJob {
            id: JobId::generate(),
            workspace_id: ws,
            job: Job::TeamDigest { workspace_id: ws },
            due_at: Timestamp::from_millis(
                a.new.message.created_at.as_millis() + TEAM_DIGEST_AFTER_MILLIS,
            ),
            request_id: rapport_core::request_id::current(),
        });
    let jobs: Vec<&NewJob> = chunk
        .iter()
        .filter_map(|a| match &a.new.email {
            Some(EmailPlan::Schedule(job)) => Some(job),
            _ => None,
        })
        .chain(digest.as_ref())
        .collect();
    // The jobs under the log lock too: an email job settling meanwhile
    // holds it while it looks for its conversation's pending messages,
    // so a message it could not see yet inserts its job after the settle
    // has deleted the old one (see `settle_emails`).
    if let Some(first) = chunk.first() {
        insert_jobs(conn, &jobs, first.new.message.created_at).await?;
    }

    chunk
        .iter()
        .map(|a| {
            let seq = last_seq
                .get(&Some(a.new.message.conversation_id.as_uuid()))
                .copied()
                .ok_or_else(|| StoreError::Other("a message was not logged".into()))?;
            Ok((
                a.index,
                StoredMessage {
                    message: a.new.message.clone(),
                    conversation: a.conversation.clone(),
                    seq,
                },
            ))
        })
        .collect()
}
