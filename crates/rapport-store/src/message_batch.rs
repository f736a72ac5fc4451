//! Messages that wait together are appended together. Many callers
//! appending a message each to one workspace at the same moment cost a few
//! statements and one commit for all of them instead of a few statements
//! and a commit each: both backends join the calls waiting for a workspace
//! into one `append_messages` and hand each caller its part of the answer.
//!
//! SQLite's writer joins the calls of one workspace that wait in its queue
//! (see `sqlite.rs`); PostgreSQL keeps [`Lanes`] per store: one append
//! of a workspace at a time ([`IN_FLIGHT`], two once [`SECOND_FROM`]
//! messages wait), and the calls that arrive meanwhile joined into the
//! next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rapport_core::model::ids::WorkspaceId;
use rapport_core::ports::store::{NewMessage, StoreError, StoredMessage};
use tokio::sync::oneshot;

/// What `append_messages` answers.
pub(crate) type Appended = Result<Vec<Result<StoredMessage, StoreError>>, StoreError>;

/// One caller's messages, waiting to be appended, and where its answer goes.
pub(crate) struct MessageWrite {
    pub news: Vec<NewMessage>,
    pub reply: oneshot::Sender<Appended>,
}

impl MessageWrite {
    /// A call and the receiver of its answer.
    pub fn new(news: Vec<NewMessage>) -> (Self, oneshot::Receiver<Appended>) {
        let (reply, answer) = oneshot::channel();
        (Self { news, reply }, answer)
    }
}

/// The callers of a joined append, in the order their messages were joined.
pub(crate) struct Replies {
    parts: Vec<(usize, oneshot::Sender<Appended>)>,
    total: usize,
}

/// Joins calls into one list of messages, and the callers to answer.
pub(crate) fn join(group: Vec<MessageWrite>) -> (Vec<NewMessage>, Replies) {
    let mut parts = Vec::with_capacity(group.len());
    let mut news = Vec::new();
    for write in group {
        parts.push((write.news.len(), write.reply));
        news.extend(write.news);
    }
    let total = news.len();
    (news, Replies { parts, total })
}

impl Replies {
    /// Hands each caller its part of the joined append's answer; if the
    /// whole append failed (or was not committed), every caller hears why.
    pub fn deliver(self, result: Appended) {
        let why = match result {
            Ok(results) if results.len() == self.total => {
                let mut results = results.into_iter();
                for (size, reply) in self.parts {
                    // The caller may have gone away; the write stands.
                    let _ = reply.send(Ok(results.by_ref().take(size).collect()));
                }
                return;
            }
            Ok(_) => StoreError::Other("the messages were not all appended".into()),
            Err(why) => why,
        };
        let mut parts = self.parts.into_iter();
        if let Some((_, first)) = parts.next() {
            for (_, reply) in parts {
                let _ = reply.send(Err(copy_error(&why)));
            }
            let _ = first.send(Err(why));
        }
    }
}

/// The same error again, for another caller of a failed shared write.
fn copy_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict(why) => StoreError::Conflict(why.clone()),
        other => StoreError::Other(other.to_string().into()),
    }
}

/// The most messages one joined append carries; more wait for the next.
pub(crate) const MAX_JOINED: usize = 512;

/// How many appends of one workspace run at once. Each takes the
/// workspace's log lock only for its log entries, its jobs and its
/// commit, so a second writes its conversations and messages while the
/// first holds it: a bulk send to 100,000 took 0.8 of the time it took
/// with one (bench/people.sh). A second starts only for a large batch
/// ([`SECOND_FROM`]). Two appends to the same conversation still go one
/// after the other, on the conversation's row lock.
pub(crate) const IN_FLIGHT: usize = 2;

/// How many messages must wait before a second append of the workspace
/// starts beside the first. Small calls (replies, live chat) wait and go
/// together into the next append instead: with a second append for them
/// the joined appends halve, each message costs more statements and
/// commits, and the write path (64 clients, a message each) went 0.84 of
/// the rate of one append at a time (bench/write-path.sh). A bulk send's
/// chunk of 500 is over it at once.
pub(crate) const SECOND_FROM: usize = MAX_JOINED / 2;

/// One lane per workspace with appends under way: how many tasks are
/// appending its messages, and the calls waiting for one of them.
#[derive(Default)]
struct Lane {
    running: usize,
    waiting: Vec<MessageWrite>,
    /// The messages of the calls in `waiting`.
    waiting_messages: usize,
}

impl Lane {
    fn wait(&mut self, write: MessageWrite) {
        self.waiting_messages += write.news.len();
        self.waiting.push(write);
    }

