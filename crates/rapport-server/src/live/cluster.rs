//! Several `rapport serve` processes on one PostgreSQL database.
//!
//! What one process knows only in memory, the others learn here:
//! - **the log grew**: every notice on this server's bus is also sent as a
//!   PostgreSQL notification (coalesced per workspace, one round trip per
//!   burst), and the other servers' notifications are put on this bus. A
//!   notice carries a position, never an entry, so a lost one costs only
//!   latency: the listener's connection dropping wakes every feed, and
//!   feeds poll every few seconds anyway.
//! - **passing signals** (typing, presence) travel the same way.
//! - **presence**: each server writes, once a second, the contacts and team
//!   members whose sockets changed on it, says it is alive, and reads the
//!   others' rows. Online means a socket on any server (or one closed
//!   within the grace period); a server not heard from for
//!   [`SILENT_AFTER_MS`] (by the database's clock, so servers' clocks need
//!   not agree) counts as gone, its sockets closed when it was last heard
//!   from. A server the others forgot (silent for ten minutes, then back)
//!   writes all its presence again.
//!
//! Rate limits and the live-socket cap stay per server (docs/deploy.md).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rapport_core::model::ids::{AgentId, ContactId, WorkspaceId};
use rapport_core::ports::bus::Bus;
use rapport_core::ports::clock::Clock;
use rapport_store::cluster::{
    ClusterView, MAX_PAYLOAD_BYTES, PgCluster, PresenceChanges, PresenceKind,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use uuid::Uuid;

use super::{Hub, LocalBus, PRESENCE_GRACE_MS};

/// The channel of "the log grew" notices.
const LOG_CHANNEL: &str = "rapport_log";
/// The channel of passing signals.
const SIGNAL_CHANNEL: &str = "rapport_signal";
/// How often presence is written and read.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// A server silent this long is gone.
pub const SILENT_AFTER_MS: i64 = 5_000;
/// Signals waiting to be sent, at most; past it new ones are dropped (they
/// are not logged and never replayed anyway).
const MAX_PENDING_SIGNALS: usize = 4_096;
/// How long to wait before trying again after the database failed.
const RETRY: Duration = Duration::from_secs(1);

/// This server's part in the cluster: the state the hub consults and the
/// tasks that keep it current.
pub struct Shared {
    server: Uuid,
    cluster: PgCluster,
    clock: Arc<dyn Clock>,
    /// What changed here since the last sync: (workspace, kind, subject).
    dirty: Mutex<HashSet<Key>>,
    /// Chosen statuses to write: (workspace, agent) → away.
    away_changes: Mutex<HashMap<(WorkspaceId, Uuid), bool>>,
    view: Mutex<Remote>,
    /// Each contact's and member's presence as last told to this server's
    /// Inboxes, for those the other servers hold (online ones only).
    told: Mutex<HashMap<Key, &'static str>>,
    /// Notices and signals to send.
    outbox: Mutex<Outbox>,
    /// Rings when the outbox has something (a permit is kept if nobody
    /// waits, so a ring is never lost).
    send: Arc<Notify>,
}

type Key = (WorkspaceId, PresenceKind, Uuid);

#[derive(Default)]
struct Outbox {
    grew: HashMap<WorkspaceId, i64>,
    signals: Vec<String>,
}

/// The other servers' rows, as of the last sync.
#[derive(Default)]
struct Remote {
    /// When it was read (ms), by this server's clock and the database's.
    at: i64,
    db_at: i64,
    rows: HashMap<Key, Vec<RemoteRow>>,
    away: HashSet<(WorkspaceId, Uuid)>,
}

#[derive(Clone, Copy, Debug)]
struct RemoteRow {
    seen_at: i64,
    open: u32,
    left_at: Option<i64>,
}

/// A moment by two clocks: this server's (for when sockets closed, which
/// each server stamps) and the database's (for when servers were last
/// heard from).
#[derive(Clone, Copy, Debug)]
struct Now {
    local: i64,
    db: i64,
}

impl RemoteRow {
    fn silent(&self, now: Now) -> bool {
        now.db - self.seen_at >= SILENT_AFTER_MS
    }

    /// Sockets open on a server that is alive.
    fn open_now(&self, now: Now) -> u32 {
        if self.silent(now) { 0 } else { self.open }
    }

    /// Open now, or closed within the grace period (a silent server's
    /// sockets closed when it was last heard from, at the latest).
    fn online(&self, now: Now) -> bool {
        let since_heard = now.db.saturating_sub(self.seen_at);
        let since_left = self
            .left_at
            .map_or(i64::MAX, |left| now.local.saturating_sub(left));
        let closed_for = if self.silent(now) {
            if self.open > 0 {
                since_heard
            } else {
                since_left.max(since_heard)
            }
        } else if self.open > 0 {
            return true;
        } else {
            since_left
        };
        closed_for < PRESENCE_GRACE_MS
    }
}

impl Remote {
    fn from_view(view: ClusterView, at: i64) -> Self {
        let db_at = view.db_now;
        let mut rows: HashMap<Key, Vec<RemoteRow>> = HashMap::new();
        for (seen_at, row) in view.others {
            rows.entry((row.workspace, row.kind, row.subject))
                .or_default()
                .push(RemoteRow {
                    seen_at,
                    open: row.open,
                    left_at: row.left_at,
                });
        }
        Remote {
            at,
            db_at,
            rows,
            away: view.away.into_iter().collect(),
        }
    }

    /// `local` (this server's clock) on both clocks.
    fn now(&self, local: i64) -> Now {
        Now {
            local,
            db: self.db_at + (local - self.at),
        }
    }

    fn online(&self, key: &Key, local: i64) -> bool {
        let now = self.now(local);
        self.rows
            .get(key)
            .is_some_and(|rows| rows.iter().any(|r| r.online(now)))
    }
}

/// A log notice: `server workspace position`.
fn log_payload(server: Uuid, workspace: WorkspaceId, seq: i64) -> String {
    format!("{server} {} {seq}", workspace.as_uuid())
}

fn parse_log_payload(payload: &str) -> Option<(Uuid, WorkspaceId, i64)> {
    let mut parts = payload.split(' ');
    let server = parts.next()?.parse().ok()?;
    let workspace = WorkspaceId::from_uuid(parts.next()?.parse().ok()?);
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((server, workspace, seq))
}

/// A signal on the wire.
#[derive(Serialize, Deserialize)]
struct SignalNotice {
    server: Uuid,
    workspace: WorkspaceId,
    /// The contact whose messengers get it; none: the team's Inboxes.
    contact: Option<ContactId>,
    signal: serde_json::Value,
}

impl Shared {
    /// Marks a contact's or team member's sockets here as changed.
    pub(super) fn touch(&self, workspace: WorkspaceId, kind: PresenceKind, subject: Uuid) {
        self.dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((workspace, kind, subject));
    }

    /// Whether the contact has a widget open on another server (or had,
    /// within the grace period).
    pub(super) fn contact_online(&self, workspace: WorkspaceId, contact: ContactId) -> bool {
        let now = self.clock.now().as_millis();
        self.view
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .online(&(workspace, PresenceKind::Contact, contact.as_uuid()), now)
    }

    /// The workspace's contacts online through other servers.
    pub(super) fn online_contacts(&self, workspace: WorkspaceId) -> Vec<ContactId> {
        let view = self.view.lock().unwrap_or_else(|e| e.into_inner());
        let now = view.now(self.clock.now().as_millis());
        view.rows
            .iter()
            .filter(|((ws, kind, _), rows)| {
                *ws == workspace
                    && *kind == PresenceKind::Contact
                    && rows.iter().any(|r| r.online(now))
            })
            .map(|((_, _, subject), _)| ContactId::from_uuid(*subject))
            .collect()
    }

    /// A team member's Inbox tabs open on other servers.
    pub(super) fn agent_sockets(&self, workspace: WorkspaceId, agent: AgentId) -> usize {
        let view = self.view.lock().unwrap_or_else(|e| e.into_inner());
        let now = view.now(self.clock.now().as_millis());
        view.rows
            .get(&(workspace, PresenceKind::Agent, agent.as_uuid()))
            .map_or(0, |rows| {
                rows.iter().map(|r| r.open_now(now) as usize).sum()
            })
    }

    /// Whether the team member chose "away" (on any server).
    pub(super) fn away(&self, workspace: WorkspaceId, agent: AgentId) -> bool {
        let key = (workspace, agent.as_uuid());
        if let Some(away) = self
            .away_changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return *away;
        }
        self.view
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .away
            .contains(&key)
    }

    /// Records a chosen status; the next sync writes it for every server.
    pub(super) fn set_away(&self, workspace: WorkspaceId, agent: AgentId, away: bool) {
        self.away_changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((workspace, agent.as_uuid()), away);
    }

    /// Sends a passing signal to the other servers.
    pub(super) fn relay(
        &self,
        workspace: WorkspaceId,
        contact: Option<ContactId>,
        signal: &serde_json::Value,
    ) {
        let notice = SignalNotice {
            server: self.server,
            workspace,
            contact,
            signal: signal.clone(),
        };
        let Ok(payload) = serde_json::to_string(&notice) else {
            return;
        };
        if payload.len() > MAX_PAYLOAD_BYTES {
            tracing::debug!(bytes = payload.len(), "a signal too large to relay");
            return;
        }
        {
            let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
            if outbox.signals.len() >= MAX_PENDING_SIGNALS {
                return;
            }
            outbox.signals.push(payload);
        }
        self.send.notify_one();
    }
}

