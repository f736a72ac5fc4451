//! The operations handlers and jobs call. Each is one write through the
//! store (one transaction), followed by a note to the bus.

pub mod automations;
pub mod bot;
pub mod bulk_sends;
pub mod contacts;
pub mod conversations;
pub mod messages;
pub mod replies;
pub mod segments;
pub mod visitors;

use crate::model::template::TemplateError;
use crate::model::validation::ValidationError;
use crate::ports::bus::Bus;
use crate::ports::clock::Clock;
use crate::ports::store::{Store, StoreError};

/// The ports a service needs, borrowed from whoever holds them.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a dyn Store,
    pub bus: &'a dyn Bus,
    pub clock: &'a dyn Clock,
}

/// Why a service refused. Nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The id in this request field names nothing in the workspace.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The same emailed reply (by its Message-ID) was already posted.
    #[error("this email was already received")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Maps `NotFound` to the request field whose id found nothing.
pub fn not_found(field: &'static str) -> impl Fn(StoreError) -> SendError {
    move |err| match err {
        StoreError::NotFound => SendError::NotFound(field),
        other => SendError::Store(other),
    }
}
