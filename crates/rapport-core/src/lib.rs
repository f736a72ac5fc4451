//! Rapport's domain, free of I/O, in three layers:
//!
//! - [`model`]: the data and its rules (contacts, conversations and
//!   messages, the activity log, snippet templates, filters, jobs);
//! - [`ports`]: what the domain needs from outside (the store, split by
//!   role; the live bus; the clock), implemented by the store and server
//!   crates;
//! - [`services`]: the operations the server's handlers and jobs call, each
//!   one write through the ports.
//!
//! Start reading at [`services::messages::send_chat_messages`]: the one path
//! every chat message a business sends goes through.

pub mod model;
pub mod ports;
pub mod request_id;
pub mod services;

pub use model::time::Timestamp;
