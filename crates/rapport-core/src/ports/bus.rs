//! The `Bus` tells live connections that the activity log grew. It carries
//! no data: subscribers read the new entries from the store, so replay after
//! a reconnect and delivery across processes use the same path.

use crate::model::ids::WorkspaceId;

pub trait Bus: Send + Sync + 'static {
    /// Entries up to `seq` exist in `workspace`'s log. Must not block.
    fn publish(&self, workspace: WorkspaceId, seq: i64);
}

/// A bus with no subscribers, for the CLI and for tests of the write path.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSubscribers;

impl Bus for NoSubscribers {
    fn publish(&self, _workspace: WorkspaceId, _seq: i64) {}
}
