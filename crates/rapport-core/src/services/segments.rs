//! Saved segments inside filters: `{"segment": "<id>"}` is a condition "is
//! in this segment" wherever a filter is taken (the People list, bulk
//! sends, an automation's audience, goal and conditions). It is replaced by
//! the segment's filter as saved when the filter is used, so an automation
//! follows later edits of the segment. A saved segment's own filter cannot
//! name a segment (`Filter::parse` refuses the node), so one replacement
//! pass is all there is: no chain and no cycle.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::model::ids::{SegmentId, WorkspaceId};
use crate::model::validation::{FieldError, ValidationError};
use crate::ports::store::{Store, StoreError};

/// Segments one filter may name.
pub const MAX_SEGMENTS_PER_FILTER: usize = 20;
/// How deep a filter is walked looking for segments (`Filter::parse`
/// refuses deeper trees anyway; this bounds the walk before it).
const MAX_DEPTH: usize = 64;

/// `filter` with each `{"segment": id}` node replaced by that segment's
/// filter. Errors name the node under `path` (`filter`, `audience`, ...):
/// an id that is not one, or no segment of this workspace.
pub async fn expand(
    store: &dyn Store,
    workspace: WorkspaceId,
    filter: &Json,
    path: &str,
) -> Result<Json, StoreError> {
    let mut named = Vec::new();
    let mut faults = Vec::new();
    collect(filter, path, 0, &mut named, &mut faults);
    if named.len() > MAX_SEGMENTS_PER_FILTER {
        faults.push(FieldError {
            field: path.to_owned(),
            message: format!("names more than {MAX_SEGMENTS_PER_FILTER} segments"),
        });
    }
    if !faults.is_empty() {
        return Err(StoreError::Invalid(ValidationError(faults)));
    }
    if named.is_empty() {
        return Ok(filter.clone());
    }
    let mut saved: HashMap<SegmentId, Json> = HashMap::new();
    for (id, at) in named {
        if saved.contains_key(&id) {
            continue;
        }
        match store.segment(workspace, id).await {
            Ok(segment) => {
                saved.insert(id, segment.filter);
            }
            Err(StoreError::NotFound) => faults.push(FieldError {
                field: at,
                message: "no segment with that id".into(),
            }),
            Err(other) => return Err(other),
        }
    }
    if !faults.is_empty() {
        return Err(StoreError::Invalid(ValidationError(faults)));
    }
    Ok(replace(filter, &saved))
}

/// The segment nodes of `node` (with their paths), and ids that are not.
fn collect(
    node: &Json,
    path: &str,
    depth: usize,
    named: &mut Vec<(SegmentId, String)>,
    faults: &mut Vec<FieldError>,
) {
    let Some(map) = node.as_object() else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(id) = segment_node(map) {
        let at = format!("{path}.segment");
        match id.and_then(|id| id.parse::<SegmentId>().ok()) {
            Some(id) => named.push((id, at)),
            None => faults.push(FieldError {
                field: at,
                message: "must be a segment's id".into(),
            }),
        }
        return;
    }
    for group in ["and", "or"] {
        if let Some(Json::Array(parts)) = map.get(group) {
            for (i, part) in parts.iter().enumerate() {
                collect(
                    part,
                    &format!("{path}.{group}[{i}]"),
                    depth + 1,
                    named,
                    faults,
                );
            }
        }
    }
}

/// `Some(id)` for a segment node (`None` inside when its id is not text).
fn segment_node(map: &Map<String, Json>) -> Option<Option<&str>> {
    if map.len() == 1 {
        map.get("segment").map(Json::as_str)
    } else {
        None
    }
}

fn replace(node: &Json, saved: &HashMap<SegmentId, Json>) -> Json {
    let Some(map) = node.as_object() else {
        return node.clone();
    };
    if let Some(Some(id)) = segment_node(map)
        && let Ok(id) = id.parse::<SegmentId>()
        && let Some(filter) = saved.get(&id)
    {
        return filter.clone();
    }
    let mut out = Map::new();
    for (key, value) in map {
        let value = match (key.as_str(), value) {
            ("and" | "or", Json::Array(parts)) => {
                Json::Array(parts.iter().map(|part| replace(part, saved)).collect())
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn segment_nodes_are_found_with_their_paths_and_bad_ids_named() {
        let id = SegmentId::generate();
        let filter = json!({"and": [
            {"prop": "plan", "op": "eq", "value": "pro"},
            {"or": [{"segment": id.to_string()}, {"segment": 7}]},
        ]});
        let (mut named, mut faults) = (Vec::new(), Vec::new());
        collect(&filter, "audience", 0, &mut named, &mut faults);
        assert_eq!(named, [(id, "audience.and[1].or[0].segment".to_owned())]);
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].field, "audience.and[1].or[1].segment");
        // A node with more than the id is not a segment node.
        let (mut named, mut faults) = (Vec::new(), Vec::new());
        let other = json!({"and": [{"segment": id.to_string(), "op": "in"}]});
        collect(&other, "filter", 0, &mut named, &mut faults);
        assert!(named.is_empty() && faults.is_empty());
    }

    #[test]
    fn segment_nodes_are_replaced_by_the_saved_filter() {
        let id = SegmentId::generate();
        let saved = HashMap::from([(id, json!({"tag": "vip", "op": "has"}))]);
        let filter = json!({"and": [{"segment": id.to_string()}, {"online": true}]});
        assert_eq!(
            replace(&filter, &saved),
            json!({"and": [{"tag": "vip", "op": "has"}, {"online": true}]})
        );
        assert_eq!(
            replace(&json!({"segment": id.to_string()}), &saved),
            json!({"tag": "vip", "op": "has"})
        );
    }
}
