//! The hub: one feed per workspace with live subscribers. A feed's task
//! reads the workspace's new log entries once, when the bus says there are
//! some (or every few seconds, as a safety net), and hands each to the
//! subscribers that may see it: every Inbox subscriber, and the one
//! contact's messengers. A subscriber that cannot keep up is dropped; its
//! socket notices and catches up from the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rapport_core::activity::ActivityEntry;
use rapport_core::ids::{ContactId, WorkspaceId};
use rapport_core::store::{Store, StoreError, Stream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, OnceCell, OwnedSemaphorePermit, Semaphore, mpsc};

use super::LocalBus;

/// Entries a subscriber may have waiting before it counts as too slow.
const SUBSCRIBER_BUFFER: usize = 256;
/// Entries a feed reads from the store at once.
const READ_BATCH: u32 = 500;
/// How often a feed looks for entries even without a notice.
const SAFETY_POLL: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    feeds: Mutex<HashMap<WorkspaceId, Feed>>,
    next_id: AtomicU64,
    connections: Arc<Semaphore>,
}

struct Feed {
    generation: u64,
    wake: Arc<Notify>,
    /// The position the feed started reading after, once known.
    start: Arc<OnceCell<i64>>,
    team: HashMap<u64, mpsc::Sender<Arc<ActivityEntry>>>,
    contacts: HashMap<ContactId, HashMap<u64, mpsc::Sender<Arc<ActivityEntry>>>>,
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
    pub receiver: mpsc::Receiver<Arc<ActivityEntry>>,
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
    pub fn start(store: Arc<dyn Store>, bus: &LocalBus, max_connections: usize) -> Self {
        let hub = Hub(Arc::new(Inner {
            store,
            feeds: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            connections: Arc::new(Semaphore::new(max_connections)),
        }));
        let mut notices = bus.subscribe();
        let inner = Arc::downgrade(&hub.0);
        tokio::spawn(async move {
            loop {
                let notice = notices.recv().await;
                let Some(inner) = inner.upgrade() else { break };
                match notice {
                    Ok((workspace, _)) => inner.wake(Some(workspace)),
                    // Missed notices: every feed looks.
                    Err(RecvError::Lagged(_)) => inner.wake(None),
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

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
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
            return;
        };
        match stream {
            Stream::Workspace => {
                feed.team.remove(&id);
            }
            Stream::Contact(contact) => {
                if let Some(subscribers) = feed.contacts.get_mut(&contact) {
                    subscribers.remove(&id);
                    if subscribers.is_empty() {
                        feed.contacts.remove(&contact);
                    }
                }
            }
        }
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
            let entry = Arc::new(entry.clone());
            feed.team
                .retain(|_, sender| sender.try_send(entry.clone()).is_ok());
            if entry.activity.visible_to_contact()
                && let Some(subscribers) = feed.contacts.get_mut(&entry.contact_id)
            {
                subscribers.retain(|_, sender| sender.try_send(entry.clone()).is_ok());
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

/// A feed's task: from its start position, read new entries whenever woken
/// and deliver them, until the feed has no subscribers left.
async fn run_feed(
    hub: Weak<Inner>,
    workspace: WorkspaceId,
    generation: u64,
    wake: Arc<Notify>,
    start: Arc<OnceCell<i64>>,
) {
    let mut position = {
        let Some(inner) = hub.upgrade() else { return };
        match start
            .get_or_try_init(|| async { inner.store.activity_head(workspace).await })
            .await
        {
            Ok(position) => *position,
            Err(err) => {
                tracing::error!(error = %err, %workspace, "a live feed could not start");
                return;
            }
        }
    };
    loop {
        {
            let Some(inner) = hub.upgrade() else { return };
            if !inner.feed_alive(workspace, generation) {
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
