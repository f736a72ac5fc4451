//! The visitor a widget request's session names (the messenger's API and
//! its attachments).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rapport_core::model::ids::{ContactId, WorkspaceId};
use rapport_core::ports::store::StoreError;

use crate::AppState;
use crate::credentials::hash_token;
use crate::error::ApiError;
use crate::extract::bearer;

/// The visitor a widget session belongs to.
pub struct Visitor {
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        match state
            .store
            .widget_session(hash_token(token), state.clock.now())
            .await
        {
            Ok((workspace_id, contact_id)) => Ok(Visitor {
                workspace_id,
                contact_id,
            }),
            Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
            Err(other) => Err(other.into()),
        }
    }
}
