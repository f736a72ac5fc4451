//! The AI bot's settings, per-conversation state and answers (`BotStore`).
//! A turn is written whole (messages, assignment, state, answer) and only
//! if the state has not moved since the turn was worked out.

use super::*;
use rapport_core::model::bot::{BotConversation, BotPhase, BotSettings, Outcome};
use rapport_core::model::ids::ArticleId;

fn phase_str(phase: BotPhase) -> &'static str {
    match phase {
        BotPhase::Answering => "answering",
        BotPhase::AwaitingFeedback => "awaiting_feedback",
        BotPhase::HandedOver => "handed_over",
        BotPhase::Out => "out",
    }
}

fn phase_of(text: &str) -> Result<BotPhase, StoreError> {
    Ok(match text {
        "answering" => BotPhase::Answering,
        "awaiting_feedback" => BotPhase::AwaitingFeedback,
        "handed_over" => BotPhase::HandedOver,
        "out" => BotPhase::Out,
        other => {
            return Err(StoreError::Other(
                format!("unknown bot phase {other}").into(),
            ));
        }
    })
}

const STATE_COLUMNS: &str = "conversation_id, workspace_id, phase, handled_seq, unhelpful, answers, offered_person, last_answer_at, outcome, outcome_reason, updated_at";

fn state_from_row(row: &DbRow) -> Result<BotConversation, StoreError> {
    let count = |column: &str| -> Result<u32, StoreError> {
        u32::try_from(row.try_get::<i64, _>(column).map_err(db_err)?).map_err(data_err)
    };
    Ok(BotConversation {
        conversation_id: ConversationId::from_uuid(uuid(row, "conversation_id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        phase: phase_of(&text(row, "phase")?)?,
        handled_seq: row.try_get::<i64, _>("handled_seq").map_err(db_err)?,
        unhelpful: count("unhelpful")?,
        answers: count("answers")?,
        offered_person: row.try_get::<bool, _>("offered_person").map_err(db_err)?,
        last_answer_at: opt_ts(row, "last_answer_at")?,
        outcome: opt_text(row, "outcome")?
            .as_deref()
            .and_then(Outcome::parse),
        outcome_reason: opt_text(row, "outcome_reason")?,
        updated_at: ts(row, "updated_at")?,
    })
}

async fn state(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
    lock: bool,
) -> Result<Option<BotConversation>, StoreError> {
    let sql = format!(
        "SELECT {STATE_COLUMNS} FROM bot_conversations WHERE workspace_id = $1 AND conversation_id = $2{}",
        if lock { ROW_LOCK } else { "" }
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(workspace.as_uuid())
        .bind(conversation.as_uuid())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(state_from_row).transpose()
}

async fn save_settings(
    conn: &mut Conn,
    workspace: WorkspaceId,
    settings: BotSettings,
    at: Timestamp,
) -> Result<BotSettings, StoreError> {
    if settings.enabled {
        // Turned on: from now, not from the log's start.
        cursor_to_head_if_first(conn, workspace).await?;
    }
    sqlx::query(
        "INSERT INTO bot_settings (workspace_id, enabled, settings, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (workspace_id) DO UPDATE SET enabled = excluded.enabled, settings = excluded.settings, updated_at = excluded.updated_at",
    )
    .bind(workspace.as_uuid())
    .bind(settings.enabled)
    .bind(Json(&settings))
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(settings)
}

async fn write_state(
    conn: &mut Conn,
    s: &BotConversation,
    created: bool,
) -> Result<(), StoreError> {
    let sql = if created {
        "INSERT INTO bot_conversations (conversation_id, workspace_id, phase, handled_seq, unhelpful, answers, offered_person, last_answer_at, outcome, outcome_reason, updated_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"
    } else {
        "UPDATE bot_conversations SET phase = $3, handled_seq = $4, unhelpful = $5, answers = $6, offered_person = $7, last_answer_at = $8, outcome = $9, outcome_reason = $10, updated_at = $11
         WHERE conversation_id = $1 AND workspace_id = $2"
    };
    sqlx::query(sql)
        .bind(s.conversation_id.as_uuid())
        .bind(s.workspace_id.as_uuid())
        .bind(phase_str(s.phase))
        .bind(s.handled_seq)
        .bind(i64::from(s.unhelpful))
        .bind(i64::from(s.answers))
        .bind(s.offered_person)
        .bind(s.last_answer_at.map(ms))
        .bind(s.outcome.map(Outcome::as_str))
        .bind(s.outcome_reason.as_deref())
        .bind(ms(s.updated_at))
        .execute(&mut *conn)
        .await
        .map_err(|e| match db_err(e) {
            // Another turn created the state first.
            StoreError::Conflict(_) => StoreError::Conflict("the bot's turn was taken".into()),
            other => other,
        })?;
    Ok(())
}

pub(super) async fn bot_turn(conn: &mut Conn, turn: BotTurn) -> Result<Advanced, StoreError> {
    let ws = turn.workspace_id;
    let conversation = turn.next.conversation_id;
    if turn.next.workspace_id != ws {
        return Err(StoreError::Other(
            "a bot turn writes in its own workspace".into(),
        ));
    }
    let current = state(conn, ws, conversation, true).await?;
    if current.as_ref().map(|s| s.handled_seq) != turn.from_seq {
        return Err(StoreError::Conflict("the bot's turn was taken".into()));
    }
    let mut done = Advanced::default();
    for new in &turn.messages {
        if new.message.workspace_id != ws
            || new.contact_id != turn.contact_id
            || new.message.conversation_id != conversation
        {
            return Err(StoreError::Other(
                "the bot writes only in the conversation it answers".into(),
            ));
        }
    }
    for stored in append_messages(conn, turn.messages).await? {
        let stored = stored?;
        done.seq = done.seq.max(Some(stored.seq));
        done.message.get_or_insert(stored);
    }
    if let Some(change) = turn.change {
        let at = turn.next.updated_at;
        let (_, seq) = change_conversation(conn, ws, conversation, change, None, None, at).await?;
        done.seq = done.seq.max(seq);
    }
    let jobs: Vec<&NewJob> = turn.jobs.iter().filter(|j| j.workspace_id == ws).collect();
    insert_jobs(conn, &jobs, turn.next.updated_at).await?;
    write_state(conn, &turn.next, current.is_none()).await?;
    if let Some(answer) = turn.answer {
        sqlx::query(
            "INSERT INTO bot_answers (workspace_id, conversation_id, question, article_id, confidence, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ws.as_uuid())
        .bind(answer.conversation_id.as_uuid())
        .bind(&answer.question)
        .bind(answer.article_id.map(|a| a.as_uuid()))
        .bind(answer.confidence)
        .bind(ms(answer.at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(done)
}

pub(super) async fn settle_outcome(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
    answered_at: Timestamp,
    outcome: Outcome,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE bot_conversations SET outcome = $4, updated_at = $5
         WHERE workspace_id = $1 AND conversation_id = $2 AND last_answer_at = $3
           AND outcome IS NULL AND phase IN ('answering', 'awaiting_feedback')",
    )
    .bind(workspace.as_uuid())
    .bind(conversation.as_uuid())
    .bind(ms(answered_at))
    .bind(outcome.as_str())
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

/// The day (`YYYY-MM-DD`) of a time, `offset` minutes east of UTC.
fn day_of(at: i64, offset_minutes: i32) -> String {
    let local = at + i64::from(offset_minutes) * 60_000;
    Timestamp::from_millis(local.div_euclid(86_400_000) * 86_400_000)
        .to_string()
        .chars()
        .take(10)
        .collect()
}

async fn report(
    conn: &mut Conn,
    workspace: WorkspaceId,
    query: ReportQuery,
) -> Result<BotReport, StoreError> {
    let (from, to) = (ms(query.from), ms(query.to));
    // The bot's conversations of the period, by the day they began; each
    // counted once, under its outcome (at most one).
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT created_at, outcome FROM bot_conversations
         WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 AND phase <> 'out'
         ORDER BY created_at LIMIT 1000000",
    )
    .bind(workspace.as_uuid())
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut days: Vec<BotDay> = Vec::new();
    for (at, outcome) in rows {
        let day = day_of(at, query.utc_offset_minutes);
        if days.last().is_none_or(|d| d.day != day) {
            days.push(BotDay {
                day,
                ..BotDay::default()
            });
        }
        let Some(entry) = days.last_mut() else {
            continue;
        };
        entry.conversations += 1;
        match outcome.as_deref().and_then(Outcome::parse) {
            Some(Outcome::ResolvedConfirmed) => entry.resolved_confirmed += 1,
            Some(Outcome::ResolvedAssumed) => entry.resolved_assumed += 1,
            Some(Outcome::HandedOver) => entry.handed_over += 1,
            Some(Outcome::Unanswered) => entry.unanswered += 1,
            None => {}
        }
    }
    let unanswered: Vec<(String, i64)> = sqlx::query_as(
        "SELECT LOWER(question) AS q, COUNT(*) AS n FROM bot_answers
         WHERE workspace_id = $1 AND at >= $2 AND at < $3 AND article_id IS NULL
         GROUP BY LOWER(question) ORDER BY n DESC, q LIMIT 20",
    )
    .bind(workspace.as_uuid())
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let articles: Vec<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT b.article_id, COALESCE(a.title, '(deleted)'), COUNT(*) AS n FROM bot_answers b
         LEFT JOIN articles a ON a.id = b.article_id
         WHERE b.workspace_id = $1 AND b.at >= $2 AND b.at < $3 AND b.article_id IS NOT NULL
         GROUP BY b.article_id, a.title ORDER BY n DESC LIMIT 20",
    )
    .bind(workspace.as_uuid())
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(BotReport {
        days,
        unanswered: unanswered.into_iter().map(|(q, n)| (q, count(n))).collect(),
        articles: articles
            .into_iter()
            .map(|(id, title, n)| (ArticleId::from_uuid(id), title, count(n)))
            .collect(),
    })
}

#[async_trait]
impl BotStore for Backend {
    async fn bot_settings(&self, workspace: WorkspaceId) -> Result<BotSettings, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        let found: Option<Json<BotSettings>> =
            sqlx::query_scalar("SELECT settings FROM bot_settings WHERE workspace_id = $1")
                .bind(workspace.as_uuid())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
        Ok(found.map(|j| j.0).unwrap_or_default())
    }

    async fn save_bot_settings(
        &self,
        workspace: WorkspaceId,
        settings: BotSettings,
        at: Timestamp,
    ) -> Result<BotSettings, StoreError> {
        self.write(op!(save_settings, workspace, settings, at))
            .await
    }

    async fn bot_conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<BotConversation>, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        state(&mut conn, workspace, conversation, false).await
    }

    async fn bot_engaged(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
    ) -> Result<Vec<ConversationId>, StoreError> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        let ids: Vec<Uuid> = conversations.iter().map(ConversationId::as_uuid).collect();
        let mut found = Vec::new();
        for chunk in ids.chunks(500) {
            let mut sql = QueryBuilder::<Db>::new(
                "SELECT conversation_id FROM bot_conversations WHERE phase IN ('answering', 'awaiting_feedback') AND workspace_id = ",
            );
            sql.push_bind(workspace.as_uuid())
                .push(" AND conversation_id IN ");
            push_ids(&mut sql, chunk);
            found.extend(
                fetch_ids(sql, &mut conn)
                    .await?
                    .into_iter()
                    .map(ConversationId::from_uuid),
            );
        }
        Ok(found)
    }

    async fn bot_turn(&self, turn: BotTurn) -> Result<Advanced, StoreError> {
        self.write(op!(bot_turn, turn)).await
    }

    async fn settle_bot_outcome(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        answered_at: Timestamp,
        outcome: Outcome,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(op!(
            settle_outcome,
            workspace,
            conversation,
            answered_at,
            outcome,
            at
        ))
        .await
    }

    async fn bot_report(
        &self,
        workspace: WorkspaceId,
        query: ReportQuery,
    ) -> Result<BotReport, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        report(&mut conn, workspace, query).await
    }
}
