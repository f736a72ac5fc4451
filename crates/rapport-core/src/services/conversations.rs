//! Team actions on a conversation: open, close, snooze, assign.

use crate::model::conversation::{Conversation, ConversationChange};
use crate::model::ids::{AgentId, ConversationId, WorkspaceId};
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
