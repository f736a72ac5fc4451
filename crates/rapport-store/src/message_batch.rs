//! Messages that wait together are appended together. Many callers
//! appending a message each to one workspace at the same moment cost a few
//! statements and one commit for all of them instead of a few statements
//! and a commit each: both backends join the calls waiting for a workspace
//! into one `append_messages` and hand each caller its part of the answer.
//!
//! SQLite's writer joins the calls of one workspace that wait in its queue
//! (see `sqlite.rs`); PostgreSQL keeps [`Lanes`] per store: at most
//! [`IN_FLIGHT`] appends of a workspace at a time, and the calls that
//! arrive meanwhile joined into the next.

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
/// with one (bench/people.sh). Two appends to the same conversation still
/// go one after the other, on the conversation's row lock.
pub(crate) const IN_FLIGHT: usize = 2;

/// One lane per workspace with appends under way: how many tasks are
/// appending its messages, and the calls waiting for one of them.
#[derive(Default)]
struct Lane {
    running: usize,
    waiting: Vec<MessageWrite>,
}

/// The lanes of a store. A workspace has a lane only while a task is
/// appending its messages.
#[derive(Clone, Default)]
pub(crate) struct Lanes {
    lanes: Arc<Mutex<HashMap<WorkspaceId, Lane>>>,
}

impl Lanes {
    /// Queues `write` for the workspace's appends under way, or, when
    /// fewer than [`IN_FLIGHT`] run, returns it for the caller to start a
    /// task that appends it and then what queued meanwhile (`next`, until
    /// it says the task is done).
    pub fn enter(&self, workspace: WorkspaceId, write: MessageWrite) -> Option<MessageWrite> {
        let mut lanes = self.lock();
        let lane = lanes.entry(workspace).or_default();
        if lane.running < IN_FLIGHT {
            lane.running += 1;
            Some(write)
        } else {
            lane.waiting.push(write);
            None
        }
    }

    /// The calls waiting (up to [`MAX_JOINED`] messages, but at least one
    /// call), or `None` when none do: that task is then done, and the lane
    /// closes with the last one.
    pub fn next(&self, workspace: WorkspaceId) -> Option<Vec<MessageWrite>> {
        let mut lanes = self.lock();
        let lane = lanes.get_mut(&workspace)?;
        if lane.waiting.is_empty() {
            Self::leave(&mut lanes, workspace);
            return None;
        }
        let mut messages = 0;
        let take = lane
            .waiting
            .iter()
            .take_while(|w| {
                messages += w.news.len();
                messages <= MAX_JOINED
            })
            .count()
            .max(1);
        Some(lane.waiting.drain(..take).collect())
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

    #[test]
    fn a_lane_opens_queues_and_closes() {
        let lanes = Lanes::default();
        let (acme, globex) = (WorkspaceId::generate(), WorkspaceId::generate());
        let mut answers = Vec::new();
        for n in 0..IN_FLIGHT {
            let (call, answer) = call();
            answers.push(answer);
            assert!(lanes.enter(acme, call).is_some(), "call {n} starts a task");
        }
        let (second, _b) = call();
        let (third, _c) = call();
        assert!(lanes.enter(acme, second).is_none(), "then calls queue");
        assert!(lanes.enter(acme, third).is_none());
        let (other, _d) = call();
        assert!(
            lanes.enter(globex, other).is_some(),
            "each workspace has its own lane"
        );
        assert_eq!(lanes.next(acme).map(|calls| calls.len()), Some(2));
        for _ in 0..IN_FLIGHT {
            assert!(lanes.next(acme).is_none(), "nothing waits: the tasks end");
        }
        let (again, _e) = call();
        assert!(
            lanes.enter(acme, again).is_some(),
            "and the next call opens the lane again"
        );
    }

    #[test]
    fn a_lane_left_behind_fails_its_waiting_calls_and_opens_again() {
        let lanes = Lanes::default();
        let workspace = WorkspaceId::generate();
        for _ in 0..IN_FLIGHT {
            let (call, _answer) = call();
            assert!(lanes.enter(workspace, call).is_some());
        }
        let (waiting, mut answer) = call();
        assert!(lanes.enter(workspace, waiting).is_none());
        // The appending tasks end (a panic unwinds through them) before
        // the lane is empty: while one is left, what waits is its.
        for left in (0..IN_FLIGHT).rev() {
            drop(LaneGuard::new(lanes.clone(), workspace));
            let closed = matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Closed));
            assert_eq!(closed, left == 0, "{left} tasks left");
        }
        let (next, _b) = call();
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
