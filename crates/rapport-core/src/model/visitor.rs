//! A widget visitor's boot: who the browser says it is, what it was
//! before, and the rule for what becomes of the lead it was.

use crate::Timestamp;
use crate::model::contact::{Contact, ContactUpsert};
use crate::model::ids::{ContactId, WorkspaceId};

/// Who a booting visitor is, as far as the boot proves it.
#[derive(Clone, Debug)]
pub enum VisitorIdentity {
    /// A contact the boot names: a user found by `user_id`, or one the
    /// business signed by email (the upsert finds or makes it); `verified`
    /// when the identity hash proved it (a signed email always is).
    Known {
        upsert: ContactUpsert,
        verified: bool,
    },
    /// Nobody in particular: the browser's lead, with these changes.
    Anonymous { changes: ContactUpsert },
}

/// Everything a boot writes, decided before the write.
#[derive(Clone, Debug)]
pub struct VisitorBoot {
    pub workspace_id: WorkspaceId,
    pub identity: VisitorIdentity,
    /// The contact the browser's session belongs to, if it still works.
    pub previous: Option<Contact>,
    /// The hash of the browser's session, if it sent one.
    pub session: Option<[u8; 32]>,
    /// The hash of the session to issue if the browser's does not stay.
    pub new_session: [u8; 32],
    /// The id a new contact (lead or user) gets.
    pub new_contact_id: ContactId,
    pub now: Timestamp,
}

/// What a boot wrote.
#[derive(Clone, Debug)]
pub struct VisitorBooted {
    pub contact: Contact,
    /// Whether the browser keeps its session (else `new_session` was
    /// issued).
    pub kept_session: bool,
    /// The activity-log positions the write produced.
    pub seqs: Vec<i64>,
}

/// What becomes of the contact a browser was, once a boot named the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adoption {
    /// The browser was this user already: its session stays.
    Keep,
    /// The browser was this lead: proof of the user moves the lead's own
    /// history to the user; the browser gets a session bound to the user.
    Merge(ContactId),
    /// Anything else: a fresh session for the user, nothing moves.
    Fresh,
}

/// Only proof merges, and only a lead (never another user).
pub fn adoption(previous: Option<&Contact>, user: &Contact, verified: bool) -> Adoption {
    match previous {
        Some(same) if same.id == user.id => Adoption::Keep,
        Some(lead) if verified && lead.user_id.is_none() => Adoption::Merge(lead.id),
        _ => Adoption::Fresh,
    }
}
