//! Contacts' ratings of their closed conversations: the rating and its
//! timeline entry in one transaction, one per conversation.

use super::*;
use rapport_core::model::conversation::ConversationStatus;
use rapport_core::model::rating::Rating;

fn rating_from_row(row: &DbRow) -> Result<Rating, StoreError> {
    Ok(Rating {
        conversation_id: ConversationId::from_uuid(uuid(row, "conversation_id")?),
        contact_id: ContactId::from_uuid(uuid(row, "contact_id")?),
        score: u8::try_from(row.try_get::<i64, _>("score").map_err(db_err)?).map_err(data_err)?,
        comment: opt_text(row, "comment")?,
        created_at: ts(row, "created_at")?,
    })
}

async fn rate(
    conn: &mut Conn,
    workspace: WorkspaceId,
    contact: ContactId,
    id: ConversationId,
    score: u8,
    comment: Option<String>,
    at: Timestamp,
) -> Result<Rating, StoreError> {
    let conversation = match locked_conversation(conn, workspace, id).await {
        Ok(found) if found.contact_id == contact => found,
        Ok(_) | Err(StoreError::NotFound) => return Err(StoreError::NotFound),
        Err(other) => return Err(other),
    };
    if conversation.status != ConversationStatus::Closed {
        return Err(StoreError::Conflict(
            "a conversation is rated once it is closed".into(),
        ));
    }
    let inserted = sqlx::query(
        "INSERT INTO conversation_ratings (conversation_id, workspace_id, contact_id, score, comment, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (conversation_id) DO NOTHING",
    )
    .bind(id.as_uuid())
    .bind(workspace.as_uuid())
    .bind(contact.as_uuid())
    .bind(i64::from(score))
    .bind(&comment)
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::Conflict(
            "this conversation is rated already".into(),
        ));
    }
    let entry = Activity::Rated {
        score,
        comment: comment.clone(),
    };
    log(conn, workspace, contact, Some(id), &entry, at).await?;
    Ok(Rating {
        conversation_id: id,
        contact_id: contact,
        score,
        comment,
        created_at: at,
    })
}

#[async_trait]
impl RatingStore for Backend {
    async fn rate_conversation(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        conversation: ConversationId,
        score: u8,
        comment: Option<String>,
        at: Timestamp,
    ) -> Result<Rating, StoreError> {
        self.write(op!(
            rate,
            workspace,
            contact,
            conversation,
            score,
            comment,
            at
        ))
        .await
    }

    async fn conversation_rating(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<Rating>, StoreError> {
        sqlx::query(
            "SELECT conversation_id, contact_id, score, comment, created_at FROM conversation_ratings
             WHERE workspace_id = $1 AND conversation_id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(conversation.as_uuid())
        .fetch_optional(self.reader())
        .await
        .map_err(db_err)?
        .as_ref()
        .map(rating_from_row)
        .transpose()
    }
}
