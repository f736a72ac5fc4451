//! Contacts: the people a workspace talks to, with their custom properties.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value as Json;

use crate::Timestamp;
use crate::model::agent::Email;
use crate::model::ids::{ContactId, WorkspaceId};
use crate::model::validation::{
    ValidationError, Validator, breaks_a_line, non_empty_text, single_line_text,
};

/// The most custom properties one contact may carry.
pub const MAX_PROPS: usize = 200;

/// The most custom property names one workspace may define.
pub const MAX_WORKSPACE_PROPERTIES: usize = 1_000;

/// How long a widget session lasts without being used (a boot uses it).
pub const WIDGET_SESSION_IDLE_MILLIS: i64 = 90 * 24 * 3600 * 1000;

/// A workspace's custom property: its type, and whether a visitor's
/// messenger may set it (off for new names: a visitor must not squat a
/// name with the wrong type, nor write what the business did not offer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertySetting {
    pub name: String,
    pub r#type: PropType,
    pub messenger_writable: bool,
}

/// The type of a property. A workspace's first value for a custom property
/// fixes its type; later values of another type are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PropType {
    String,
    Number,
    Boolean,
    Datetime,
    List,
}

impl PropType {
    pub fn as_str(self) -> &'static str {
        match self {
            PropType::String => "string",
            PropType::Number => "number",
            PropType::Boolean => "boolean",
            PropType::Datetime => "datetime",
            PropType::List => "list",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            PropType::String,
            PropType::Number,
            PropType::Boolean,
            PropType::Datetime,
            PropType::List,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }

    /// "a string", "a number", ... for messages.
    pub fn described(self) -> &'static str {
        match self {
            PropType::String => "a string",
            PropType::Number => "a number",
            PropType::Boolean => "a boolean",
            PropType::Datetime => "a date-time",
            PropType::List => "a list of strings",
        }
    }
}

/// The system properties: kept in their own columns (so they sort and
/// filter cheaply), set by the widget, the API or an import. `user_id`,
/// `email`, `name` and `phone` are the contact's own fields.
pub const SYSTEM_PROPERTIES: &[(&str, PropType)] = &[
    ("user_id", PropType::String),
    ("email", PropType::String),
    ("name", PropType::String),
    ("phone", PropType::String),
    ("first_seen_at", PropType::Datetime),
    ("last_seen_at", PropType::Datetime),
    ("sessions", PropType::Number),
    ("country", PropType::String),
    ("city", PropType::String),
    ("browser", PropType::String),
    ("os", PropType::String),
    ("last_page", PropType::String),
    ("created_at", PropType::Datetime),
];

