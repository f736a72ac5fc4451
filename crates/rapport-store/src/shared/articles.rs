//! The knowledge base's articles (`ArticleStore`): each write keeps a
//! revision and moves the workspace's knowledge version on.

use super::*;
use rapport_core::model::ids::ArticleId;
use rapport_core::model::knowledge::{
    Article, ArticleFields, ArticleRevision, ArticleStatus, MAX_ARTICLES, MAX_REVISIONS,
};

const ARTICLE_COLUMNS: &str = "id, workspace_id, slug, title, collection, language, status, body, author_id, revision, created_at, updated_at";

fn fields_from_row(row: &DbRow) -> Result<ArticleFields, StoreError> {
    let status = text(row, "status")?;
    Ok(ArticleFields {
        slug: text(row, "slug")?,
        title: text(row, "title")?,
        collection: text(row, "collection")?,
        language: text(row, "language")?,
        status: ArticleStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown article status {status}").into()))?,
        body: text(row, "body")?,
    })
}

fn revision_number(row: &DbRow) -> Result<u32, StoreError> {
    u32::try_from(row.try_get::<i64, _>("revision").map_err(db_err)?).map_err(data_err)
}

fn article_from_row(row: &DbRow) -> Result<Article, StoreError> {
    Ok(Article {
        id: ArticleId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        fields: fields_from_row(row)?,
        author_id: opt_uuid(row, "author_id")?.map(AgentId::from_uuid),
        revision: revision_number(row)?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

async fn bump_version(conn: &mut Conn, workspace: WorkspaceId) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO knowledge_versions (workspace_id, version) VALUES ($1, 1)
         ON CONFLICT (workspace_id) DO UPDATE SET version = knowledge_versions.version + 1",
    )
    .bind(workspace.as_uuid())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Keeps the article's current state as a revision, dropping the oldest
/// beyond `MAX_REVISIONS`.
async fn keep_revision(conn: &mut Conn, article: &Article) -> Result<(), StoreError> {
    let f = &article.fields;
    sqlx::query(
        "INSERT INTO article_revisions (article_id, revision, workspace_id, slug, title, collection, language, status, body, author_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(article.id.as_uuid())
    .bind(i64::from(article.revision))
    .bind(article.workspace_id.as_uuid())
    .bind(&f.slug)
    .bind(&f.title)
    .bind(&f.collection)
    .bind(&f.language)
    .bind(f.status.as_str())
    .bind(&f.body)
    .bind(article.author_id.map(|a| a.as_uuid()))
    .bind(ms(article.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    sqlx::query("DELETE FROM article_revisions WHERE article_id = $1 AND revision <= $2")
        .bind(article.id.as_uuid())
        .bind(i64::from(article.revision) - i64::from(MAX_REVISIONS))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn count_articles(conn: &mut Conn, workspace: WorkspaceId) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM articles WHERE workspace_id = $1")
        .bind(workspace.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn too_many() -> StoreError {
    StoreError::Conflict(format!("a workspace has at most {MAX_ARTICLES} articles"))
}

async fn insert_article(conn: &mut Conn, article: &Article) -> Result<(), StoreError> {
    let f = &article.fields;
    sqlx::query(
        "INSERT INTO articles (id, workspace_id, slug, title, collection, language, status, body, author_id, revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(article.id.as_uuid())
    .bind(article.workspace_id.as_uuid())
    .bind(&f.slug)
    .bind(&f.title)
    .bind(&f.collection)
    .bind(&f.language)
    .bind(f.status.as_str())
    .bind(&f.body)
    .bind(article.author_id.map(|a| a.as_uuid()))
    .bind(i64::from(article.revision))
    .bind(ms(article.created_at))
    .bind(ms(article.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(|e| match db_err(e) {
        StoreError::Conflict(_) => StoreError::Conflict("another article has this slug".into()),
        other => other,
    })?;
    keep_revision(conn, article).await
}

pub(super) async fn create_article(
    conn: &mut Conn,
    article: Article,
) -> Result<Article, StoreError> {
    lock_workspace(conn, article.workspace_id).await?;
    if count_articles(conn, article.workspace_id).await? >= MAX_ARTICLES {
        return Err(too_many());
    }
    insert_article(conn, &article).await?;
    bump_version(conn, article.workspace_id).await?;
    Ok(article)
}

async fn locked_article(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ArticleId,
) -> Result<Article, StoreError> {
    let sql = format!(
        "SELECT {ARTICLE_COLUMNS} FROM articles WHERE workspace_id = $1 AND id = $2{ROW_LOCK}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    article_from_row(&row)
}

/// Writes `fields` as the article's next revision.
async fn revise(
    conn: &mut Conn,
    current: Article,
    fields: ArticleFields,
    author: Option<AgentId>,
    at: Timestamp,
) -> Result<Article, StoreError> {
    let next = Article {
        fields,
        author_id: author,
        revision: current.revision + 1,
        updated_at: at,
        ..current
    };
    let f = &next.fields;
    sqlx::query(
        "UPDATE articles SET slug = $3, title = $4, collection = $5, language = $6, status = $7, body = $8, author_id = $9, revision = $10, updated_at = $11
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(next.workspace_id.as_uuid())
    .bind(next.id.as_uuid())
    .bind(&f.slug)
    .bind(&f.title)
    .bind(&f.collection)
    .bind(&f.language)
    .bind(f.status.as_str())
    .bind(&f.body)
    .bind(author.map(|a| a.as_uuid()))
    .bind(i64::from(next.revision))
    .bind(ms(at))
    .execute(&mut *conn)
    .await
    .map_err(|e| match db_err(e) {
        StoreError::Conflict(_) => StoreError::Conflict("another article has this slug".into()),
        other => other,
    })?;
    keep_revision(conn, &next).await?;
    bump_version(conn, next.workspace_id).await?;
    Ok(next)
}

pub(super) async fn update_article(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ArticleId,
    fields: ArticleFields,
    author: Option<AgentId>,
    at: Timestamp,
) -> Result<Article, StoreError> {
    let current = locked_article(conn, workspace, id).await?;
    revise(conn, current, fields, author, at).await
}

pub(super) async fn delete_article(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ArticleId,
) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM articles WHERE workspace_id = $1 AND id = $2")
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    bump_version(conn, workspace).await
}

pub(super) async fn import_articles(
    conn: &mut Conn,
    workspace: WorkspaceId,
    files: Vec<ArticleFields>,
    author: Option<AgentId>,
    at: Timestamp,
) -> Result<Imported, StoreError> {
    let mut done = Imported::default();
    lock_workspace(conn, workspace).await?;
    let mut count = count_articles(conn, workspace).await?;
    for fields in files {
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE workspace_id = $1 AND slug = $2{ROW_LOCK}"
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.as_uuid())
            .bind(&fields.slug)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        match found {
            Some(row) => {
                let current = article_from_row(&row)?;
                if current.fields == fields {
                    done.unchanged += 1;
                } else {
                    revise(conn, current, fields, author, at).await?;
                    done.updated += 1;
                }
            }
            None => {
                if count >= MAX_ARTICLES {
                    return Err(too_many());
                }
                let article = Article {
                    id: ArticleId::generate(),
                    workspace_id: workspace,
                    fields,
                    author_id: author,
                    revision: 1,
                    created_at: at,
                    updated_at: at,
                };
                insert_article(conn, &article).await?;
                count += 1;
                done.created += 1;
            }
        }
    }
    if done.created + done.updated > 0 {
        bump_version(conn, workspace).await?;
    }
    Ok(done)
}

async fn article_where(
    conn: &mut Conn,
    workspace: WorkspaceId,
    column: &str,
    value: Uuid,
    slug: &str,
) -> Result<Article, StoreError> {
    let sql =
        format!("SELECT {ARTICLE_COLUMNS} FROM articles WHERE workspace_id = $1 AND {column} = $2");
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(workspace.as_uuid());
    let query = if column == "id" {
        query.bind(value)
    } else {
        query.bind(slug.to_owned())
    };
    let row = query.fetch_one(&mut *conn).await.map_err(db_err)?;
    article_from_row(&row)
}

async fn list_articles(
    conn: &mut Conn,
    workspace: WorkspaceId,
    query: ArticleQuery,
) -> Result<Vec<Article>, StoreError> {
    let mut sql = QueryBuilder::<Db>::new(format!(
        "SELECT {ARTICLE_COLUMNS} FROM articles WHERE workspace_id = "
    ));
    sql.push_bind(workspace.as_uuid());
    if let Some(status) = query.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(collection) = query.collection {
        sql.push(" AND collection = ").push_bind(collection);
    }
    if let Some((at, id)) = query.after {
        sql.push(" AND (updated_at < ")
            .push_bind(ms(at))
            .push(" OR (updated_at = ")
            .push_bind(ms(at))
            .push(" AND id < ")
            .push_bind(id.as_uuid())
            .push("))");
    }
    sql.push(" ORDER BY updated_at DESC, id DESC LIMIT ")
        .push_bind(i64::from(query.limit.clamp(1, 1_000)));
    let rows = sql.build().fetch_all(&mut *conn).await.map_err(db_err)?;
    rows.iter().map(article_from_row).collect()
}

async fn published(conn: &mut Conn, workspace: WorkspaceId) -> Result<Vec<Article>, StoreError> {
    let sql = format!(
        "SELECT {ARTICLE_COLUMNS} FROM articles WHERE workspace_id = $1 AND status = 'published' ORDER BY id LIMIT {MAX_ARTICLES}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(workspace.as_uuid())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(article_from_row).collect()
}

async fn revisions(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: ArticleId,
) -> Result<Vec<ArticleRevision>, StoreError> {
    let rows = sqlx::query(
        "SELECT article_id, revision, slug, title, collection, language, status, body, author_id, created_at
         FROM article_revisions WHERE workspace_id = $1 AND article_id = $2 ORDER BY revision DESC",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    rows.iter()
        .map(|row| {
            Ok(ArticleRevision {
                article_id: ArticleId::from_uuid(uuid(row, "article_id")?),
                revision: revision_number(row)?,
                fields: fields_from_row(row)?,
                author_id: opt_uuid(row, "author_id")?.map(AgentId::from_uuid),
                created_at: ts(row, "created_at")?,
            })
        })
        .collect()
}

#[async_trait]
impl ArticleStore for Backend {
    async fn create_article(&self, article: Article) -> Result<Article, StoreError> {
        self.write(op!(create_article, article)).await
    }

    async fn update_article(
        &self,
        workspace: WorkspaceId,
        id: ArticleId,
        fields: ArticleFields,
        author: Option<AgentId>,
        at: Timestamp,
    ) -> Result<Article, StoreError> {
        self.write(op!(update_article, workspace, id, fields, author, at))
            .await
    }

    async fn delete_article(
        &self,
        workspace: WorkspaceId,
        id: ArticleId,
    ) -> Result<(), StoreError> {
        self.write(op!(delete_article, workspace, id)).await
    }

    async fn article(&self, workspace: WorkspaceId, id: ArticleId) -> Result<Article, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        article_where(&mut conn, workspace, "id", id.as_uuid(), "").await
    }

    async fn article_by_slug(
        &self,
        workspace: WorkspaceId,
        slug: &str,
    ) -> Result<Article, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        article_where(&mut conn, workspace, "slug", Uuid::nil(), slug).await
    }

    async fn articles(
        &self,
        workspace: WorkspaceId,
        query: ArticleQuery,
    ) -> Result<Vec<Article>, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        list_articles(&mut conn, workspace, query).await
    }

    async fn published_articles(&self, workspace: WorkspaceId) -> Result<Vec<Article>, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        published(&mut conn, workspace).await
    }

    async fn article_revisions(
        &self,
        workspace: WorkspaceId,
        id: ArticleId,
    ) -> Result<Vec<ArticleRevision>, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        revisions(&mut conn, workspace, id).await
    }

    async fn knowledge_version(&self, workspace: WorkspaceId) -> Result<i64, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(db_err)?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM knowledge_versions WHERE workspace_id = $1")
                .bind(workspace.as_uuid())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
        Ok(version.unwrap_or(0))
    }

    async fn import_articles(
        &self,
        workspace: WorkspaceId,
        files: Vec<ArticleFields>,
        author: Option<AgentId>,
        at: Timestamp,
    ) -> Result<Imported, StoreError> {
        self.write(op!(import_articles, workspace, files, author, at))
            .await
    }
}
