//! The knowledge base's articles: CRUD with revisions, search, and import
//! and export as Markdown files. Anyone on the team reads and writes them
//! (writing help articles is support work); each write is a revision.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::Timestamp;
use rapport_core::model::agent::Principal;
use rapport_core::model::ids::ArticleId;
use rapport_core::model::knowledge::{
    Article, ArticleFields, ArticleRevision, ArticleStatus, parse_file, render_file,
};
use rapport_core::model::validation::ValidationError;
use rapport_core::ports::knowledge::RetrievalMode;
use rapport_core::ports::store::{ArticleQuery, Imported};
use rapport_core::services::bot::article_url;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};

/// The most files one import takes.
const MAX_IMPORT_FILES: usize = 500;

#[derive(Debug, Serialize, ToSchema)]
pub struct Articles {
    /// Most recently changed first.
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<Article>,
    /// Pass as `before` for the next page; none on the last.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArticlesQuery {
    pub status: Option<ArticleStatus>,
    #[param(max_length = 200)]
    pub collection: Option<String>,
    /// The `next` of the previous page.
    #[param(
        pattern = r"^[0-9]{1,15}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub before: Option<String>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleRequest {
    #[schema(schema_with = crate::openapi::knowledge::title)]
    pub title: String,
    /// Markdown; `##` headings cut it into the passages the bot answers
    /// with.
    #[schema(schema_with = crate::openapi::knowledge::body)]
    pub body: String,
    /// Default "General".
    #[schema(schema_with = crate::openapi::knowledge::collection_or_null)]
    pub collection: Option<String>,
    /// Default "en".
    #[schema(schema_with = crate::openapi::knowledge::language_or_null)]
    pub language: Option<String>,
    /// Default draft.
    pub status: Option<ArticleStatus>,
    /// Made from the title when left out; unique in the workspace.
    #[schema(schema_with = crate::openapi::knowledge::slug_or_null)]
    pub slug: Option<String>,
}

impl ArticleRequest {
    fn fields(&self, current: Option<&ArticleFields>) -> Result<ArticleFields, ValidationError> {
        let slug = self.slug.as_deref().or(current.map(|c| c.slug.as_str()));
        ArticleFields::new(
            slug,
            &self.title,
            self.collection.as_deref().unwrap_or("General"),
            self.language.as_deref().unwrap_or("en"),
            self.status.unwrap_or(ArticleStatus::Draft),
            &self.body,
        )
    }
}

fn parse_cursor(text: &str) -> Result<(Timestamp, ArticleId), ApiError> {
    let bad = || ApiError::field("before", "must be a `next` this endpoint gave");
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    let at: i64 = at.parse().map_err(|_| bad())?;
    let id: ArticleId = id.parse().map_err(|_| bad())?;
    Ok((Timestamp::from_millis(at), id))
}

#[utoipa::path(get, path = "/articles", tag = "knowledge", security(("bearer" = [])),
    params(ArticlesQuery),
    responses((status = 200, body = Articles),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_articles(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(query): ApiQuery<ArticlesQuery>,
) -> Result<Json<Articles>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 200"));
    }
    if query
        .collection
        .as_ref()
        .is_some_and(|c| c.chars().count() > 200)
    {
        return Err(ApiError::field(
            "collection",
            "must be at most 200 characters",
        ));
    }
    let after = query.before.as_deref().map(parse_cursor).transpose()?;
    let data = state
        .store
        .articles(
            principal.workspace_id,
            ArticleQuery {
                status: query.status,
                collection: query.collection,
                after,
                limit,
            },
        )
        .await?;
    let next = (data.len() == limit as usize)
        .then(|| {
            data.last()
                .map(|a| format!("{}_{}", a.updated_at.as_millis(), a.id))
        })
        .flatten();
    Ok(Json(Articles { data, next }))
}

