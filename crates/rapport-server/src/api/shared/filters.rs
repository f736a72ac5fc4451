//! Who a filter names: the filter language as the People list and bulk
//! sends both take it.

use rapport_core::model::filter::Filter;
use rapport_core::model::ids::{ContactId, SegmentId, WorkspaceId};
use serde_json::Value as Json_;

use crate::AppState;
use crate::error::ApiError;

/// Parses a filter (or loads a segment's) against the workspace's property
/// types. Errors name the node, under `filter` (or `segment_id`).
pub async fn resolve_filter(
    state: &AppState,
    workspace: WorkspaceId,
    filter: Option<&Json_>,
    segment_id: Option<SegmentId>,
) -> Result<Filter, ApiError> {
    let (saved, expanded);
    let json = match (filter, segment_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "segment_id",
                "give a filter or a segment_id, not both",
            ));
        }
        (Some(json), None) => {
            expanded =
                rapport_core::services::segments::expand(&*state.store, workspace, json, "filter")
                    .await?;
            &expanded
        }
        (None, Some(id)) => {
            saved = state
                .store
                .segment(workspace, id)
                .await
                .map_err(|e| match e {
                    rapport_core::ports::store::StoreError::NotFound => {
                        ApiError::field("segment_id", "no segment with that id")
                    }
                    other => other.into(),
                })?;
            &saved.filter
        }
        (None, None) => return Ok(Filter::everyone()),
    };
    let types = state.store.property_types(workspace).await?;
    Ok(Filter::parse(json, &types, state.clock.now())?)
}

/// Who is online, when the filter asks.
pub fn online_for(state: &AppState, workspace: WorkspaceId, filter: &Filter) -> Vec<ContactId> {
    if filter.uses_online() {
        state.hub.online_contacts(workspace)
    } else {
        Vec::new()
    }
}