/// The bus of a server in a cluster: this process's bus, and a notification
/// for the others.
pub struct ClusterBus {
    local: LocalBus,
    shared: Arc<Shared>,
}

impl Bus for ClusterBus {
    fn publish(&self, workspace: WorkspaceId, seq: i64) {
        self.local.publish(workspace, seq);
        {
            let mut outbox = self.shared.outbox.lock().unwrap_or_else(|e| e.into_inner());
            let position = outbox.grew.entry(workspace).or_insert(seq);
            *position = (*position).max(seq);
        }
        self.shared.send.notify_one();
    }
}

/// A server's membership: hand its bus to the application; `leave` at a
/// clean stop.
pub struct Membership {
    shared: Arc<Shared>,
    local: LocalBus,
}

impl Membership {
    /// Joins the servers on the database at `url`: connects, says this
    /// server is alive, and starts the tasks that send, listen and sync.
    pub async fn join(
        url: &str,
        hub: &Hub,
        local: LocalBus,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let cluster = PgCluster::connect(url).await?;
        let shared = Arc::new(Shared {
            server: Uuid::now_v7(),
            cluster,
            clock,
            dirty: Mutex::default(),
            away_changes: Mutex::default(),
            view: Mutex::default(),
            told: Mutex::default(),
            outbox: Mutex::default(),
            send: Arc::new(Notify::new()),
        });
        // Listen before the first sync, so nothing said after it is missed.
        let listener = shared
            .cluster
            .listen(&[LOG_CHANNEL, SIGNAL_CHANNEL])
            .await?;
        sync_once(&shared, hub, true).await?;
        hub.join_cluster(shared.clone());
        tokio::spawn(send_notices(Arc::downgrade(&shared)));
        tokio::spawn(listen(listener, shared.server, hub.clone(), local.clone()));
        tokio::spawn(keep_in_sync(Arc::downgrade(&shared), hub.clone()));
        tracing::info!(server = %shared.server, "joined the servers sharing this database");
        Ok(Self { shared, local })
    }

