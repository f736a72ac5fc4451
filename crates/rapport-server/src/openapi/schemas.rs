//! Request schemas that say every rule the code checks without stored
//! state: the `schema_with` functions handlers name, and what they are
//! built from.

use utoipa::openapi::{Schema, Type};

/// Whitespace as Rust's `str::trim` sees it (Unicode White_Space), spelled
/// out: regex `\s` differs between JSON Schema's dialect and Python's.
const WS: &str = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Control characters (Unicode's Cc), as `char::is_control` sees them.
const CONTROLS: &str = r"\u0000-\u001f\u007f-\u009f";

/// Text the code trims and then needs 1 to `max` characters of
/// (`validation::non_empty_text`); `printable` text is also one line
/// (`validation::single_line_text`, `breaks_a_line`: no control characters
/// or line and paragraph separators): names, tags, event names.
fn trimmed_text(max: usize, printable: bool, nullable: bool) -> Schema {
    let controls = if printable {
        format!(r"{CONTROLS}\u2028\u2029")
    } else {
        String::new()
    };
    let inner = if printable {
        format!("[^{controls}]")
    } else {
        r"[\s\S]".to_owned()
    };
    let edge = format!("[^{WS}{controls}]");
    let middle = match max {
        0 | 1 => String::new(),
        _ => format!("({inner}{{0,{}}}{edge})?", max - 2),
    };
    let pattern = format!("^[{WS}]*{edge}{middle}[{WS}]*$");
    let ty = if nullable {
        utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])
    } else {
        utoipa::openapi::schema::SchemaType::new(Type::String)
    };
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(ty)
        .pattern(Some(pattern))
        .description(Some(format!(
            "1 to {max} characters, not counting spaces around{}",
            if printable {
                ", on one line (no line breaks or control characters)"
            } else {
                ""
            }
        )))
        .into()
}

/// `schema_with` functions for request fields, named after the rule.
pub mod text {
    use utoipa::openapi::Schema;

    use super::trimmed_text;

    pub fn up_to_64() -> Schema {
        trimmed_text(64, false, false)
    }
    pub fn up_to_64_or_null() -> Schema {
        trimmed_text(64, false, true)
    }
    pub fn up_to_100() -> Schema {
        trimmed_text(100, false, false)
    }
    pub fn up_to_100_or_null() -> Schema {
        trimmed_text(100, false, true)
    }
    pub fn up_to_120() -> Schema {
        trimmed_text(120, false, false)
    }
    pub fn up_to_120_or_null() -> Schema {
        trimmed_text(120, false, true)
    }
    pub fn up_to_200() -> Schema {
        trimmed_text(200, false, false)
    }
    pub fn up_to_255_or_null() -> Schema {
        trimmed_text(255, false, true)
    }
    pub fn line_up_to_60() -> Schema {
        trimmed_text(60, true, false)
    }
    /// A name: one line.
    pub fn line_up_to_120() -> Schema {
        trimmed_text(120, true, false)
    }
    pub fn line_up_to_120_or_null() -> Schema {
        trimmed_text(120, true, true)
    }
    pub fn line_up_to_255_or_null() -> Schema {
        trimmed_text(255, true, true)
    }
    pub fn printable_up_to_64() -> Schema {
        trimmed_text(64, true, false)
    }
    pub fn printable_up_to_255() -> Schema {
        trimmed_text(255, true, false)
    }
    /// A message or template: not blank.
    pub fn message() -> Schema {
        trimmed_text(20_000, false, false)
    }
    /// An address as `agent::Email::parse` takes it.
    pub fn email() -> Schema {
        super::email(false)
    }
    pub fn email_or_null() -> Schema {
        super::email(true)
    }
    /// A sender address: an email, or blank or `null` for the default.
    pub fn email_blank_or_null() -> Schema {
        super::email_or_blank()
    }
    /// Widget origins as `workspace::parse_origin` takes them (blank
    /// entries are skipped), or `null` to keep them.
    pub fn origins_or_null() -> Schema {
        super::origins()
    }
}

/// A list of origins: each blank, or `http(s)://` and a host (and port) of
/// letters, digits, `.`, `-`, `:` and brackets, with trailing slashes.
fn origins() -> Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType};
    let origin = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .pattern(Some(format!(
            r"^[{WS}]*(https?://[A-Za-z0-9.:\[\]\-]+/*)?[{WS}]*$"
        )));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(origin)
        .description(Some(
            "Origins such as https://shop.example (scheme, host, port); blank entries are skipped",
        ))
        .into()
}

