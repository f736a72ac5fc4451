//! An upsert: the changes the API, the widget or an import asks for, as
//! they arrive (untrusted) and once parsed, and what each property
//! operation does to a value.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{MAX_PROPS, PropType, PropValue, parse_prop_name};
use crate::model::agent::Email;
use crate::model::ids::WorkspaceId;
use crate::model::validation::{ValidationError, Validator, non_empty_text, single_line_text};

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
pub(super) fn apply_op(
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
pub(super) fn implied_type(op: &PropOp) -> Option<PropType> {
    match op {
        PropOp::Set(value) | PropOp::SetOnce(value) => Some(value.prop_type()),
        PropOp::Increment(_) => Some(PropType::Number),
        PropOp::Append(_) | PropOp::Remove(_) => Some(PropType::List),
        PropOp::Unset => None,
    }
}
