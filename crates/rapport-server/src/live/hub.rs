//! The hub: one feed per workspace with live subscribers. A feed's task
//! reads the workspace's new log entries once, when the bus says there are
//! some (or every few seconds, as a safety net), and hands each to the
//! subscribers that may see it: every Inbox subscriber, and the one
//! contact's messengers. A subscriber that cannot keep up is dropped; its
//! socket notices and catches up from the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rapport_core::model::activity::ActivityEntry;
use rapport_core::model::ids::{AgentId, ContactId, WorkspaceId};
use rapport_core::ports::clock::Clock;
use rapport_core::ports::store::{Store, StoreError, Stream};
use rapport_store::cluster::{PresenceKind, PresenceRow};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, OnceCell, OwnedSemaphorePermit, Semaphore, mpsc};

use super::LocalBus;
use super::bus::Notice;
use super::cluster::Shared;

/// How long a visitor counts as online after their last widget closed, so
/// that moving between pages does not flap.
pub const PRESENCE_GRACE_MS: i64 = 60_000;

/// What a subscriber receives: a log entry, or a passing signal (typing,
/// presence) that is not logged and not replayed.
#[derive(Clone, Debug)]
pub enum Live {
    Entry(Arc<ActivityEntry>),
    Signal(Arc<serde_json::Value>),
}

/// Entries a subscriber may have waiting before it counts as too slow.
const SUBSCRIBER_BUFFER: usize = 256;
/// Entries a feed reads from the store at once.
const READ_BATCH: u32 = 500;
/// How often a feed looks for entries even without a notice.
const SAFETY_POLL: Duration = Duration::from_secs(5);
/// How soon a feed that could not learn where to start tries again.
const START_RETRY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Open widget sockets per contact, and when the last one closed.
    visitors: Mutex<HashMap<(WorkspaceId, ContactId), Presence>>,
    /// Team members' chosen status and open Inbox sockets.
    agents: Mutex<HashMap<(WorkspaceId, AgentId), AgentPresence>>,
    feeds: Mutex<HashMap<WorkspaceId, Feed>>,
    next_id: AtomicU64,
    connections: Arc<Semaphore>,
    /// The other servers on the same database, when there are any.
    cluster: OnceLock<Arc<Shared>>,
}

struct Feed {
    generation: u64,
    wake: Arc<Notify>,
    /// The position the feed started reading after, once known.
    start: Arc<OnceCell<i64>>,
    team: HashMap<u64, mpsc::Sender<Live>>,
    contacts: HashMap<ContactId, HashMap<u64, mpsc::Sender<Live>>>,
}

impl Feed {
    fn is_empty(&self) -> bool {
        self.team.is_empty() && self.contacts.is_empty()
    }
}

/// A live subscription. Entries arrive on `receiver`; dropping it
/// unsubscribes. When `receiver` yields `None` the hub dropped this
/// subscriber for falling behind: catch up from the store and subscribe
/// again.
pub struct Subscription {
    pub receiver: mpsc::Receiver<Live>,
    id: u64,
    workspace: WorkspaceId,
    stream: Stream,
    hub: Weak<Inner>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.hub.upgrade() {
            inner.unsubscribe(self.workspace, self.stream, self.id);
        }
    }
}

