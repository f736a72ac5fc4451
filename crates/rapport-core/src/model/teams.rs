//! Teams: named groups of members. Automations assign a conversation to a
//! team (round robin among its available members) and ask whether a team
//! has someone available.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::model::ids::{AgentId, TeamId, WorkspaceId};
use crate::model::validation::{ValidationError, single_line_text};

/// The most teams one workspace may have, and members one team.
pub const MAX_TEAMS: usize = 100;
pub const MAX_MEMBERS: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: TeamId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// Members of the workspace, each once, in the order given.
    pub members: Vec<AgentId>,
    pub created_at: Timestamp,
}

impl Team {
    /// A team as given: its name checked, its members each once.
    pub fn new(
        id: TeamId,
        workspace_id: WorkspaceId,
        name: &str,
        members: Vec<AgentId>,
        created_at: Timestamp,
    ) -> Result<Self, ValidationError> {
        let name = single_line_text(name, 120).map_err(|e| ValidationError::field("name", e))?;
        if members.len() > MAX_MEMBERS {
            return Err(ValidationError::field(
                "members",
                format!("a team has at most {MAX_MEMBERS} members"),
            ));
        }
        let mut unique = Vec::with_capacity(members.len());
        for member in members {
            if !unique.contains(&member) {
                unique.push(member);
            }
        }
        Ok(Self {
            id,
            workspace_id,
            name,
            members: unique,
            created_at,
        })
    }
}
