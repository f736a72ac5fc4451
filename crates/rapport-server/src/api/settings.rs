//! Workspace settings (name, widget origins, identity verification) and a
//! team member's presence.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::model::agent::Email;
use rapport_core::model::attachment::{AttachmentSettings, FileKind};
use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::validation::{Validator, single_line_text};
use rapport_core::model::workspace::EmailSettings;
use rapport_core::model::workspace::{Workspace, WorkspaceSettings, parse_origin};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, Auth};

/// A workspace's settings. `identity_secret` is shown to owners and admins.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceView {
    pub id: WorkspaceId,
    pub name: String,
    pub app_id: String,
    pub identity_verification: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_secret: Option<String>,
    /// Until when hashes made with the secret before the last rotation
    /// still count (owners and admins; absent when none do).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_identity_secret_expires_at: Option<rapport_core::Timestamp>,
    pub allowed_origins: Vec<String>,
    pub email: EmailView,
    /// Only owners and admins may create bulk sends.
    pub bulk_sends_admins_only: bool,
    /// Closed conversations untouched for this many days are deleted, with
    /// their messages and timeline entries; 0 keeps them.
    pub retention_days: u16,
    pub attachments: AttachmentsView,
}

/// What the workspace takes as attachments.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentsView {
    #[serde(flatten)]
    pub settings: AttachmentSettings,
    /// The largest file this server takes from any workspace (its
    /// `attachment_max_bytes`): `max_bytes` may not exceed it.
    pub server_max_bytes: u64,
}

/// The email fallback's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    #[serde(flatten)]
    pub settings: EmailSettings,
    /// Whether this server has an SMTP server to send with.
    pub sending_configured: bool,
}

fn view(state: &AppState, workspace: Workspace, show_secret: bool) -> WorkspaceView {
    let sending_configured = state.email.is_configured();
    let previous_until = workspace
        .previous_identity_secret
        .as_ref()
        .map(|(_, until)| *until);
    WorkspaceView {
        id: workspace.id,
        name: workspace.name,
        app_id: workspace.app_id,
        identity_verification: workspace.identity_verification,
        identity_secret: show_secret.then_some(workspace.identity_secret),
        previous_identity_secret_expires_at: previous_until.filter(|_| show_secret),
        allowed_origins: workspace.allowed_origins,
        email: EmailView {
            settings: workspace.email,
            sending_configured,
        },
        bulk_sends_admins_only: workspace.bulk_sends_admins_only,
        retention_days: workspace.retention_days.unwrap_or(0),
        attachments: AttachmentsView {
            settings: workspace.attachments,
            server_max_bytes: state.attachment_max_bytes,
        },
    }
}

