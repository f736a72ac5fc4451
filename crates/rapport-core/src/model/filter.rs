//! The filter language: one JSON tree of `and` / `or` groups over
//! conditions on properties, events, tags, presence and conversations,
//! shared by the People list and bulk sends' audiences.
//!
//! [`Filter::parse`] checks a tree against the workspace's property types
//! and turns relative times ("within 7 days") into absolute ones, so the
//! store compiles a tree that is already known to be valid. Every error
//! names the node at fault by its path, such as `filter.and[1].op`.

use serde_json::{Map, Value as Json};

use crate::Timestamp;
use crate::model::contact::{PropType, PropTypes, parse_tag, system_property};
use crate::model::validation::{ValidationError, Validator};

/// The most conditions one filter may hold, and how deep groups may nest.
pub const MAX_CONDITIONS: usize = 64;
pub const MAX_DEPTH: usize = 5;
/// The most nodes (groups and conditions together): empty groups cost
/// nothing to match but still cost work to parse and compile.
pub const MAX_NODES: usize = 128;
/// The largest filter, as compact JSON.
pub const MAX_BYTES: usize = 64 * 1024;

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Every part matches (an empty `and` matches everyone).
    All(Vec<Filter>),
    /// At least one part matches (an empty `or` matches no one).
    Any(Vec<Filter>),
    Prop {
        name: String,
        ty: PropType,
        /// A system property, kept in its own column.
        system: bool,
        test: PropTest,
    },
    Event {
        name: String,
        test: EventTest,
    },
    Tag {
        tag: String,
        has: bool,
    },
    /// Whether the contact has the messenger open now.
    Online(bool),
    /// Whether the contact has an open conversation.
    OpenConversation(bool),
    /// Whether one of the contact's conversations has the team's tag.
    ConversationTag {
        tag: String,
        has: bool,
    },
}

/// A test on a property's value. `Ne`, `NotContains` also match contacts
/// without the property; every other test needs it set.
#[derive(Clone, Debug, PartialEq)]
pub enum PropTest {
    IsSet,
    NotSet,
    Eq(Scalar),
    Ne(Scalar),
    /// Text containing (lists: holding) the string; ASCII case ignored for
    /// text.
    Contains(String),
    NotContains(String),
    StartsWith(String),
    In(Vec<String>),
    Gt(f64),
    Lt(f64),
    /// Both ends included.
    Between(f64, f64),
    Before(Timestamp),
    After(Timestamp),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventTest {
    Performed,
    NotPerformed,
    CountAtLeast(i64),
    /// First done at or after this time.
    FirstSince(Timestamp),
    /// Last done at or after this time.
    LastSince(Timestamp),
}

/// The operators a property type takes, as the schema lists them.
pub fn operators(ty: PropType) -> &'static [&'static str] {
    match ty {
        PropType::String => &[
            "eq",
            "ne",
            "contains",
            "not_contains",
            "starts_with",
            "in",
            "is_set",
            "not_set",
        ],
        PropType::Number => &["eq", "ne", "gt", "lt", "between", "is_set", "not_set"],
        PropType::Boolean => &["eq", "is_set", "not_set"],
        PropType::Datetime => &[
            "before",
            "after",
            "more_than_days_ago",
            "less_than_days_ago",
            "is_set",
            "not_set",
        ],
        PropType::List => &["contains", "not_contains", "is_set", "not_set"],
    }
}

pub const EVENT_OPERATORS: &[&str] = &[
    "performed",
    "not_performed",
    "count_at_least",
    "first_within_days",
    "last_within_days",
];

pub const TAG_OPERATORS: &[&str] = &["has", "has_not"];

impl Filter {
    /// Matches everyone.
    pub fn everyone() -> Self {
        Filter::All(Vec::new())
    }

