//! Rapport's domain, free of I/O: typed ids, contacts, conversations and
//! messages, the activity log, snippet templates, and the ports (`Store`,
//! `Bus`, `Clock`) that the store and server crates implement.
//!
//! Start reading at [`messaging::send_chat_message`]: the one path every chat
//! message a business sends goes through.

pub mod activity;
pub mod agent;
pub mod bulk;
pub mod bus;
pub mod clock;
pub mod contact;
pub mod conversation;
pub mod email;
pub mod filter;
pub mod ids;
pub mod job;
pub mod messaging;
pub mod people;
pub mod store;
pub mod template;
pub mod triage;
pub mod validation;
pub mod workspace;

pub use clock::Timestamp;
