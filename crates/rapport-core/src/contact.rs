//! Contacts: the people a workspace talks to, with their custom properties.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::Value as Json;

use crate::Timestamp;
use crate::agent::Email;
use crate::ids::{ContactId, WorkspaceId};
use crate::validation::{ValidationError, Validator, non_empty_text};

/// The most custom properties one contact may carry.
pub const MAX_PROPS: usize = 200;

/// A custom property's value. Its type is what the JSON said, except that a
/// string in RFC 3339 form is a date-time.
#[derive(Clone, Debug, PartialEq)]
pub enum PropValue {
    String(String),
    Number(f64),
    Boolean(bool),
    DateTime(Timestamp),
    List(Vec<String>),
}

impl PropValue {
    /// Turns a JSON value into a property value, or says why it cannot be
    /// one. `null` is not a value: callers treat it as "unset".
    pub fn from_json(value: &Json) -> Result<Self, String> {
        match value {
            Json::String(text) => {
                if text.chars().count() > 2_000 {
                    return Err("text properties are at most 2000 characters".into());
                }
                Ok(Timestamp::parse_rfc3339(text)
                    .map(PropValue::DateTime)
                    .unwrap_or_else(|| PropValue::String(text.clone())))
            }
            Json::Number(number) => number
                .as_f64()
                .filter(|n| n.is_finite())
                .map(PropValue::Number)
                .ok_or_else(|| "numbers must be finite".into()),
            Json::Bool(flag) => Ok(PropValue::Boolean(*flag)),
            Json::Array(items) => items
                .iter()
                .map(|item| match item {
                    Json::String(text) if text.chars().count() <= 255 => Ok(text.clone()),
                    _ => Err("lists may only hold strings of at most 255 characters".to_owned()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(PropValue::List),
            Json::Null => Err("null is not a value (it unsets the property)".into()),
            Json::Object(_) => Err(
                "must be a string, number, boolean, date-time or list of strings, not an object"
                    .into(),
            ),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            PropValue::String(text) => Json::String(text.clone()),
            PropValue::Number(n) => serde_json::Number::from_f64(*n)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            PropValue::Boolean(flag) => Json::Bool(*flag),
            PropValue::DateTime(at) => Json::String(at.to_string()),
            PropValue::List(items) => {
                Json::Array(items.iter().cloned().map(Json::String).collect())
            }
        }
    }
}

impl Serialize for PropValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

pub type Props = BTreeMap<String, PropValue>;

/// A property name: 1 to 64 characters of letters, digits, `_` and `-`.
pub fn parse_prop_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err("property names are 1 to 64 letters, digits, '_' or '-'".into())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    /// The business's own id for this person; `None` for a lead.
    pub user_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email: Option<Email>,
    pub name: Option<String>,
    pub phone: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub props: Props,
    /// When the contact turned off emails of chat messages (the
    /// unsubscribe link); `None` while they get them.
    pub unsubscribed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A property change in an upsert: set a value, or remove it (JSON `null`).
#[derive(Clone, Debug, PartialEq)]
pub enum PropChange {
    Set(PropValue),
    Unset,
}

/// Create-or-update a contact, matched by `user_id`, or else by `email`.
/// Fields left `None` keep their stored value.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactUpsert {
    pub workspace_id: WorkspaceId,
    pub user_id: Option<String>,
    pub email: Option<Email>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub props: BTreeMap<String, PropChange>,
}

/// The untrusted shape of an upsert, as the API receives it.
#[derive(Clone, Debug, Default)]
pub struct ContactUpsertInput {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub props: BTreeMap<String, Json>,
}

impl ContactUpsert {
    /// Parses every field, reporting all that are wrong at once.
    pub fn parse(
        workspace_id: WorkspaceId,
        input: ContactUpsertInput,
    ) -> Result<Self, ValidationError> {
        Self::parse_fields(workspace_id, input, true)
    }

    /// Parses changes to a contact already known by id (a widget visitor
    /// updating themselves): no identifier is needed, and `user_id` cannot
    /// be set this way.
    pub fn parse_changes(
        workspace_id: WorkspaceId,
        input: ContactUpsertInput,
    ) -> Result<Self, ValidationError> {
        if input.user_id.is_some() {
            return Err(ValidationError::field("user_id", "cannot be changed here"));
        }
        Self::parse_fields(workspace_id, input, false)
    }

    fn parse_fields(
        workspace_id: WorkspaceId,
        input: ContactUpsertInput,
        needs_identifier: bool,
    ) -> Result<Self, ValidationError> {
        let mut v = Validator::default();
        let user_id = input
            .user_id
            .as_deref()
            .and_then(|id| v.check("user_id", non_empty_text(id, 255)));
        let email = input
            .email
            .as_deref()
            .and_then(|e| v.check("email", Email::parse(e)));
        let name = input
            .name
            .as_deref()
            .and_then(|n| v.check("name", non_empty_text(n, 255)));
        let phone = input
            .phone
            .as_deref()
            .and_then(|p| v.check("phone", non_empty_text(p, 64)));
        if needs_identifier && input.user_id.is_none() && input.email.is_none() {
            v.push(
                "user_id",
                "give a user_id or an email to identify the contact",
            );
        }
        if input.props.len() > MAX_PROPS {
            v.push("props", format!("at most {MAX_PROPS} properties"));
        }
        let mut props = BTreeMap::new();
        for (name, value) in &input.props {
            let field = format!("props.{name}");
            let Some(name) = v.check(&field, parse_prop_name(name)) else {
                continue;
            };
            let change = if value.is_null() {
                Some(PropChange::Unset)
            } else {
                v.check(&field, PropValue::from_json(value))
                    .map(PropChange::Set)
            };
            if let Some(change) = change {
                props.insert(name, change);
            }
        }
        v.finish()?;
        Ok(Self {
            workspace_id,
            user_id,
            email,
            name,
            phone,
            props,
        })
    }
}

impl Contact {
    /// Applies an upsert's changes to this contact (the store calls this
    /// inside its transaction, so concurrent upserts do not lose changes).
    pub fn apply(&mut self, upsert: &ContactUpsert, now: Timestamp) {
        if upsert.user_id.is_some() {
            self.user_id.clone_from(&upsert.user_id);
        }
        if upsert.email.is_some() {
            self.email.clone_from(&upsert.email);
        }
        if upsert.name.is_some() {
            self.name.clone_from(&upsert.name);
        }
        if upsert.phone.is_some() {
            self.phone.clone_from(&upsert.phone);
        }
        for (name, change) in &upsert.props {
            match change {
                PropChange::Set(value) => {
                    self.props.insert(name.clone(), value.clone());
                }
                PropChange::Unset => {
                    self.props.remove(name);
                }
            }
        }
        self.updated_at = now;
    }

    /// A new contact made from an upsert that matched nobody.
    pub fn from_upsert(id: ContactId, upsert: &ContactUpsert, now: Timestamp) -> Self {
        let mut contact = Contact {
            id,
            workspace_id: upsert.workspace_id,
            user_id: None,
            email: None,
            name: None,
            phone: None,
            props: Props::new(),
            unsubscribed_at: None,
            created_at: now,
            updated_at: now,
        };
        contact.apply(upsert, now);
        contact
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

    #[test]
    fn props_keep_their_json_types_and_datetimes_are_recognised() {
        let upsert = ContactUpsert::parse(
            WorkspaceId::generate(),
            input(json!({"plan": "pro", "seats": 3, "trial": false, "tags": ["a"], "since": "2026-01-02T03:04:05Z", "gone": null})),
        )
        .unwrap();
        assert_eq!(
            upsert.props["plan"],
            PropChange::Set(PropValue::String("pro".into()))
        );
        assert_eq!(
            upsert.props["seats"],
            PropChange::Set(PropValue::Number(3.0))
        );
        assert_eq!(
            upsert.props["trial"],
            PropChange::Set(PropValue::Boolean(false))
        );
        assert_eq!(
            upsert.props["tags"],
            PropChange::Set(PropValue::List(vec!["a".into()]))
        );
        assert!(matches!(
            upsert.props["since"],
            PropChange::Set(PropValue::DateTime(_))
        ));
        assert_eq!(upsert.props["gone"], PropChange::Unset);
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
                ..Default::default()
            },
        )
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["email", "name", "props.bad name", "props.list", "props.obj"]
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
        let first = ContactUpsert::parse(ws, input(json!({"plan": "pro", "seats": 2}))).unwrap();
        let mut contact = Contact::from_upsert(ContactId::generate(), &first, now);
        let second = ContactUpsert::parse(
            ws,
            ContactUpsertInput {
                name: Some("Ada".into()),
                ..input(json!({"seats": null}))
            },
        )
        .unwrap();
        contact.apply(&second, Timestamp::from_millis(2));
        assert_eq!(contact.name.as_deref(), Some("Ada"));
        assert_eq!(contact.props_json(), json!({"plan": "pro"}));
        assert_eq!(contact.updated_at.as_millis(), 2);
    }
}
