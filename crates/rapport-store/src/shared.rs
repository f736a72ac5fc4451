// The queries both backends run, included by `sqlite.rs` and `postgres.rs`.
// Each includer defines `Db` (the sqlx database), `Conn` (its connection),
// `Backend` (its store type, with `reader()` and `write()`), the macro
// `for_update!` (row locks where the backend has them) and `LOG_LOCK` (the
// statement, if any, that orders appends to a workspace's activity log).
// Placeholders are `$N`, which both drivers accept; ids are UUIDs, times Unix
// milliseconds.

use async_trait::async_trait;
use futures::future::BoxFuture;
use rapport_core::Timestamp;
use rapport_core::activity::{Activity, ActivityEntry};
use rapport_core::agent::{Agent, ApiToken, Email, NewAgent, NewToken, Principal, Role};
use rapport_core::bulk::{Audience, BulkSend, BulkStatus, NewBulkSend};
use rapport_core::contact::{
    Contact, ContactUpsert, MAX_WORKSPACE_PROPERTIES, PropType, PropTypes, PropertySetting,
    SystemProps, WIDGET_SESSION_IDLE_MILLIS,
};
use rapport_core::conversation::{
    AssigneeFilter, Author, Conversation, ConversationChange, ConversationQuery, ConversationSort,
    Message, PartKind,
};
use rapport_core::email::{EmailPlan, EmailSettings};
use rapport_core::ids::{
    AgentId, BulkSendId, ContactId, ConversationId, JobId, MessageId, SegmentId, TokenId,
    WorkspaceId,
};
use rapport_core::job::{Job, NewJob};
use rapport_core::store::{
    AgentSession, ClaimedJob, ContactPage, ContactSearch, EmailSettlement, EventSummary,
    MessageContext, NewEvent, NewMessage, PeopleSchema, ReplyTarget, Segment, Store, StoreError,
    StoredMessage, Stream, TimelineQuery,
};
use rapport_core::validation::ValidationError;
use rapport_core::workspace::{NewWorkspace, Workspace, WorkspaceSettings};
use sea_query_sqlx::SqlxBinder;
use sqlx::types::Json;
use sqlx::{Database, QueryBuilder, Row};
use uuid::Uuid;

use crate::{data_err, db_err};

type DbRow = <Db as Database>::Row;

/// Wraps a query function for `Backend::write` as a closure that can run
/// more than once (SQLite's writer may redo a batch), each run on its own
/// copy of the arguments.
macro_rules! op {
    ($f:path $(, $arg:expr)*) => {
        move |conn: &mut Conn| -> BoxFuture<'_, Result<_, StoreError>> {
            Box::pin($f(conn $(, Clone::clone(&$arg))*))
        }
    };
}

fn ms(at: Timestamp) -> i64 {
    at.as_millis()
}

fn ts(row: &DbRow, column: &str) -> Result<Timestamp, StoreError> {
    row.try_get::<i64, _>(column)
        .map(Timestamp::from_millis)
        .map_err(db_err)
}

fn opt_ts(row: &DbRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(row
        .try_get::<Option<i64>, _>(column)
        .map_err(db_err)?
        .map(Timestamp::from_millis))
}

fn uuid(row: &DbRow, column: &str) -> Result<Uuid, StoreError> {
    row.try_get::<Uuid, _>(column).map_err(db_err)
}

fn opt_uuid(row: &DbRow, column: &str) -> Result<Option<Uuid>, StoreError> {
    row.try_get::<Option<Uuid>, _>(column).map_err(db_err)
}

fn text(row: &DbRow, column: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(column).map_err(db_err)
}

fn opt_text(row: &DbRow, column: &str) -> Result<Option<String>, StoreError> {
    row.try_get::<Option<String>, _>(column).map_err(db_err)
}

fn parsed<T: std::str::FromStr<Err = String>>(row: &DbRow, column: &str) -> Result<T, StoreError> {
    text(row, column)?
        .parse()
        .map_err(|e: String| StoreError::Other(e.into()))
}

fn json(row: &DbRow, column: &str) -> Result<serde_json::Value, StoreError> {
    Ok(row
        .try_get::<Json<serde_json::Value>, _>(column)
        .map_err(db_err)?
        .0)
}

// ---- workspaces, agents, tokens -------------------------------------------

const WORKSPACE_COLUMNS: &str = "id, name, app_id, identity_secret, previous_identity_secret, previous_identity_secret_until, identity_verification, allowed_origins, email_fallback_enabled, email_fallback_delay_minutes, email_from_address, bulk_sends_admins_only, created_at";

/// Reads a workspace from columns named `{prefix}id`, `{prefix}name`, ...
/// (a prefix tells joined tables' columns apart).
fn workspace_from_row(row: &DbRow, prefix: &str) -> Result<Workspace, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Workspace {
        id: WorkspaceId::from_uuid(uuid(row, &col("id"))?),
        name: text(row, &col("name"))?,
        app_id: text(row, &col("app_id"))?,
        identity_secret: text(row, &col("identity_secret"))?,
        previous_identity_secret: match (
            opt_text(row, &col("previous_identity_secret"))?,
            opt_ts(row, &col("previous_identity_secret_until"))?,
        ) {
            (Some(secret), Some(until)) => Some((secret, until)),
            _ => None,
        },
        identity_verification: row
            .try_get(col("identity_verification").as_str())
            .map_err(db_err)?,
        allowed_origins: row
            .try_get::<Json<Vec<String>>, _>(col("allowed_origins").as_str())
            .map_err(db_err)?
            .0,
        email: EmailSettings {
            fallback_enabled: row
                .try_get(col("email_fallback_enabled").as_str())
                .map_err(db_err)?,
            fallback_delay_minutes: u8::try_from(
                row.try_get::<i64, _>(col("email_fallback_delay_minutes").as_str())
                    .map_err(db_err)?,
            )
            .map_err(data_err)?,
            from_address: opt_text(row, &col("email_from_address"))?,
        },
        bulk_sends_admins_only: row
            .try_get(col("bulk_sends_admins_only").as_str())
            .map_err(db_err)?,
        created_at: ts(row, &col("created_at"))?,
    })
}

/// Reads an agent from columns named `{prefix}id`, `{prefix}email`, ...
fn agent_from_row(row: &DbRow, prefix: &str) -> Result<Agent, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Agent {
        id: AgentId::from_uuid(uuid(row, &col("id"))?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, &col("workspace_id"))?),
        email: Email::from_stored(text(row, &col("email"))?),
        name: text(row, &col("name"))?,
        role: parsed(row, &col("role"))?,
        created_at: ts(row, &col("created_at"))?,
    })
}

fn token_from_row(row: &DbRow) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: TokenId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        agent_id: AgentId::from_uuid(uuid(row, "agent_id")?),
        created_by: AgentId::from_uuid(uuid(row, "created_by")?),
        name: text(row, "name")?,
        created_at: ts(row, "created_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
    })
}

