//! What several `rapport serve` processes on one PostgreSQL database share
//! besides the data: notices over LISTEN/NOTIFY (the log grew, a passing
//! signal), and presence (which server holds which widget or Inbox open).
//!
//! Notices carry positions, never entries: a server that misses one (its
//! listening connection dropped) reads the log from where it was, as it
//! does after any gap. Presence is a table each server rewrites for what
//! changed on it and reads whole, for the others, once a second.

use std::str::FromStr;
use std::time::Duration;

use rapport_core::model::ids::WorkspaceId;
use rapport_core::ports::store::StoreError;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::db_err;

/// The most a notification may carry: PostgreSQL refuses payloads of
/// 8,000 bytes or more.
pub const MAX_PAYLOAD_BYTES: usize = 7_999;

/// Servers not heard from for this long are gone: their rows are deleted.
const FORGET_SERVER_AFTER_MS: i64 = 10 * 60 * 1000;

/// A connection of its own for the cluster's traffic, apart from the
/// store's pool, so that a busy store never delays presence or notices.
#[derive(Clone)]
pub struct PgCluster {
    pool: PgPool,
}

/// Which kind of socket a presence row counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PresenceKind {
    /// A contact's widgets.
    Contact,
    /// A team member's Inbox tabs.
    Agent,
}

impl PresenceKind {
    fn as_str(self) -> &'static str {
        match self {
            PresenceKind::Contact => "contact",
            PresenceKind::Agent => "agent",
        }
    }
}

/// One server's sockets for one contact or team member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceRow {
    pub workspace: WorkspaceId,
    pub kind: PresenceKind,
    pub subject: Uuid,
    pub open: u32,
    /// When the last socket closed (ms since the epoch), while `open` is 0.
    pub left_at: Option<i64>,
}

/// What one server learns from a sync: the other servers' rows, each with
/// when its server was last heard from, and the team members who chose
/// "away".
#[derive(Debug, Default)]
pub struct ClusterView {
    pub others: Vec<(i64, PresenceRow)>,
    pub away: Vec<(WorkspaceId, Uuid)>,
    /// The database's clock at the sync (ms): servers' liveness is stamped
    /// and judged by it, so servers' clocks need not agree.
    pub db_now: i64,
    /// This server's row was new: the others had forgotten it (it was
    /// silent for long), with its presence rows.
    pub rejoined: bool,
}

/// What a sync writes for this server.
pub struct PresenceChanges<'a> {
    pub server: Uuid,
    /// Rows to write (insert or replace).
    pub put: &'a [PresenceRow],
    /// Rows to remove: (workspace, kind, subject).
    pub remove: &'a [(WorkspaceId, PresenceKind, Uuid)],
}

/// A notification: its channel and payload.
#[derive(Debug)]
pub struct Notice {
    pub channel: String,
    pub payload: String,
}

/// Listens on the cluster's channels. [`ClusterListener::next`] yields
/// `None` when the connection was lost (and is being made again):
/// whatever was notified meanwhile is gone, so read the log afresh.
pub struct ClusterListener {
    inner: PgListener,
}

impl ClusterListener {
    pub async fn next(&mut self) -> Result<Option<Notice>, StoreError> {
        Ok(self
            .inner
            .try_recv()
            .await
            .map_err(db_err)?
            .map(|n| Notice {
                channel: n.channel().to_owned(),
                payload: n.payload().to_owned(),
            }))
    }
}

