//! Team actions on a conversation: open, close, snooze, assign, tag.

use crate::model::contact::parse_tag;
use crate::model::conversation::{Conversation, ConversationChange};
use crate::model::ids::{AgentId, ConversationId, WorkspaceId};
use crate::model::validation::ValidationError;
use crate::services::{Deps, SendError, not_found};

/// Applies a change made by `by`, checking an assignee is a team member of
/// the same workspace. A change that changes nothing logs nothing.
pub async fn change_conversation(
    deps: Deps<'_>,
    workspace: WorkspaceId,
    id: ConversationId,
    change: ConversationChange,
    by: Option<AgentId>,
) -> Result<Conversation, SendError> {
    if let ConversationChange::Assign {
        assignee_id: Some(assignee),
    } = change
    {
        deps.store
            .agent(workspace, assignee)
            .await
            .map_err(not_found("assignee_id"))?;
    }
    let (conversation, seq) = deps
        .store
        .change_conversation(workspace, id, change, by, deps.clock.now())
        .await
        .map_err(not_found("conversation"))?;
    if let Some(seq) = seq {
        deps.bus.publish(workspace, seq);
    }
    Ok(conversation)
}

/// Puts a tag on a conversation (`add`) or takes it off; the tag is checked
/// as contacts' tags are. Returns the conversation's tags after.
pub async fn tag_conversation(
    deps: Deps<'_>,
    workspace: WorkspaceId,
    id: ConversationId,
    tag: &str,
    add: bool,
    by: Option<AgentId>,
) -> Result<Vec<String>, SendError> {
    let tag = parse_tag(tag).map_err(|e| ValidationError::field("tag", e))?;
    let (tags, seq) = deps
        .store
        .tag_conversation(workspace, id, tag, add, by, deps.clock.now())
        .await
        .map_err(not_found("conversation"))?;
    if let Some(seq) = seq {
        deps.bus.publish(workspace, seq);
    }
    Ok(tags)
}