    /// The calls waiting, up to [`MAX_JOINED`] messages but at least one
    /// call, in the order they came.
    fn take(&mut self) -> Vec<MessageWrite> {
        let mut messages = 0;
        let take = self
            .waiting
            .iter()
            .take_while(|w| {
                messages += w.news.len();
                messages <= MAX_JOINED
            })
            .count()
            .max(1);
        let taken: Vec<MessageWrite> = self.waiting.drain(..take).collect();
        self.waiting_messages -= taken.iter().map(|w| w.news.len()).sum::<usize>();
        taken
    }

    /// Whether enough waits for another append beside those running.
    fn another(&self) -> bool {
        self.running == 0 || (self.running < IN_FLIGHT && self.waiting_messages >= SECOND_FROM)
    }
}

/// The lanes of a store. A workspace has a lane only while a task is
/// appending its messages.
#[derive(Clone, Default)]
pub(crate) struct Lanes {
    lanes: Arc<Mutex<HashMap<WorkspaceId, Lane>>>,
}

impl Lanes {
    /// Queues `write` for the workspace's appends under way, or returns
    /// the calls for the caller to start a task that appends them and then
    /// what queues meanwhile (`next`, until it says the task is done):
    /// `write` alone when none runs, or what waits when enough does for a
    /// second append (see [`IN_FLIGHT`], [`SECOND_FROM`]).
    pub fn enter(&self, workspace: WorkspaceId, write: MessageWrite) -> Option<Vec<MessageWrite>> {
        let mut lanes = self.lock();
        let lane = lanes.entry(workspace).or_default();
        lane.wait(write);
        if !lane.another() {
            return None;
        }
        lane.running += 1;
        Some(lane.take())
    }

    /// The calls waiting (up to [`MAX_JOINED`] messages, but at least one
    /// call), or `None` when the task is done: when none wait, or when
    /// another task runs and what waits is too little for two (that one
    /// takes it next). The lane closes with its last task.
    pub fn next(&self, workspace: WorkspaceId) -> Option<Vec<MessageWrite>> {
        let mut lanes = self.lock();
        let lane = lanes.get_mut(&workspace)?;
        let enough = lane.running == 1 || lane.waiting_messages >= SECOND_FROM;
        if lane.waiting.is_empty() || !enough {
            Self::leave(&mut lanes, workspace);
            return None;
        }
        Some(lane.take())
    }

    /// A task ends without asking for more (it panicked, or the runtime is
    /// shutting down). The others go on with what waits; if it was the
    /// last, the waiting callers hear that their write was not carried
    /// out, and the next call opens the lane again.
    pub fn abandon(&self, workspace: WorkspaceId) {
        Self::leave(&mut self.lock(), workspace);
    }

