//! Live delivery. Every change a person must see is an entry in the
//! activity log; a WebSocket stream is a read of that log from a position
//! on. The bus only says "workspace W has new entries"; the hub reads them
//! once per workspace and hands them to each subscribed socket, and a socket
//! that reconnects replays what it missed from the store.

mod bus;
pub mod cluster;
mod hub;
pub mod socket;

pub use bus::{LocalBus, Notice};
pub use hub::{AgentGuard, Hub, Live, PRESENCE_GRACE_MS, Subscription, VisitorGuard};
