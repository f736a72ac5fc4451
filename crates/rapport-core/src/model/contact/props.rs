//! A contact's properties: their types, their values, and the names
//! they may have.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value as Json;

use crate::Timestamp;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
