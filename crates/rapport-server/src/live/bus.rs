//! The in-process [`LocalBus`]: writers announce "workspace W's log has
//! entries up to N"; the [`Hub`](super::Hub) reads them from the store and
//! fans them out.

use rapport_core::model::ids::WorkspaceId;
use rapport_core::ports::bus::Bus;
use tokio::sync::broadcast;

/// An in-process bus. Slow subscribers miss notices, never entries: they
/// notice the gap and read the log from where they were.
#[derive(Clone)]
pub struct LocalBus {
    sender: broadcast::Sender<(WorkspaceId, i64)>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(4096).0,
        }
    }
}

impl LocalBus {
    pub fn subscribe(&self) -> broadcast::Receiver<(WorkspaceId, i64)> {
        self.sender.subscribe()
    }
}

impl Bus for LocalBus {
    fn publish(&self, workspace: WorkspaceId, seq: i64) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send((workspace, seq));
    }
}