/// A schema written as JSON, for what utoipa's builders do not spell
/// (`not`, `oneOf` of literal objects): an object schema of no type whose
/// keywords are all extensions, which utoipa writes out as they are.
pub(super) fn from_json(value: serde_json::Value) -> Schema {
    let serde_json::Value::Object(keywords) = value else {
        panic!("a schema is a JSON object");
    };
    let mut object = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::AnyValue)
        .build();
    let extensions = object.extensions.get_or_insert_with(Default::default);
    for (key, v) in keywords {
        extensions.insert(key, v);
    }
    Schema::Object(object)
}

/// A property name as `contact::parse_prop_name` takes it.
pub const PROP_NAME: &str = "^[A-Za-z0-9_-]{1,64}$";

/// Property names a contact's `props` and `ops` may not name: the identity
/// fields have their own, and `created_at` is the store's.
const OWN_FIELDS: [&str; 5] = ["user_id", "email", "name", "phone", "created_at"];

/// A property value as `PropValue::from_json` takes it (`null` removes).
fn prop_value() -> serde_json::Value {
    serde_json::json!({
        "oneOf": [
            {"type": "string", "maxLength": 2000},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "array", "items": {"type": "string", "maxLength": 255}},
        ]
    })
}

/// `schema_with` functions for request fields with rules of their own.
pub mod fields {
    use serde_json::json;
    use utoipa::openapi::Schema;

    use super::{CONTROLS, OWN_FIELDS, PROP_NAME, WS, from_json, prop_value};

    /// A webhook endpoint's URL (`webhook::check_url`): https, a host of
    /// letters, digits, dots and dashes, a port of digits, nothing blank
    /// or invisible.
    pub fn webhook_url() -> Schema {
        from_json(json!({
            "type": "string",
            "maxLength": rapport_core::model::webhook::MAX_URL_LEN,
            "pattern": format!(
                r"^[Hh][Tt][Tt][Pp][Ss]://[A-Za-z0-9.\-]+(:[0-9]{{1,5}})?([/?#][^{WS}{CONTROLS}]*)?$"
            ),
            "description": "Where events are posted: https://host[:port][/path]",
        }))
    }

    /// A webhook endpoint's description: one line of up to 200 characters
    /// once trimmed, or blank.
    pub fn webhook_description() -> Schema {
        let line = format!(r"[^{CONTROLS}\u2028\u2029]");
        let edge = format!(r"[^{WS}{CONTROLS}\u2028\u2029]");
        from_json(json!({
            "type": ["string", "null"],
            "pattern": format!("^[{WS}]*({edge}({line}{{0,198}}{edge})?)?[{WS}]*$"),
            "description": "Up to 200 characters on one line; blank for none",
        }))
    }