impl Hub {
    /// Starts the hub: it follows `bus` and allows `max_connections` sockets.
    pub fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        bus: &LocalBus,
        max_connections: usize,
    ) -> Self {
        let hub = Hub(Arc::new(Inner {
            store,
            clock,
            visitors: Mutex::new(HashMap::new()),
            agents: Mutex::new(HashMap::new()),
            feeds: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            connections: Arc::new(Semaphore::new(max_connections)),
            cluster: OnceLock::new(),
        }));
        let mut notices = bus.subscribe();
        let inner = Arc::downgrade(&hub.0);
        tokio::spawn(async move {
            loop {
                let notice = notices.recv().await;
                let Some(inner) = inner.upgrade() else { break };
                match notice {
                    Ok(Notice::Grew(workspace, _)) => inner.wake(Some(workspace)),
                    // Missed notices: every feed looks.
                    Ok(Notice::Missed) | Err(RecvError::Lagged(_)) => inner.wake(None),
                    Err(RecvError::Closed) => break,
                }
            }
        });
        hub
    }

    /// A place for one more socket, or `None` at the cap.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.0.connections.clone().try_acquire_owned().ok()
    }

    /// Shares presence and signals with the other servers on the database
    /// from now on.
    pub(super) fn join_cluster(&self, shared: Arc<Shared>) {
        let _ = self.0.cluster.set(shared);
    }

    fn cluster(&self) -> Option<&Shared> {
        self.0.cluster.get().map(|shared| &**shared)
    }

    /// Sends a passing signal to every Inbox subscriber of the workspace,
    /// on every server.
    pub fn signal_team(&self, workspace: WorkspaceId, signal: serde_json::Value) {
        if let Some(cluster) = self.cluster() {
            cluster.relay(workspace, None, &signal);
        }
        self.signal_here(workspace, None, signal);
    }

    /// Sends a passing signal to one contact's open messengers, on every
    /// server.
    pub fn signal_contact(
        &self,
        workspace: WorkspaceId,
        contact: ContactId,
        signal: serde_json::Value,
    ) {
        if let Some(cluster) = self.cluster() {
            cluster.relay(workspace, Some(contact), &signal);
        }
        self.signal_here(workspace, Some(contact), signal);
    }

    /// Sends a passing signal to this server's sockets: the team's
    /// Inboxes, or one contact's messengers.
    pub(super) fn signal_here(
        &self,
        workspace: WorkspaceId,
        contact: Option<ContactId>,
        signal: serde_json::Value,
    ) {
        let signal = Live::Signal(Arc::new(signal));
        let mut feeds = self.0.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let Some(feed) = feeds.get_mut(&workspace) else {
            return;
        };
        let subscribers = match contact {
            None => &mut feed.team,
            Some(contact) => match feed.contacts.get_mut(&contact) {
                Some(subscribers) => subscribers,
                None => return,
            },
        };
        subscribers.retain(|_, sender| {
            !matches!(
                sender.try_send(signal.clone()),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }

    /// This server's sockets for one contact or team member, as the other
    /// servers are told of them; `None` once there is nothing to tell.
    pub(super) fn presence_here(
        &self,
        workspace: WorkspaceId,
        kind: PresenceKind,
        subject: uuid::Uuid,
    ) -> Option<PresenceRow> {
        let (open, left_at) = match kind {
            PresenceKind::Contact => {
                let visitors = self.0.visitors.lock().unwrap_or_else(|e| e.into_inner());
                let p = visitors.get(&(workspace, ContactId::from_uuid(subject)))?;
                (p.open, p.left_at.map(|t| t.as_millis()))
            }
            PresenceKind::Agent => {
                let agents = self.0.agents.lock().unwrap_or_else(|e| e.into_inner());
                let p = agents.get(&(workspace, AgentId::from_uuid(subject)))?;
                if p.sockets == 0 {
                    return None;
                }
                (p.sockets, None)
            }
        };
        Some(PresenceRow {
            workspace,
            kind,
            subject,
            open: u32::try_from(open).unwrap_or(u32::MAX),
            left_at,
        })
    }

    /// Marks every contact and team member with sockets here as changed,
    /// so the next sync writes them all.
    pub(super) fn touch_all_presence(&self) {
        let contacts: Vec<_> = {
            let visitors = self.0.visitors.lock().unwrap_or_else(|e| e.into_inner());
            visitors.keys().copied().collect()
        };
        for (workspace, contact) in contacts {
            self.touch(workspace, PresenceKind::Contact, contact.as_uuid());
        }
        let agents: Vec<_> = {
            let agents = self.0.agents.lock().unwrap_or_else(|e| e.into_inner());
            agents.keys().copied().collect()
        };
        for (workspace, agent) in agents {
            self.touch(workspace, PresenceKind::Agent, agent.as_uuid());
        }
    }

    fn touch(&self, workspace: WorkspaceId, kind: PresenceKind, subject: uuid::Uuid) {
        if let Some(cluster) = self.cluster() {
            cluster.touch(workspace, kind, subject);
        }
    }

    /// A visitor's widget opened; they are online until it closes (plus a
    /// grace period). Dropping the guard records the close.
    pub fn visitor_arrived(&self, workspace: WorkspaceId, contact: ContactId) -> VisitorGuard {
        let was_online = self.is_online(workspace, contact);
        {
            let mut visitors = self.0.visitors.lock().unwrap_or_else(|e| e.into_inner());
            visitors.entry((workspace, contact)).or_default().open += 1;
        }
        metrics::gauge!("rapport_live_sockets", "kind" => "widget").increment(1.0);
        self.touch(workspace, PresenceKind::Contact, contact.as_uuid());
        if !was_online {
            self.signal_team(
                workspace,
                serde_json::json!({"type": "presence", "contact_id": contact, "online": true}),
            );
        }
        VisitorGuard {
            hub: self.clone(),
            workspace,
            contact,
        }
    }

    /// Whether the contact has a widget open, or had one within the grace
    /// period, on this server or another.
    pub fn is_online(&self, workspace: WorkspaceId, contact: ContactId) -> bool {
        self.is_online_here(workspace, contact)
            || self
                .cluster()
                .is_some_and(|cluster| cluster.contact_online(workspace, contact))
    }

    fn is_online_here(&self, workspace: WorkspaceId, contact: ContactId) -> bool {
        let visitors = self.0.visitors.lock().unwrap_or_else(|e| e.into_inner());
        visitors.get(&(workspace, contact)).is_some_and(|p| {
            p.open > 0
                || p.left_at.is_some_and(|left| {
                    self.0.clock.now().as_millis() - left.as_millis() < PRESENCE_GRACE_MS
                })
        })
    }

    /// The workspace's contacts that are online now (see `is_online`).
    pub fn online_contacts(&self, workspace: WorkspaceId) -> Vec<ContactId> {
        let candidates: Vec<ContactId> = {
            let visitors = self.0.visitors.lock().unwrap_or_else(|e| e.into_inner());
            visitors
                .keys()
                .filter(|(ws, _)| *ws == workspace)
                .map(|(_, contact)| *contact)
                .collect()
        };
        let mut online: Vec<ContactId> = candidates
            .into_iter()
            .filter(|contact| self.is_online_here(workspace, *contact))
            .collect();
        if let Some(cluster) = self.cluster() {
            let here: std::collections::HashSet<ContactId> = online.iter().copied().collect();
            online.extend(
                cluster
                    .online_contacts(workspace)
                    .into_iter()
                    .filter(|contact| !here.contains(contact)),
            );
        }
        online
    }

    /// Drops what is kept about a visitor who left (and stayed away).
    fn forget_visitor(&self, workspace: WorkspaceId, contact: ContactId) {
        let mut visitors = self.0.visitors.lock().unwrap_or_else(|e| e.into_inner());
        if visitors
            .get(&(workspace, contact))
            .is_some_and(|p| p.open == 0)
        {
            visitors.remove(&(workspace, contact));
        }
        drop(visitors);
        self.touch(workspace, PresenceKind::Contact, contact.as_uuid());
    }

    /// A team member's Inbox socket opened; dropping the guard closes it.
    pub fn agent_connected(&self, workspace: WorkspaceId, agent: AgentId) -> AgentGuard {
        let became_online = {
            let mut agents = self.0.agents.lock().unwrap_or_else(|e| e.into_inner());
            let presence = agents.entry((workspace, agent)).or_default();
            presence.sockets += 1;
            presence.sockets == 1
        };
        metrics::gauge!("rapport_live_sockets", "kind" => "inbox").increment(1.0);
        self.touch(workspace, PresenceKind::Agent, agent.as_uuid());
        if became_online {
            self.announce_agent(workspace, agent);
        }
        AgentGuard {
            hub: self.clone(),
            workspace,
            agent,
        }
    }

    /// Records a team member's chosen status (`online` or `away`).
    pub fn set_agent_status(&self, workspace: WorkspaceId, agent: AgentId, away: bool) {
        {
            let mut agents = self.0.agents.lock().unwrap_or_else(|e| e.into_inner());
            agents.entry((workspace, agent)).or_default().away = away;
        }
        if let Some(cluster) = self.cluster() {
            cluster.set_away(workspace, agent, away);
        }
        self.announce_agent(workspace, agent);
    }

    /// `online`, `away` or `offline` (no Inbox open on any server).
    pub fn agent_status(&self, workspace: WorkspaceId, agent: AgentId) -> &'static str {
        let (mut sockets, mut away) = {
            let agents = self.0.agents.lock().unwrap_or_else(|e| e.into_inner());
            agents
                .get(&(workspace, agent))
                .map_or((0, false), |p| (p.sockets, p.away))
        };
        if let Some(cluster) = self.cluster() {
            sockets += cluster.agent_sockets(workspace, agent);
            away = cluster.away(workspace, agent);
        }
        match (sockets > 0, away) {
            (true, false) => "online",
            (true, true) => "away",
            (false, _) => "offline",
        }
    }

    fn announce_agent(&self, workspace: WorkspaceId, agent: AgentId) {
        let status = self.agent_status(workspace, agent);
        self.signal_team(
            workspace,
            serde_json::json!({"type": "agent_presence", "agent_id": agent, "status": status}),
        );
    }

    /// Subscribes to a workspace's entries (an Inbox) or one contact's
    /// visible entries (a messenger).
    pub async fn subscribe(
        &self,
        workspace: WorkspaceId,
        stream: Stream,
    ) -> Result<Subscription, StoreError> {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_BUFFER);
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let (start, new_feed) = {
            let mut feeds = self.0.feeds.lock().unwrap_or_else(|e| e.into_inner());
            let mut new_feed = None;
            let feed = feeds.entry(workspace).or_insert_with(|| {
                let feed = Feed {
                    generation: id,
                    wake: Arc::new(Notify::new()),
                    start: Arc::new(OnceCell::new()),
                    team: HashMap::new(),
                    contacts: HashMap::new(),
                };
                new_feed = Some((feed.generation, feed.wake.clone(), feed.start.clone()));
                feed
            });
            match stream {
                Stream::Workspace => feed.team.insert(id, sender),
                Stream::Contact(contact) => {
                    feed.contacts.entry(contact).or_default().insert(id, sender)
                }
            };
            tracing::debug!(
                subscriber = id,
                %workspace,
                ?stream,
                feed = feed.generation,
                new_feed = new_feed.is_some(),
                "live: subscribed"
            );
            (feed.start.clone(), new_feed)
        };
        let subscription = Subscription {
            receiver,
            id,
            workspace,
            stream,
            hub: Arc::downgrade(&self.0),
        };
        if let Some((generation, wake, start)) = new_feed {
            tokio::spawn(run_feed(
                Arc::downgrade(&self.0),
                workspace,
                generation,
                wake,
                start,
            ));
        }
        // Wait until the feed knows where it starts: everything up to there
        // is in the store for the caller to replay, everything after reaches
        // the receiver (both, sometimes: positions tell duplicates apart).
        start
            .get_or_try_init(|| async { self.0.store.activity_head(workspace).await })
            .await?;
        Ok(subscription)
    }
}