#[utoipa::path(post, path = "/articles", tag = "knowledge", security(("bearer" = [])),
    request_body = ArticleRequest,
    responses((status = 201, body = Object, description = "The article, as revision 1"),
        (status = 409, description = "Another article has the slug, or the workspace has the most articles", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_article(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<ArticleRequest>,
) -> Result<(StatusCode, Json<Article>), ApiError> {
    let now = state.clock.now();
    let article = Article {
        id: ArticleId::generate(),
        workspace_id: principal.workspace_id,
        fields: body.fields(None)?,
        author_id: Some(principal.agent_id),
        revision: 1,
        created_at: now,
        updated_at: now,
    };
    let article = state.store.create_article(article).await?;
    Ok((StatusCode::CREATED, Json(article)))
}

#[utoipa::path(get, path = "/articles/{id}", tag = "knowledge", security(("bearer" = [])),
    params(("id" = ArticleId, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_article(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ArticleId>,
) -> Result<Json<Article>, ApiError> {
    let article = state
        .store
        .article(principal.workspace_id, id)
        .await
        .map_err(or_not_found("article"))?;
    Ok(Json(article))
}

#[utoipa::path(put, path = "/articles/{id}", tag = "knowledge", security(("bearer" = [])),
    params(("id" = ArticleId, Path)), request_body = ArticleRequest,
    responses((status = 200, body = Object, description = "The article, as its next revision"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_article(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ArticleId>,
    ApiJson(body): ApiJson<ArticleRequest>,
) -> Result<Json<Article>, ApiError> {
    let ws = principal.workspace_id;
    let current = state
        .store
        .article(ws, id)
        .await
        .map_err(or_not_found("article"))?;
    let fields = body.fields(Some(&current.fields))?;
    let article = state
        .store
        .update_article(ws, id, fields, Some(principal.agent_id), state.clock.now())
        .await
        .map_err(or_not_found("article"))?;
    Ok(Json(article))
}

#[utoipa::path(delete, path = "/articles/{id}", tag = "knowledge", security(("bearer" = [])),
    params(("id" = ArticleId, Path)),
    responses((status = 204, description = "Deleted with its revisions; the bot's answers from it still count in reports"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_article(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ArticleId>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_article(principal.workspace_id, id)
        .await
        .map_err(or_not_found("article"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revisions {
    /// Newest first; the most recent 100 are kept.
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<ArticleRevision>,
}

#[utoipa::path(get, path = "/articles/{id}/revisions", tag = "knowledge", security(("bearer" = [])),
    params(("id" = ArticleId, Path)),
    responses((status = 200, body = Revisions), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn article_revisions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ArticleId>,
) -> Result<Json<Revisions>, ApiError> {
    let data = state
        .store
        .article_revisions(principal.workspace_id, id)
        .await
        .map_err(or_not_found("article"))?;
    Ok(Json(Revisions { data }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// The words to look for.
    #[param(min_length = 1, max_length = 500)]
    pub q: String,
    /// 1 to 50; default 10.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// A passage found.
#[derive(Debug, Serialize, ToSchema)]
pub struct Found {
    #[schema(value_type = String, format = Uuid)]
    pub article_id: ArticleId,
    pub slug: String,
    pub title: String,
    pub collection: String,
    pub language: String,
    pub heading: Option<String>,
    /// The passage's Markdown.
    pub text: String,
    /// 0 to 1: the share of the query's weight the passage holds (what the
    /// bot's threshold is compared with).
    pub confidence: f64,
    /// The article's help center page.
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub mode: RetrievalMode,
    /// Best first; published articles only.
    pub data: Vec<Found>,
}

/// A search's words: 1 to 500 characters.
pub fn check_query(q: &str) -> Result<(), ApiError> {
    let n = q.chars().count();
    if n == 0 || n > 500 {
        return Err(ApiError::field("q", "must be 1 to 500 characters"));
    }
    Ok(())
}

/// Searches a workspace's published articles (also for the help center
/// and the widget).
pub async fn search(
    state: &AppState,
    principal_ws: rapport_core::model::ids::WorkspaceId,
    q: &str,
    limit: usize,
) -> Result<SearchResults, ApiError> {
    let q: String = q.chars().take(500).collect();
    let hits = state.knowledge.search(principal_ws, &q, &[], limit).await?;
    let app_id = state.store.workspace(principal_ws).await?.app_id;
    let data = hits
        .into_iter()
        .map(|h| Found {
            url: article_url(&state.email.public_url, &app_id, &h.slug),
            article_id: h.article_id,
            slug: h.slug,
            title: h.title,
            collection: h.collection,
            language: h.language,
            heading: h.heading,
            text: h.text,
            confidence: h.confidence,
        })
        .collect();
    Ok(SearchResults {
        mode: state.knowledge.mode(),
        data,
    })
}

#[utoipa::path(get, path = "/articles/search", tag = "knowledge", security(("bearer" = [])),
    params(SearchQuery),
    responses((status = 200, body = SearchResults),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn search_articles(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    let limit = query.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 50"));
    }
    check_query(&query.q)?;
    Ok(Json(
        search(&state, principal.workspace_id, &query.q, limit as usize).await?,
    ))
}

/// One Markdown file: a `---` header (title, collection, language,
/// status) and the body; the name without `.md` is the slug.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleFileBody {
    #[schema(
        pattern = r"^([^/]*/)*[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?\.md$",
        max_length = 300
    )]
    pub name: String,
    #[schema(max_length = 110000)]
    pub content: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleFiles {
    #[schema(max_items = 500)]
    pub files: Vec<ArticleFileBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: u32,
    pub updated: u32,
    /// Files the same as the stored article: no new revision.
    pub unchanged: u32,
}

/// Reads files into articles' fields; errors name each file at fault.
pub fn read_files(files: &[(String, String)]) -> Result<Vec<ArticleFields>, ValidationError> {
    let mut read = Vec::with_capacity(files.len());
    let mut faults = Vec::new();
    for (i, (name, content)) in files.iter().enumerate() {
        match parse_file(name, content) {
            Ok(file) => {
                if read
                    .iter()
                    .any(|f: &ArticleFields| f.slug == file.fields.slug)
                {
                    faults.push(rapport_core::model::validation::FieldError {
                        field: format!("files[{i}].name"),
                        message: format!("{name}: another file has the same name"),
                    });
                }
                read.push(file.fields);
            }
            Err(err) => faults.extend(err.0.into_iter().map(|mut f| {
                f.field = format!("files[{i}]");
                f
            })),
        }
    }
    if faults.is_empty() {
        Ok(read)
    } else {
        Err(ValidationError(faults))
    }
}

/// Stores read files: created or updated by slug, all or none.
pub async fn import_files(
    state: &AppState,
    principal: Option<&Principal>,
    workspace: rapport_core::model::ids::WorkspaceId,
    files: Vec<ArticleFields>,
) -> Result<Imported, ApiError> {
    Ok(state
        .store
        .import_articles(
            workspace,
            files,
            principal.map(|p| p.agent_id),
            state.clock.now(),
        )
        .await?)
}

#[utoipa::path(post, path = "/articles/import", tag = "knowledge", security(("bearer" = [])),
    request_body = ArticleFiles,
    responses((status = 200, body = ImportResult),
        (status = 409, description = "The workspace would have more than the most articles", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A file could not be read: nothing was stored", body = Problem, content_type = "application/problem+json")))]
pub async fn import_articles(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<ArticleFiles>,
) -> Result<Json<ImportResult>, ApiError> {
    if body.files.len() > MAX_IMPORT_FILES {
        return Err(ApiError::field(
            "files",
            format!("at most {MAX_IMPORT_FILES} files at once"),
        ));
    }
    let files: Vec<(String, String)> = body
        .files
        .into_iter()
        .map(|f| (f.name, f.content))
        .collect();
    let fields = read_files(&files)?;
    let done = import_files(&state, Some(&principal), principal.workspace_id, fields).await?;
    Ok(Json(ImportResult {
        created: done.created,
        updated: done.updated,
        unchanged: done.unchanged,
    }))
}

#[utoipa::path(get, path = "/articles/export", tag = "knowledge", security(("bearer" = [])),
    responses((status = 200, body = ArticleFiles, description = "Every article (drafts too), as files the import reads back")))]
pub async fn export_articles(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<ArticleFiles>, ApiError> {
    let ws = principal.workspace_id;
    let mut files = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .articles(
                ws,
                ArticleQuery {
                    status: None,
                    collection: None,
                    after,
                    limit: 1_000,
                },
            )
            .await?;
        let last = page.last().map(|a| (a.updated_at, a.id));
        for article in &page {
            let (name, content) = render_file(article);
            files.push(ArticleFileBody { name, content });
        }
        if page.len() < 1_000 || last.is_none() {
            break;
        }
        after = last;
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(ArticleFiles { files }))
}
