//! Finding people: contact filters' results, sort orders and saved segments.

use crate::Timestamp;
use crate::model::contact::{Contact, PropTypes};
use crate::model::filter::Filter;
use crate::model::ids::{ContactId, SegmentId, WorkspaceId};

/// The orders a contact list comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactSort {
    LastSeen,
    FirstSeen,
    Name,
    Created,
}

impl ContactSort {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "last_seen_at" => Some(ContactSort::LastSeen),
            "first_seen_at" => Some(ContactSort::FirstSeen),
            "name" => Some(ContactSort::Name),
            "created_at" => Some(ContactSort::Created),
            _ => None,
        }
    }
}

/// A contact's place in a sorted list: its sort value and id.
#[derive(Clone, Debug, PartialEq)]
pub enum SortValue {
    Number(i64),
    Text(String),
}

/// Contacts matching a filter: how many, and one page of them.
#[derive(Clone, Debug)]
pub struct ContactSearch {
    pub workspace_id: WorkspaceId,
    pub filter: Filter,
    /// Who is online now (for `online` conditions).
    pub online: Vec<ContactId>,
    pub sort: ContactSort,
    pub descending: bool,
    /// Only contacts after this one in the order.
    pub after: Option<(SortValue, ContactId)>,
    /// 0: only the count.
    pub limit: u32,
    /// When the search runs (a property index it asks for is queued then).
    pub now: Timestamp,
}

#[derive(Clone, Debug)]
pub struct ContactPage {
    pub count: u64,
    pub contacts: Vec<Contact>,
}

impl ContactSort {
    /// The value a contact is sorted by (`None` counts as 0 / empty).
    pub fn value_of(self, contact: &Contact) -> SortValue {
        let at = |t: Option<Timestamp>| SortValue::Number(t.map_or(0, Timestamp::as_millis));
        match self {
            ContactSort::LastSeen => at(contact.system.last_seen_at),
            ContactSort::FirstSeen => at(contact.system.first_seen_at),
            ContactSort::Created => at(Some(contact.created_at)),
            ContactSort::Name => SortValue::Text(contact.name.clone().unwrap_or_default()),
        }
    }
}

/// For one event name, what a contact did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventSummary {
    pub name: String,
    pub count: u64,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
}

/// What a workspace's filters can name.
#[derive(Clone, Debug, Default)]
pub struct PeopleSchema {
    pub custom: PropTypes,
    /// Event names, with how many contacts did each.
    pub events: Vec<(String, u64)>,
    /// Tags, with how many contacts have each.
    pub tags: Vec<(String, u64)>,
}

/// A saved filter.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    pub id: SegmentId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// The filter tree, as saved.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub filter: serde_json::Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