#[derive(Default)]
struct Presence {
    open: usize,
    left_at: Option<rapport_core::Timestamp>,
}

#[derive(Default)]
struct AgentPresence {
    sockets: usize,
    away: bool,
}

/// Keeps a visitor online while held.
pub struct VisitorGuard {
    hub: Hub,
    workspace: WorkspaceId,
    contact: ContactId,
}

impl Drop for VisitorGuard {
    fn drop(&mut self) {
        let now = self.hub.0.clock.now();
        let last_one = {
            let mut visitors = self
                .hub
                .0
                .visitors
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            visitors
                .get_mut(&(self.workspace, self.contact))
                .is_some_and(|presence| {
                    presence.open = presence.open.saturating_sub(1);
                    presence.left_at = Some(now);
                    presence.open == 0
                })
        };
        metrics::gauge!("rapport_live_sockets", "kind" => "widget").decrement(1.0);
        self.hub.touch(
            self.workspace,
            PresenceKind::Contact,
            self.contact.as_uuid(),
        );
        if last_one && let Ok(runtime) = tokio::runtime::Handle::try_current() {
            // Once the grace period is over, tell the team, unless the
            // visitor came back (a page navigation) in the meantime.
            let (hub, workspace, contact) = (self.hub.clone(), self.workspace, self.contact);
            runtime.spawn(async move {
                let grace = Duration::from_millis(PRESENCE_GRACE_MS.unsigned_abs());
                tokio::time::sleep(grace + Duration::from_millis(100)).await;
                if hub.is_online_here(workspace, contact) {
                    return;
                }
                hub.forget_visitor(workspace, contact);
                if !hub.is_online(workspace, contact) {
                    hub.signal_team(workspace, serde_json::json!({"type": "presence", "contact_id": contact, "online": false}));
                }
            });
        }
    }
}