/// `first_run`: the installation row must not exist yet (the setup page);
/// otherwise it is added if missing (the CLI), so that once any workspace
/// exists the setup page can never create another.
async fn bootstrap_workspace(
    conn: &mut Conn,
    new: NewWorkspace,
    first_run: bool,
) -> Result<(), StoreError> {
    let ws = &new.workspace;
    let installation = if first_run {
        "INSERT INTO installation (id, created_at) VALUES (1, $1)"
    } else {
        "INSERT INTO installation (id, created_at) VALUES (1, $1) ON CONFLICT (id) DO NOTHING"
    };
    sqlx::query(installation)
        .bind(ms(ws.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "INSERT INTO workspaces (id, name, app_id, identity_secret, identity_verification, allowed_origins,
                                 email_fallback_enabled, email_fallback_delay_minutes, email_from_address, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(ws.id.as_uuid())
    .bind(&ws.name)
    .bind(&ws.app_id)
    .bind(&ws.identity_secret)
    .bind(ws.identity_verification)
    .bind(Json(&ws.allowed_origins))
    .bind(ws.email.fallback_enabled)
    .bind(i64::from(ws.email.fallback_delay_minutes))
    .bind(&ws.email.from_address)
    .bind(ms(ws.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    insert_agent(conn, &new.owner).await?;
    insert_token(conn, &new.token).await?;
    Ok(())
}

async fn insert_agent(conn: &mut Conn, new: &NewAgent) -> Result<Agent, StoreError> {
    let a = &new.agent;
    sqlx::query(
        "INSERT INTO agents (id, workspace_id, email, name, role, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.id.as_uuid())
    .bind(a.workspace_id.as_uuid())
    .bind(a.email.as_str())
    .bind(&a.name)
    .bind(a.role.as_str())
    .bind(&new.password_hash)
    .bind(ms(a.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(a.clone())
}

async fn create_agent(conn: &mut Conn, new: NewAgent) -> Result<Agent, StoreError> {
    if new.agent.role == Role::Owner {
        return Err(StoreError::Conflict("a workspace has one owner".into()));
    }
    insert_agent(conn, &new).await
}

async fn insert_token(conn: &mut Conn, new: &NewToken) -> Result<ApiToken, StoreError> {
    let t = &new.token;
    sqlx::query(
        "INSERT INTO api_tokens (id, workspace_id, agent_id, name, secret_hash, created_at, created_by)
         SELECT $1, $2, $3, $4, $5, $6, $7 FROM agents a
         WHERE a.workspace_id = $2 AND a.id = $3 AND a.removed_at IS NULL
           AND EXISTS (SELECT 1 FROM agents c WHERE c.workspace_id = $2 AND c.id = $7 AND c.removed_at IS NULL)",
    )
    .bind(t.id.as_uuid())
    .bind(t.workspace_id.as_uuid())
    .bind(t.agent_id.as_uuid())
    .bind(&t.name)
    .bind(&new.secret_hash[..])
    .bind(ms(t.created_at))
    .bind(t.created_by.as_uuid())
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .and_then(|done| {
        if done.rows_affected() == 1 {
            Ok(t.clone())
        } else {
            Err(StoreError::NotFound)
        }
    })
}

async fn create_token(conn: &mut Conn, new: NewToken) -> Result<ApiToken, StoreError> {
    insert_token(conn, &new).await
}

async fn revoke_token(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: TokenId,
    at: Timestamp,
) -> Result<ApiToken, StoreError> {
    let row = sqlx::query(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3)
         WHERE workspace_id = $1 AND id = $2
         RETURNING id, workspace_id, agent_id, COALESCE(created_by, agent_id) AS created_by, name,
                   created_at, revoked_at",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(ms(at))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    token_from_row(&row)
}

// ---- contacts and events ---------------------------------------------------

/// Every column of `contacts`, for statements that must be literals.
macro_rules! contact_columns {
    () => {
        "id, workspace_id, user_id, email, email_verified, name, phone, props, unsubscribed_at, created_at,
         updated_at, first_seen_at, last_seen_at, sessions, country, city, browser, os, last_page, tags"
    };
}

const CONTACT_COLUMNS: &str = contact_columns!();

fn contact_from_row(row: &DbRow) -> Result<Contact, StoreError> {
    Ok(Contact {
        id: ContactId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        user_id: opt_text(row, "user_id")?,
        email: opt_text(row, "email")?.map(Email::from_stored),
        email_verified: row.try_get("email_verified").map_err(db_err)?,
        name: opt_text(row, "name")?,
        phone: opt_text(row, "phone")?,
        system: SystemProps {
            first_seen_at: opt_ts(row, "first_seen_at")?,
            last_seen_at: opt_ts(row, "last_seen_at")?,
            sessions: u32::try_from(row.try_get::<i64, _>("sessions").map_err(db_err)?)
                .map_err(data_err)?,
            country: opt_text(row, "country")?,
            city: opt_text(row, "city")?,
            browser: opt_text(row, "browser")?,
            os: opt_text(row, "os")?,
            last_page: opt_text(row, "last_page")?,
        },
        props: Contact::props_from_json(&json(row, "props")?),
        tags: row
            .try_get::<Json<Vec<String>>, _>("tags")
            .map_err(db_err)?
            .0,
        unsubscribed_at: opt_ts(row, "unsubscribed_at")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

/// The contact an upsert names: by `user_id`; else by email, if both the
/// upsert's email and the contact's are vouched for by the business (a
/// visitor's claimed email never finds anyone), among contacts without a
/// `user_id` when one was given (never re-keying another identified user).
async fn find_upsert_target(
    conn: &mut Conn,
    upsert: &ContactUpsert,
) -> Result<Option<Contact>, StoreError> {
    let ws = upsert.workspace_id.as_uuid();
    if let Some(user_id) = &upsert.user_id {
        let row = sqlx::query(for_update!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE workspace_id = $1 AND user_id = $2"
        ))
        .bind(ws)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
        if let Some(row) = row {
            return contact_from_row(&row).map(Some);
        }
    }
    let Some(email) = upsert.email.as_ref().filter(|_| upsert.email_verified) else {
        return Ok(None);
    };
    let row = sqlx::query(for_update!(
        "SELECT ",
        contact_columns!(),
        " FROM contacts WHERE workspace_id = $1 AND email = $2 AND email_verified
         AND ($3 OR user_id IS NULL)
         ORDER BY updated_at DESC, id DESC LIMIT 1"
    ))
    .bind(ws)
    .bind(email.as_str())
    .bind(upsert.user_id.is_none())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref().map(contact_from_row).transpose()
}

/// Writes every field of a contact: an insert, or an update of its row.
async fn save_contact(
    conn: &mut Conn,
    contact: &Contact,
    insert: bool,
) -> Result<bool, StoreError> {
    let sql = if insert {
        "INSERT INTO contacts (workspace_id, id, user_id, email, name, phone, props, updated_at,
            first_seen_at, last_seen_at, sessions, country, city, browser, os, last_page, tags,
            email_verified, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         ON CONFLICT DO NOTHING"
    } else {
        "UPDATE contacts SET user_id = $3, email = $4, name = $5, phone = $6, props = $7, updated_at = $8,
            first_seen_at = $9, last_seen_at = $10, sessions = $11, country = $12, city = $13,
            browser = $14, os = $15, last_page = $16, tags = $17, email_verified = $18
         WHERE workspace_id = $1 AND id = $2"
    };
    let s = &contact.system;
    let query = sqlx::query(sql)
        .bind(contact.workspace_id.as_uuid())
        .bind(contact.id.as_uuid())
        .bind(&contact.user_id)
        .bind(contact.email.as_ref().map(Email::as_str))
        .bind(&contact.name)
        .bind(&contact.phone)
        .bind(Json(contact.props_json()))
        .bind(ms(contact.updated_at))
        .bind(s.first_seen_at.map(ms))
        .bind(s.last_seen_at.map(ms))
        .bind(i64::from(s.sessions))
        .bind(&s.country)
        .bind(&s.city)
        .bind(&s.browser)
        .bind(&s.os)
        .bind(&s.last_page)
        .bind(Json(&contact.tags))
        .bind(contact.email_verified);
    // `created_at` is written once, by the insert.
    let query = if insert {
        query.bind(ms(contact.created_at))
    } else {
        query
    };
    let done = query.execute(&mut *conn).await.map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

/// The workspace's custom property types.
async fn load_types<'e, E>(executor: E, workspace: WorkspaceId) -> Result<PropTypes, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, type FROM property_types WHERE workspace_id = $1")
            .bind(workspace.as_uuid())
            .fetch_all(executor)
            .await
            .map_err(db_err)?;
    rows.into_iter()
        .map(|(name, ty)| {
            PropType::parse(&ty)
                .map(|ty| (name, ty))
                .ok_or_else(|| StoreError::Other(format!("unknown property type {ty:?}").into()))
        })
        .collect()
}

/// Records the types `after` has and `before` had not. A concurrent write
/// that fixed another type first wins, and this one is refused.
async fn save_new_types(
    conn: &mut Conn,
    workspace: WorkspaceId,
    before: &PropTypes,
    after: &PropTypes,
    now: Timestamp,
) -> Result<(), StoreError> {
    for (name, ty) in after.iter().filter(|(name, _)| !before.contains_key(*name)) {
        sqlx::query(
            "INSERT INTO property_types (workspace_id, name, type, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace_id, name) DO NOTHING",
        )
        .bind(workspace.as_uuid())
        .bind(name)
        .bind(ty.as_str())
        .bind(ms(now))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        let stored: String = sqlx::query_scalar(
            "SELECT type FROM property_types WHERE workspace_id = $1 AND name = $2",
        )
        .bind(workspace.as_uuid())
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
        if stored != ty.as_str() {
            return Err(ValidationError::field(
                format!("props.{name}"),
                format!("this property holds {stored} values"),
            )
            .into());
        }
    }
    Ok(())
}

/// Applies changes to a contact read for update, and writes it.
async fn apply_and_save(
    conn: &mut Conn,
    mut contact: Contact,
    changes: &ContactUpsert,
    now: Timestamp,
) -> Result<Contact, StoreError> {
    let before = load_types(&mut *conn, contact.workspace_id).await?;
    let mut types = before.clone();
    contact.apply(changes, &mut types, now)?;
    save_new_types(conn, contact.workspace_id, &before, &types, now).await?;
    save_contact(conn, &contact, false).await?;
    Ok(contact)
}

async fn locked_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
) -> Result<Contact, StoreError> {
    let row = sqlx::query(for_update!(
        "SELECT ",
        contact_columns!(),
        " FROM contacts WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    contact_from_row(&row)
}

async fn update_contact_by_id(
    conn: &mut Conn,
    id: ContactId,
    changes: ContactUpsert,
    now: Timestamp,
) -> Result<Contact, StoreError> {
    let contact = locked_contact(conn, changes.workspace_id, id).await?;
    apply_and_save(conn, contact, &changes, now).await
}

async fn upsert_contact(
    conn: &mut Conn,
    upsert: ContactUpsert,
    new_id: ContactId,
    now: Timestamp,
) -> Result<(Contact, Option<i64>), StoreError> {
    // Two attempts: a concurrent upsert may create the same user_id between
    // our look-up and our insert, in which case the second look-up finds it.
    for _ in 0..2 {
        if let Some(contact) = find_upsert_target(conn, &upsert).await? {
            let contact = apply_and_save(conn, contact, &upsert, now).await?;
            return Ok((contact, None));
        }
        let before = load_types(&mut *conn, upsert.workspace_id).await?;
        let mut types = before.clone();
        let contact = Contact::from_upsert(new_id, &upsert, &mut types, now)?;
        save_new_types(conn, upsert.workspace_id, &before, &types, now).await?;
        if save_contact(conn, &contact, true).await? {
            let seq = log(
                conn,
                contact.workspace_id,
                contact.id,
                None,
                &Activity::ContactCreated,
                now,
            )
            .await?;
            return Ok((contact, Some(seq)));
        }
    }
    Err(StoreError::Conflict("contacts_user_id".into()))
}

/// Reads a contact for update, changes it, and writes it back.
async fn change_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    change: impl FnOnce(&mut Contact),
) -> Result<Contact, StoreError> {
    let mut contact = locked_contact(conn, workspace, id).await?;
    change(&mut contact);
    save_contact(conn, &contact, false).await?;
    Ok(contact)
}

async fn tag_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    tag: String,
    present: bool,
    at: Timestamp,
) -> Result<Contact, StoreError> {
    change_contact(conn, workspace, id, |contact| {
        if present {
            contact.add_tag(&tag);
        } else {
            contact.remove_tag(&tag);
        }
        contact.updated_at = at;
    })
    .await
}

async fn contact_seen(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    at: Timestamp,
    page: Option<String>,
) -> Result<Contact, StoreError> {
    change_contact(conn, workspace, id, |contact| {
        contact.system.seen(at, page.as_deref());
    })
    .await
}

async fn require_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
) -> Result<(), StoreError> {
    sqlx::query("SELECT 1 FROM contacts WHERE workspace_id = $1 AND id = $2")
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)
        .map(drop)
}

/// How a summary row for an event name takes in more occurrences.
macro_rules! add_to_event_summary {
    () => {
        " ON CONFLICT (workspace_id, contact_id, name) DO UPDATE SET
             count = e.count + excluded.count,
             first_at = CASE WHEN excluded.first_at < e.first_at THEN excluded.first_at ELSE e.first_at END,
             last_at = CASE WHEN excluded.last_at > e.last_at THEN excluded.last_at ELSE e.last_at END"
    };
}

/// Adds `$4` occurrences between `$5` and `$6` to a contact's summary of an
/// event name.
const ADD_EVENTS: &str = concat!(
    "INSERT INTO contact_events AS e (workspace_id, contact_id, name, count, first_at, last_at)
     VALUES ($1, $2, $3, $4, $5, $6)",
    add_to_event_summary!()
);

/// Adds contact `$2`'s event summaries to contact `$3`'s.
const MOVE_EVENTS: &str = concat!(
    "INSERT INTO contact_events AS e (workspace_id, contact_id, name, count, first_at, last_at)
     SELECT workspace_id, $3, name, count, first_at, last_at FROM contact_events
     WHERE workspace_id = $1 AND contact_id = $2",
    add_to_event_summary!()
);

async fn record_event(conn: &mut Conn, event: NewEvent) -> Result<ActivityEntry, StoreError> {
    require_contact(conn, event.workspace_id, event.contact_id).await?;
    sqlx::query(ADD_EVENTS)
        .bind(event.workspace_id.as_uuid())
        .bind(event.contact_id.as_uuid())
        .bind(&event.name)
        .bind(1_i64)
        .bind(ms(event.created_at))
        .bind(ms(event.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let activity = Activity::Event {
        name: event.name,
        params: event.params,
    };
    let seq = log(
        conn,
        event.workspace_id,
        event.contact_id,
        None,
        &activity,
        event.created_at,
    )
    .await?;
    Ok(ActivityEntry {
        seq,
        workspace_id: event.workspace_id,
        contact_id: event.contact_id,
        conversation_id: None,
        activity,
        created_at: event.created_at,
    })
}

// ---- the activity log --------------------------------------------------------

/// Orders this transaction's appends to the workspace's log after every
/// earlier committed one (see `LOG_LOCK`). Call right before appending, as
/// the last thing before commit, so the lock is held briefly.
async fn lock_log(conn: &mut Conn, workspace: WorkspaceId) -> Result<(), StoreError> {
    if let Some(sql) = LOG_LOCK {
        sqlx::query(sql)
            .bind(workspace.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Appends one entry to the activity log; returns its position.
async fn log(
    conn: &mut Conn,
    workspace: WorkspaceId,
    contact: ContactId,
    conversation: Option<ConversationId>,
    activity: &Activity,
    at: Timestamp,
) -> Result<i64, StoreError> {
    log_all(conn, workspace, contact, conversation, &[(activity, at)]).await
}

/// Appends several entries about one contact in one statement; returns the
/// position of the last.
async fn log_all(
    conn: &mut Conn,
    workspace: WorkspaceId,
    contact: ContactId,
    conversation: Option<ConversationId>,
    entries: &[(impl std::borrow::Borrow<Activity>, Timestamp)],
) -> Result<i64, StoreError> {
    let rows: Vec<_> = entries
        .iter()
        .map(|(activity, at)| (contact, conversation, activity.borrow(), *at))
        .collect();
    log_rows(conn, workspace, &rows)
        .await?
        .into_iter()
        .map(|(_, seq)| seq)
        .max()
        .ok_or_else(|| StoreError::Other("no activity was logged".into()))
}

/// An activity entry to append: its contact, conversation, what, when.
type LogRow<'a> = (ContactId, Option<ConversationId>, &'a Activity, Timestamp);

/// Appends entries (of any contacts of one workspace) in one statement;
/// returns each entry's conversation and position, in no particular order.
async fn log_rows(
    conn: &mut Conn,
    workspace: WorkspaceId,
    rows: &[LogRow<'_>],
) -> Result<Vec<(Option<Uuid>, i64)>, StoreError> {
    lock_log(conn, workspace).await?;
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO activity (workspace_id, contact_id, conversation_id, kind, data, created_at) ",
    );
    sql.push_values(rows, |mut row, (contact, conversation, activity, at)| {
        row.push_bind(workspace.as_uuid())
            .push_bind(contact.as_uuid())
            .push_bind(conversation.map(|c| c.as_uuid()))
            .push_bind(activity.kind())
            .push_bind(Json(activity.data()))
            .push_bind(ms(*at));
    });
    sql.push(" RETURNING conversation_id, seq");
    sql.build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

fn activity_from_row(row: &DbRow) -> Result<ActivityEntry, StoreError> {
    Ok(ActivityEntry {
        seq: row.try_get("seq").map_err(db_err)?,
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        contact_id: ContactId::from_uuid(uuid(row, "contact_id")?),
        conversation_id: opt_uuid(row, "conversation_id")?.map(ConversationId::from_uuid),
        activity: Activity::from_parts(&text(row, "kind")?, json(row, "data")?)
            .map_err(data_err)?,
        created_at: ts(row, "created_at")?,
    })
}

// ---- conversations and messages ----------------------------------------------

const CONVERSATION_COLUMNS: &str = "id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, contact_read_at, created_at, updated_at";

fn conversation_from_row(row: &DbRow) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: ConversationId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        contact_id: ContactId::from_uuid(uuid(row, "contact_id")?),
        status: parsed(row, "status")?,
        assignee_id: opt_uuid(row, "assignee_id")?.map(AgentId::from_uuid),
        snoozed_until: opt_ts(row, "snoozed_until")?,
        waiting_since: opt_ts(row, "waiting_since")?,
        contact_read_at: opt_ts(row, "contact_read_at")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn message_from_row(row: &DbRow) -> Result<Message, StoreError> {
    let author_id = opt_uuid(row, "author_id")?;
    let author = match (text(row, "author_type")?.as_str(), author_id) {
        ("agent", Some(id)) => Author::Agent(AgentId::from_uuid(id)),
        ("contact", Some(id)) => Author::Contact(ContactId::from_uuid(id)),
        ("bot", _) => Author::Bot,
        (other, _) => return Err(StoreError::Other(format!("bad author {other:?}").into())),
    };
    Ok(Message {
        id: MessageId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        conversation_id: ConversationId::from_uuid(uuid(row, "conversation_id")?),
        author,
        kind: parsed::<PartKind>(row, "kind")?,
        body: text(row, "body")?,
        created_at: ts(row, "created_at")?,
    })
}

async fn locked_conversation(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ConversationId,
) -> Result<Conversation, StoreError> {
    let row = sqlx::query(for_update!(
        "SELECT id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, contact_read_at, created_at, updated_at
         FROM conversations WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    conversation_from_row(&row)
}

async fn save_conversation_state(conn: &mut Conn, c: &Conversation) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET status = $3, assignee_id = $4, snoozed_until = $5, waiting_since = $6, updated_at = $7
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(c.workspace_id.as_uuid())
    .bind(c.id.as_uuid())
    .bind(c.status.as_str())
    .bind(c.assignee_id.map(|a| a.as_uuid()))
    .bind(c.snoozed_until.map(ms))
    .bind(c.waiting_since.map(ms))
    .bind(ms(c.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A message's email state as stored, and the timeline entry of a skip.
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

/// How many messages `start_conversations` writes per statement (the
/// activity insert binds 18 values per message, well under both drivers'
/// limits).
const START_CHUNK: usize = 500;

/// The ids among `ids` that name contacts of the workspace.
async fn existing_contacts(
    conn: &mut Conn,
    workspace: WorkspaceId,
    ids: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    let mut found = std::collections::HashSet::new();
    for chunk in ids.chunks(START_CHUNK) {
        let mut sql = QueryBuilder::<Db>::new("SELECT id FROM contacts WHERE workspace_id = ");
        sql.push_bind(workspace.as_uuid()).push(" AND id IN ");
        push_ids(&mut sql, chunk);
        found.extend(fetch_ids(sql, conn).await?);
    }
    Ok(found)
}

/// Pushes `(id, id, ...)`, each bound.
fn push_ids(sql: &mut QueryBuilder<Db>, ids: &[Uuid]) {
    sql.push("(");
    let mut list = sql.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    sql.push(")");
}

/// Runs a query of one id column.
async fn fetch_ids(mut sql: QueryBuilder<Db>, conn: &mut Conn) -> Result<Vec<Uuid>, StoreError> {
    sql.build_query_scalar()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

/// The listed recipients of a bulk send that are still pending, if the send
/// is still sending (locked on PostgreSQL until commit).
async fn pending_recipients(
    conn: &mut Conn,
    bulk_send: Uuid,
    contacts: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    let mut pending = std::collections::HashSet::new();
    for chunk in contacts.chunks(START_CHUNK) {
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT contact_id FROM bulk_send_recipients WHERE bulk_send_id = ",
        );
        sql.push_bind(bulk_send)
            .push(" AND message_id IS NULL AND error IS NULL AND contact_id IN ");
        push_ids(&mut sql, chunk);
        sql.push(" AND EXISTS (SELECT 1 FROM bulk_sends WHERE id = ")
            .push_bind(bulk_send)
            .push(" AND status = 'sending')")
            .push(ROW_LOCK);
        pending.extend(fetch_ids(sql, conn).await?);
    }
    Ok(pending)
}

/// `append_message` for many messages that each start a conversation, with
/// a few statements per 500 messages instead of a few per message: the
/// same rows, entries, recipient marks and jobs. A message whose contact
/// is not in the workspace is `NotFound`; one whose bulk recipient was sent
/// already (or whose send stopped) is `Conflict`; the others are stored.
async fn start_conversations(
    conn: &mut Conn,
    news: Vec<NewMessage>,
) -> Result<Vec<Result<StoredMessage, StoreError>>, StoreError> {
    let Some(first) = news.first() else {
        return Ok(Vec::new());
    };
    let ws = first.message.workspace_id;
    let shape_ok = news.iter().all(|n| {
        n.message.workspace_id == ws
            && n.email_key.is_none()
            && n.new_conversation.as_ref().is_some_and(|c| {
                c.id == n.message.conversation_id
                    && c.workspace_id == ws
                    && c.contact_id == n.contact_id
            })
    });
    if !shape_ok {
        return Err(StoreError::Other(
            "start_conversations takes new conversations of one workspace".into(),
        ));
    }
    let contact_ids: Vec<Uuid> = news.iter().map(|n| n.contact_id.as_uuid()).collect();
    let existing = existing_contacts(conn, ws, &contact_ids).await?;
    let mut pending = std::collections::HashMap::new();
    let sends: std::collections::BTreeSet<BulkSendId> =
        news.iter().filter_map(|n| n.bulk_send).collect();
    for send in sends {
        let listed: Vec<Uuid> = news
            .iter()
            .filter(|n| n.bulk_send == Some(send))
            .map(|n| n.contact_id.as_uuid())
            .collect();
        pending.insert(
            send,
            pending_recipients(conn, send.as_uuid(), &listed).await?,
        );
    }
    let mut results = Vec::with_capacity(news.len());
    let mut accepted = Vec::new();
    for new in news {
        let contact = new.contact_id.as_uuid();
        if !existing.contains(&contact) {
            results.push(Some(Err(StoreError::NotFound)));
        } else if new
            .bulk_send
            .is_some_and(|send| !pending.get(&send).is_some_and(|p| p.contains(&contact)))
        {
            results.push(Some(Err(StoreError::Conflict(
                "this recipient was sent already, or the bulk send stopped".into(),
            ))));
        } else {
            results.push(None);
            accepted.push((results.len() - 1, new));
        }
    }
    for chunk in accepted.chunks(START_CHUNK) {
        let conversations: Vec<Conversation> = chunk
            .iter()
            .filter_map(|(_, n)| {
                n.new_conversation
                    .as_ref()
                    .map(|c| c.with_message(&n.message))
            })
            .collect();
        let mut sql = QueryBuilder::<Db>::new(
            "INSERT INTO conversations (id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, created_at, updated_at) ",
        );
        sql.push_values(&conversations, |mut row, c| {
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
        sql.build().execute(&mut *conn).await.map_err(db_err)?;

        let states: Vec<_> = chunk
            .iter()
            .map(|(_, n)| email_state(&n.message, n.email.as_ref()))
            .collect();
        let messages: Vec<_> = chunk
            .iter()
            .zip(&states)
            .map(|((_, n), (status, _))| (&n.message, *status))
            .collect();
        insert_messages(conn, &messages).await?;

        let marks: Vec<_> = chunk
            .iter()
            .filter_map(|(_, n)| n.bulk_send.map(|send| (send, n)))
            .collect();
        if !marks.is_empty() {
            let mut sql = QueryBuilder::<Db>::new(
                "WITH sent (bulk_send_id, contact_id, message_id, conversation_id, sent_at) AS (",
            );
            sql.push_values(&marks, |mut row, (send, n)| {
                row.push_bind(send.as_uuid())
                    .push_bind(n.contact_id.as_uuid())
                    .push_bind(n.message.id.as_uuid())
                    .push_bind(n.message.conversation_id.as_uuid())
                    .push_bind(ms(n.message.created_at));
            });
            sql.push(
                ") UPDATE bulk_send_recipients SET message_id = sent.message_id,
                   conversation_id = sent.conversation_id, sent_at = sent.sent_at
                 FROM sent WHERE bulk_send_recipients.bulk_send_id = sent.bulk_send_id
                   AND bulk_send_recipients.contact_id = sent.contact_id",
            );
            sql.build().execute(&mut *conn).await.map_err(db_err)?;
        }

        let started = Activity::ConversationStarted;
        let entries: Vec<(Activity, Option<Activity>, Option<Activity>)> = chunk
            .iter()
            .zip(states)
            .map(|((_, n), (_, skipped))| {
                (
                    Activity::Message(n.message.clone()),
                    skipped,
                    n.bulk_send
                        .map(|bulk_send_id| Activity::BulkSendReceived { bulk_send_id }),
                )
            })
            .collect();
        let mut rows: Vec<LogRow<'_>> = Vec::with_capacity(chunk.len() * 4);
        for ((_, n), (message, skipped, bulk)) in chunk.iter().zip(&entries) {
            let (contact, conversation, at) = (
                n.contact_id,
                Some(n.message.conversation_id),
                n.message.created_at,
            );
            rows.push((contact, conversation, &started, at));
            rows.push((contact, conversation, message, at));
            rows.extend(skipped.iter().map(|a| (contact, conversation, a, at)));
            rows.extend(bulk.iter().map(|a| (contact, conversation, a, at)));
        }
        let logged = log_rows(conn, ws, &rows).await?;
        let mut last_seq = std::collections::HashMap::new();
        for (conversation, seq) in logged {
            let last = last_seq.entry(conversation).or_insert(seq);
            *last = (*last).max(seq);
        }
        // After the log append, as in `append_message`.
        let jobs: Vec<&NewJob> = chunk
            .iter()
            .filter_map(|(_, n)| match &n.email {
                Some(EmailPlan::Schedule(job)) => Some(job),
                _ => None,
            })
            .collect();
        insert_jobs(conn, &jobs, first_created_at(chunk)).await?;

        for ((index, n), conversation) in chunk.iter().zip(conversations) {
            let seq = last_seq
                .get(&Some(n.message.conversation_id.as_uuid()))
                .copied()
                .ok_or_else(|| StoreError::Other("a message was not logged".into()))?;
            results[*index] = Some(Ok(StoredMessage {
                message: n.message.clone(),
                conversation,
                seq,
            }));
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StoreError::Other("a message was left out".into()))))
        .collect())
}

fn first_created_at(chunk: &[(usize, NewMessage)]) -> Timestamp {
    chunk
        .first()
        .map_or(Timestamp::from_millis(0), |(_, n)| n.message.created_at)
}

async fn append_message(conn: &mut Conn, new: NewMessage) -> Result<StoredMessage, StoreError> {
    // Few statements: on SQLite each is a round trip to the driver's thread,
    // and the single writer runs them one after another.
    let message = new.message;
    let ws = message.workspace_id;
    let (email_status, skipped) = email_state(&message, new.email.as_ref());
    let mut entries = vec![(Activity::Message(message.clone()), message.created_at)];
    if let Some(skipped) = skipped {
        entries.push((skipped, message.created_at));
    }
    if let Some(bulk_send_id) = new.bulk_send {
        // First, so a recipient sent already (or a send cancelled) costs
        // one statement.
        mark_bulk_recipient_sent(conn, bulk_send_id, new.contact_id, &message).await?;
        entries.push((
            Activity::BulkSendReceived { bulk_send_id },
            message.created_at,
        ));
    }
    let (conversation, seq) = match new.new_conversation {
        Some(started) => {
            if started.id != message.conversation_id || started.workspace_id != ws {
                return Err(StoreError::Other(
                    "message and new conversation disagree".into(),
                ));
            }
            // Inserted in its state after the message, and only if the
            // contact is in this workspace.
            let c = started.with_message(&message);
            let inserted = sqlx::query(
                "INSERT INTO conversations (id, workspace_id, contact_id, status, assignee_id, snoozed_until, waiting_since, created_at, updated_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM contacts WHERE workspace_id = $2 AND id = $3",
            )
            .bind(c.id.as_uuid())
            .bind(ws.as_uuid())
            .bind(c.contact_id.as_uuid())
            .bind(c.status.as_str())
            .bind(c.assignee_id.map(|a| a.as_uuid()))
            .bind(c.snoozed_until.map(ms))
            .bind(c.waiting_since.map(ms))
            .bind(ms(c.created_at))
            .bind(ms(c.updated_at))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            if inserted.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            insert_message(conn, &message, email_status).await?;
            entries.insert(0, (Activity::ConversationStarted, started.created_at));
            let seq = log_all(conn, ws, c.contact_id, Some(c.id), &entries).await?;
            (c, seq)
        }
        None => {
            let current = locked_conversation(conn, ws, message.conversation_id).await?;
            if current.contact_id != new.contact_id {
                return Err(StoreError::NotFound);
            }
            let c = current.with_message(&message);
            insert_message(conn, &message, email_status).await?;
            save_conversation_state(conn, &c).await?;
            let seq = log_all(conn, ws, c.contact_id, Some(c.id), &entries).await?;
            (c, seq)
        }
    };
    if let Some(key) = &new.email_key {
        let taken = sqlx::query(
            "INSERT INTO inbound_emails (workspace_id, email_key, message_id, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, email_key) DO NOTHING",
        )
        .bind(ws.as_uuid())
        .bind(key)
        .bind(message.id.as_uuid())
        .bind(ms(message.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        if taken.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "this email was already received".into(),
            ));
        }
    }
    // After the log append, under its lock (PostgreSQL), so that an email
    // job settling this conversation either sees this message pending and
    // stays, or is gone before this insert looks for it.
    if let Some(EmailPlan::Schedule(job)) = &new.email {
        insert_job(conn, job, message.created_at).await?;
    }
    Ok(StoredMessage {
        message,
        conversation,
        seq,
    })
}

/// Enqueues a job, unless one with the same kind and key is pending.
async fn insert_job(conn: &mut Conn, job: &NewJob, now: Timestamp) -> Result<(), StoreError> {
    insert_jobs(conn, &[job], now).await
}

/// Enqueues jobs in one statement (each skipped if one with its kind and
/// key is pending).
async fn insert_jobs(conn: &mut Conn, jobs: &[&NewJob], now: Timestamp) -> Result<(), StoreError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO jobs (id, workspace_id, kind, dedupe_key, payload, due_at, created_at) ",
    );
    sql.push_values(jobs, |mut row, job| {
        row.push_bind(job.id.as_uuid())
            .push_bind(job.workspace_id.as_uuid())
            .push_bind(job.job.kind())
            .push_bind(job.job.key())
            .push_bind(Json(job.job.payload()))
            .push_bind(ms(job.due_at))
            .push_bind(ms(now));
    });
    sql.push(" ON CONFLICT (kind, dedupe_key) DO NOTHING");
    sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

async fn insert_message(
    conn: &mut Conn,
    message: &Message,
    email_status: Option<&str>,
) -> Result<(), StoreError> {
    insert_messages(conn, &[(message, email_status)]).await
}

/// Inserts messages, each with its email state, in one statement.
async fn insert_messages(
    conn: &mut Conn,
    messages: &[(&Message, Option<&str>)],
) -> Result<(), StoreError> {
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO messages (id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at, email_status) ",
    );
    sql.push_values(messages, |mut row, (message, email_status)| {
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
            .push_bind(*email_status);
    });
    sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

async fn change_conversation(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ConversationId,
    change: ConversationChange,
    by: Option<AgentId>,
    at: Timestamp,
) -> Result<(Conversation, Option<i64>), StoreError> {
    let current = locked_conversation(conn, workspace, id).await?;
    let Some(next) = current.after(change, at) else {
        return Ok((current, None));
    };
    save_conversation_state(conn, &next).await?;
    let activity = match change {
        ConversationChange::Assign { assignee_id } => Activity::Assigned { assignee_id, by },
        _ => Activity::StatusChanged {
            status: next.status,
            snoozed_until: next.snoozed_until,
            by,
        },
    };
    let seq = log(
        conn,
        workspace,
        next.contact_id,
        Some(next.id),
        &activity,
        at,
    )
    .await?;
    Ok((next, Some(seq)))
}

// ---- jobs and the email fallback ----------------------------------------------

const JOB_COLUMNS: &str =
    "id, workspace_id, kind, payload, due_at, attempts, failures, created_at";

/// A job as stored; one that cannot be read is returned as such (its `job`
/// an error) for the runner to fail, never an error that would stop a claim.
fn job_from_row(row: &DbRow) -> Result<ClaimedJob, StoreError> {
    let count = |column: &str| -> Result<u32, StoreError> {
        u32::try_from(row.try_get::<i64, _>(column).map_err(db_err)?).map_err(data_err)
    };
    let kind: String = text(row, "kind")?;
    let payload: serde_json::Value = json(row, "payload")?;
    Ok(ClaimedJob {
        id: JobId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        job: Job::parse(&kind, &payload),
        kind,
        due_at: ts(row, "due_at")?,
        attempts: count("attempts")?,
        failures: count("failures")?,
        created_at: ts(row, "created_at")?,
    })
}

async fn claim_jobs(
    conn: &mut Conn,
    kinds: Vec<&'static str>,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let mut sql = QueryBuilder::<Db>::new("UPDATE jobs SET claimed_until = ");
    sql.push_bind(ms(until))
        .push(", attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE ");
    if !kinds.is_empty() {
        sql.push("kind IN (");
        let mut list = sql.separated(", ");
        for kind in &kinds {
            list.push_bind(*kind);
        }
        sql.push(") AND ");
    }
    sql.push("failed_at IS NULL AND due_at <= ")
        .push_bind(ms(now))
        .push(" AND (claimed_until IS NULL OR claimed_until <= ")
        .push_bind(ms(now))
        .push(") ORDER BY due_at LIMIT ")
        .push_bind(i64::from(limit))
        .push(SKIP_LOCKED)
        .push(") RETURNING ")
        .push(JOB_COLUMNS);
    let rows = sql.build().fetch_all(&mut *conn).await.map_err(db_err)?;
    let mut jobs = rows
        .iter()
        .map(job_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    jobs.sort_by_key(|j| j.due_at);
    Ok(jobs)
}

/// Refuses (`Conflict`) unless `job` is still held with its claim.
async fn check_claim(conn: &mut Conn, job: &ClaimedJob) -> Result<(), StoreError> {
    let attempts: Option<i64> =
        sqlx::query_scalar(for_update!("SELECT attempts FROM jobs WHERE id = $1"))
            .bind(job.id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    if attempts == Some(i64::from(job.attempts)) {
        Ok(())
    } else {
        Err(StoreError::Conflict(
            "the job was claimed again by another worker".into(),
        ))
    }
}

async fn retry_job(
    conn: &mut Conn,
    job: ClaimedJob,
    due_at: Timestamp,
    error: String,
) -> Result<(), StoreError> {
    check_claim(conn, &job).await?;
    sqlx::query(
        "UPDATE jobs SET due_at = $2, claimed_until = NULL, last_error = $3, failures = failures + 1
         WHERE id = $1",
    )
    .bind(job.id.as_uuid())
    .bind(ms(due_at))
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn release_job(conn: &mut Conn, job: ClaimedJob, due_at: Timestamp) -> Result<(), StoreError> {
    check_claim(conn, &job).await?;
    sqlx::query(
        "UPDATE jobs SET due_at = $2, claimed_until = NULL, last_error = NULL, failures = 0
         WHERE id = $1",
    )
    .bind(job.id.as_uuid())
    .bind(ms(due_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn fail_job(
    conn: &mut Conn,
    job: ClaimedJob,
    at: Timestamp,
    error: String,
) -> Result<(), StoreError> {
    check_claim(conn, &job).await?;
    sqlx::query(
        "UPDATE jobs SET failed_at = $2, claimed_until = NULL, dedupe_key = NULL, last_error = $3
         WHERE id = $1",
    )
    .bind(job.id.as_uuid())
    .bind(ms(at))
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn finish_job(conn: &mut Conn, job: ClaimedJob) -> Result<(), StoreError> {
    check_claim(conn, &job).await?;
    sqlx::query("DELETE FROM jobs WHERE id = $1")
        .bind(job.id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Sets the email state of the listed messages that are still pending.
async fn mark_email_status(
    conn: &mut Conn,
    workspace: WorkspaceId,
    ids: &[MessageId],
    status: &str,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = QueryBuilder::<Db>::new("UPDATE messages SET email_status = ");
    sql.push_bind(status.to_owned())
        .push(" WHERE workspace_id = ")
        .push_bind(workspace.as_uuid())
        .push(" AND email_status = 'pending' AND id IN (");
    let mut list = sql.separated(", ");
    for id in ids {
        list.push_bind(id.as_uuid());
    }
    sql.push(")");
    sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

async fn settle_emails(
    conn: &mut Conn,
    settlements: Vec<EmailSettlement>,
) -> Result<Vec<Result<Option<i64>, StoreError>>, StoreError> {
    // The log locks first (in one order, so concurrent batches cannot
    // deadlock): a message appended meanwhile either committed before (and
    // is seen pending below) or inserts its job after this commits.
    let mut workspaces: Vec<WorkspaceId> = settlements.iter().map(|s| s.workspace_id).collect();
    workspaces.sort();
    workspaces.dedup();
    for workspace in workspaces {
        lock_log(conn, workspace).await?;
    }
    let mut results = Vec::with_capacity(settlements.len());
    for settlement in settlements {
        match settle_email(conn, settlement).await {
            // A lost claim changes nothing; the others go on.
            Err(StoreError::Conflict(why)) => results.push(Err(StoreError::Conflict(why))),
            Err(other) => return Err(other),
            Ok(seq) => results.push(Ok(seq)),
        }
    }
    Ok(results)
}

/// One settlement, under its workspace's log lock (see `settle_emails`).
async fn settle_email(conn: &mut Conn, s: EmailSettlement) -> Result<Option<i64>, StoreError> {
    check_claim(conn, &s.job).await?;
    mark_email_status(conn, s.workspace_id, &s.emailed, "emailed").await?;
    mark_email_status(conn, s.workspace_id, &s.skipped, "skipped").await?;
    let seq = if s.activities.is_empty() {
        None
    } else {
        let entries: Vec<_> = s.activities.iter().map(|a| (a, s.at)).collect();
        Some(
            log_all(
                conn,
                s.workspace_id,
                s.contact_id,
                Some(s.conversation_id),
                &entries,
            )
            .await?,
        )
    };
    let oldest_pending: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(created_at) FROM messages
         WHERE workspace_id = $1 AND conversation_id = $2 AND email_status = 'pending'",
    )
    .bind(s.workspace_id.as_uuid())
    .bind(s.conversation_id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    match oldest_pending {
        // More came while this ran: the job waits for them now.
        Some(oldest) => {
            sqlx::query(
                "UPDATE jobs SET due_at = $2, claimed_until = NULL, last_error = NULL, created_at = $3
                 WHERE id = $1",
            )
            .bind(s.job.id.as_uuid())
            .bind(oldest + s.delay_millis)
            .bind(ms(s.at))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        None => {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(s.job.id.as_uuid())
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
    }
    Ok(seq)
}

async fn unsubscribe_contact(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    at: Timestamp,
) -> Result<Contact, StoreError> {
    let row = sqlx::query(
        "UPDATE contacts SET unsubscribed_at = COALESCE(unsubscribed_at, $3)
         WHERE workspace_id = $1 AND id = $2
         RETURNING *",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(ms(at))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    contact_from_row(&row)
}

// ---- workspace settings, sessions, leads, reads ---------------------------------

async fn update_workspace(
    conn: &mut Conn,
    id: WorkspaceId,
    settings: WorkspaceSettings,
) -> Result<Workspace, StoreError> {
    let row = sqlx::query(for_update!(
        "SELECT id, name, app_id, identity_secret, previous_identity_secret,
                previous_identity_secret_until, identity_verification, allowed_origins,
                email_fallback_enabled, email_fallback_delay_minutes, email_from_address,
                bulk_sends_admins_only, created_at
         FROM workspaces WHERE id = $1"
    ))
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let workspace = settings.apply(workspace_from_row(&row, "")?);
    sqlx::query(
        "UPDATE workspaces SET name = $2, identity_verification = $3, allowed_origins = $4,
                email_fallback_enabled = $5, email_fallback_delay_minutes = $6, email_from_address = $7,
                bulk_sends_admins_only = $8
         WHERE id = $1",
    )
    .bind(id.as_uuid())
    .bind(&workspace.name)
    .bind(workspace.identity_verification)
    .bind(Json(&workspace.allowed_origins))
    .bind(workspace.email.fallback_enabled)
    .bind(i64::from(workspace.email.fallback_delay_minutes))
    .bind(&workspace.email.from_address)
    .bind(workspace.bulk_sends_admins_only)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(workspace)
}

async fn create_agent_session(conn: &mut Conn, session: AgentSession) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO agent_sessions (secret_hash, workspace_id, agent_id, created_at, expires_at)
         SELECT $1, $2, $3, $4, $5 FROM agents WHERE workspace_id = $2 AND id = $3",
    )
    .bind(&session.secret_hash[..])
    .bind(session.workspace_id.as_uuid())
    .bind(session.agent_id.as_uuid())
    .bind(ms(session.created_at))
    .bind(ms(session.expires_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .and_then(|done| {
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    })
}

async fn delete_agent_session(conn: &mut Conn, secret_hash: [u8; 32]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM agent_sessions WHERE secret_hash = $1")
        .bind(&secret_hash[..])
        .execute(&mut *conn)
        .await
        .map_err(db_err)
        .map(drop)
}

async fn create_lead(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ContactId,
    now: Timestamp,
) -> Result<(Contact, i64), StoreError> {
    sqlx::query(
        "INSERT INTO contacts (id, workspace_id, props, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(id.as_uuid())
    .bind(workspace.as_uuid())
    .bind(Json(serde_json::json!({})))
    .bind(ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let seq = log(conn, workspace, id, None, &Activity::ContactCreated, now).await?;
    let contact = Contact::new(id, workspace, now);
    Ok((contact, seq))
}

async fn create_widget_session(
    conn: &mut Conn,
    secret_hash: [u8; 32],
    workspace: WorkspaceId,
    contact: ContactId,
    now: Timestamp,
) -> Result<(), StoreError> {
    // The session is bound to the identity its contact has now.
    sqlx::query(
        "INSERT INTO widget_sessions (secret_hash, workspace_id, contact_id, created_at, last_used_at, user_id)
         SELECT $1, $2, $3, $4, $4, user_id FROM contacts WHERE workspace_id = $2 AND id = $3",
    )
    .bind(&secret_hash[..])
    .bind(workspace.as_uuid())
    .bind(contact.as_uuid())
    .bind(ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .and_then(|done| {
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    })
}

async fn merge_lead(
    conn: &mut Conn,
    workspace: WorkspaceId,
    lead: ContactId,
    into: ContactId,
) -> Result<(), StoreError> {
    if lead == into {
        return Ok(());
    }
    // Only a lead (no user_id) merges, and only into a contact of the same
    // workspace.
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM contacts WHERE workspace_id = $1
         AND ((id = $2 AND user_id IS NULL) OR id = $3)",
    )
    .bind(workspace.as_uuid())
    .bind(lead.as_uuid())
    .bind(into.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    if found != 2 {
        return Err(StoreError::NotFound);
    }
    // The lead's visits, tags and events were the same person's.
    let lead_contact = locked_contact(conn, workspace, lead).await?;
    change_contact(conn, workspace, into, |target| {
        let (seen, theirs) = (&mut target.system, &lead_contact.system);
        seen.sessions = seen.sessions.saturating_add(theirs.sessions);
        seen.first_seen_at = match (seen.first_seen_at, theirs.first_seen_at) {
            (Some(ours), Some(lead)) => Some(ours.min(lead)),
            (ours, lead) => ours.or(lead),
        };
        if theirs.last_seen_at > seen.last_seen_at {
            seen.last_seen_at = theirs.last_seen_at;
            seen.last_page.clone_from(&theirs.last_page);
        }
        for tag in &lead_contact.tags {
            target.add_tag(tag);
        }
    })
    .await?;
    // The lead's sessions end (they were bound to no identity): the browser
    // that proved who it is gets a new one, bound to the user.
    sqlx::query("DELETE FROM widget_sessions WHERE workspace_id = $1 AND contact_id = $2")
        .bind(workspace.as_uuid())
        .bind(lead.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(MOVE_EVENTS)
        .bind(workspace.as_uuid())
        .bind(lead.as_uuid())
        .bind(into.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for sql in [
        "DELETE FROM contact_events WHERE workspace_id = $1 AND contact_id = $2",
        "UPDATE conversations SET contact_id = $3 WHERE workspace_id = $1 AND contact_id = $2",
        "UPDATE activity SET contact_id = $3 WHERE workspace_id = $1 AND contact_id = $2",
        "DELETE FROM contacts WHERE workspace_id = $1 AND id = $2",
    ] {
        sqlx::query(sql)
            .bind(workspace.as_uuid())
            .bind(lead.as_uuid())
            .bind(into.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

async fn touch_widget_session(
    conn: &mut Conn,
    secret_hash: [u8; 32],
    now: Timestamp,
) -> Result<(), StoreError> {
    // At most once an hour per session: a boot per page view stays cheap.
    sqlx::query(
        "UPDATE widget_sessions SET last_used_at = $2 WHERE secret_hash = $1 AND last_used_at < $3",
    )
    .bind(&secret_hash[..])
    .bind(ms(now))
    .bind(ms(now) - 3_600_000)
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .map(drop)
}

async fn delete_widget_session(conn: &mut Conn, secret_hash: [u8; 32]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM widget_sessions WHERE secret_hash = $1")
        .bind(&secret_hash[..])
        .execute(&mut *conn)
        .await
        .map_err(db_err)
        .map(drop)
}

async fn rotate_identity_secret(
    conn: &mut Conn,
    id: WorkspaceId,
    new_secret: String,
    previous_until: Timestamp,
) -> Result<Workspace, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE workspaces SET previous_identity_secret = identity_secret,
                previous_identity_secret_until = $3, identity_secret = $2
         WHERE id = $1 RETURNING {WORKSPACE_COLUMNS}"
    )))
    .bind(id.as_uuid())
    .bind(&new_secret)
    .bind(ms(previous_until))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    workspace_from_row(&row, "")
}

async fn remove_agent(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AgentId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let role: String = sqlx::query_scalar(for_update!(
        "SELECT role FROM agents WHERE workspace_id = $1 AND id = $2 AND removed_at IS NULL"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    if role == Role::Owner.as_str() {
        return Err(StoreError::Conflict("the owner cannot be removed".into()));
    }
    // The row stays (their messages still name them); the email is freed
    // so the same person can be invited again, and no password opens it.
    sqlx::query(
        "UPDATE agents SET removed_at = $3, password_hash = '', email = $4
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(ms(at))
    .bind(format!("removed-{}@removed.invalid", id.as_uuid()))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    for sql in [
        "DELETE FROM agent_sessions WHERE workspace_id = $1 AND agent_id = $2",
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3)
         WHERE workspace_id = $1 AND (agent_id = $2 OR created_by = $2)",
        "UPDATE conversations SET assignee_id = NULL, updated_at = $3
         WHERE workspace_id = $1 AND assignee_id = $2",
    ] {
        let query = sqlx::query(sql)
            .bind(workspace.as_uuid())
            .bind(id.as_uuid());
        let query = if sql.contains("$3") {
            query.bind(ms(at))
        } else {
            query
        };
        query.execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

async fn set_password_hash(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AgentId,
    password_hash: String,
    keep: Option<[u8; 32]>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE agents SET password_hash = $3 WHERE workspace_id = $1 AND id = $2 AND removed_at IS NULL",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(&password_hash)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    // No real session hashes to all zeroes: `None` keeps none.
    let keep = keep.unwrap_or([0; 32]);
    sqlx::query(
        "DELETE FROM agent_sessions WHERE workspace_id = $1 AND agent_id = $2 AND secret_hash <> $3",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(&keep[..])
    .execute(&mut *conn)
    .await
    .map_err(db_err)
    .map(drop)
}

fn property_setting_from_row(row: &DbRow) -> Result<PropertySetting, StoreError> {
    Ok(PropertySetting {
        name: text(row, "name")?,
        r#type: parsed_prop_type(&text(row, "type")?)?,
        messenger_writable: row.try_get("messenger_writable").map_err(db_err)?,
    })
}

fn parsed_prop_type(text: &str) -> Result<PropType, StoreError> {
    PropType::parse(text)
        .ok_or_else(|| StoreError::Other(format!("unknown property type {text:?}").into()))
}

async fn save_property_setting(
    conn: &mut Conn,
    workspace: WorkspaceId,
    name: String,
    ty: Option<PropType>,
    messenger_writable: Option<bool>,
    now: Timestamp,
) -> Result<PropertySetting, StoreError> {
    let existing = sqlx::query(for_update!(
        "SELECT name, type, messenger_writable FROM property_types WHERE workspace_id = $1 AND name = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(&name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut setting = match existing {
        Some(row) => {
            let setting = property_setting_from_row(&row)?;
            if ty.is_some_and(|ty| ty != setting.r#type) {
                return Err(ValidationError::field(
                    "type",
                    format!("this property holds {} values", setting.r#type.as_str()),
                )
                .into());
            }
            setting
        }
        None => {
            let Some(ty) = ty else {
                return Err(ValidationError::field("type", "a new property needs a type").into());
            };
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM property_types WHERE workspace_id = $1")
                    .bind(workspace.as_uuid())
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
            if usize::try_from(count).map_err(data_err)? >= MAX_WORKSPACE_PROPERTIES {
                return Err(ValidationError::field(
                    "name",
                    format!("a workspace has at most {MAX_WORKSPACE_PROPERTIES} custom properties"),
                )
                .into());
            }
            sqlx::query(
                "INSERT INTO property_types (workspace_id, name, type, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(workspace.as_uuid())
            .bind(&name)
            .bind(ty.as_str())
            .bind(ms(now))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            PropertySetting {
                name,
                r#type: ty,
                messenger_writable: false,
            }
        }
    };
    if let Some(writable) = messenger_writable {
        setting.messenger_writable = writable;
        sqlx::query(
            "UPDATE property_types SET messenger_writable = $3 WHERE workspace_id = $1 AND name = $2",
        )
        .bind(workspace.as_uuid())
        .bind(&setting.name)
        .bind(writable)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(setting)
}

async fn mark_read(
    conn: &mut Conn,
    workspace: WorkspaceId,
    conversation: ConversationId,
    contact: ContactId,
    at: Timestamp,
) -> Result<Option<i64>, StoreError> {
    let current = locked_conversation(conn, workspace, conversation).await?;
    if current.contact_id != contact {
        return Err(StoreError::NotFound);
    }
    if current.contact_read_at.is_some_and(|read| read >= at) {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE conversations SET contact_read_at = $3 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(workspace.as_uuid())
    .bind(conversation.as_uuid())
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let seq = log(
        conn,
        workspace,
        contact,
        Some(conversation),
        &Activity::Read { read_at: at },
        at,
    )
    .await?;
    Ok(Some(seq))
}

// ---- the Store, in terms of the above -----------------------------------------

// ---- people: search, segments, bulk sends -----------------------------------

/// Marks a bulk send's recipient sent with this message, if the send is
/// still sending and the recipient pending; `Conflict` otherwise.
async fn mark_bulk_recipient_sent(
    conn: &mut Conn,
    bulk_send: BulkSendId,
    contact: ContactId,
    message: &Message,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE bulk_send_recipients SET message_id = $3, conversation_id = $4, sent_at = $5
         WHERE bulk_send_id = $1 AND contact_id = $2 AND workspace_id = $6
           AND message_id IS NULL AND error IS NULL
           AND EXISTS (SELECT 1 FROM bulk_sends WHERE id = $1 AND status = 'sending')",
    )
    .bind(bulk_send.as_uuid())
    .bind(contact.as_uuid())
    .bind(message.id.as_uuid())
    .bind(message.conversation_id.as_uuid())
    .bind(ms(message.created_at))
    .bind(message.workspace_id.as_uuid())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(
            "this recipient was sent already, or the bulk send stopped".into(),
        ))
    }
}

fn compiler(workspace: WorkspaceId, online: &[Uuid]) -> crate::filter_sql::Compiler<'_> {
    crate::filter_sql::Compiler {
        dialect: DIALECT,
        workspace: workspace.as_uuid(),
        online,
    }
}

async fn create_bulk_send(conn: &mut Conn, new: NewBulkSend) -> Result<BulkSend, StoreError> {
    sqlx::query(
        "INSERT INTO bulk_sends (id, workspace_id, created_by, from_agent_id, body, email_fallback, audience, status, total, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending', 0, $8)",
    )
    .bind(new.id.as_uuid())
    .bind(new.workspace_id.as_uuid())
    .bind(new.created_by.as_uuid())
    .bind(new.from_agent_id.as_uuid())
    .bind(&new.body)
    .bind(new.email_fallback)
    .bind(Json(&new.audience_json))
    .bind(ms(new.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    const INSERT: &str =
        "INSERT INTO bulk_send_recipients (bulk_send_id, workspace_id, contact_id) ";
    let inserted = match &new.audience {
        Audience::Filter { filter, online } => {
            let online: Vec<Uuid> = online.iter().map(|c| c.as_uuid()).collect();
            let (select, values) = sea_query::Query::select()
                .expr(sea_query::Expr::val(new.id.as_uuid()))
                .expr(sea_query::Expr::col(("contacts", "workspace_id")))
                .expr(sea_query::Expr::col(("contacts", "id")))
                .from("contacts")
                .and_where(compiler(new.workspace_id, &online).matching(filter))
                .build_sqlx(QUERY_BUILDER);
            // sea-query wrote the SELECT; every value in it is bound.
            sqlx::query_with(sqlx::AssertSqlSafe(format!("{INSERT}{select}")), values)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
        }
        Audience::Contacts(ids) => {
            let mut sql = QueryBuilder::<Db>::new(INSERT);
            sql.push("SELECT ")
                .push_bind(new.id.as_uuid())
                .push(", workspace_id, id FROM contacts WHERE workspace_id = ")
                .push_bind(new.workspace_id.as_uuid())
                .push(" AND id IN ");
            let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
            push_ids(&mut sql, &ids);
            sql.build().execute(&mut *conn).await.map_err(db_err)?
        }
    };
    let total = inserted.rows_affected();
    if total == 0 {
        return Err(ValidationError::field("audience", "matches no contact").into());
    }
    sqlx::query("UPDATE bulk_sends SET total = $2 WHERE id = $1")
        .bind(new.id.as_uuid())
        .bind(i64::try_from(total).map_err(data_err)?)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    insert_job(conn, &new.job, new.created_at).await?;
    Ok(BulkSend {
        id: new.id,
        workspace_id: new.workspace_id,
        created_by: new.created_by,
        from_agent_id: new.from_agent_id,
        body: new.body,
        email_fallback: new.email_fallback,
        status: BulkStatus::Sending,
        total,
        sent: 0,
        failed: 0,
        pending: total,
        read: None,
        replied: None,
        created_at: new.created_at,
        finished_at: None,
    })
}

/// A bulk send with its counts (the `*_count` columns), by workspace `$1`.
/// Pending and failed recipients are counted on partial indexes, so a send
/// in progress can be polled; who read or replied is counted once it ends.
macro_rules! bulk_send_select {
    () => {
        "SELECT b.id, b.workspace_id, b.created_by, b.from_agent_id, b.body, b.email_fallback,
        b.status, b.total, b.created_at, b.finished_at,
        (SELECT COUNT(*) FROM bulk_send_recipients r
          WHERE r.bulk_send_id = b.id AND r.message_id IS NULL AND r.error IS NULL) AS pending_count,
        (SELECT COUNT(*) FROM bulk_send_recipients r
          WHERE r.bulk_send_id = b.id AND r.error IS NOT NULL) AS failed_count,
        CASE WHEN b.status = 'sending' THEN NULL ELSE
          (SELECT COUNT(*) FROM bulk_send_recipients r JOIN conversations c ON c.id = r.conversation_id
            WHERE r.bulk_send_id = b.id AND c.contact_read_at >= r.sent_at) END AS read_count,
        CASE WHEN b.status = 'sending' THEN NULL ELSE
          (SELECT COUNT(*) FROM bulk_send_recipients r
            WHERE r.bulk_send_id = b.id AND EXISTS (SELECT 1 FROM messages m
              WHERE m.conversation_id = r.conversation_id AND m.author_type = 'contact')) END AS replied_count
     FROM bulk_sends b WHERE b.workspace_id = $1"
    };
}

fn bulk_send_from_row(row: &DbRow) -> Result<BulkSend, StoreError> {
    let count = |column: &str| -> Result<u64, StoreError> {
        u64::try_from(row.try_get::<i64, _>(column).map_err(db_err)?).map_err(data_err)
    };
    let total = count("total")?;
    let pending = count("pending_count")?;
    let failed = count("failed_count")?;
    let finished = |column: &str| -> Result<Option<u64>, StoreError> {
        row.try_get::<Option<i64>, _>(column)
            .map_err(db_err)?
            .map(|n| u64::try_from(n).map_err(data_err))
            .transpose()
    };
    Ok(BulkSend {
        id: BulkSendId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        created_by: AgentId::from_uuid(uuid(row, "created_by")?),
        from_agent_id: AgentId::from_uuid(uuid(row, "from_agent_id")?),
        body: text(row, "body")?,
        email_fallback: row.try_get("email_fallback").map_err(db_err)?,
        status: parsed(row, "status")?,
        total,
        sent: total.saturating_sub(pending + failed),
        failed,
        pending,
        read: finished("read_count")?,
        replied: finished("replied_count")?,
        created_at: ts(row, "created_at")?,
        finished_at: opt_ts(row, "finished_at")?,
    })
}

/// Moves a send that is still sending to `status`.
async fn end_bulk_send(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: BulkSendId,
    status: BulkStatus,
    at: Timestamp,
) -> Result<(), StoreError> {
    let found: Option<String> = sqlx::query_scalar(for_update!(
        "SELECT status FROM bulk_sends WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match found.as_deref() {
        None => Err(StoreError::NotFound),
        Some("sending") => {
            sqlx::query("UPDATE bulk_sends SET status = $3, finished_at = $4 WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.as_uuid())
                .bind(id.as_uuid())
                .bind(status.as_str())
                .bind(ms(at))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

/// Ends a send still sending, its pending recipients failed with `error`.
async fn fail_bulk_send(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: BulkSendId,
    error: String,
    at: Timestamp,
) -> Result<(), StoreError> {
    // A send that was cancelled meanwhile keeps its pending recipients.
    sqlx::query(
        "UPDATE bulk_send_recipients SET error = $3
         WHERE workspace_id = $1 AND bulk_send_id = $2 AND message_id IS NULL AND error IS NULL
         AND EXISTS (SELECT 1 FROM bulk_sends WHERE id = $2 AND status = 'sending')",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    end_bulk_send(conn, workspace, id, BulkStatus::Done, at).await
}

async fn fail_bulk_recipient(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: BulkSendId,
    contact: ContactId,
    error: String,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE bulk_send_recipients SET error = $4
         WHERE workspace_id = $1 AND bulk_send_id = $2 AND contact_id = $3 AND message_id IS NULL",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .bind(contact.as_uuid())
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

fn segment_from_row(row: &DbRow) -> Result<Segment, StoreError> {
    Ok(Segment {
        id: SegmentId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        name: text(row, "name")?,
        filter: json(row, "filter")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

async fn save_segment(conn: &mut Conn, segment: Segment) -> Result<Segment, StoreError> {
    let row = sqlx::query(
        "INSERT INTO segments AS s (id, workspace_id, name, filter, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, filter = excluded.filter, updated_at = excluded.updated_at
           WHERE s.workspace_id = excluded.workspace_id
         RETURNING id, workspace_id, name, filter, created_at, updated_at",
    )
    .bind(segment.id.as_uuid())
    .bind(segment.workspace_id.as_uuid())
    .bind(&segment.name)
    .bind(Json(&segment.filter))
    .bind(ms(segment.created_at))
    .bind(ms(segment.updated_at))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref()
        .map(segment_from_row)
        .unwrap_or(Err(StoreError::NotFound))
}

async fn delete_segment(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: SegmentId,
) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM segments WHERE workspace_id = $1 AND id = $2")
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

#[async_trait]
impl Store for Backend {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(self.reader())
            .await
            .map_err(db_err)
            .map(drop)
    }

    async fn bootstrap_workspace(&self, new: NewWorkspace) -> Result<(), StoreError> {
        let first_run = false;
        self.write(op!(bootstrap_workspace, new, first_run)).await
    }

    async fn set_up_first_workspace(&self, new: NewWorkspace) -> Result<(), StoreError> {
        let first_run = true;
        self.write(op!(bootstrap_workspace, new, first_run)).await
    }

    async fn workspace(&self, id: WorkspaceId) -> Result<Workspace, StoreError> {
        let sql = format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        workspace_from_row(&row, "")
    }

    async fn workspace_count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn workspace_by_app_id(&self, app_id: &str) -> Result<Workspace, StoreError> {
        let sql = format!("SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE app_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(app_id)
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        workspace_from_row(&row, "")
    }

    async fn update_workspace(
        &self,
        id: WorkspaceId,
        settings: WorkspaceSettings,
    ) -> Result<Workspace, StoreError> {
        self.write(op!(update_workspace, id, settings)).await
    }

    async fn login_candidates(&self, email: &str) -> Result<Vec<(Agent, String)>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, email, name, role, created_at, password_hash FROM agents
             WHERE email = $1 AND removed_at IS NULL ORDER BY created_at, id",
        )
        .bind(email)
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| Ok((agent_from_row(row, "")?, text(row, "password_hash")?)))
        .collect()
    }

    async fn create_agent_session(&self, session: AgentSession) -> Result<(), StoreError> {
        self.write(op!(create_agent_session, session)).await
    }

    async fn agent_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<Principal, StoreError> {
        let row = sqlx::query(
            "SELECT s.workspace_id, s.agent_id, a.role FROM agent_sessions s
             JOIN agents a ON a.id = s.agent_id AND a.workspace_id = s.workspace_id
             WHERE s.secret_hash = $1 AND s.expires_at > $2 AND a.removed_at IS NULL",
        )
        .bind(&secret_hash[..])
        .bind(ms(now))
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        Ok(Principal {
            workspace_id: WorkspaceId::from_uuid(uuid(&row, "workspace_id")?),
            agent_id: AgentId::from_uuid(uuid(&row, "agent_id")?),
            role: parsed(&row, "role")?,
        })
    }

    async fn delete_agent_session(&self, secret_hash: [u8; 32]) -> Result<(), StoreError> {
        self.write(op!(delete_agent_session, secret_hash)).await
    }

    async fn create_lead(
        &self,
        workspace: WorkspaceId,
        id: ContactId,
        now: Timestamp,
    ) -> Result<(Contact, i64), StoreError> {
        self.write(op!(create_lead, workspace, id, now)).await
    }

    async fn create_widget_session(
        &self,
        secret_hash: [u8; 32],
        workspace: WorkspaceId,
        contact: ContactId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(
            create_widget_session,
            secret_hash,
            workspace,
            contact,
            now
        ))
        .await
    }

    async fn widget_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<(WorkspaceId, ContactId), StoreError> {
        // A session works only for the identity it was issued for, and not
        // after 90 days unused.
        let row = sqlx::query(
            "SELECT s.workspace_id, s.contact_id FROM widget_sessions s
             JOIN contacts c ON c.workspace_id = s.workspace_id AND c.id = s.contact_id
             WHERE s.secret_hash = $1 AND s.last_used_at > $2
               AND (c.user_id = s.user_id OR (c.user_id IS NULL AND s.user_id IS NULL))",
        )
        .bind(&secret_hash[..])
        .bind(ms(now) - WIDGET_SESSION_IDLE_MILLIS)
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        Ok((
            WorkspaceId::from_uuid(uuid(&row, "workspace_id")?),
            ContactId::from_uuid(uuid(&row, "contact_id")?),
        ))
    }

    async fn touch_widget_session(
        &self,
        secret_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(touch_widget_session, secret_hash, now))
            .await
    }

    async fn delete_widget_session(&self, secret_hash: [u8; 32]) -> Result<(), StoreError> {
        self.write(op!(delete_widget_session, secret_hash)).await
    }

    async fn rotate_identity_secret(
        &self,
        id: WorkspaceId,
        new_secret: String,
        previous_until: Timestamp,
    ) -> Result<Workspace, StoreError> {
        self.write(op!(rotate_identity_secret, id, new_secret, previous_until))
            .await
    }

    async fn remove_agent(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(remove_agent, workspace, id, at)).await
    }

    async fn password_hash(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
    ) -> Result<String, StoreError> {
        sqlx::query_scalar(
            "SELECT password_hash FROM agents WHERE workspace_id = $1 AND id = $2 AND removed_at IS NULL",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)
    }

    async fn set_password_hash(
        &self,
        workspace: WorkspaceId,
        id: AgentId,
        password_hash: String,
        keep: Option<[u8; 32]>,
    ) -> Result<(), StoreError> {
        self.write(op!(set_password_hash, workspace, id, password_hash, keep))
            .await
    }

    async fn property_settings(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<PropertySetting>, StoreError> {
        sqlx::query(
            "SELECT name, type, messenger_writable FROM property_types WHERE workspace_id = $1 ORDER BY name",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(property_setting_from_row)
        .collect()
    }

    async fn save_property_setting(
        &self,
        workspace: WorkspaceId,
        name: String,
        ty: Option<PropType>,
        messenger_writable: Option<bool>,
        now: Timestamp,
    ) -> Result<PropertySetting, StoreError> {
        self.write(op!(
            save_property_setting,
            workspace,
            name,
            ty,
            messenger_writable,
            now
        ))
        .await
    }

    async fn merge_lead(
        &self,
        workspace: WorkspaceId,
        lead: ContactId,
        into: ContactId,
    ) -> Result<(), StoreError> {
        self.write(op!(merge_lead, workspace, lead, into)).await
    }

    async fn last_parts(
        &self,
        workspace: WorkspaceId,
        conversations: &[ConversationId],
        comments_only: bool,
    ) -> Result<Vec<Message>, StoreError> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at FROM messages m
             WHERE m.workspace_id = ",
        );
        sql.push_bind(workspace.as_uuid())
            .push(" AND m.conversation_id IN (");
        let mut ids = sql.separated(", ");
        for id in conversations {
            ids.push_bind(id.as_uuid());
        }
        let kinds = if comments_only {
            " AND {t}.kind = 'comment'"
        } else {
            ""
        };
        sql.push(format!(
            "){} AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.conversation_id = m.conversation_id{}
               AND (n.created_at > m.created_at OR (n.created_at = m.created_at AND n.id > m.id)))",
            kinds.replace("{t}", "m"),
            kinds.replace("{t}", "n"),
        ));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(message_from_row)
            .collect()
    }

    async fn unread_counts(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Vec<(ConversationId, u32)>, StoreError> {
        sqlx::query(
            "SELECT m.conversation_id, COUNT(*) AS unread FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             WHERE c.workspace_id = $1 AND c.contact_id = $2 AND m.kind = 'comment'
               AND m.author_type <> 'contact' AND m.created_at > COALESCE(c.contact_read_at, 0)
             GROUP BY m.conversation_id",
        )
        .bind(workspace.as_uuid())
        .bind(contact.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| {
            let unread: i64 = row.try_get("unread").map_err(db_err)?;
            Ok((
                ConversationId::from_uuid(uuid(row, "conversation_id")?),
                u32::try_from(unread).unwrap_or(u32::MAX),
            ))
        })
        .collect()
    }

    async fn update_contact(
        &self,
        id: ContactId,
        changes: ContactUpsert,
        now: Timestamp,
    ) -> Result<Contact, StoreError> {
        self.write(op!(update_contact_by_id, id, changes, now))
            .await
    }

    async fn contacts(
        &self,
        workspace: WorkspaceId,
        ids: &[ContactId],
    ) -> Result<Vec<Contact>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = "
        ));
        sql.push_bind(workspace.as_uuid()).push(" AND id IN ");
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        push_ids(&mut sql, &ids);
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(contact_from_row)
            .collect()
    }

    async fn mark_read(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        self.write(op!(mark_read, workspace, conversation, contact, at))
            .await
    }

    async fn create_agent(&self, new: NewAgent) -> Result<Agent, StoreError> {
        self.write(op!(create_agent, new)).await
    }

    async fn agent(&self, workspace: WorkspaceId, id: AgentId) -> Result<Agent, StoreError> {
        let row = sqlx::query(
            "SELECT id, workspace_id, email, name, role, created_at FROM agents WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        agent_from_row(&row, "")
    }

    async fn list_agents(&self, workspace: WorkspaceId) -> Result<Vec<Agent>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, email, name, role, created_at FROM agents
             WHERE workspace_id = $1 AND removed_at IS NULL ORDER BY created_at, id",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| agent_from_row(row, ""))
        .collect()
    }

    async fn create_token(&self, new: NewToken) -> Result<ApiToken, StoreError> {
        self.write(op!(create_token, new)).await
    }

    async fn list_tokens(&self, workspace: WorkspaceId) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, agent_id, COALESCE(created_by, agent_id) AS created_by, name,
                    created_at, revoked_at
             FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at, id",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(token_from_row)
        .collect()
    }

    async fn revoke_token(
        &self,
        workspace: WorkspaceId,
        id: TokenId,
        at: Timestamp,
    ) -> Result<ApiToken, StoreError> {
        self.write(op!(revoke_token, workspace, id, at)).await
    }

    async fn authenticate_token(&self, secret_hash: [u8; 32]) -> Result<Principal, StoreError> {
        // The token acts as its member, with no more rights than its maker
        // has now; it dies with either's membership.
        let row = sqlx::query(
            "SELECT t.workspace_id, t.agent_id, a.role, c.role AS creator_role FROM api_tokens t
             JOIN agents a ON a.id = t.agent_id AND a.workspace_id = t.workspace_id
             JOIN agents c ON c.id = COALESCE(t.created_by, t.agent_id) AND c.workspace_id = t.workspace_id
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL
               AND a.removed_at IS NULL AND c.removed_at IS NULL",
        )
        .bind(&secret_hash[..])
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        let role: Role = parsed(&row, "role")?;
        Ok(Principal {
            workspace_id: WorkspaceId::from_uuid(uuid(&row, "workspace_id")?),
            agent_id: AgentId::from_uuid(uuid(&row, "agent_id")?),
            role: role.at_most(parsed(&row, "creator_role")?),
        })
    }

    async fn upsert_contact(
        &self,
        upsert: ContactUpsert,
        new_id: ContactId,
        now: Timestamp,
    ) -> Result<(Contact, Option<i64>), StoreError> {
        self.write(op!(upsert_contact, upsert, new_id, now)).await
    }

    async fn contact(&self, workspace: WorkspaceId, id: ContactId) -> Result<Contact, StoreError> {
        let sql =
            format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        contact_from_row(&row)
    }

    async fn message_context(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        agent: Option<AgentId>,
    ) -> Result<MessageContext, StoreError> {
        let row = sqlx::query(
            "SELECT c.*,
                    w.id AS w_id, w.name AS w_name, w.app_id AS w_app_id, w.identity_secret AS w_identity_secret,
                    w.previous_identity_secret AS w_previous_identity_secret,
                    w.previous_identity_secret_until AS w_previous_identity_secret_until,
                    w.identity_verification AS w_identity_verification, w.allowed_origins AS w_allowed_origins,
                    w.email_fallback_enabled AS w_email_fallback_enabled,
                    w.email_fallback_delay_minutes AS w_email_fallback_delay_minutes,
                    w.email_from_address AS w_email_from_address, w.created_at AS w_created_at,
                    w.bulk_sends_admins_only AS w_bulk_sends_admins_only,
                    a.id AS a_id, a.workspace_id AS a_workspace_id, a.email AS a_email, a.name AS a_name,
                    a.role AS a_role, a.created_at AS a_created_at
             FROM contacts c
             JOIN workspaces w ON w.id = c.workspace_id
             LEFT JOIN agents a ON a.workspace_id = c.workspace_id AND a.id = $3 AND a.removed_at IS NULL
             WHERE c.workspace_id = $1 AND c.id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(contact.as_uuid())
        .bind(agent.map(|a| a.as_uuid()))
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        let agent = match opt_uuid(&row, "a_id")? {
            Some(_) => Some(agent_from_row(&row, "a_")?),
            None => None,
        };
        Ok(MessageContext {
            workspace: workspace_from_row(&row, "w_")?,
            contact: contact_from_row(&row)?,
            agent,
        })
    }

    async fn record_event(&self, event: NewEvent) -> Result<ActivityEntry, StoreError> {
        self.write(op!(record_event, event)).await
    }

    async fn activity_head(&self, workspace: WorkspaceId) -> Result<i64, StoreError> {
        sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(MAX(seq), 0) FROM activity WHERE workspace_id = $1",
        )
        .bind(workspace.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)
    }

    async fn activity_after(
        &self,
        workspace: WorkspaceId,
        stream: Stream,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT seq, workspace_id, contact_id, conversation_id, kind, data, created_at FROM activity WHERE workspace_id = ",
        );
        sql.push_bind(workspace.as_uuid());
        sql.push(" AND seq > ").push_bind(after_seq);
        if let Stream::Contact(contact) = stream {
            sql.push(" AND contact_id = ").push_bind(contact.as_uuid());
        }
        sql.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(activity_from_row)
            .collect()
    }

    async fn timeline(&self, query: TimelineQuery) -> Result<Vec<ActivityEntry>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new(
            "SELECT seq, workspace_id, contact_id, conversation_id, kind, data, created_at FROM activity
             WHERE workspace_id = ",
        );
        sql.push_bind(query.workspace_id.as_uuid())
            .push(" AND contact_id = ")
            .push_bind(query.contact_id.as_uuid())
            .push(" AND seq < ")
            .push_bind(query.before_seq.unwrap_or(i64::MAX));
        if !query.kinds.is_empty() {
            sql.push(" AND kind IN (");
            let mut kinds = sql.separated(", ");
            for kind in &query.kinds {
                kinds.push_bind(kind.as_str());
            }
            sql.push(")");
        }
        sql.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(activity_from_row)
            .collect()
    }

    async fn append_message(&self, new: NewMessage) -> Result<StoredMessage, StoreError> {
        self.write(op!(append_message, new)).await
    }

    async fn start_conversations(
        &self,
        new: Vec<NewMessage>,
    ) -> Result<Vec<Result<StoredMessage, StoreError>>, StoreError> {
        self.write(op!(start_conversations, new)).await
    }

    async fn conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE workspace_id = $1 AND id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        conversation_from_row(&row)
    }

    async fn conversation_parts(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Vec<Message>, StoreError> {
        // Existence first, so an unknown id is NotFound rather than empty.
        self.conversation(workspace, id).await?;
        sqlx::query(
            "SELECT id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at FROM messages
             WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY created_at, id",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(message_from_row)
        .collect()
    }

    async fn list_conversations(
        &self,
        workspace: WorkspaceId,
        query: ConversationQuery,
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new(format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE workspace_id = "
        ));
        sql.push_bind(workspace.as_uuid());
        if let Some(status) = query.status {
            sql.push(" AND status = ").push_bind(status.as_str());
        }
        match query.assignee {
            Some(AssigneeFilter::Unassigned) => {
                sql.push(" AND assignee_id IS NULL");
            }
            Some(AssigneeFilter::Agent(agent)) => {
                sql.push(" AND assignee_id = ").push_bind(agent.as_uuid());
            }
            None => {}
        }
        if let Some(contact) = query.contact_id {
            sql.push(" AND contact_id = ").push_bind(contact.as_uuid());
        }
        // Newest: latest activity first. Waiting: longest-waiting first,
        // only where someone waits. The cursor is the last row's sort key.
        let (column, older, order) = match query.sort {
            ConversationSort::Newest => ("updated_at", " < ", " ORDER BY updated_at DESC, id DESC"),
            ConversationSort::Waiting => (
                "waiting_since",
                " > ",
                " ORDER BY waiting_since ASC, id ASC",
            ),
        };
        if query.sort == ConversationSort::Waiting {
            sql.push(" AND waiting_since IS NOT NULL");
        }
        if let Some((at, id)) = query.after {
            sql.push(format!(" AND ({column}{older}"))
                .push_bind(ms(at))
                .push(format!(" OR ({column} = "))
                .push_bind(ms(at))
                .push(format!(" AND id{older}"))
                .push_bind(id.as_uuid())
                .push("))");
        }
        sql.push(order)
            .push(" LIMIT ")
            .push_bind(i64::from(query.limit));
        sql.build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(conversation_from_row)
            .collect()
    }

    async fn change_conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
        change: ConversationChange,
        by: Option<AgentId>,
        at: Timestamp,
    ) -> Result<(Conversation, Option<i64>), StoreError> {
        self.write(op!(change_conversation, workspace, id, change, by, at))
            .await
    }

    async fn claim_jobs(
        &self,
        kinds: &[&'static str],
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let kinds = kinds.to_vec();
        self.write(op!(claim_jobs, kinds, now, until, limit)).await
    }

    async fn retry_job(
        &self,
        job: &ClaimedJob,
        due_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let (job, error) = (job.clone(), error.to_owned());
        self.write(op!(retry_job, job, due_at, error)).await
    }

    async fn release_job(&self, job: &ClaimedJob, due_at: Timestamp) -> Result<(), StoreError> {
        let job = job.clone();
        self.write(op!(release_job, job, due_at)).await
    }

    async fn finish_job(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        let job = job.clone();
        self.write(op!(finish_job, job)).await
    }

    async fn fail_job(
        &self,
        job: &ClaimedJob,
        at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let (job, error) = (job.clone(), error.to_owned());
        self.write(op!(fail_job, job, at, error)).await
    }

    async fn due_jobs(&self, now: Timestamp, limit: u32) -> Result<Vec<ClaimedJob>, StoreError> {
        let mut sql = QueryBuilder::<Db>::new("SELECT ");
        sql.push(JOB_COLUMNS)
            .push(" FROM jobs WHERE failed_at IS NULL AND due_at <= ")
            .push_bind(ms(now))
            .push(" AND (claimed_until IS NULL OR claimed_until <= ")
            .push_bind(ms(now))
            .push(") ORDER BY due_at LIMIT ")
            .push_bind(i64::from(limit));
        let rows = sql
            .build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn email_pending(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<Message>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, conversation_id, author_type, author_id, kind, body, created_at FROM messages
             WHERE workspace_id = $1 AND conversation_id = $2 AND email_status = 'pending'
             ORDER BY created_at, id",
        )
        .bind(workspace.as_uuid())
        .bind(conversation.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(message_from_row)
        .collect()
    }

    async fn settle_emails(
        &self,
        settlements: Vec<EmailSettlement>,
    ) -> Result<Vec<Result<Option<i64>, StoreError>>, StoreError> {
        self.write(op!(settle_emails, settlements)).await
    }

    async fn reply_target(&self, conversation: ConversationId) -> Result<ReplyTarget, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(conversation.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        let conversation = conversation_from_row(&row)?;
        let workspace = self.workspace(conversation.workspace_id).await?;
        let contact = self
            .contact(conversation.workspace_id, conversation.contact_id)
            .await?;
        Ok(ReplyTarget {
            workspace,
            conversation,
            contact,
        })
    }

    async fn unsubscribe_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        at: Timestamp,
    ) -> Result<Contact, StoreError> {
        self.write(op!(unsubscribe_contact, workspace, contact, at))
            .await
    }

    async fn property_types(&self, workspace: WorkspaceId) -> Result<PropTypes, StoreError> {
        load_types(self.reader(), workspace).await
    }

    async fn people_schema(&self, workspace: WorkspaceId) -> Result<PeopleSchema, StoreError> {
        let counts = |sql: &'static str| async move {
            let rows: Vec<(String, i64)> = sqlx::query_as(sql)
                .bind(workspace.as_uuid())
                .fetch_all(self.reader())
                .await
                .map_err(db_err)?;
            Ok::<_, StoreError>(
                rows.into_iter()
                    .map(|(name, n)| (name, u64::try_from(n).unwrap_or_default()))
                    .collect::<Vec<_>>(),
            )
        };
        let (custom, events, tags) = futures::try_join!(
            load_types(self.reader(), workspace),
            counts(
                "SELECT name, COUNT(*) FROM contact_events WHERE workspace_id = $1
                 GROUP BY name ORDER BY name LIMIT 1000"
            ),
            counts(TAG_COUNTS),
        )?;
        Ok(PeopleSchema {
            custom,
            events,
            tags,
        })
    }

    async fn search_contacts(&self, search: ContactSearch) -> Result<ContactPage, StoreError> {
        use sea_query::{Expr, Order, Query};
        let online: Vec<Uuid> = search.online.iter().map(|c| c.as_uuid()).collect();
        let matching = compiler(search.workspace_id, &online).matching(&search.filter);
        let (count_sql, count_values) = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from("contacts")
            .and_where(matching.clone())
            .build_sqlx(QUERY_BUILDER);
        let count = async {
            sqlx::query_scalar_with::<_, i64, _>(
                sqlx::AssertSqlSafe(count_sql.as_str()),
                count_values,
            )
            .fetch_one(self.reader())
            .await
            .map_err(db_err)
        };
        let page = async {
            if search.limit == 0 {
                return Ok(Vec::new());
            }
            let order = if search.descending {
                Order::Desc
            } else {
                Order::Asc
            };
            let mut query = Query::select();
            query
                .expr(Expr::cust("contacts.*"))
                .from("contacts")
                .and_where(matching.clone())
                .order_by_expr(crate::filter_sql::sort_key(search.sort), order.clone())
                .order_by_expr(Expr::col(("contacts", "id")), order)
                .limit(u64::from(search.limit));
            if let Some((value, id)) = &search.after {
                query.and_where(crate::filter_sql::after(
                    search.sort,
                    search.descending,
                    value,
                    id.as_uuid(),
                ));
            }
            let (sql, values) = query.build_sqlx(QUERY_BUILDER);
            sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
                .fetch_all(self.reader())
                .await
                .map_err(db_err)?
                .iter()
                .map(contact_from_row)
                .collect::<Result<Vec<_>, _>>()
        };
        let (count, contacts) = futures::try_join!(count, page)?;
        Ok(ContactPage {
            count: u64::try_from(count).map_err(data_err)?,
            contacts,
        })
    }

    async fn event_summaries(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
    ) -> Result<Vec<EventSummary>, StoreError> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT name, count, first_at, last_at FROM contact_events
             WHERE workspace_id = $1 AND contact_id = $2 ORDER BY last_at DESC, name LIMIT 500",
        )
        .bind(workspace.as_uuid())
        .bind(contact.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(name, count, first_at, last_at)| EventSummary {
                name,
                count: u64::try_from(count).unwrap_or_default(),
                first_at: Timestamp::from_millis(first_at),
                last_at: Timestamp::from_millis(last_at),
            })
            .collect())
    }

    async fn tag_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        tag: &str,
        present: bool,
        at: Timestamp,
    ) -> Result<Contact, StoreError> {
        let tag = tag.to_owned();
        self.write(op!(tag_contact, workspace, contact, tag, present, at))
            .await
    }

    async fn contact_seen(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        at: Timestamp,
        page: Option<String>,
    ) -> Result<Contact, StoreError> {
        self.write(op!(contact_seen, workspace, contact, at, page))
            .await
    }

    async fn save_segment(&self, segment: Segment) -> Result<Segment, StoreError> {
        self.write(op!(save_segment, segment)).await
    }

    async fn segment(&self, workspace: WorkspaceId, id: SegmentId) -> Result<Segment, StoreError> {
        let row = sqlx::query(
            "SELECT id, workspace_id, name, filter, created_at, updated_at FROM segments
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        segment_from_row(&row)
    }

    async fn segments(&self, workspace: WorkspaceId) -> Result<Vec<Segment>, StoreError> {
        sqlx::query(
            "SELECT id, workspace_id, name, filter, created_at, updated_at FROM segments
             WHERE workspace_id = $1 ORDER BY name LIMIT 500",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(segment_from_row)
        .collect()
    }

    async fn delete_segment(
        &self,
        workspace: WorkspaceId,
        id: SegmentId,
    ) -> Result<(), StoreError> {
        self.write(op!(delete_segment, workspace, id)).await
    }

    async fn create_bulk_send(&self, new: NewBulkSend) -> Result<BulkSend, StoreError> {
        self.write(op!(create_bulk_send, new)).await
    }

    async fn bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
    ) -> Result<BulkSend, StoreError> {
        let row = sqlx::query(concat!(bulk_send_select!(), " AND b.id = $2"))
            .bind(workspace.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        bulk_send_from_row(&row)
    }

    async fn bulk_sends(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> Result<Vec<BulkSend>, StoreError> {
        sqlx::query(concat!(
            bulk_send_select!(),
            " ORDER BY b.created_at DESC, b.id DESC LIMIT $2"
        ))
        .bind(workspace.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(bulk_send_from_row)
        .collect()
    }

    async fn cancel_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        at: Timestamp,
    ) -> Result<BulkSend, StoreError> {
        self.write(op!(end_bulk_send, workspace, id, BulkStatus::Cancelled, at))
            .await?;
        self.bulk_send(workspace, id).await
    }

    async fn bulk_pending(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        limit: u32,
    ) -> Result<Vec<ContactId>, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT contact_id FROM bulk_send_recipients
             WHERE bulk_send_id = $1 AND workspace_id = $2 AND message_id IS NULL AND error IS NULL
             ORDER BY contact_id LIMIT $3",
        )
        .bind(id.as_uuid())
        .bind(workspace.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(ContactId::from_uuid).collect())
    }

    async fn fail_bulk_recipient(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        contact: ContactId,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(op!(fail_bulk_recipient, workspace, id, contact, error))
            .await
    }

    async fn finish_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(op!(end_bulk_send, workspace, id, BulkStatus::Done, at))
            .await
    }

    async fn fail_bulk_send(
        &self,
        workspace: WorkspaceId,
        id: BulkSendId,
        error: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(op!(fail_bulk_send, workspace, id, error, at))
            .await
    }
}