#[utoipa::path(get, path = "/workspace", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = WorkspaceView)))]
pub async fn get_workspace(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<WorkspaceView>, ApiError> {
    let workspace = state.store.workspace(principal.workspace_id).await?;
    Ok(Json(view(
        &state,
        workspace,
        principal.role.can_manage_team(),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceUpdate {
    #[schema(schema_with = crate::openapi::text::line_up_to_120_or_null)]
    pub name: Option<String>,
    /// Enforce `user_hash` on widgets that name a `user_id` or an `email`
    /// as their identity (on by default). Turning it off lets anyone who
    /// knows or guesses a user's id read their conversations.
    pub identity_verification: Option<bool>,
    /// Origins whose pages may embed the widget; empty allows any.
    #[schema(schema_with = crate::openapi::text::origins_or_null)]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::extract::object::optional")]
    pub email: Option<EmailUpdate>,
    /// Only owners and admins may create bulk sends.
    pub bulk_sends_admins_only: Option<bool>,
    /// Delete closed conversations untouched for this many days (1 to
    /// 3650), with their messages and timeline entries; 0 keeps them.
    #[schema(minimum = 0, maximum = 3650)]
    pub retention_days: Option<i64>,
    #[serde(default, deserialize_with = "crate::extract::object::optional")]
    pub attachments: Option<AttachmentsUpdate>,
}

/// A change to what the workspace takes as attachments; absent fields
/// keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsUpdate {
    /// The largest file in bytes, from 1 to the server's
    /// `server_max_bytes`.
    #[schema(minimum = 1)]
    pub max_bytes: Option<i64>,
    /// The kinds of file taken (one named twice counts once); empty turns
    /// attachments off.
    #[schema(max_items = 5)]
    pub kinds: Option<Vec<FileKind>>,
}

/// A change to the email fallback; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailUpdate {
    pub fallback_enabled: Option<bool>,
    /// Minutes a message waits unread before it is emailed: 1 to 60.
    #[schema(minimum = 1, maximum = 60)]
    pub fallback_delay_minutes: Option<i64>,
    /// The sender address; `null` or empty uses the server's default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::openapi::text::email_blank_or_null)]
    pub from_address: Option<Option<String>>,
}

/// Tells a field set to `null` (`Some(None)`) from one left out (`None`).
fn double_option<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[utoipa::path(patch, path = "/workspace", tag = "settings", security(("bearer" = [])),
    request_body = WorkspaceUpdate,
    responses((status = 200, body = WorkspaceView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_workspace(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<WorkspaceUpdate>,
) -> Result<Json<WorkspaceView>, ApiError> {
    if !principal.role.can_manage_team() {
        return Err(ApiError::Forbidden(
            "only owners and admins change settings".into(),
        ));
    }
    let mut v = Validator::default();
    let name = body
        .name
        .as_deref()
        .and_then(|n| v.check("name", single_line_text(n, 120)));
    let allowed_origins = body.allowed_origins.map(|origins| {
        origins
            .iter()
            .enumerate()
            .filter(|(_, o)| !o.trim().is_empty())
            .filter_map(|(i, o)| v.check(&format!("allowed_origins[{i}]"), parse_origin(o)))
            .collect::<Vec<_>>()
    });
    let email = body.email.unwrap_or(EmailUpdate {
        fallback_enabled: None,
        fallback_delay_minutes: None,
        from_address: None,
    });
    let delay = email.fallback_delay_minutes.and_then(|minutes| {
        let range = rapport_core::model::workspace::DELAY_MINUTES;
        v.check(
            "email.fallback_delay_minutes",
            u8::try_from(minutes)
                .ok()
                .filter(|m| range.contains(m))
                .ok_or_else(|| format!("from {} to {} minutes", range.start(), range.end())),
        )
    });
    let from_address = email.from_address.map(|from| {
        from.filter(|f| !f.trim().is_empty()).and_then(|f| {
            v.check(
                "email.from_address",
                Email::parse(&f).map(|e| e.as_str().to_owned()),
            )
        })
    });
    let retention_days = body.retention_days.and_then(|days| {
        v.check(
            "retention_days",
            u16::try_from(days)
                .ok()
                .filter(|d| *d <= rapport_core::model::workspace::MAX_RETENTION_DAYS)
                .map(|d| (d > 0).then_some(d))
                .ok_or_else(|| {
                    format!(
                        "from 1 to {} days, or 0 to keep conversations",
                        rapport_core::model::workspace::MAX_RETENTION_DAYS
                    )
                }),
        )
    });
    let attachments = body.attachments.unwrap_or(AttachmentsUpdate {
        max_bytes: None,
        kinds: None,
    });
    if attachments
        .kinds
        .as_ref()
        .is_some_and(|kinds| kinds.len() > FileKind::ALL.len())
    {
        v.check::<()>(
            "attachments.kinds",
            Err(format!("at most {} kinds", FileKind::ALL.len())),
        );
    }
    let server_max = state.attachment_max_bytes;
    let attachment_max_bytes = attachments.max_bytes.and_then(|bytes| {
        v.check(
            "attachments.max_bytes",
            u64::try_from(bytes)
                .ok()
                .filter(|b| (1..=server_max).contains(b))
                .ok_or_else(|| format!("from 1 to {server_max} bytes (this server's limit)")),
        )
    });
    v.finish()?;
    let settings = WorkspaceSettings {
        name,
        identity_verification: body.identity_verification,
        allowed_origins,
        email_fallback_enabled: email.fallback_enabled,
        email_fallback_delay_minutes: delay,
        email_from_address: from_address,
        bulk_sends_admins_only: body.bulk_sends_admins_only,
        retention_days,
        attachment_max_bytes,
        attachment_kinds: attachments.kinds,
    };
    let workspace = state
        .store
        .update_workspace(principal.workspace_id, settings, state.clock.now())
        .await?;
    Ok(Json(view(&state, workspace, true)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceUpdate {
    /// `online` or `away`.
    #[schema(pattern = "^(online|away)$")]
    pub status: String,
}

#[utoipa::path(post, path = "/presence", tag = "team", security(("bearer" = [])),
    request_body = PresenceUpdate, responses((status = 204, description = "Set")))]
pub async fn set_presence(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PresenceUpdate>,
) -> Result<StatusCode, ApiError> {
    let away = match body.status.as_str() {
        "online" => false,
        "away" => true,
        _ => return Err(ApiError::field("status", "online or away")),
    };
    state
        .hub
        .set_agent_status(principal.workspace_id, principal.agent_id, away);
    Ok(StatusCode::NO_CONTENT)
}

/// The longest grace period for the previous identity secret: 30 days.
const MAX_GRACE_HOURS: i64 = 720;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRotation {
    /// Hours that hashes made with the old secret keep working, 0 to 720
    /// (default 24): time to deploy the new secret to your servers.
    /// A whole number; JSON's `24.0` counts as 24.
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 720)]
    pub grace_hours: Option<f64>,
}

#[utoipa::path(post, path = "/workspace/identity-secret", tag = "settings", security(("bearer" = [])),
    request_body = SecretRotation,
    responses((status = 200, description = "The new secret, in `identity_secret`", body = WorkspaceView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Replaces the identity secret (if it leaked, or routinely). Hashes made
/// with the old one keep working for the grace period.
pub async fn rotate_identity_secret(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<SecretRotation>,
) -> Result<Json<WorkspaceView>, ApiError> {
    if !principal.role.can_manage_team() {
        return Err(ApiError::Forbidden(
            "only owners and admins rotate the identity secret".into(),
        ));
    }
    let hours = body.grace_hours.unwrap_or(24.0);
    // Checked as a float first, so the cast below is exact.
    if !(hours.fract() == 0.0 && (0.0..=MAX_GRACE_HOURS as f64).contains(&hours)) {
        return Err(ApiError::field(
            "grace_hours",
            format!("a whole number of hours from 0 to {MAX_GRACE_HOURS}"),
        ));
    }
    let hours = hours as i64;
    let until = state.clock.now().plus_millis(hours * 3_600_000);
    let workspace = state
        .store
        .rotate_identity_secret(
            principal.workspace_id,
            crate::credentials::new_identity_secret(),
            until,
        )
        .await?;
    Ok(Json(view(&state, workspace, true)))
}