    /// Parses and checks a filter tree. `custom` holds the workspace's
    /// custom property types; `now` anchors "N days ago".
    ///
    /// The size is checked before anything else (bytes, then nodes as each
    /// group is entered), so a hostile tree costs at most `MAX_BYTES` of
    /// serialising and `MAX_NODES` of parsing; recursion is `MAX_DEPTH` deep.
    pub fn parse(json: &Json, custom: &PropTypes, now: Timestamp) -> Result<Self, ValidationError> {
        if !fits_in(json, MAX_BYTES) {
            return Err(ValidationError::field(
                "filter",
                format!("a filter is at most {MAX_BYTES} bytes as JSON"),
            ));
        }
        let mut parser = Parser {
            custom,
            now,
            v: Validator::default(),
            conditions: 0,
            nodes: 1,
            too_big: false,
        };
        let filter = parser.node(json, "filter", 0);
        if parser.too_big {
            return Err(ValidationError::field(
                "filter",
                format!("a filter has at most {MAX_NODES} nodes (groups and conditions)"),
            ));
        }
        if parser.conditions > MAX_CONDITIONS {
            parser.v.push(
                "filter",
                format!("a filter has at most {MAX_CONDITIONS} conditions"),
            );
        }
        parser.v.finish()?;
        filter.ok_or_else(|| ValidationError::field("filter", "is not a filter"))
    }

    /// Whether any condition asks who is online (the caller then supplies
    /// the online contacts).
    pub fn uses_online(&self) -> bool {
        match self {
            Filter::All(parts) | Filter::Any(parts) => parts.iter().any(Filter::uses_online),
            Filter::Online(_) => true,
            _ => false,
        }
    }
}

/// Whether `json` serialises to at most `max` bytes; stops writing as soon
/// as it does not.
fn fits_in(json: &Json, max: usize) -> bool {
    struct Budget(usize);
    impl std::io::Write for Budget {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self
                .0
                .checked_sub(buf.len())
                .ok_or_else(|| std::io::Error::other("over the budget"))?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(Budget(max), json).is_ok()
}

struct Parser<'a> {
    custom: &'a PropTypes,
    now: Timestamp,
    v: Validator,
    conditions: usize,
    /// Nodes seen so far, counted per group before its parts are parsed.
    nodes: usize,
    /// Set once `nodes` passes `MAX_NODES`: parsing stops there.
    too_big: bool,
}

fn one_of(ops: &[&str]) -> String {
    format!("must be one of: {}", ops.join(", "))
}

