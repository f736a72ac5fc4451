//! Limits on request fields that a handler enforces and the OpenAPI
//! document states, kept below both so that each reads the one number.

/// The most contacts a bulk send may list by id.
pub const MAX_CONTACT_IDS: usize = 10_000;