    /// The event types an endpoint subscribes to: one or more.
    pub fn webhook_events() -> Schema {
        let names: Vec<&str> = rapport_core::model::webhook::EventType::SUBSCRIBABLE
            .iter()
            .map(|t| t.as_str())
            .collect();
        from_json(json!({
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "enum": names},
        }))
    }

    /// A contact's custom properties: a name (not an identity field) to a
    /// value, or `null` to remove it.
    pub fn props() -> Schema {
        let mut value = prop_value();
        value["oneOf"]
            .as_array_mut()
            .expect("an array")
            .push(json!({"type": "null"}));
        from_json(json!({
            "type": "object",
            "description": "Custom properties: string, number, boolean, RFC 3339 date-time, or a list of strings; `null` removes one. Names are 1 to 64 letters, digits, `_` or `-`.",
            "maxProperties": rapport_core::model::contact::MAX_PROPS,
            "propertyNames": {"pattern": PROP_NAME, "not": {"enum": OWN_FIELDS}},
            "additionalProperties": value,
        }))
    }

    /// Property operations, each with the value its `op` needs.
    pub fn ops() -> Schema {
        let op = |ops: &[&str], value: Option<serde_json::Value>| {
            let mut properties = json!({
                "op": {"type": "string", "enum": ops},
                "prop": {"type": "string", "pattern": PROP_NAME, "not": {"enum": OWN_FIELDS}},
            });
            let mut required = vec!["op", "prop"];
            match value {
                Some(value) => {
                    properties["value"] = value;
                    required.push("value");
                }
                None => properties["value"] = json!({"type": "null"}),
            }
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            })
        };
        let strings = json!({"oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string", "maxLength": 255}},
        ]});
        let items = json!({"oneOf": [
            op(&["set", "set_once"], Some(prop_value())),
            op(&["increment"], Some(json!({"type": "number"}))),
            op(&["append", "remove"], Some(strings)),
            op(&["unset"], None),
        ]});
        from_json(json!({
            "type": "array",
            "description": "Property operations, applied after `props`, in order: `set` and `set_once` take a value, `increment` a number, `append` and `remove` a string or a list of strings, `unset` none.",
            "maxItems": rapport_core::model::contact::MAX_PROPS,
            "items": items,
        }))
    }

    /// A bulk send's audience: exactly one of a filter, a segment or a
    /// list of contacts.
    pub fn audience() -> Schema {
        let uuid = json!({"type": "string", "format": "uuid"});
        let one = |field: &str, schema: serde_json::Value| {
            let mut properties = json!({
                "filter": {"type": "null"},
                "segment_id": {"type": "null"},
                "contact_ids": {"type": "null"},
            });
            properties[field] = schema;
            json!({
                "type": "object",
                "properties": properties,
                "required": [field],
                "additionalProperties": false,
            })
        };
        from_json(json!({
            "description": "Who receives it: exactly one of `filter` (everyone a filter tree matches, see docs/people.md), `segment_id` (everyone a saved segment matches) or `contact_ids` (1 to 10,000 contacts ticked by hand)",
            "oneOf": [
                one("filter", json!({"type": "object"})),
                one("segment_id", uuid.clone()),
                one("contact_ids", json!({"type": "array", "items": uuid, "minItems": 1,
                    "maxItems": crate::request_limits::MAX_CONTACT_IDS})),
            ],
        }))
    }

    /// A shipped automation template's name, or null.
    pub fn automation_template_or_null() -> Schema {
        let mut names: Vec<serde_json::Value> =
            rapport_core::model::automation::templates::TEMPLATES
                .iter()
                .map(|(name, _)| json!(name))
                .collect();
        names.push(serde_json::Value::Null);
        from_json(json!({"type": ["string", "null"], "enum": names}))
    }

    /// What publishing does to runs on older versions.
    pub fn runs_on_publish() -> Schema {
        from_json(
            json!({"type": "string", "enum": ["finish", "migrate", "stop"],
            "description": "`finish` (the default): runs go on on their version; `migrate`: they move to the new one by node id; `stop`"}),
        )
    }

    /// A team's members: agent ids, at most 500.
    pub fn team_members() -> Schema {
        from_json(
            json!({"type": "array", "items": {"type": "string", "format": "uuid"},
            "maxItems": rapport_core::model::teams::MAX_MEMBERS}),
        )
    }

    /// Who the AI bot hands a conversation to.
    pub fn handover_to() -> Schema {
        from_json(json!({"oneOf": [
            {"type": "null"},
            {"type": "string", "enum": ["round_robin", "nobody"]},
            {"type": "object", "properties": {"agent": {"type": "string", "format": "uuid"}},
             "required": ["agent"], "additionalProperties": false},
            {"type": "object", "properties": {"team": {"type": "string", "format": "uuid"}},
             "required": ["team"], "additionalProperties": false}
        ]}))
    }

    /// The AI bot's languages: tags, each as `knowledge::language_tag`
    /// takes it.
    pub fn bot_languages() -> Schema {
        from_json(json!({"type": ["array", "null"], "maxItems": 20,
            "items": {"type": "string", "pattern": r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,2}$"}}))
    }

    /// An https address of an image, at most 500 characters.
    pub fn avatar_url() -> Schema {
        from_json(json!({"type": ["string", "null"], "maxLength": 500,
            "pattern": r"^https://[A-Za-z0-9]([A-Za-z0-9.-]{0,200}[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?$"}))
    }

    /// The role of a new team member: a workspace has one owner.
    pub fn new_member_role() -> Schema {
        from_json(json!({"type": "string", "enum": ["admin", "agent"]}))
    }

    /// A test email's address: empty (or left out) for your own.
    pub fn email_or_empty() -> Schema {
        let Schema::Object(mut email) = super::email(true) else {
            unreachable!("an object schema")
        };
        let pattern = email.pattern.take().expect("a pattern");
        email.pattern = Some(format!("^[{WS}]*$|{pattern}"));
        email.description = Some("An email address, or empty (or left out) for your own".into());
        Schema::Object(email)
    }

    const CONTACT_SORTS: [&str; 4] = ["last_seen_at", "first_seen_at", "name", "created_at"];

    /// `POST /contacts/search`'s `sort`.
    pub fn contact_sort_or_null() -> Schema {
        let mut sorts: Vec<serde_json::Value> = CONTACT_SORTS.iter().map(|s| json!(s)).collect();
        sorts.push(serde_json::Value::Null);
        from_json(json!({"type": ["string", "null"], "enum": sorts}))
    }

    /// `GET /contacts`' `sort`.
    pub fn contact_sort() -> Schema {
        from_json(json!({"type": "string", "enum": CONTACT_SORTS}))
    }

    /// `POST /contacts/search`'s `order`: `asc` or `desc`.
    pub fn order_or_null() -> Schema {
        from_json(json!({"type": ["string", "null"], "enum": ["asc", "desc", null]}))
    }

    /// `GET /contacts`' `order`: `asc` or `desc`.
    pub fn order() -> Schema {
        from_json(json!({"type": "string", "enum": ["asc", "desc"]}))
    }

    /// A conversation list's `sort`.
    pub fn conversation_sort() -> Schema {
        from_json(json!({"type": "string", "enum": ["newest", "waiting"]}))
    }

    /// A conversation list's `assignee`: an agent id, `me` or `unassigned`.
    pub fn assignee() -> Schema {
        from_json(json!({"type": "string", "pattern":
            "^(me|unassigned|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})$"}))
    }

    /// A timeline's `kinds`: a comma-separated list of activity kinds.
    pub fn timeline_kinds() -> Schema {
        let kinds = rapport_core::model::activity::Activity::KINDS.join("|");
        let item = format!("[{WS}]*({kinds})?[{WS}]*");
        from_json(json!({
            "type": "string",
            "pattern": format!("^{item}(,{item})*$"),
            "description": format!("Comma-separated activity kinds, of: {}; default all", rapport_core::model::activity::Activity::KINDS.join(", ")),
        }))
    }

    /// A tag in a path: as `contact::parse_tag` takes it.
    pub fn tag() -> Schema {
        super::trimmed_text(64, true, false)
    }

    /// A custom property's name in a path.
    pub fn prop_name() -> Schema {
        from_json(json!({"type": "string", "pattern": PROP_NAME,
            "not": {"enum": rapport_core::model::contact::SYSTEM_PROPERTIES.iter().map(|(n, _)| *n).collect::<Vec<_>>()},
            "description": "1 to 64 letters, digits, `_` or `-`; not a system property's"}))
    }

    /// A CSV import: a header row naming a `user_id` or an `email` column
    /// among columns with property names, then rows.
    pub fn csv() -> Schema {
        // Spaces around a name are trimmed; a line break ends the row.
        let ws = WS.replace(r"\n", "").replace(r"\r", "");
        let column = format!("[{ws}]*[A-Za-z0-9_-]{{1,64}}[{ws}]*");
        let id = format!("[{ws}]*(user_id|email)[{ws}]*");
        from_json(json!({
            "type": "string",
            "pattern": format!("^({column},)*{id}(,{column})*(\r?\n[\\s\\S]*)?$"),
            "description": "A header row (user_id, email, name, phone, tags, system or custom properties; a user_id or an email column, no column twice, not created_at), then one contact per row",
        }))
    }
}

/// An email address as `agent::Email::parse` takes it: spaces around are
/// trimmed, none inside, no control characters; something before the first
/// `@`, and a domain with a dot, not at either end.
fn email(nullable: bool) -> Schema {
    let pattern = format!("^[{WS}]*{}[{WS}]*$", email_address());
    let ty = if nullable {
        utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])
    } else {
        utoipa::openapi::schema::SchemaType::new(Type::String)
    };
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(ty)
        .pattern(Some(pattern))
        .max_length(Some(254))
        .description(Some("An email address, e.g. `ada@example.com`"))
        .into()
}

