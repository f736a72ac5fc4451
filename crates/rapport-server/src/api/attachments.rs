//! Attachments: a file is uploaded on its own (its bytes are sniffed, never
//! trusted by name or declared type), then sent by naming its id in a
//! message. It is read back only by a team member of its workspace, or by
//! the visitor whose conversation it is in (or who uploaded it), or through
//! the signed link the email fallback gives its contact. Images are served
//! to be shown, every other file as a download; none may run script.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

use rapport_core::model::attachment::{AttachmentRef, FileKind};
use rapport_core::model::conversation::Author;
use rapport_core::model::email::attachment_token;
use rapport_core::model::ids::{AttachmentId, WorkspaceId};
use rapport_core::ports::store::StoredAttachment;
use serde::Deserialize;
use utoipa::openapi::{self, Content, Ref, RefOr, ResponseBuilder, ResponsesBuilder};
use utoipa::{IntoParams, IntoResponses, PartialSchema};

use super::shared::visitor::Visitor;
use crate::AppState;
use crate::error::{ApiError, or_not_found};
use crate::extract::{ApiPath, ApiQuery, Auth, read_body};
use crate::files::{NotKept, keep};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// The file's name (a path keeps its last part; kept to 200 characters).
    #[param(min_length = 1, max_length = 1000)]
    pub name: String,
}

/// What an upload answers, for both APIs' documents.
pub struct Uploaded;

impl IntoResponses for Uploaded {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        ResponsesBuilder::new()
            .response(
                "201",
                ResponseBuilder::new().content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("AttachmentRef"))),
                ),
            )
            .response(
                "413",
                problem("Larger than the workspace takes (10 MiB by default)"),
            )
            .response(
                "422",
                problem(
                    "A kind of file the workspace does not take, an empty file, an image too large in pixels",
                ),
            )
            .build()
            .into()
    }
}

/// What a download answers: the bytes as each type a file may be, or 404.
pub struct Download;

impl IntoResponses for Download {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        let mut file = ResponseBuilder::new().description("The file, as its bytes showed it to be");
        for kind in FileKind::ALL {
            for content_type in kind.content_types() {
                file = file.content(content_type, Content::new(Some(Vec::<u8>::schema())));
            }
        }
        ResponsesBuilder::new()
            .response("200", file)
            .response("404", problem(""))
            .build()
            .into()
    }
}

fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/problem+json",
        Content::new(Some(Ref::from_schema_name("Problem"))),
    )
}

/// Reads an uploaded file and keeps it for `uploader`, unsent, if the
/// workspace takes it.
async fn upload(
    state: &AppState,
    workspace: WorkspaceId,
    uploader: Author,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<AttachmentRef>), ApiError> {
    if name.is_empty() || name.chars().count() > 1000 {
        return Err(ApiError::field("name", "1 to 1,000 characters"));
    }
    let workspace = state.store.workspace(workspace).await?;
    let limit = workspace.attachments.limit(state.attachment_max_bytes);
    let bytes = read_body(headers, body, usize::try_from(limit).unwrap_or(usize::MAX)).await?;
    match keep(state, &workspace, uploader, name, bytes).await {
        Ok(reference) => Ok((StatusCode::CREATED, Json(reference))),
        Err(NotKept::Refused(reason)) => Err(ApiError::field("file", reason)),
        Err(NotKept::Failed(err)) => Err(err.into()),
    }
}

#[utoipa::path(post, path = "/attachments", tag = "conversations", security(("bearer" = [])),
    params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(Uploaded))]
pub async fn upload_file(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<AttachmentRef>), ApiError> {
    upload(
        &state,
        principal.workspace_id,
        Author::Agent(principal.agent_id),
        &params.name,
        &headers,
        body,
    )
    .await
}

#[utoipa::path(post, path = "/attachments", tag = "widget", operation_id = "widget_upload", security(("widget_session" = [])),
    params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(Uploaded))]
pub async fn widget_upload(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiQuery(params): ApiQuery<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<AttachmentRef>), ApiError> {
    upload(
        &state,
        visitor.workspace_id,
        Author::Contact(visitor.contact_id),
        &params.name,
        &headers,
        body,
    )
    .await
}

/// The file as an answer: images to be shown, anything else downloaded;
/// never sniffed again by the browser, never run as a page.
async fn serve(state: &AppState, attachment: StoredAttachment) -> Result<Response, ApiError> {
    let file = &attachment.reference;
    let bytes: Bytes = state
        .files
        .get(attachment.workspace_id, file.id)
        .await
        .map_err(ApiError::Internal)?;
    let disposition = if file.is_image() {
        "inline"
    } else {
        "attachment"
    };
    let encoded: String = url::form_urlencoded::byte_serialize(file.name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    let value =
        |text: String| HeaderValue::from_str(&text).map_err(|e| ApiError::Internal(e.into()));
    headers.insert(header::CONTENT_TYPE, value(file.content_type.clone())?);
    headers.insert(
        header::CONTENT_DISPOSITION,
        value(format!("{disposition}; filename*=UTF-8''{encoded}"))?,
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/attachments/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = AttachmentId, Path)),
    responses(Download))]
pub async fn download(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<AttachmentId>,
) -> Result<Response, ApiError> {
    let attachment = state
        .store
        .attachment(principal.workspace_id, id)
        .await
        .map_err(or_not_found("attachment"))?;
    serve(&state, attachment).await
}

#[utoipa::path(get, path = "/attachments/{id}", tag = "widget", operation_id = "widget_download", security(("widget_session" = [])),
    params(("id" = AttachmentId, Path)),
    responses(Download))]
pub async fn widget_download(
    State(state): State<AppState>,
    visitor: Visitor,
    ApiPath(id): ApiPath<AttachmentId>,
) -> Result<Response, ApiError> {
    let attachment = state
        .store
        .attachment(visitor.workspace_id, id)
        .await
        .map_err(or_not_found("attachment"))?;
    // Theirs: uploaded by them, or in one of their conversations.
    let theirs = match attachment.conversation_id {
        None => attachment.uploader == Author::Contact(visitor.contact_id),
        Some(conversation) => state
            .store
            .conversation(visitor.workspace_id, conversation)
            .await
            .is_ok_and(|c| c.contact_id == visitor.contact_id),
    };
    if !theirs {
        return Err(ApiError::not_found("attachment"));
    }
    serve(&state, attachment).await
}

/// `GET /files/{workspace}/{id}/{token}`: the link an email gives the
/// contact (signed with the workspace's identity secret).
pub async fn emailed_file(
    State(state): State<AppState>,
    axum::extract::Path((workspace, id, token)): axum::extract::Path<(String, String, String)>,
) -> Response {
    let (Ok(workspace), Ok(id)) = (workspace.parse::<WorkspaceId>(), id.parse::<AttachmentId>())
    else {
        return ApiError::not_found("attachment").into_response();
    };
    let found = async {
        let ws = state.store.workspace(workspace).await.ok()?;
        let now = state.clock.now();
        ws.identity_secrets(now)
            .any(|secret| attachment_token(secret, id) == token)
            .then_some(())?;
        let attachment = state.store.attachment(workspace, id).await.ok()?;
        attachment.conversation_id.is_some().then_some(attachment)
    }
    .await;
    match found {
        Some(attachment) => serve(&state, attachment)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        None => ApiError::not_found("attachment").into_response(),
    }
}
