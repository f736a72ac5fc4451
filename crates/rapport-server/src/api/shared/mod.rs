//! What more than one handler uses. Handlers import from here, never from
//! each other.

pub mod attachments;
pub mod conversation_rows;
pub mod events;
pub mod filters;
pub mod page;
pub mod sending;
pub mod tags;
pub mod visitor;
