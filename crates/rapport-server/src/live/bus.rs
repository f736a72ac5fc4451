//! The in-process [`LocalBus`]: writers announce "workspace W's log has
//! entries up to N"; the [`Hub`](super::Hub) reads them from the store and
//! fans them out. With several servers, [`cluster`](super::cluster) also
//! feeds it what the other servers announce.

use rapport_core::model::ids::WorkspaceId;
use rapport_core::ports::bus::Bus;
use tokio::sync::broadcast;

/// What the bus carries.
#[derive(Clone, Copy, Debug)]
pub enum Notice {
    /// The workspace's log has entries up to this position.
    Grew(WorkspaceId, i64),
    /// Notices may have been lost (another server's went unheard): every
    /// reader looks for itself.
    Missed,
}

/// An in-process bus. Slow subscribers miss notices, never entries: they
/// notice the gap and read the log from where they were.
#[derive(Clone)]
pub struct LocalBus {
    sender: broadcast::Sender<Notice>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(4096).0,
        }
    }
}

impl LocalBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.sender.subscribe()
    }

    /// Tells every reader to look, as after missed notices.
    pub fn missed(&self) {
        let _ = self.sender.send(Notice::Missed);
    }
}

impl Bus for LocalBus {
    fn publish(&self, workspace: WorkspaceId, seq: i64) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(Notice::Grew(workspace, seq));
    }
}