    /// The bus to publish on.
    pub fn bus(&self) -> ClusterBus {
        ClusterBus {
            local: self.local.clone(),
            shared: self.shared.clone(),
        }
    }

    /// Marks this server's sockets closed now, so the others count the
    /// grace period from the stop.
    pub async fn leave(&self) {
        let now = self.shared.clock.now().as_millis();
        if let Err(err) = self.shared.cluster.leave(self.shared.server, now).await {
            tracing::warn!(error = %err, "could not mark this server's sockets closed");
        }
    }
}

/// Sends what the outbox holds, a burst at a time.
async fn send_notices(shared: std::sync::Weak<Shared>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let send = strong.send.clone();
        let (grew, signals) = {
            let mut outbox = strong.outbox.lock().unwrap_or_else(|e| e.into_inner());
            (
                std::mem::take(&mut outbox.grew),
                std::mem::take(&mut outbox.signals),
            )
        };
        if grew.is_empty() && signals.is_empty() {
            drop(strong);
            // Wake now and then to notice the membership is gone.
            let _ = tokio::time::timeout(Duration::from_secs(5), send.notified()).await;
            continue;
        }
        let log: Vec<String> = grew
            .into_iter()
            .map(|(workspace, seq)| log_payload(strong.server, workspace, seq))
            .collect();
        let sent = async {
            strong.cluster.notify(LOG_CHANNEL, &log).await?;
            strong.cluster.notify(SIGNAL_CHANNEL, &signals).await
        };
        if let Err(err) = sent.await {
            // The other servers' feeds poll: they see the entries late,
            // not never. Signals are lost, as a dropped socket loses them.
            tracing::warn!(error = %err, "could not notify the other servers");
            drop(strong);
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// Puts the other servers' notices on this server's bus and their signals
/// to this server's sockets.
async fn listen(
    mut listener: rapport_store::cluster::ClusterListener,
    me: Uuid,
    hub: Hub,
    local: LocalBus,
) {
    loop {
        match listener.next().await {
            Ok(Some(notice)) if notice.channel == LOG_CHANNEL => {
                match parse_log_payload(&notice.payload) {
                    Some((server, workspace, seq)) if server != me => {
                        local.publish(workspace, seq);
                    }
                    Some(_) => {}
                    None => tracing::debug!(payload = %notice.payload, "an unreadable notice"),
                }
            }
            Ok(Some(notice)) => match serde_json::from_str::<SignalNotice>(&notice.payload) {
                Ok(signal) if signal.server != me => {
                    hub.signal_here(signal.workspace, signal.contact, signal.signal);
                }
                Ok(_) => {}
                Err(err) => tracing::debug!(error = %err, "an unreadable signal"),
            },
            Ok(None) => {
                // The connection dropped: whatever was said meanwhile is
                // lost; every feed reads the log for itself.
                tracing::warn!("lost the connection listening to the other servers; reconnecting");
                local.missed();
            }
            Err(err) => {
                tracing::warn!(error = %err, "listening to the other servers failed; retrying");
                local.missed();
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// Syncs presence every second while the server runs.
async fn keep_in_sync(shared: std::sync::Weak<Shared>, hub: Hub) {
    let mut every = tokio::time::interval(SYNC_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if let Err(err) = sync_once(&shared, &hub, false).await {
            tracing::warn!(error = %err, "could not share presence with the other servers");
        }
    }
}

/// One sync: write what changed here, read what the others hold, and tell
/// this server's Inboxes of presence that changed with it.
async fn sync_once(shared: &Shared, hub: &Hub, first: bool) -> anyhow::Result<()> {
    let dirty: Vec<Key> =
        std::mem::take(&mut *shared.dirty.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect();
    let away: Vec<((WorkspaceId, Uuid), bool)> = shared
        .away_changes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(k, v)| (*k, *v))
        .collect();
    let (mut put, mut remove) = (Vec::new(), Vec::new());
    for key in &dirty {
        match hub.presence_here(key.0, key.1, key.2) {
            Some(row) => put.push(row),
            None => remove.push(*key),
        }
    }
    let now = shared.clock.now().as_millis();
    let written = async {
        for ((workspace, agent), away) in &away {
            shared.cluster.set_away(*workspace, *agent, *away).await?;
        }
        shared
            .cluster
            .sync(PresenceChanges {
                server: shared.server,
                put: &put,
                remove: &remove,
            })
            .await
    }
    .await;
    let view = match written {
        Ok(view) => view,
        Err(err) => {
            // Try the same again next time.
            shared
                .dirty
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(dirty);
            return Err(err.into());
        }
    };
    {
        // Written: forget the changes, unless changed again meanwhile.
        let mut changes = shared
            .away_changes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (key, away) in away {
            if changes.get(&key) == Some(&away) {
                changes.remove(&key);
            }
        }
    }
    if view.rejoined && !first {
        // Forgotten with our rows: write all of them next time.
        hub.touch_all_presence();
    }
    let fresh = Remote::from_view(view, now);
    let held: Vec<Key> = fresh.rows.keys().copied().collect();
    *shared.view.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
    tell_presence_changes(shared, hub, held, first);
    Ok(())
}

/// A contact's or member's presence as this server sees it now.
fn status_of(hub: &Hub, (workspace, kind, subject): Key) -> &'static str {
    match kind {
        PresenceKind::Contact => {
            if hub.is_online(workspace, ContactId::from_uuid(subject)) {
                "online"
            } else {
                "offline"
            }
        }
        PresenceKind::Agent => hub.agent_status(workspace, AgentId::from_uuid(subject)),
    }
}

/// Tells this server's Inboxes of every presence that changed since the
/// last sync for those other servers hold: a contact or member whose
/// server went silent (their sockets count as closed), or came back, or
/// whose change the other server's own signal did not bring (a repeat of
/// one that did changes nothing). Not on the first sync: no Inbox here
/// has been told anything yet.
fn tell_presence_changes(shared: &Shared, hub: &Hub, held: Vec<Key>, first: bool) {
    let mut told = shared.told.lock().unwrap_or_else(|e| e.into_inner());
    let keys: HashSet<Key> = held.iter().chain(told.keys()).copied().collect();
    let mut changed = Vec::new();
    let mut now_told = HashMap::with_capacity(held.len());
    for key in keys {
        let status = status_of(hub, key);
        if told.get(&key).copied().unwrap_or("offline") != status {
            changed.push((key, status));
        }
        if status != "offline" {
            now_told.insert(key, status);
        }
    }
    *told = now_told;
    drop(told);
    if first {
        return;
    }
    for ((workspace, kind, subject), status) in changed {
        let signal = match kind {
            PresenceKind::Contact => serde_json::json!({"type": "presence",
                "contact_id": subject, "online": status == "online"}),
            PresenceKind::Agent => serde_json::json!({"type": "agent_presence",
                "agent_id": subject, "status": status}),
        };
        hub.signal_here(workspace, None, signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both clocks at `ms`.
    fn at(ms: i64) -> Now {
        Now { local: ms, db: ms }
    }

    fn row(seen_at: i64, open: u32, left_at: Option<i64>) -> RemoteRow {
        RemoteRow {
            seen_at,
            open,
            left_at,
        }
    }

    #[test]
    fn a_socket_on_a_live_server_is_online_and_counts() {
        let now = 1_000_000;
        let r = row(now - 900, 2, None);
        assert!(r.online(at(now)));
        assert_eq!(r.open_now(at(now)), 2);
    }

    #[test]
    fn a_closed_socket_stays_online_for_the_grace_period() {
        let now = 1_000_000;
        assert!(row(now, 0, Some(now - PRESENCE_GRACE_MS + 1)).online(at(now)));
        assert!(!row(now, 0, Some(now - PRESENCE_GRACE_MS)).online(at(now)));
    }

    #[test]
    fn a_silent_servers_sockets_closed_when_it_was_last_heard_from() {
        let now = 1_000_000;
        let silent_since = now - SILENT_AFTER_MS;
        let r = row(silent_since, 3, None);
        assert_eq!(
            r.open_now(at(now)),
            0,
            "a silent server's tabs do not count"
        );
        assert!(r.online(at(now)), "within the grace period of its silence");
        let long_gone = row(now - PRESENCE_GRACE_MS - 1, 3, None);
        assert!(!long_gone.online(at(now)));
        // A socket that closed after the server was last heard from cannot
        // be known: the silence is when it closed at the latest.
        let r = row(now - PRESENCE_GRACE_MS - 1, 0, Some(now));
        assert!(!r.online(at(now)));
    }

    #[test]
    fn liveness_is_judged_by_the_databases_clock_whatever_this_servers_says() {
        // This server's clock runs a minute ahead of the database's.
        let now = Now {
            local: 1_060_000,
            db: 1_000_000,
        };
        let heard_a_second_ago = row(999_000, 1, None);
        assert_eq!(heard_a_second_ago.open_now(now), 1);
        assert!(heard_a_second_ago.online(now));
        let silent = row(1_000_000 - SILENT_AFTER_MS, 1, None);
        assert_eq!(silent.open_now(now), 0);
    }

    #[test]
    fn log_notices_read_back_and_junk_is_refused() {
        let (server, workspace) = (Uuid::now_v7(), WorkspaceId::generate());
        let payload = log_payload(server, workspace, 42);
        assert_eq!(parse_log_payload(&payload), Some((server, workspace, 42)));
        assert_eq!(parse_log_payload(&format!("{payload} 1")), None);
        assert_eq!(parse_log_payload("x y z"), None);
        assert_eq!(parse_log_payload(""), None);
    }
}