    fn leave(lanes: &mut HashMap<WorkspaceId, Lane>, workspace: WorkspaceId) {
        if let Some(lane) = lanes.get_mut(&workspace) {
            lane.running = lane.running.saturating_sub(1);
            if lane.running == 0 {
                lanes.remove(&workspace);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<WorkspaceId, Lane>> {
        // The map is consistent between statements; a panic elsewhere
        // while it was held leaves nothing half-done.
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Leaves a lane if the task appending it ends without being told it is
/// done (a panic unwinding through it, or the runtime shutting down).
pub(crate) struct LaneGuard {
    lanes: Lanes,
    workspace: WorkspaceId,
    done: bool,
}

impl LaneGuard {
    pub fn new(lanes: Lanes, workspace: WorkspaceId) -> Self {
        Self {
            lanes,
            workspace,
            done: false,
        }
    }

    /// The next calls to append, or `None` once the task is done.
    pub fn next(&mut self) -> Option<Vec<MessageWrite>> {
        let next = self.lanes.next(self.workspace);
        self.done = next.is_none();
        next
    }
}

impl Drop for LaneGuard {
    fn drop(&mut self) {
        if !self.done {
            self.lanes.abandon(self.workspace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> (MessageWrite, oneshot::Receiver<Appended>) {
        MessageWrite::new(Vec::new())
    }

    /// A call of `n` messages.
    fn call_of(n: usize) -> (MessageWrite, oneshot::Receiver<Appended>) {
        use rapport_core::Timestamp;
        use rapport_core::model::conversation::{Author, Message, PartKind};
        use rapport_core::model::ids::{ContactId, ConversationId, MessageId};
        let news = (0..n)
            .map(|_| NewMessage {
                message: Message {
                    id: MessageId::generate(),
                    workspace_id: WorkspaceId::generate(),
                    conversation_id: ConversationId::generate(),
                    author: Author::Bot,
                    kind: PartKind::Comment,
                    body: String::new(),
                    created_at: Timestamp::from_millis(0),
                    origin: None,
                    attachments: Vec::new(),
                },
                contact_id: ContactId::generate(),
                new_conversation: None,
                email: None,
                email_key: None,
                bulk_send: None,
            })
            .collect();
        MessageWrite::new(news)
    }

    fn sizes(calls: Option<Vec<MessageWrite>>) -> Option<Vec<usize>> {
        calls.map(|calls| calls.iter().map(|c| c.news.len()).collect())
    }

    #[test]
    fn a_lane_opens_queues_and_closes() {
        let lanes = Lanes::default();
        let (acme, globex) = (WorkspaceId::generate(), WorkspaceId::generate());
        let (first, _a) = call_of(1);
        assert_eq!(
            sizes(lanes.enter(acme, first)),
            Some(vec![1]),
            "the first call starts a task"
        );
        let (second, _b) = call_of(1);
        let (third, _c) = call_of(2);
        assert!(lanes.enter(acme, second).is_none(), "then calls queue");
        assert!(lanes.enter(acme, third).is_none());
        let (other, _d) = call();
        assert!(
            lanes.enter(globex, other).is_some(),
            "each workspace has its own lane"
        );
        assert_eq!(
            sizes(lanes.next(acme)),
            Some(vec![1, 2]),
            "what waits goes together"
        );
        assert!(lanes.next(acme).is_none(), "nothing waits: the task ends");
        let (again, _e) = call();
        assert!(
            lanes.enter(acme, again).is_some(),
            "and the next call opens the lane again"
        );
    }

    #[test]
    fn a_second_append_starts_only_for_a_large_batch_and_ends_when_little_waits() {
        let lanes = Lanes::default();
        let acme = WorkspaceId::generate();
        let mut answers = Vec::new();
        let mut enter = |n: usize| {
            let (write, answer) = call_of(n);
            answers.push(answer);
            sizes(lanes.enter(acme, write))
        };
        assert_eq!(enter(500), Some(vec![500]), "a bulk chunk starts a task");
        // Small calls wait for the running append, however many there are
        // below the mark.
        for _ in 0..SECOND_FROM - 1 {
            assert_eq!(enter(1), None);
        }
        // The call that brings the waiting messages to the mark starts a
        // second task with all of them.
        assert_eq!(enter(1).map(|s| s.len()), Some(SECOND_FROM));
        // Never a third.
        assert_eq!(enter(500), None);
        assert_eq!(enter(500), None);
        // Two tasks run: each takes what waits while it is enough for two
        // (a joined append carries at most MAX_JOINED)...
        assert_eq!(sizes(lanes.next(acme)), Some(vec![500]));
        assert_eq!(enter(20), None);
        assert_eq!(sizes(lanes.next(acme)), Some(vec![500]));
        // ...and with little waiting one ends and leaves it to the other.
        assert!(lanes.next(acme).is_none(), "one task ends");
        assert_eq!(sizes(lanes.next(acme)), Some(vec![20]));
        assert!(lanes.next(acme).is_none(), "the last task ends");
        assert_eq!(enter(1), Some(vec![1]), "the lane opens again");
    }

    #[test]
    fn a_lane_left_behind_fails_its_waiting_calls_and_opens_again() {
        let lanes = Lanes::default();
        let workspace = WorkspaceId::generate();
        let (first, _a) = call_of(SECOND_FROM);
        assert!(lanes.enter(workspace, first).is_some());
        let (second, _b) = call_of(SECOND_FROM);
        assert!(lanes.enter(workspace, second).is_some(), "two tasks run");
        let (waiting, mut answer) = call();
        assert!(lanes.enter(workspace, waiting).is_none());
        // The appending tasks end (a panic unwinds through them) before
        // the lane is empty: while one is left, what waits is its.
        for left in (0..IN_FLIGHT).rev() {
            drop(LaneGuard::new(lanes.clone(), workspace));
            let closed = matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Closed));
            assert_eq!(closed, left == 0, "{left} tasks left");
        }
        let (next, _c) = call();
        assert!(lanes.enter(workspace, next).is_some());
    }

    #[test]
    fn a_joined_answer_is_split_in_call_order_and_a_failure_reaches_everyone() {
        let (one, mut a) = call();
        let (two, mut b) = call();
        let (news, replies) = join(vec![one, two]);
        assert!(news.is_empty());
        replies.deliver(Err(StoreError::Conflict("taken".into())));
        for answer in [&mut a, &mut b] {
            assert!(
                matches!(answer.try_recv(), Ok(Err(StoreError::Conflict(why))) if why == "taken")
            );
        }
    }
}