/// The address itself, unanchored.
fn email_address() -> String {
    let part = format!("[^{WS}{CONTROLS}@]");
    let edge = format!("[^{WS}{CONTROLS}@.]");
    format!("{part}+@{edge}{part}*\\.{part}*{edge}")
}

/// An email address as `email` takes it, or blank (spaces only), or null.
fn email_or_blank() -> Schema {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .pattern(Some(format!("^[{WS}]*({})?[{WS}]*$", email_address())))
        .max_length(Some(254))
        .description(Some(
            "An email address, e.g. `ada@example.com`; blank or null for the server's default",
        ))
        .into()
}

/// The knowledge base's fields, as `model::knowledge` checks them.
pub mod knowledge {
    use utoipa::openapi::Schema;

    use super::trimmed_text;

    pub fn title() -> Schema {
        trimmed_text(200, true, false)
    }
    pub fn collection_or_null() -> Schema {
        trimmed_text(80, true, true)
    }
    pub fn body() -> Schema {
        trimmed_text(100_000, false, false)
    }
    /// `knowledge::language_tag`: case is folded.
    pub fn language_or_null() -> Schema {
        pattern(
            r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,2}$",
            "A language tag such as en, de or pt-br",
        )
    }
    pub fn slug_or_null() -> Schema {
        pattern(
            r"^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$",
            "1 to 100 lowercase letters, digits and inner hyphens",
        )
    }
    /// A string matching `pattern`, or null.
    fn pattern(pattern: &str, description: &str) -> Schema {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                utoipa::openapi::Type::String,
                utoipa::openapi::Type::Null,
            ]))
            .pattern(Some(pattern))
            .description(Some(description))
            .into()
    }
}