impl PgCluster {
    /// A small pool on `url` (the store's database, already migrated).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(3)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(Self { pool })
    }

    /// Listens on `channels`.
    pub async fn listen(&self, channels: &[&str]) -> Result<ClusterListener, StoreError> {
        let mut inner = PgListener::connect_with(&self.pool).await.map_err(db_err)?;
        inner
            .listen_all(channels.iter().copied())
            .await
            .map_err(db_err)?;
        Ok(ClusterListener { inner })
    }

    /// Sends every payload on `channel`, in one round trip. Payloads over
    /// [`MAX_PAYLOAD_BYTES`] are the caller's mistake and fail the lot.
    pub async fn notify(&self, channel: &str, payloads: &[String]) -> Result<(), StoreError> {
        if payloads.is_empty() {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .bind(channel)
            .bind(payloads)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Says this server is alive, writes what changed on it, forgets
    /// servers gone for long, and reads what the others hold, in one
    /// transaction.
    pub async fn sync(&self, changes: PresenceChanges<'_>) -> Result<ClusterView, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let (db_now, rejoined): (i64, bool) = sqlx::query_as(
            "INSERT INTO cluster_servers (id, seen_at)
             VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
             ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at
             RETURNING seen_at, (xmax = 0)",
        )
        .bind(changes.server)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if !changes.put.is_empty() {
            let (mut workspaces, mut kinds, mut subjects, mut opens, mut left) =
                (vec![], vec![], vec![], vec![], vec![]);
            for row in changes.put {
                workspaces.push(row.workspace.as_uuid());
                kinds.push(row.kind.as_str());
                subjects.push(row.subject);
                opens.push(i32::try_from(row.open).unwrap_or(i32::MAX));
                left.push(row.left_at);
            }
            sqlx::query(
                "INSERT INTO cluster_presence
                    (server_id, workspace_id, kind, subject_id, open, left_at)
                 SELECT $1, w, k, s, o, l
                 FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::int[], $6::bigint[])
                    AS t (w, k, s, o, l)
                 ON CONFLICT (server_id, workspace_id, kind, subject_id)
                 DO UPDATE SET open = EXCLUDED.open, left_at = EXCLUDED.left_at",
            )
            .bind(changes.server)
            .bind(workspaces)
            .bind(kinds)
            .bind(subjects)
            .bind(opens)
            .bind(left)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        if !changes.remove.is_empty() {
            let (mut workspaces, mut kinds, mut subjects) = (vec![], vec![], vec![]);
            for (workspace, kind, subject) in changes.remove {
                workspaces.push(workspace.as_uuid());
                kinds.push(kind.as_str());
                subjects.push(*subject);
            }
            sqlx::query(
                "DELETE FROM cluster_presence p
                 USING unnest($2::uuid[], $3::text[], $4::uuid[]) AS t (w, k, s)
                 WHERE p.server_id = $1 AND p.workspace_id = t.w AND p.kind = t.k
                   AND p.subject_id = t.s",
            )
            .bind(changes.server)
            .bind(workspaces)
            .bind(kinds)
            .bind(subjects)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        sqlx::query("DELETE FROM cluster_servers WHERE seen_at < $1")
            .bind(db_now - FORGET_SERVER_AFTER_MS)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let others = sqlx::query(
            "SELECT s.seen_at, p.workspace_id, p.kind, p.subject_id, p.open, p.left_at
             FROM cluster_presence p JOIN cluster_servers s ON s.id = p.server_id
             WHERE p.server_id <> $1",
        )
        .bind(changes.server)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|row| {
            let kind = match row.try_get::<&str, _>(2)? {
                "agent" => PresenceKind::Agent,
                _ => PresenceKind::Contact,
            };
            Ok((
                row.try_get::<i64, _>(0)?,
                PresenceRow {
                    workspace: WorkspaceId::from_uuid(row.try_get(1)?),
                    kind,
                    subject: row.try_get(3)?,
                    open: u32::try_from(row.try_get::<i32, _>(4)?).unwrap_or(0),
                    left_at: row.try_get(5)?,
                },
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(db_err)?;
        let away = sqlx::query("SELECT workspace_id, agent_id FROM agent_away")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|row| {
                Ok((
                    WorkspaceId::from_uuid(row.try_get(0)?),
                    row.try_get::<Uuid, _>(1)?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(ClusterView {
            others,
            away,
            db_now,
            rejoined,
        })
    }

    /// Records a team member's chosen status for every server.
    pub async fn set_away(
        &self,
        workspace: WorkspaceId,
        agent: Uuid,
        away: bool,
    ) -> Result<(), StoreError> {
        let sql = if away {
            "INSERT INTO agent_away (workspace_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM agent_away WHERE workspace_id = $1 AND agent_id = $2"
        };
        sqlx::query(sql)
            .bind(workspace.as_uuid())
            .bind(agent)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Takes this server's rows out at a clean stop, so its sockets count
    /// as closed now (their grace period starts) rather than when the
    /// server is found silent.
    pub async fn leave(&self, server: Uuid, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cluster_presence
             SET left_at = CASE WHEN open > 0 THEN $2 ELSE left_at END, open = 0
             WHERE server_id = $1",
        )
        .bind(server)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