/// Keeps a team member's Inbox counted as open while held.
pub struct AgentGuard {
    hub: Hub,
    workspace: WorkspaceId,
    agent: AgentId,
}

impl Drop for AgentGuard {
    fn drop(&mut self) {
        let gone = {
            let mut agents = self.hub.0.agents.lock().unwrap_or_else(|e| e.into_inner());
            agents
                .get_mut(&(self.workspace, self.agent))
                .is_some_and(|p| {
                    p.sockets = p.sockets.saturating_sub(1);
                    p.sockets == 0
                })
        };
        metrics::gauge!("rapport_live_sockets", "kind" => "inbox").decrement(1.0);
        self.hub
            .touch(self.workspace, PresenceKind::Agent, self.agent.as_uuid());
        if gone {
            self.hub.announce_agent(self.workspace, self.agent);
        }
    }
}

impl Inner {
    fn wake(&self, workspace: Option<WorkspaceId>) {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        match workspace {
            Some(workspace) => {
                if let Some(feed) = feeds.get(&workspace) {
                    feed.wake.notify_one();
                }
            }
            None => feeds.values().for_each(|feed| feed.wake.notify_one()),
        }
    }

    fn unsubscribe(&self, workspace: WorkspaceId, stream: Stream, id: u64) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let Some(feed) = feeds.get_mut(&workspace) else {
            tracing::debug!(subscriber = id, %workspace, "live: unsubscribed, no feed");
            return;
        };
        let present = match stream {
            Stream::Workspace => feed.team.remove(&id).is_some(),
            Stream::Contact(contact) => match feed.contacts.get_mut(&contact) {
                Some(subscribers) => {
                    let present = subscribers.remove(&id).is_some();
                    if subscribers.is_empty() {
                        feed.contacts.remove(&contact);
                    }
                    present
                }
                None => false,
            },
        };
        tracing::debug!(
            subscriber = id,
            %workspace,
            feed = feed.generation,
            present,
            feed_ends = feed.is_empty(),
            "live: unsubscribed"
        );
        if feed.is_empty() {
            // The feed's task notices it is gone and ends.
            feed.wake.notify_one();
            feeds.remove(&workspace);
        }
    }

    /// Hands entries to the subscribers that may see them; drops any that
    /// are too far behind. Says whether the feed still exists.
    fn deliver(&self, workspace: WorkspaceId, generation: u64, entries: &[ActivityEntry]) -> bool {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let Some(feed) = feeds
            .get_mut(&workspace)
            .filter(|f| f.generation == generation)
        else {
            return false;
        };
        for entry in entries {
            let live = Live::Entry(Arc::new(entry.clone()));
            feed.team
                .retain(|id, sender| hand_over(*id, sender, &live, entry.seq));
            if entry.activity.visible_to_contact()
                && let Some(subscribers) = feed.contacts.get_mut(&entry.contact_id)
            {
                tracing::trace!(
                    seq = entry.seq,
                    contact = %entry.contact_id,
                    subscribers = ?subscribers.keys().collect::<Vec<_>>(),
                    "live: an entry for a contact's messengers"
                );
                subscribers.retain(|id, sender| hand_over(*id, sender, &live, entry.seq));
            }
        }
        feed.contacts
            .retain(|_, subscribers| !subscribers.is_empty());
        true
    }

    fn feed_alive(&self, workspace: WorkspaceId, generation: u64) -> bool {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        feeds
            .get(&workspace)
            .is_some_and(|f| f.generation == generation)
    }
}

