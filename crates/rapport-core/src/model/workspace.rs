//! Workspaces (tenants) and what creating one needs.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::model::agent::NewAgent;
use crate::model::ids::WorkspaceId;

/// One business using Rapport. Every other row belongs to exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    /// The public id the widget snippet carries.
    pub app_id: String,
    /// The HMAC key for identity verification. Never serialised by accident.
    #[serde(skip)]
    pub identity_secret: String,
    /// The secret before the last rotation, and until when hashes made
    /// with it still count (so pages cached with old hashes keep working).
    #[serde(skip)]
    pub previous_identity_secret: Option<(String, Timestamp)>,
    /// When set (the default for new workspaces), a widget may only name a
    /// `user_id`, or an `email` as its identity, with a valid `user_hash`.
    pub identity_verification: bool,
    /// Origins (`https://shop.example`) whose pages may embed the widget;
    /// empty allows any.
    pub allowed_origins: Vec<String>,
    pub email: EmailSettings,
    /// Only owners and admins may create bulk sends.
    pub bulk_sends_admins_only: bool,
    /// Closed conversations untouched for this many days are deleted (with
    /// their messages and timeline entries); `None` keeps them.
    pub retention_days: Option<u16>,
    /// The files its widget and team may attach.
    pub attachments: crate::model::attachment::AttachmentSettings,
    pub created_at: Timestamp,
}

impl Workspace {
    /// The identity secrets a `user_hash` may be made with at `now`: the
    /// current one, and the previous one during its grace period.
    pub fn identity_secrets(&self, now: Timestamp) -> impl Iterator<Item = &str> {
        let previous = self
            .previous_identity_secret
            .as_ref()
            .filter(|(_, until)| now < *until)
            .map(|(secret, _)| secret.as_str());
        std::iter::once(self.identity_secret.as_str()).chain(previous)
    }
}

/// Everything `rapport admin bootstrap` (and the first-run page) creates in
/// one transaction: the workspace, its owner and a first API token.
#[derive(Clone, Debug)]
pub struct NewWorkspace {
    pub workspace: Workspace,
    pub owner: NewAgent,
    pub token: crate::model::agent::NewToken,
}

/// A change to a workspace's settings; `None` keeps a setting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkspaceSettings {
    pub name: Option<String>,
    pub identity_verification: Option<bool>,
    pub allowed_origins: Option<Vec<String>>,
    pub email_fallback_enabled: Option<bool>,
    pub email_fallback_delay_minutes: Option<u8>,
    /// `Some(None)` goes back to the server's default sender.
    pub email_from_address: Option<Option<String>>,
    pub bulk_sends_admins_only: Option<bool>,
    /// `Some(None)` keeps conversations forever.
    pub retention_days: Option<Option<u16>>,
    pub attachment_max_bytes: Option<u64>,
    /// Empty turns attachments off.
    pub attachment_kinds: Option<Vec<crate::model::attachment::FileKind>>,
}

/// The longest retention period a workspace may set: ten years.
pub const MAX_RETENTION_DAYS: u16 = 3_650;

impl WorkspaceSettings {
    /// The workspace with these changes applied.
    pub fn apply(&self, mut workspace: Workspace) -> Workspace {
        if let Some(name) = &self.name {
            workspace.name.clone_from(name);
        }
        if let Some(on) = self.identity_verification {
            workspace.identity_verification = on;
        }
        if let Some(origins) = &self.allowed_origins {
            workspace.allowed_origins.clone_from(origins);
        }
        if let Some(on) = self.email_fallback_enabled {
            workspace.email.fallback_enabled = on;
        }
        if let Some(minutes) = self.email_fallback_delay_minutes {
            workspace.email.fallback_delay_minutes = minutes;
        }
        if let Some(from) = &self.email_from_address {
            workspace.email.from_address.clone_from(from);
        }
        if let Some(on) = self.bulk_sends_admins_only {
            workspace.bulk_sends_admins_only = on;
        }
        if let Some(days) = self.retention_days {
            workspace.retention_days = days;
        }
        if let Some(max_bytes) = self.attachment_max_bytes {
            workspace.attachments.max_bytes = max_bytes;
        }
        if let Some(kinds) = &self.attachment_kinds {
            workspace.attachments.kinds.clone_from(kinds);
            workspace.attachments.kinds.sort_unstable();
            workspace.attachments.kinds.dedup();
        }
        workspace
    }
}

/// An origin as browsers send it: scheme, host and optional port, nothing
/// else (`https://shop.example:8443`).
pub fn parse_origin(text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| format!("{text:?} is not an origin: start with https:// or http://"))?;
    let valid = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if valid {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "{text:?} is not an origin such as https://shop.example"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            parse_origin(" https://Shop.Example/ ").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            parse_origin("http://localhost:8080").unwrap(),
            "http://localhost:8080"
        );
        for bad in [
            "shop.example",
            "https://shop.example/path",
            "javascript:alert(1)",
            "https://",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}

/// The delay a workspace may choose, in minutes.
pub const DELAY_MINUTES: std::ops::RangeInclusive<u8> = 1..=60;

/// A workspace's email fallback settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailSettings {
    /// Email unread chat messages to contacts who are offline.
    pub fallback_enabled: bool,
    /// How long a message waits unread before it is emailed (1 to 60).
    pub fallback_delay_minutes: u8,
    /// The sender address; `None` uses the server's default.
    pub from_address: Option<String>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            fallback_enabled: true,
            fallback_delay_minutes: 10,
            from_address: None,
        }
    }
}

impl EmailSettings {
    pub fn delay_millis(&self) -> i64 {
        i64::from(self.fallback_delay_minutes) * 60_000
    }
}
