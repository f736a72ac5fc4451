//! Contacts: the people a workspace talks to, with their custom properties.
//! The property types, values and names are in `props`; an upsert (what
//! the API, the widget or an import asks to change) and its parsing in
//! `upsert`; applying one to a contact here.

mod props;
mod upsert;

use serde::Serialize;
use serde_json::Value as Json;

use crate::Timestamp;
use crate::model::agent::Email;
use crate::model::ids::{ContactId, WorkspaceId};
use crate::model::validation::{ValidationError, Validator, breaks_a_line, non_empty_text};

pub use props::{
    PropType, PropTypes, PropValue, PropertySetting, Props, SYSTEM_PROPERTIES, parse_prop_name,
    system_property,
};
pub use upsert::{ContactUpsert, ContactUpsertInput, PropOp, PropOpInput, PropOperation};
use upsert::{apply_op, implied_type};

/// The most custom properties one contact may carry.
pub const MAX_PROPS: usize = 200;

/// The most custom property names one workspace may define.
pub const MAX_WORKSPACE_PROPERTIES: usize = 1_000;

/// How long a widget session lasts without being used (a boot uses it).
pub const WIDGET_SESSION_IDLE_MILLIS: i64 = 90 * 24 * 3600 * 1000;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    /// The business's own id for this person; `None` for a lead.
    pub user_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email: Option<Email>,
    /// Whether the business vouched for `email` (set it through the API,
    /// an import or the Inbox, or signed it as a `user_hash`). An email a
    /// visitor typed in the widget is a claim: nothing is ever matched,
    /// merged or attached on it.
    pub email_verified: bool,
    pub name: Option<String>,
    pub phone: Option<String>,
    #[serde(flatten)]
    pub system: SystemProps,
    /// Custom properties.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub props: Props,
    /// Labels the team puts on the contact, sorted.
    pub tags: Vec<String>,
    /// When the contact turned off emails of chat messages (the
    /// unsubscribe link); `None` while they get them.
    pub unsubscribed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The system properties beyond the contact's identity (see
/// [`SYSTEM_PROPERTIES`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemProps {
    pub first_seen_at: Option<Timestamp>,
    pub last_seen_at: Option<Timestamp>,
    /// Visits to the website with the messenger (a visit after 30 minutes
    /// away counts as a new one).
    pub sessions: u32,
    pub country: Option<String>,
    pub city: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub last_page: Option<String>,
}

/// How long a visitor may be away before their next visit counts as a new
/// session.
pub const SESSION_GAP_MILLIS: i64 = 30 * 60 * 1000;

impl SystemProps {
    /// Records a visit seen at `at` (on `page`, if known).
    pub fn seen(&mut self, at: Timestamp, page: Option<&str>) {
        let new_session = self
            .last_seen_at
            .is_none_or(|last| at.as_millis() - last.as_millis() >= SESSION_GAP_MILLIS);
        if new_session {
            self.sessions = self.sessions.saturating_add(1);
        }
        self.first_seen_at.get_or_insert(at);
        if self.last_seen_at.is_none_or(|last| last < at) {
            self.last_seen_at = Some(at);
        }
        if let Some(page) = page {
            self.last_page = Some(page.chars().take(2_000).collect());
        }
    }
}

/// System properties an operation may change (the identity fields have
/// their own, and `created_at` is the store's).
fn settable_system_property(name: &str) -> Option<PropType> {
    match name {
        "user_id" | "email" | "name" | "phone" | "created_at" => None,
        other => system_property(other),
    }
}

/// A tag: 1 to 64 characters, no control characters, trimmed.
pub fn parse_tag(tag: &str) -> Result<String, String> {
    let tag = tag.trim();
    if tag.is_empty() || tag.chars().count() > 64 || tag.chars().any(breaks_a_line) {
        Err("a tag is 1 to 64 printable characters".into())
    } else {
        Ok(tag.to_owned())
    }
}

impl Contact {
    /// Applies an upsert's changes to this contact (the store calls this
    /// inside its transaction, so concurrent upserts do not lose changes).
    /// `types` holds the workspace's custom property types; a property set
    /// for the first time is added to it. A value of the wrong type fails
    /// the whole upsert, naming the field.
    pub fn apply(
        &mut self,
        upsert: &ContactUpsert,
        types: &mut PropTypes,
        now: Timestamp,
    ) -> Result<(), ValidationError> {
        // Changes go to copies, kept only if every one is valid.
        let mut next = self.clone();
        let mut next_types = types.clone();
        next.apply_all(upsert, &mut next_types, now)?;
        *self = next;
        *types = next_types;
        Ok(())
    }

