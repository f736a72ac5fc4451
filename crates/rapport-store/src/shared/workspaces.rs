//! Workspaces: the tenant, its settings and its identity secret.

use super::*;
use rapport_core::model::attachment::AttachmentSettings;
use rapport_core::model::ids::JobId;
use rapport_core::model::job::{Job, NewJob};

pub(super) const WORKSPACE_COLUMNS: &str = "id, name, app_id, identity_secret, previous_identity_secret, previous_identity_secret_until, identity_verification, allowed_origins, email_fallback_enabled, email_fallback_delay_minutes, email_from_address, bulk_sends_admins_only, retention_days, attachments, created_at";

/// Reads a workspace from columns named `{prefix}id`, `{prefix}name`, ...
/// (a prefix tells joined tables' columns apart).
pub(super) fn workspace_from_row(row: &DbRow, prefix: &str) -> Result<Workspace, StoreError> {
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
        retention_days: row
            .try_get::<Option<i64>, _>(col("retention_days").as_str())
            .map_err(db_err)?
            .map(u16::try_from)
            .transpose()
            .map_err(data_err)?,
        attachments: row
            .try_get::<Json<AttachmentSettings>, _>(col("attachments").as_str())
            .map_err(db_err)?
            .0,
        created_at: ts(row, &col("created_at"))?,
    })
}

/// `first_run`: the installation row must not exist yet (the setup page);
/// otherwise it is added if missing (the CLI), so that once any workspace
/// exists the setup page can never create another.
pub(super) async fn bootstrap_workspace(
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
                                 email_fallback_enabled, email_fallback_delay_minutes, email_from_address, created_at,
                                 attachments)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
    .bind(Json(&ws.attachments))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    insert_agent(conn, &new.owner).await?;
    insert_token(conn, &new.token).await?;
    Ok(())
}

pub(super) async fn update_workspace(
    conn: &mut Conn,
    id: WorkspaceId,
    settings: WorkspaceSettings,
    at: Timestamp,
) -> Result<Workspace, StoreError> {
    let row = sqlx::query(for_update!(
        "SELECT id, name, app_id, identity_secret, previous_identity_secret,
                previous_identity_secret_until, identity_verification, allowed_origins,
                email_fallback_enabled, email_fallback_delay_minutes, email_from_address,
                bulk_sends_admins_only, retention_days, attachments, created_at
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
                bulk_sends_admins_only = $8, retention_days = $9, attachments = $10
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
    .bind(workspace.retention_days.map(i64::from))
    .bind(Json(&workspace.attachments))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    // A retention period set: its job runs now, then daily (once per
    // workspace: an existing one is kept).
    if workspace.retention_days.is_some() {
        super::jobs::insert_job(
            conn,
            &NewJob {
                id: JobId::generate(),
                request_id: rapport_core::request_id::current(),
                workspace_id: id,
                job: Job::ApplyRetention { workspace_id: id },
                due_at: at,
            },
            at,
        )
        .await?;
    }
    Ok(workspace)
}

pub(super) async fn rotate_identity_secret(
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

#[async_trait]
impl WorkspaceStore for Backend {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(self.reader())
            .await
            .map_err(db_err)
            .map(drop)
    }

    fn pool_use(&self) -> PoolUse {
        let pool = self.reader();
        PoolUse {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
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
        at: Timestamp,
    ) -> Result<Workspace, StoreError> {
        self.write(op!(update_workspace, id, settings, at)).await
    }

    async fn delete_closed_conversations(
        &self,
        workspace: WorkspaceId,
        before: Timestamp,
        limit: u32,
    ) -> Result<(u64, bool), StoreError> {
        self.write(op!(
            super::erasures::delete_closed_conversations,
            workspace,
            before,
            limit
        ))
        .await
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
}
