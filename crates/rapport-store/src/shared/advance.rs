//! One step of an automation run (`RunStore::advance_run`): its effect, its
//! log line, the run's new state and its timeline entry, in one
//! transaction fenced by the run's step count, so that a step is done once
//! however many times it is tried.

use super::*;
use rapport_core::model::automation::run::Run;

/// The run as the step found it, if the step is still to do: in the
/// workspace, going, at `from_step` and on the version the step was worked
/// out on. Else `Conflict`: the step was done (or the run ended, or moved
/// to a new version) meanwhile.
async fn fenced_run(conn: &mut Conn, advance: &RunAdvance) -> Result<Run, StoreError> {
    let moved_on = || StoreError::Conflict("the run has moved on".into());
    let run = match locked_run(conn, advance.workspace_id, advance.run_id).await {
        Err(StoreError::NotFound) => return Err(moved_on()),
        other => other?,
    };
    if run.step != advance.from_step || !run.status.is_going() || run.version != advance.log.version
    {
        return Err(moved_on());
    }
    Ok(run)
}

/// Writes a step's effects in order (`Effect::Many` flattened); returns
/// the last activity position written and the first message stored.
async fn apply_effect(
    conn: &mut Conn,
    workspace: WorkspaceId,
    contact: ContactId,
    effect: Effect,
    at: Timestamp,
) -> Result<(Option<i64>, Option<StoredMessage>), StoreError> {
    let mut queue = std::collections::VecDeque::from([effect]);
    let (mut last, mut first_message) = (None, None);
    // Bounded: a step plans a handful of effects, and each `Many` is
    // opened once.
    while let Some(effect) = queue.pop_front() {
        if let Effect::Many(effects) = effect {
            for (i, inner) in effects.into_iter().enumerate() {
                queue.insert(i, inner);
            }
            continue;
        }
        let (seq, message) = apply_one(conn, workspace, contact, effect, at).await?;
        last = last.max(seq);
        first_message = first_message.or(message);
    }
    Ok((last, first_message))
}

/// Writes one effect.
async fn apply_one(
    conn: &mut Conn,
    workspace: WorkspaceId,
    contact: ContactId,
    effect: Effect,
    at: Timestamp,
) -> Result<(Option<i64>, Option<StoredMessage>), StoreError> {
    match effect {
        Effect::None | Effect::Many(_) => Ok((None, None)),
        Effect::Message(new) => {
            if new.message.workspace_id != workspace || new.contact_id != contact {
                return Err(StoreError::Other(
                    "a run writes only to its own contact, in its own workspace".into(),
                ));
            }
            let stored = append_messages(conn, vec![*new])
                .await?
                .pop()
                .unwrap_or_else(|| Err(StoreError::Other("the message was left out".into())))?;
            Ok((Some(stored.seq), Some(stored)))
        }
        Effect::Contact { mut change, cause } => {
            change.workspace_id = workspace;
            let (_, seq) = update_contact_by_id(conn, contact, change, Some(cause), at).await?;
            Ok((seq, None))
        }
        Effect::Tag {
            tag,
            present,
            cause,
        } => {
            let (_, seq) =
                tag_contact_logged(conn, workspace, contact, tag, present, Some(cause), at).await?;
            Ok((seq, None))
        }
        Effect::Job(job) => {
            if job.workspace_id != workspace {
                return Err(StoreError::Other(
                    "a run enqueues jobs only in its own workspace".into(),
                ));
            }
            insert_jobs(conn, &[&job], at).await?;
            Ok((None, None))
        }
        Effect::Conversation { id, change, cause } => {
            let (_, seq) =
                change_conversation(conn, workspace, id, change, None, Some(cause), at).await?;
            Ok((seq, None))
        }
    }
}

/// `RunStore::advance_run`.
pub(super) async fn advance_run(
    conn: &mut Conn,
    advance: RunAdvance,
) -> Result<Advanced, StoreError> {
    let run = fenced_run(conn, &advance).await?;
    let ws = advance.workspace_id;
    let at = advance.log.at;
    let (effect_seq, message) = apply_effect(conn, ws, run.contact_id, advance.effect, at).await?;

    let line = &advance.log;
    sqlx::query(
        "INSERT INTO automation_run_log (run_id, step, workspace_id, automation_id, contact_id, version, node, kind, exit, detail, data, message_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(run.id.as_uuid())
    .bind(i64::from(advance.from_step))
    .bind(ws.as_uuid())
    .bind(run.automation_id.as_uuid())
    .bind(run.contact_id.as_uuid())
    .bind(i64::from(line.version))
    .bind(&line.node)
    .bind(&line.kind)
    .bind(&line.exit)
    .bind(&line.detail)
    .bind(Json(&line.data))
    // A message the contact sees counts as sent (and toward the daily
    // cap); a team note does not.
    .bind(
        message
            .as_ref()
            .filter(|m| m.message.kind == PartKind::Comment)
            .map(|m| m.message.id.as_uuid()),
    )
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;

    let next = &advance.next;
    let moved = sqlx::query(
        "UPDATE automation_runs SET node = $4, status = $5, wait_kind = $6, wait = $7,
           conversation_id = $8, ended_reason = $9, goal_reached = $10, step = $11, updated_at = $12
         WHERE workspace_id = $1 AND id = $2 AND step = $3",
    )
    .bind(ws.as_uuid())
    .bind(run.id.as_uuid())
    .bind(i64::from(advance.from_step))
    .bind(&next.node)
    .bind(next.status.as_str())
    .bind(wait_kind(next.wait.as_ref()))
    .bind(next.wait.as_ref().map(Json))
    .bind(next.conversation_id.map(|c| c.as_uuid()))
    .bind(&next.ended_reason)
    .bind(next.goal_reached)
    .bind(i64::from(advance.from_step) + 1)
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if moved.rows_affected() != 1 {
        return Err(StoreError::Conflict("the run has moved on".into()));
    }

    let timeline_seq = match &advance.timeline {
        Some(entry) => {
            let conversation = next.conversation_id.or(run.conversation_id);
            Some(log(conn, ws, run.contact_id, conversation, entry, at).await?)
        }
        None => None,
    };
    Ok(Advanced {
        seq: effect_seq.max(timeline_seq),
        message,
    })
}