    fn apply_all(
        &mut self,
        upsert: &ContactUpsert,
        types: &mut PropTypes,
        now: Timestamp,
    ) -> Result<(), ValidationError> {
        let mut v = Validator::default();
        for PropOperation { prop, op, field } in &upsert.ops {
            if let Some(ty) = settable_system_property(prop) {
                let current = self.system_value(prop);
                match apply_op(current.as_ref(), op, ty) {
                    Ok(value) => {
                        if let Err(e) = self.set_system_value(prop, value) {
                            v.push(field.clone(), e);
                        }
                    }
                    Err(e) => v.push(field.clone(), e),
                }
                continue;
            }
            let ty = match types.get(prop) {
                Some(ty) => *ty,
                None => match implied_type(op) {
                    Some(ty) => {
                        types.insert(prop.clone(), ty);
                        ty
                    }
                    None => {
                        self.props.remove(prop);
                        continue;
                    }
                },
            };
            match apply_op(self.props.get(prop), op, ty) {
                Ok(Some(value)) => {
                    self.props.insert(prop.clone(), value);
                }
                Ok(None) => {
                    self.props.remove(prop);
                }
                Err(e) => v.push(field.clone(), e),
            }
        }
        if types.len() > MAX_WORKSPACE_PROPERTIES {
            v.push(
                "props",
                format!("a workspace has at most {MAX_WORKSPACE_PROPERTIES} custom properties"),
            );
        }
        if self.props.len() > MAX_PROPS {
            v.push(
                "props",
                format!("a contact has at most {MAX_PROPS} properties"),
            );
        }
        v.finish()?;
        if upsert.user_id.is_some() {
            self.user_id.clone_from(&upsert.user_id);
        }
        if upsert.email.is_some() {
            // A claim of the address the business already vouched for
            // changes nothing; any other claim replaces it, unvouched.
            let same = upsert.email == self.email;
            self.email_verified = upsert.email_verified || (same && self.email_verified);
            self.email.clone_from(&upsert.email);
        }
        if upsert.name.is_some() {
            self.name.clone_from(&upsert.name);
        }
        if upsert.phone.is_some() {
            self.phone.clone_from(&upsert.phone);
        }
        for tag in &upsert.tags {
            self.add_tag(tag);
        }
        self.updated_at = now;
        Ok(())
    }

    /// Adds a tag (kept sorted, without repeats).
    pub fn add_tag(&mut self, tag: &str) {
        if let Err(at) = self.tags.binary_search_by(|t| t.as_str().cmp(tag)) {
            self.tags.insert(at, tag.to_owned());
        }
    }

    pub fn remove_tag(&mut self, tag: &str) {
        self.tags.retain(|t| t != tag);
    }

    fn system_value(&self, name: &str) -> Option<PropValue> {
        let s = &self.system;
        match name {
            "first_seen_at" => s.first_seen_at.map(PropValue::DateTime),
            "last_seen_at" => s.last_seen_at.map(PropValue::DateTime),
            "sessions" => Some(PropValue::Number(f64::from(s.sessions))),
            "country" => s.country.clone().map(PropValue::String),
            "city" => s.city.clone().map(PropValue::String),
            "browser" => s.browser.clone().map(PropValue::String),
            "os" => s.os.clone().map(PropValue::String),
            "last_page" => s.last_page.clone().map(PropValue::String),
            _ => None,
        }
    }

    fn set_system_value(&mut self, name: &str, value: Option<PropValue>) -> Result<(), String> {
        let s = &mut self.system;
        let text = |value: Option<PropValue>| -> Result<Option<String>, String> {
            match value {
                Some(PropValue::String(text)) => non_empty_text(&text, 2_000).map(Some),
                _ => Ok(None),
            }
        };
        let at = |value: Option<PropValue>| match value {
            Some(PropValue::DateTime(at)) => Some(at),
            _ => None,
        };
        match name {
            "first_seen_at" => s.first_seen_at = at(value),
            "last_seen_at" => s.last_seen_at = at(value),
            "sessions" => {
                s.sessions = match value {
                    Some(PropValue::Number(n))
                        if n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0 =>
                    {
                        n as u32
                    }
                    None => 0,
                    _ => return Err("sessions is a whole number from 0".into()),
                }
            }
            "country" => s.country = text(value)?,
            "city" => s.city = text(value)?,
            "browser" => s.browser = text(value)?,
            "os" => s.os = text(value)?,
            "last_page" => s.last_page = text(value)?,
            _ => return Err("not a system property".into()),
        }
        Ok(())
    }

