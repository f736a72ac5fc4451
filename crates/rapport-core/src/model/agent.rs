//! Team members, their roles, and API tokens.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::model::ids::{AgentId, TokenId, WorkspaceId};

/// What a team member may do. Owners and admins manage the workspace;
/// agents answer conversations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    /// Owners and admins manage the team and tokens.
    pub fn can_manage_team(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    fn rank(self) -> u8 {
        match self {
            Role::Owner => 2,
            Role::Admin => 1,
            Role::Agent => 0,
        }
    }

    /// The lesser of two roles: a token acts with no more rights than
    /// both the member it acts as and the member who made it.
    #[must_use]
    pub fn at_most(self, other: Role) -> Role {
        if other.rank() < self.rank() {
            other
        } else {
            self
        }
    }

    /// Whether this role may act on (remove, mint a token for) a member
    /// with `other`'s role: never on a higher one.
    pub fn outranks_or_equals(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "agent" => Ok(Role::Agent),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// An email address, trimmed and lower-cased; checked for shape only (the
/// real test of an address is mail reaching it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_lowercase();
        let valid_shape = text.len() <= 254
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && text.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            });
        if valid_shape {
            Ok(Self(text))
        } else {
            Err("must be an email address such as ada@example.com".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For values read back from the store, which were parsed on the way in.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }
}

/// A team member as the API shows them (never with their password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: AgentId,
    pub workspace_id: WorkspaceId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// A team member about to be created; `password_hash` is a PHC string.
#[derive(Clone, Debug)]
pub struct NewAgent {
    pub agent: Agent,
    pub password_hash: String,
}

/// An API token's public record. The secret is shown once, at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: TokenId,
    pub workspace_id: WorkspaceId,
    /// The team member the token acts as.
    pub agent_id: AgentId,
    /// The team member who made it; the token never has more rights than
    /// they have, and dies with their membership.
    pub created_by: AgentId,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A token about to be stored: only the SHA-256 of its secret is kept.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub token: ApiToken,
    pub secret_hash: [u8; 32],
}

/// Who made an authenticated request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub workspace_id: WorkspaceId,
    pub agent_id: AgentId,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_shape_checked() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in [Role::Owner, Role::Admin, Role::Agent] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}

/// A signed-in Inbox session: only the hash of its secret is stored.
#[derive(Clone, Debug)]
pub struct AgentSession {
    pub secret_hash: [u8; 32],
    pub workspace_id: WorkspaceId,
    pub agent_id: AgentId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