impl Parser<'_> {
    fn node(&mut self, json: &Json, path: &str, depth: usize) -> Option<Filter> {
        let Some(map) = json.as_object() else {
            self.v
                .push(path, "must be an object: a group or a condition");
            return None;
        };
        for group in ["and", "or"] {
            if let Some(parts) = map.get(group) {
                return self.group(map, group, parts, path, depth);
            }
        }
        self.conditions += 1;
        if map.contains_key("prop") {
            self.prop(map, path)
        } else if map.contains_key("event") {
            self.event(map, path)
        } else if map.contains_key("tag") {
            self.tag(map, "tag", path)
                .map(|(tag, has)| Filter::Tag { tag, has })
        } else if map.contains_key("conversation_tag") {
            self.tag(map, "conversation_tag", path)
                .map(|(tag, has)| Filter::ConversationTag { tag, has })
        } else if let Some(flag) = map.get("online") {
            self.flag(map, "online", flag, path).map(Filter::Online)
        } else if let Some(flag) = map.get("open_conversation") {
            self.flag(map, "open_conversation", flag, path)
                .map(Filter::OpenConversation)
        } else if map.contains_key("segment") {
            // Where a filter is used, segment nodes are replaced by their
            // filters first (services::segments); one left here is inside
            // a segment being saved.
            self.v.push(
                format!("{path}.segment"),
                "a saved segment cannot name another segment",
            );
            None
        } else {
            self.v.push(
                path,
                "a node is {\"and\": [...]}, {\"or\": [...]} or a condition on prop, event, tag, conversation_tag, online or open_conversation",
            );
            None
        }
    }

    fn only_keys(&mut self, map: &Map<String, Json>, keys: &[&str], path: &str) -> bool {
        match map.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(extra) => {
                self.v
                    .push(format!("{path}.{extra}"), "is not part of this node");
                false
            }
            None => true,
        }
    }

    fn group(
        &mut self,
        map: &Map<String, Json>,
        group: &str,
        parts: &Json,
        path: &str,
        depth: usize,
    ) -> Option<Filter> {
        if !self.only_keys(map, &[group], path) {
            return None;
        }
        let here = format!("{path}.{group}");
        if depth >= MAX_DEPTH {
            self.v
                .push(here, format!("groups nest at most {MAX_DEPTH} deep"));
            return None;
        }
        let Some(parts) = parts.as_array() else {
            self.v.push(here, "must be a list of nodes");
            return None;
        };
        self.nodes = self.nodes.saturating_add(parts.len());
        if self.too_big || self.nodes > MAX_NODES {
            self.too_big = true;
            return None;
        }
        let parsed: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| self.node(part, &format!("{here}[{i}]"), depth + 1))
            .collect();
        let parsed: Option<Vec<_>> = parsed.into_iter().collect();
        let parsed = parsed?;
        Some(if group == "and" {
            Filter::All(parsed)
        } else {
            Filter::Any(parsed)
        })
    }

    fn flag(
        &mut self,
        map: &Map<String, Json>,
        key: &str,
        value: &Json,
        path: &str,
    ) -> Option<bool> {
        if !self.only_keys(map, &[key], path) {
            return None;
        }
        let flag = value.as_bool();
        if flag.is_none() {
            self.v
                .push(format!("{path}.{key}"), "must be true or false");
        }
        flag
    }

    fn op<'j>(&mut self, map: &'j Map<String, Json>, path: &str) -> Option<&'j str> {
        let op = map.get("op").and_then(Json::as_str);
        if op.is_none() {
            self.v.push(format!("{path}.op"), "is needed, as a string");
        }
        op
    }

    fn days(&mut self, value: Option<&Json>, path: &str) -> Option<Timestamp> {
        match value.and_then(Json::as_f64) {
            Some(days) if (0.0..=36_500.0).contains(&days) => Some(
                self.now
                    .plus_millis(-((days * DAY_MILLIS as f64).round() as i64)),
            ),
            _ => {
                self.v.push(
                    format!("{path}.value"),
                    "must be a number of days, 0 to 36500",
                );
                None
            }
        }
    }

    fn prop(&mut self, map: &Map<String, Json>, path: &str) -> Option<Filter> {
        let ok = self.only_keys(map, &["prop", "op", "value"], path);
        let Some(name) = map.get("prop").and_then(Json::as_str) else {
            self.v
                .push(format!("{path}.prop"), "must be a property name");
            return None;
        };
        let (ty, system) = match system_property(name) {
            Some(ty) => (ty, true),
            None => match self.custom.get(name) {
                Some(ty) => (*ty, false),
                None => {
                    self.v.push(
                        format!("{path}.prop"),
                        format!("no contact has a property named `{name}`"),
                    );
                    return None;
                }
            },
        };
        let op = self.op(map, path)?;
        if !ok {
            return None;
        }
        if !operators(ty).contains(&op) {
            self.v.push(
                format!("{path}.op"),
                format!(
                    "`{op}` does not apply to {} property; {}",
                    ty.described(),
                    one_of(operators(ty))
                ),
            );
            return None;
        }
        let value = map.get("value");
        let at = format!("{path}.value");
        let test = match op {
            "is_set" | "not_set" => {
                if value.is_some_and(|v| !v.is_null()) {
                    self.v.push(at, "this operator takes no value");
                    return None;
                }
                if op == "is_set" {
                    PropTest::IsSet
                } else {
                    PropTest::NotSet
                }
            }
            "eq" | "ne" => {
                let scalar = match (ty, value) {
                    (PropType::String, Some(Json::String(s))) => Scalar::Text(s.clone()),
                    (PropType::Number, Some(n)) if n.as_f64().is_some_and(f64::is_finite) => {
                        Scalar::Number(n.as_f64().unwrap_or_default())
                    }
                    (PropType::Boolean, Some(Json::Bool(b))) => Scalar::Bool(*b),
                    _ => {
                        self.v.push(at, format!("must be {}", ty.described()));
                        return None;
                    }
                };
                if op == "eq" {
                    PropTest::Eq(scalar)
                } else {
                    PropTest::Ne(scalar)
                }
            }
            "contains" | "not_contains" | "starts_with" => {
                let Some(text) = value.and_then(Json::as_str).filter(|t| !t.is_empty()) else {
                    self.v.push(at, "must be a non-empty string");
                    return None;
                };
                match op {
                    "contains" => PropTest::Contains(text.to_owned()),
                    "not_contains" => PropTest::NotContains(text.to_owned()),
                    _ => PropTest::StartsWith(text.to_owned()),
                }
            }
            "in" => {
                let items: Option<Vec<String>> = value.and_then(Json::as_array).and_then(|items| {
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned))
                        .collect()
                });
                match items {
                    Some(items) if !items.is_empty() && items.len() <= 1_000 => PropTest::In(items),
                    _ => {
                        self.v.push(at, "must be a list of 1 to 1000 strings");
                        return None;
                    }
                }
            }
            "gt" | "lt" => {
                let Some(n) = value.and_then(Json::as_f64).filter(|n| n.is_finite()) else {
                    self.v.push(at, "must be a number");
                    return None;
                };
                if op == "gt" {
                    PropTest::Gt(n)
                } else {
                    PropTest::Lt(n)
                }
            }
            "between" => {
                let pair: Option<Vec<f64>> = value.and_then(Json::as_array).and_then(|items| {
                    items
                        .iter()
                        .map(|i| i.as_f64().filter(|n| n.is_finite()))
                        .collect()
                });
                match pair.as_deref() {
                    Some(&[low, high]) if low <= high => PropTest::Between(low, high),
                    _ => {
                        self.v
                            .push(at, "must be [low, high], two numbers with low <= high");
                        return None;
                    }
                }
            }
            "before" | "after" => {
                let Some(when) = value
                    .and_then(Json::as_str)
                    .and_then(Timestamp::parse_rfc3339)
                else {
                    self.v.push(at, "must be an RFC 3339 date-time");
                    return None;
                };
                if op == "before" {
                    PropTest::Before(when)
                } else {
                    PropTest::After(when)
                }
            }
            "more_than_days_ago" => PropTest::Before(self.days(value, path)?),
            "less_than_days_ago" => PropTest::After(self.days(value, path)?),
            _ => unreachable!("operators() lists every operator matched above"),
        };
        Some(Filter::Prop {
            name: name.to_owned(),
            ty,
            system,
            test,
        })
    }

    fn event(&mut self, map: &Map<String, Json>, path: &str) -> Option<Filter> {
        let ok = self.only_keys(map, &["event", "op", "value"], path);
        let name = map
            .get("event")
            .and_then(Json::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.chars().count() <= 255);
        let Some(name) = name else {
            self.v
                .push(format!("{path}.event"), "must be an event name");
            return None;
        };
        let op = self.op(map, path)?;
        if !ok {
            return None;
        }
        let value = map.get("value");
        let test = match op {
            "performed" => EventTest::Performed,
            "not_performed" => EventTest::NotPerformed,
            "count_at_least" => match value.and_then(Json::as_i64) {
                Some(n) if n >= 1 => EventTest::CountAtLeast(n),
                _ => {
                    self.v
                        .push(format!("{path}.value"), "must be a whole number from 1");
                    return None;
                }
            },
            "first_within_days" => EventTest::FirstSince(self.days(value, path)?),
            "last_within_days" => EventTest::LastSince(self.days(value, path)?),
            _ => {
                self.v.push(format!("{path}.op"), one_of(EVENT_OPERATORS));
                return None;
            }
        };
        Some(Filter::Event {
            name: name.to_owned(),
            test,
        })
    }

    /// A `tag` or `conversation_tag` condition (`key`): the tag and whether
    /// it must be there.
    fn tag(&mut self, map: &Map<String, Json>, key: &str, path: &str) -> Option<(String, bool)> {
        let ok = self.only_keys(map, &[key, "op"], path);
        let tag = map.get(key).and_then(Json::as_str).map(parse_tag);
        let tag = match tag {
            Some(Ok(tag)) => tag,
            Some(Err(e)) => {
                self.v.push(format!("{path}.{key}"), e);
                return None;
            }
            None => {
                self.v.push(format!("{path}.{key}"), "must be a tag");
                return None;
            }
        };
        let op = self.op(map, path)?;
        if !ok {
            return None;
        }
        let has = match op {
            "has" => true,
            "has_not" => false,
            _ => {
                self.v.push(format!("{path}.op"), one_of(TAG_OPERATORS));
                return None;
            }
        };
        Some((tag, has))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn types() -> PropTypes {
        PropTypes::from([
            ("plan".to_owned(), PropType::String),
            ("seats".to_owned(), PropType::Number),
        ])
    }

    fn parse(json: Json) -> Result<Filter, ValidationError> {
        Filter::parse(&json, &types(), Timestamp::from_millis(10 * DAY_MILLIS))
    }

    fn fields(err: ValidationError) -> Vec<String> {
        err.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_issues_example_parses_with_absolute_times() {
        let filter = parse(json!({"and": [
            {"prop": "plan", "op": "eq", "value": "pro"},
            {"event": "logged_in", "op": "last_within_days", "value": 7},
            {"event": "opened_billing_page", "op": "not_performed"}
        ]}))
        .unwrap();
        assert_eq!(
            filter,
            Filter::All(vec![
                Filter::Prop {
                    name: "plan".into(),
                    ty: PropType::String,
                    system: false,
                    test: PropTest::Eq(Scalar::Text("pro".into()))
                },
                Filter::Event {
                    name: "logged_in".into(),
                    test: EventTest::LastSince(Timestamp::from_millis(3 * DAY_MILLIS))
                },
                Filter::Event {
                    name: "opened_billing_page".into(),
                    test: EventTest::NotPerformed
                },
            ])
        );
    }

    #[test]
    fn errors_name_the_node_at_fault() {
        let err = parse(json!({"and": [
            {"prop": "plan", "op": "gt", "value": 1},
            {"prop": "nope", "op": "eq", "value": 1},
            {"or": [{"prop": "seats", "op": "between", "value": [3, 1]}]},
            {"event": "x", "op": "performed", "extra": 1},
            {"tag": "", "op": "has"},
            {"online": "yes"},
            {"wat": 1},
            []
        ]}))
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "filter.and[0].op",
                "filter.and[1].prop",
                "filter.and[2].or[0].value",
                "filter.and[3].extra",
                "filter.and[4].tag",
                "filter.and[5].online",
                "filter.and[6]",
                "filter.and[7]"
            ]
        );
    }

    #[test]
    fn system_properties_need_no_definition() {
        let filter =
            parse(json!({"prop": "last_seen_at", "op": "less_than_days_ago", "value": 1})).unwrap();
        assert_eq!(
            filter,
            Filter::Prop {
                name: "last_seen_at".into(),
                ty: PropType::Datetime,
                system: true,
                test: PropTest::After(Timestamp::from_millis(9 * DAY_MILLIS))
            }
        );
    }

    #[test]
    fn deep_or_huge_trees_are_refused() {
        let mut deep = json!({"online": true});
        for _ in 0..=MAX_DEPTH {
            deep = json!({"and": [deep]});
        }
        assert!(parse(deep).is_err());
        let many: Vec<_> = (0..=MAX_CONDITIONS)
            .map(|_| json!({"online": true}))
            .collect();
        assert_eq!(fields(parse(json!({"or": many})).unwrap_err()), ["filter"]);
    }

    #[test]
    fn many_empty_groups_are_refused_by_count() {
        // Empty groups hold no condition, so only the node count stops them.
        let groups: Vec<_> = (0..5_000).map(|_| json!({"and": []})).collect();
        let err = parse(json!({"or": groups})).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].field, "filter");
        assert!(err.0[0].message.contains(&MAX_NODES.to_string()), "{err}");
        // Spread over nested groups, the count is the same.
        let inner: Vec<_> = (0..40).map(|_| json!({"and": []})).collect();
        let outer: Vec<_> = (0..4).map(|_| json!({"or": inner.clone()})).collect();
        assert_eq!(
            fields(parse(json!({"and": outer})).unwrap_err()),
            ["filter"]
        );
        let fits: Vec<_> = (0..MAX_NODES - 1).map(|_| json!({"and": []})).collect();
        assert_eq!(
            parse(json!({"or": fits})).unwrap(),
            Filter::Any(vec![Filter::everyone(); MAX_NODES - 1])
        );
    }

    #[test]
    fn large_filters_are_refused_by_size() {
        let big = "x".repeat(MAX_BYTES);
        let err = parse(json!({"prop": "plan", "op": "eq", "value": big})).unwrap_err();
        assert_eq!(fields(err.clone()), ["filter"]);
        assert!(err.0[0].message.contains("bytes"), "{err}");
        let near = "x".repeat(MAX_BYTES - 100);
        assert!(parse(json!({"prop": "plan", "op": "eq", "value": near})).is_ok());
    }

    #[test]
    fn nesting_past_the_depth_stops_without_descending() {
        // serde_json's own limit is 128 levels; the parser stops at MAX_DEPTH.
        let mut deep = json!({"online": true});
        for _ in 0..120 {
            deep = json!({"and": [deep]});
        }
        let err = parse(deep).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
    }
}