/// The type of a system property, if `name` is one.
pub fn system_property(name: &str) -> Option<PropType> {
    SYSTEM_PROPERTIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// A workspace's custom properties and their types.
pub type PropTypes = BTreeMap<String, PropType>;

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

    pub fn prop_type(&self) -> PropType {
        match self {
            PropValue::String(_) => PropType::String,
            PropValue::Number(_) => PropType::Number,
            PropValue::Boolean(_) => PropType::Boolean,
            PropValue::DateTime(_) => PropType::Datetime,
            PropValue::List(_) => PropType::List,
        }
    }

    /// This value as a property of type `ty`, or why it cannot be: a
    /// date-time-looking string is a string for a string property, and
    /// nothing else converts.
    pub fn of_type(self, ty: PropType) -> Result<Self, String> {
        match (self, ty) {
            (PropValue::DateTime(at), PropType::String) => {
                Ok(PropValue::String(at.to_fixed_string()))
            }
            (value, ty) if value.prop_type() == ty => Ok(value),
            (value, ty) => Err(format!(
                "is {}, and this property holds {}",
                value.prop_type().described(),
                ty.described()
            )),
        }
    }

    /// Reads one CSV cell: as `ty` when the property has a type, else as
    /// whatever it looks like (number, `true`/`false`, RFC 3339 date-time,
    /// else text). Lists are separated by `;`.
    pub fn from_text(text: &str, ty: Option<PropType>) -> Result<Self, String> {
        let number = || {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(PropValue::Number)
        };
        let boolean = || match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(PropValue::Boolean(true)),
            "false" => Some(PropValue::Boolean(false)),
            _ => None,
        };
        let datetime = || Timestamp::parse_rfc3339(text.trim()).map(PropValue::DateTime);
        match ty {
            Some(PropType::String) => Ok(PropValue::String(text.to_owned())),
            Some(PropType::Number) => number().ok_or_else(|| "is not a number".to_owned()),
            Some(PropType::Boolean) => boolean().ok_or_else(|| "is not true or false".to_owned()),
            Some(PropType::Datetime) => {
                datetime().ok_or_else(|| "is not an RFC 3339 date-time".to_owned())
            }
            Some(PropType::List) => Ok(PropValue::List(
                text.split(';')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            None => Ok(number()
                .or_else(boolean)
                .or_else(datetime)
                .unwrap_or_else(|| PropValue::String(text.to_owned()))),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            PropValue::String(text) => Json::String(text.clone()),
            PropValue::Number(n) => serde_json::Number::from_f64(*n)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            PropValue::Boolean(flag) => Json::Bool(*flag),
            // One fixed width, so stored date-times compare as text.
            PropValue::DateTime(at) => Json::String(at.to_fixed_string()),
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

/// One change to a property, custom or system.
#[derive(Clone, Debug, PartialEq)]
pub enum PropOp {
    Set(PropValue),
    /// Set only if the property has no value.
    SetOnce(PropValue),
    /// Add to a number (a missing one counts as 0).
    Increment(f64),
    /// Add these strings to a list, skipping ones it holds.
    Append(Vec<String>),
    /// Take these strings out of a list.
    Remove(Vec<String>),
    Unset,
}

/// A property operation, with the request field it came from (for errors).
#[derive(Clone, Debug, PartialEq)]
pub struct PropOperation {
    pub prop: String,
    pub op: PropOp,
    pub field: String,
}

/// Create-or-update a contact, matched by `user_id`, or else by `email`.
/// Fields left `None` keep their stored value.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactUpsert {
    pub workspace_id: WorkspaceId,
    pub user_id: Option<String>,
    pub email: Option<Email>,
    /// Whether `email` comes from the business (true) or is a visitor's
    /// claim (false, see [`ContactUpsert::claimed_by_visitor`]). Only a
    /// vouched email finds an existing contact.
    pub email_verified: bool,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// Property changes, applied in order.
    pub ops: Vec<PropOperation>,
    /// Tags to add.
    pub tags: Vec<String>,
}

/// One operation as the API receives it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PropOpInput {
    /// `set`, `set_once`, `increment`, `append`, `remove` or `unset`.
    pub op: String,
    pub prop: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub value: Option<Json>,
}

/// The untrusted shape of an upsert, as the API receives it.
#[derive(Clone, Debug, Default)]
pub struct ContactUpsertInput {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub props: BTreeMap<String, Json>,
    pub ops: Vec<PropOpInput>,
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

fn strings(value: &Json) -> Result<Vec<String>, String> {
    match value {
        Json::String(one) => Ok(vec![one.clone()]),
        Json::Array(_) => match PropValue::from_json(value)? {
            PropValue::List(items) => Ok(items),
            _ => Err("must be a string or a list of strings".into()),
        },
        _ => Err("must be a string or a list of strings".into()),
    }
}

impl PropOpInput {
    fn parse(&self) -> Result<PropOp, (&'static str, String)> {
        let value = || {
            self.value
                .as_ref()
                .filter(|v| !v.is_null())
                .ok_or(("value", "is needed for this operation".to_owned()))
        };
        match self.op.as_str() {
            "set" => PropValue::from_json(value()?)
                .map(PropOp::Set)
                .map_err(|e| ("value", e)),
            "set_once" => PropValue::from_json(value()?)
                .map(PropOp::SetOnce)
                .map_err(|e| ("value", e)),
            "increment" => value()?
                .as_f64()
                .filter(|n| n.is_finite())
                .map(PropOp::Increment)
                .ok_or(("value", "must be a finite number".into())),
            "append" => strings(value()?)
                .map(PropOp::Append)
                .map_err(|e| ("value", e)),
            "remove" => strings(value()?)
                .map(PropOp::Remove)
                .map_err(|e| ("value", e)),
            "unset" => match &self.value {
                None | Some(Json::Null) => Ok(PropOp::Unset),
                Some(_) => Err(("value", "unset takes no value".into())),
            },
            _ => Err((
                "op",
                "must be set, set_once, increment, append, remove or unset".into(),
            )),
        }
    }
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
    /// updating themselves, or the team editing a profile): no identifier
    /// is needed.
    pub fn parse_changes(
        workspace_id: WorkspaceId,
        input: ContactUpsertInput,
    ) -> Result<Self, ValidationError> {
        Self::parse_fields(workspace_id, input, false)
    }

    /// The same changes, made by a widget visitor: their email is a claim,
    /// never a key.
    #[must_use]
    pub fn claimed_by_visitor(mut self) -> Self {
        self.email_verified = false;
        self
    }

    /// Whether applying this changes nothing.
    pub fn is_empty(&self) -> bool {
        self.user_id.is_none()
            && self.email.is_none()
            && self.name.is_none()
            && self.phone.is_none()
            && self.ops.is_empty()
            && self.tags.is_empty()
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
            .and_then(|n| v.check("name", single_line_text(n, 255)));
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
        if input.props.len() + input.ops.len() > MAX_PROPS {
            v.push("props", format!("at most {MAX_PROPS} property changes"));
        }
        let mut ops = Vec::new();
        let check_name = |v: &mut Validator, field: &str, name: &str| {
            if matches!(name, "user_id" | "email" | "name" | "phone" | "created_at") {
                v.push(
                    field,
                    format!("`{name}` is set by its own field, not as a property"),
                );
                return None;
            }
            v.check(field, parse_prop_name(name))
        };
        for (name, value) in &input.props {
            let field = format!("props.{name}");
            let Some(prop) = check_name(&mut v, &field, name) else {
                continue;
            };
            let op = if value.is_null() {
                Some(PropOp::Unset)
            } else {
                v.check(&field, PropValue::from_json(value))
                    .map(PropOp::Set)
            };
            if let Some(op) = op {
                ops.push(PropOperation { prop, op, field });
            }
        }
        for (i, input) in input.ops.iter().enumerate() {
            let field = format!("ops[{i}]");
            let Some(prop) = check_name(&mut v, &format!("{field}.prop"), &input.prop) else {
                continue;
            };
            match input.parse() {
                Ok(op) => ops.push(PropOperation { prop, op, field }),
                Err((part, message)) => v.push(format!("{field}.{part}"), message),
            }
        }
        v.finish()?;
        Ok(Self {
            workspace_id,
            user_id,
            email,
            email_verified: true,
            name,
            phone,
            ops,
            tags: Vec::new(),
        })
    }
}

/// Applies one operation to an optional current value of type `ty`.
fn apply_op(
    current: Option<&PropValue>,
    op: &PropOp,
    ty: PropType,
) -> Result<Option<PropValue>, String> {
    let wrong = |needs: PropType| {
        format!(
            "this operation needs {} property, and this one holds {}",
            needs.described(),
            ty.described()
        )
    };
    Ok(match op {
        PropOp::Set(value) => Some(value.clone().of_type(ty)?),
        PropOp::SetOnce(value) => match current {
            Some(existing) => Some(existing.clone()),
            None => Some(value.clone().of_type(ty)?),
        },
        PropOp::Increment(by) => {
            if ty != PropType::Number {
                return Err(wrong(PropType::Number));
            }
            let base = match current {
                Some(PropValue::Number(n)) => *n,
                _ => 0.0,
            };
            let sum = base + by;
            if !sum.is_finite() {
                return Err("the sum is not a finite number".into());
            }
            Some(PropValue::Number(sum))
        }
        PropOp::Append(items) | PropOp::Remove(items) => {
            if ty != PropType::List {
                return Err(wrong(PropType::List));
            }
            let mut list = match current {
                Some(PropValue::List(list)) => list.clone(),
                _ => Vec::new(),
            };
            if matches!(op, PropOp::Append(_)) {
                for item in items {
                    if !list.contains(item) {
                        list.push(item.clone());
                    }
                }
                if list.len() > 1_000 {
                    return Err("a list holds at most 1000 strings".into());
                }
            } else {
                list.retain(|item| !items.contains(item));
            }
            Some(PropValue::List(list))
        }
        PropOp::Unset => None,
    })
}

/// The type an operation gives a property that has none yet.
fn implied_type(op: &PropOp) -> Option<PropType> {
    match op {
        PropOp::Set(value) | PropOp::SetOnce(value) => Some(value.prop_type()),
        PropOp::Increment(_) => Some(PropType::Number),
        PropOp::Append(_) | PropOp::Remove(_) => Some(PropType::List),
        PropOp::Unset => None,
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
    fn csv_cells_are_typed_by_the_property_or_by_their_look() {
        assert_eq!(
            PropValue::from_text("12", None),
            Ok(PropValue::Number(12.0))
        );
        assert_eq!(
            PropValue::from_text("TRUE", None),
            Ok(PropValue::Boolean(true))
        );
        assert_eq!(
            PropValue::from_text("12", Some(PropType::String)),
            Ok(PropValue::String("12".into()))
        );
        assert_eq!(
            PropValue::from_text("a; b;", Some(PropType::List)),
            Ok(PropValue::List(vec!["a".into(), "b".into()]))
        );
        assert!(PropValue::from_text("soon", Some(PropType::Datetime)).is_err());
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