    /// A new, empty contact.
    pub fn new(id: ContactId, workspace_id: WorkspaceId, now: Timestamp) -> Self {
        Contact {
            id,
            workspace_id,
            user_id: None,
            email: None,
            email_verified: false,
            name: None,
            phone: None,
            system: SystemProps::default(),
            props: Props::new(),
            tags: Vec::new(),
            unsubscribed_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A new contact made from an upsert that matched nobody.
    pub fn from_upsert(
        id: ContactId,
        upsert: &ContactUpsert,
        types: &mut PropTypes,
        now: Timestamp,
    ) -> Result<Self, ValidationError> {
        let mut contact = Contact::new(id, upsert.workspace_id, now);
        contact.apply(upsert, types, now)?;
        Ok(contact)
    }

    pub fn props_json(&self) -> Json {
        Json::Object(
            self.props
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }

    /// Reads stored properties back; anything unreadable is dropped rather
    /// than failing the whole contact.
    pub fn props_from_json(json: &Json) -> Props {
        json.as_object()
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| PropValue::from_json(v).ok().map(|v| (k.clone(), v)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(props: Json) -> ContactUpsertInput {
        ContactUpsertInput {
            user_id: Some("u-1".into()),
            props: serde_json::from_value(props).unwrap(),
            ..Default::default()
        }
    }

    fn ops(ops: Json) -> ContactUpsertInput {
        ContactUpsertInput {
            ops: serde_json::from_value(ops).unwrap(),
            ..Default::default()
        }
    }

    fn op_of<'a>(upsert: &'a ContactUpsert, prop: &str) -> &'a PropOp {
        &upsert.ops.iter().find(|o| o.prop == prop).unwrap().op
    }

    #[test]
    fn props_keep_their_json_types_and_datetimes_are_recognised() {
        let upsert = ContactUpsert::parse(
            WorkspaceId::generate(),
            input(json!({"plan": "pro", "seats": 3, "trial": false, "tags": ["a"], "since": "2026-01-02T03:04:05Z", "gone": null})),
        )
        .unwrap();
        assert_eq!(
            op_of(&upsert, "plan"),
            &PropOp::Set(PropValue::String("pro".into()))
        );
        assert_eq!(
            op_of(&upsert, "seats"),
            &PropOp::Set(PropValue::Number(3.0))
        );
        assert_eq!(
            op_of(&upsert, "trial"),
            &PropOp::Set(PropValue::Boolean(false))
        );
        assert_eq!(
            op_of(&upsert, "tags"),
            &PropOp::Set(PropValue::List(vec!["a".into()]))
        );
        assert!(matches!(
            op_of(&upsert, "since"),
            PropOp::Set(PropValue::DateTime(_))
        ));
        assert_eq!(op_of(&upsert, "gone"), &PropOp::Unset);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let err = ContactUpsert::parse(
            WorkspaceId::generate(),
            ContactUpsertInput {
                email: Some("nope".into()),
                name: Some("  ".into()),
                props: serde_json::from_value(json!({"bad name": 1, "obj": {"a": 1}, "list": [1]}))
                    .unwrap(),
                ops: serde_json::from_value(json!([{"op": "explode", "prop": "x"}, {"op": "increment", "prop": "n", "value": "1"}, {"op": "set", "prop": "email", "value": "a"}]))
                    .unwrap(),
                ..Default::default()
            },
        )
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "email",
                "name",
                "props.bad name",
                "props.list",
                "props.obj",
                "ops[0].op",
                "ops[1].value",
                "ops[2].prop"
            ]
        );
    }

    #[test]
    fn an_upsert_needs_a_user_id_or_an_email() {
        let err = ContactUpsert::parse(WorkspaceId::generate(), ContactUpsertInput::default())
            .unwrap_err();
        assert_eq!(err.0[0].field, "user_id");
    }

    #[test]
    fn applying_an_upsert_sets_and_unsets_only_what_it_names() {
        let ws = WorkspaceId::generate();
        let now = Timestamp::from_millis(1);
        let mut types = PropTypes::new();
        let first = ContactUpsert::parse(ws, input(json!({"plan": "pro", "seats": 2}))).unwrap();
        let mut contact =
            Contact::from_upsert(ContactId::generate(), &first, &mut types, now).unwrap();
        let second = ContactUpsert::parse(
            ws,
            ContactUpsertInput {
                name: Some("Ada".into()),
                ..input(json!({"seats": null}))
            },
        )
        .unwrap();
        contact
            .apply(&second, &mut types, Timestamp::from_millis(2))
            .unwrap();
        assert_eq!(contact.name.as_deref(), Some("Ada"));
        assert_eq!(contact.props_json(), json!({"plan": "pro"}));
        assert_eq!(contact.updated_at.as_millis(), 2);
        assert_eq!(types["seats"], PropType::Number);
    }

    #[test]
    fn operations_change_values_in_order_and_keep_types() {
        let ws = WorkspaceId::generate();
        let now = Timestamp::from_millis(1);
        let mut types = PropTypes::new();
        let mut contact = Contact::new(ContactId::generate(), ws, now);
        let upsert = ContactUpsert::parse_changes(
            ws,
            ops(json!([
                {"op": "set_once", "prop": "source", "value": "ads"},
                {"op": "set_once", "prop": "source", "value": "blog"},
                {"op": "increment", "prop": "logins", "value": 2},
                {"op": "increment", "prop": "logins", "value": 1.5},
                {"op": "append", "prop": "teams", "value": ["ops", "dev"]},
                {"op": "append", "prop": "teams", "value": "ops"},
                {"op": "remove", "prop": "teams", "value": "dev"},
                {"op": "set", "prop": "country", "value": "France"},
                {"op": "increment", "prop": "sessions", "value": 3},
                {"op": "set", "prop": "gone", "value": true},
                {"op": "unset", "prop": "gone"}
            ])),
        )
        .unwrap();
        contact.apply(&upsert, &mut types, now).unwrap();
        assert_eq!(
            contact.props_json(),
            json!({"source": "ads", "logins": 3.5, "teams": ["ops"]})
        );
        assert_eq!(contact.system.country.as_deref(), Some("France"));
        assert_eq!(contact.system.sessions, 3);
        assert_eq!(types["gone"], PropType::Boolean);

        // A wrong type is refused, naming the field, and changes nothing.
        let before = contact.clone();
        let wrong = ContactUpsert::parse_changes(
            ws,
            ContactUpsertInput {
                props: serde_json::from_value(json!({"logins": "many", "source": "x"})).unwrap(),
                ops: serde_json::from_value(json!([{"op": "append", "prop": "logins", "value": "x"}, {"op": "set", "prop": "last_seen_at", "value": 5}]))
                    .unwrap(),
                ..Default::default()
            },
        )
        .unwrap();
        let err = contact.apply(&wrong, &mut types, now).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["props.logins", "ops[0]", "ops[1]"]);
        assert_eq!(contact, before);
    }