/// Hands an entry to one subscriber; false drops the subscriber (its
/// socket went away, or it is too far behind and catches up from the store).
fn hand_over(id: u64, sender: &mpsc::Sender<Live>, live: &Live, seq: i64) -> bool {
    match sender.try_send(live.clone()) {
        Ok(()) => true,
        Err(err) => {
            let closed = matches!(err, mpsc::error::TrySendError::Closed(_));
            tracing::debug!(subscriber = id, seq, closed, "live: a subscriber dropped");
            false
        }
    }
}

/// A feed's task: from its start position, read new entries whenever woken
/// and deliver them, until the feed has no subscribers left.
async fn run_feed(
    hub: Weak<Inner>,
    workspace: WorkspaceId,
    generation: u64,
    wake: Arc<Notify>,
    start: Arc<OnceCell<i64>>,
) {
    // Its subscribers wait for the start too, and one of them may learn it
    // while this read fails: the feed keeps trying as long as it has
    // subscribers, for a feed that gave up would leave them silent.
    let mut position = loop {
        let Some(inner) = hub.upgrade() else { return };
        if !inner.feed_alive(workspace, generation) {
            return;
        }
        match start
            .get_or_try_init(|| async { inner.store.activity_head(workspace).await })
            .await
        {
            Ok(position) => {
                tracing::debug!(%workspace, feed = generation, position, "live: a feed starts");
                break *position;
            }
            Err(err) => {
                tracing::warn!(error = %err, %workspace, "a live feed could not start; retrying");
            }
        }
        drop(inner);
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(START_RETRY) => {}
        }
    };
    loop {
        {
            let Some(inner) = hub.upgrade() else { return };
            if !inner.feed_alive(workspace, generation) {
                tracing::debug!(%workspace, feed = generation, position, "live: a feed ends");
                return;
            }
            loop {
                match inner
                    .store
                    .activity_after(workspace, Stream::Workspace, position, READ_BATCH)
                    .await
                {
                    Ok(entries) => {
                        let Some(last) = entries.last() else { break };
                        position = last.seq;
                        if !inner.deliver(workspace, generation, &entries) {
                            tracing::debug!(%workspace, feed = generation, position, "live: a feed ends");
                            return;
                        }
                        if entries.len() < READ_BATCH as usize {
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, %workspace, "a live feed could not read; retrying");
                        break;
                    }
                }
            }
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(SAFETY_POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use rapport_core::Timestamp;
    use rapport_core::ports::clock::ManualClock;
    use rapport_store::testing::{Backend, TestDatabase};

    use super::*;

    async fn hub(clock: Arc<ManualClock>) -> (Hub, TestDatabase) {
        let db = TestDatabase::create(Backend::Sqlite)
            .await
            .expect("SQLite is always there");
        let hub = Hub::start(db.open().await, clock, &LocalBus::default(), 10);
        (hub, db)
    }

    #[tokio::test]
    async fn a_visitor_is_online_while_a_widget_is_open_and_for_the_grace_period_after() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_000_000)));
        let (hub, _db) = hub(clock.clone()).await;
        let (workspace, contact) = (WorkspaceId::generate(), ContactId::generate());
        assert!(!hub.is_online(workspace, contact));
        let first_tab = hub.visitor_arrived(workspace, contact);
        let second_tab = hub.visitor_arrived(workspace, contact);
        drop(first_tab);
        clock.advance_millis(10 * PRESENCE_GRACE_MS);
        assert!(
            hub.is_online(workspace, contact),
            "one widget is still open"
        );
        drop(second_tab);
        clock.advance_millis(PRESENCE_GRACE_MS - 1_000);
        assert!(hub.is_online(workspace, contact), "within the grace period");
        clock.advance_millis(2_000);
        assert!(!hub.is_online(workspace, contact));
    }

    #[tokio::test]
    async fn a_team_member_is_online_away_or_offline() {
        let (hub, _db) = hub(Arc::new(ManualClock::new(Timestamp::from_millis(0)))).await;
        let (workspace, agent) = (WorkspaceId::generate(), AgentId::generate());
        assert_eq!(hub.agent_status(workspace, agent), "offline");
        let tab = hub.agent_connected(workspace, agent);
        assert_eq!(hub.agent_status(workspace, agent), "online");
        hub.set_agent_status(workspace, agent, true);
        assert_eq!(hub.agent_status(workspace, agent), "away");
        drop(tab);
        assert_eq!(hub.agent_status(workspace, agent), "offline");
    }
}