    #[test]
    fn a_datetime_looking_string_stays_a_string_for_a_string_property() {
        let mut types = PropTypes::from([("note".to_owned(), PropType::String)]);
        let ws = WorkspaceId::generate();
        let mut contact = Contact::new(ContactId::generate(), ws, Timestamp::from_millis(1));
        let upsert =
            ContactUpsert::parse_changes(ws, input(json!({"note": "2026-01-02T03:04:05Z"})))
                .unwrap();
        contact
            .apply(&upsert, &mut types, Timestamp::from_millis(1))
            .unwrap();
        assert_eq!(
            contact.props["note"],
            PropValue::String("2026-01-02T03:04:05.000Z".into())
        );
    }

    #[test]
    fn a_visit_after_half_an_hour_away_is_a_new_session() {
        let mut seen = SystemProps::default();
        seen.seen(Timestamp::from_millis(1_000), Some("/a"));
        seen.seen(Timestamp::from_millis(60_000), None);
        assert_eq!(seen.sessions, 1);
        seen.seen(
            Timestamp::from_millis(60_000 + SESSION_GAP_MILLIS),
            Some("/b"),
        );
        assert_eq!(seen.sessions, 2);
        assert_eq!(seen.first_seen_at, Some(Timestamp::from_millis(1_000)));
        assert_eq!(seen.last_page.as_deref(), Some("/b"));
    }
}
