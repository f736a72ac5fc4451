//! The public help center: a workspace's published articles as
//! server-rendered pages (fast, indexable, no script), found by the
//! workspace's public app id, with a search box over the same index the
//! bot answers from.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::{Environment, context};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use rapport_core::model::knowledge::ArticleStatus;
use rapport_core::model::workspace::Workspace;
use rapport_core::ports::store::{ArticleQuery, StoreError};
use serde::{Deserialize, Serialize};

use crate::AppState;

/// Articles listed on the home page, at most.
const MAX_LISTED: u32 = 1_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/help/{app_id}", get(home))
        .route("/help/{app_id}/search", get(search))
        .route("/help/{app_id}/articles/{slug}", get(article))
}

/// No script at all; styles only from the page itself.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, render("missing.html", context! {}))
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        render("missing.html", context! { busy => true }),
    )
}

async fn workspace(state: &AppState, app_id: &str) -> Result<Workspace, Response> {
    if app_id.len() > 100 {
        return Err(not_found());
    }
    match state.store.workspace_by_app_id(app_id).await {
        Ok(ws) => Ok(ws),
        Err(StoreError::NotFound) => Err(not_found()),
        Err(err) => {
            tracing::error!(error = %err, "the help center could not read the workspace");
            Err(unavailable())
        }
    }
}

#[derive(Serialize)]
struct Listed {
    title: String,
    slug: String,
}

#[derive(Serialize)]
struct Collection {
    name: String,
    articles: Vec<Listed>,
}

async fn home(State(state): State<AppState>, Path(app_id): Path<String>) -> Response {
    let ws = match workspace(&state, &app_id).await {
        Ok(ws) => ws,
        Err(response) => return response,
    };
    let query = ArticleQuery {
        status: Some(ArticleStatus::Published),
        limit: MAX_LISTED,
        ..ArticleQuery::default()
    };
    let articles = match state.store.articles(ws.id, query).await {
        Ok(found) => found,
        Err(_) => return unavailable(),
    };
    let mut collections: Vec<Collection> = Vec::new();
    for article in articles {
        let f = article.fields;
        let listed = Listed {
            title: f.title,
            slug: f.slug,
        };
        match collections.iter_mut().find(|c| c.name == f.collection) {
            Some(c) => c.articles.push(listed),
            None => collections.push(Collection {
                name: f.collection,
                articles: vec![listed],
            }),
        }
    }
    collections.sort_by(|a, b| a.name.cmp(&b.name));
    for c in &mut collections {
        c.articles.sort_by(|a, b| a.title.cmp(&b.title));
    }
    page(
        StatusCode::OK,
        render(
            "home.html",
            context! { workspace => ws.name, app_id, collections => minijinja::Value::from(minijinja::value::Serde(collections)) },
        ),
    )
}

#[derive(Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
}

async fn search(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(params): Query<SearchParams>,
) -> Response {
    let ws = match workspace(&state, &app_id).await {
        Ok(ws) => ws,
        Err(response) => return response,
    };
    let q: String = params.q.chars().take(500).collect();
    let hits = if q.trim().is_empty() {
        Vec::new()
    } else {
        match state.knowledge.search(ws.id, &q, &[], 10).await {
            Ok(hits) => hits,
            Err(_) => return unavailable(),
        }
    };
    let results: Vec<_> = hits
        .into_iter()
        .map(|h| {
            context! {
                title => h.title,
                slug => h.slug,
                heading => h.heading,
                snippet => snippet(&h.text),
            }
        })
        .collect();
    page(
        StatusCode::OK,
        render(
            "search.html",
            context! { workspace => ws.name, app_id, q, results },
        ),
    )
}

async fn article(
    State(state): State<AppState>,
    Path((app_id, slug)): Path<(String, String)>,
) -> Response {
    let ws = match workspace(&state, &app_id).await {
        Ok(ws) => ws,
        Err(response) => return response,
    };
    if slug.len() > 100 {
        return not_found();
    }
    let article = match state.store.article_by_slug(ws.id, &slug).await {
        Ok(a) if a.fields.status == ArticleStatus::Published => a,
        Ok(_) | Err(StoreError::NotFound) => return not_found(),
        Err(_) => return unavailable(),
    };
    let body = markdown(&article.fields.body, &app_id);
    page(
        StatusCode::OK,
        render(
            "article.html",
            context! {
                workspace => ws.name,
                app_id,
                title => article.fields.title,
                collection => article.fields.collection,
                language => article.fields.language,
                updated => article.updated_at.to_string().chars().take(10).collect::<String>(),
                body => minijinja::Value::from_safe_string(body),
            },
        ),
    )
}

/// A passage as plain text, shortened for a result list.
pub fn snippet(markdown: &str) -> String {
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = words.iter().take(40).copied().collect::<Vec<_>>().join(" ");
    if words.len() > 40 {
        out.push('…');
    }
    out
}

/// An article's Markdown as HTML: raw HTML shown as text; links kept when
/// they are web or mail links, or the help center's own (`/help/articles/
/// <slug>` is written for the workspace's help center).
pub fn markdown(text: &str, app_id: &str) -> String {
    let link = |url: &str| -> Option<String> {
        let lower = url.trim().to_ascii_lowercase();
        if let Some(slug) = url.strip_prefix("/help/articles/") {
            return Some(format!("/help/{app_id}/articles/{slug}"));
        }
        (lower.starts_with("https://")
            || lower.starts_with("http://")
            || lower.starts_with("mailto:"))
        .then(|| url.to_owned())
    };
    let events = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES).map(
        |event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url: link(&dest_url).map_or(CowStr::Borrowed(""), CowStr::from),
                title,
                id,
            }),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Image {
                link_type,
                dest_url: if dest_url.to_ascii_lowercase().starts_with("https://") {
                    dest_url
                } else {
                    CowStr::Borrowed("")
                },
                title,
                id,
            }),
            other => other,
        },
    );
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

fn render(name: &str, ctx: minijinja::Value) -> String {
    TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "a help center page could not be rendered");
            "<!doctype html><title>Help</title><p>This page could not be shown.</p>".into()
        })
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", LAYOUT),
        ("home.html", HOME),
        ("search.html", SEARCH),
        ("article.html", ARTICLE),
        ("missing.html", MISSING),
    ] {
        env.add_template(name, source)
            .expect("a help center template parses");
    }
    env
});

const LAYOUT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{{ workspace }} help center{% endblock %}</title>
<style>
:root { --ink: #1f2430; --muted: #5b6170; --line: #e3e5ea; --accent: #3a5bd9; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.6 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink); background: var(--bg); }
header { background: var(--accent); color: #fff; padding: 28px 20px 36px; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { max-width: 760px; margin: -20px auto 40px; background: #fff; border-radius: 10px; padding: 28px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
form { display: flex; gap: 8px; margin-top: 16px; max-width: 760px; }
input[type=search] { flex: 1; font: inherit; padding: 10px 12px; border-radius: 8px; border: 0; }
button { font: inherit; padding: 10px 16px; border-radius: 8px; border: 0; background: #fff; color: var(--accent); font-weight: 600; cursor: pointer; }
h1 { font-size: 1.6rem; margin-top: 0; } h2 { font-size: 1.2rem; margin-top: 1.6em; }
a { color: var(--accent); } .muted { color: var(--muted); font-size: .9rem; }
ul.list { list-style: none; padding: 0; } ul.list li { padding: 6px 0; border-bottom: 1px solid var(--line); }
code { background: var(--bg); padding: 1px 4px; border-radius: 4px; }
</style></head>
<body><header><a href="/help/{{ app_id }}">{{ workspace }} help center</a>
<form action="/help/{{ app_id }}/search" method="get" role="search"><input type="search" name="q" value="{{ q | default('') }}" placeholder="Search for answers" aria-label="Search for answers" maxlength="500"><button type="submit">Search</button></form>
</header><main>{% block main %}{% endblock %}</main></body></html>"#;

const HOME: &str = r#"{% extends "layout.html" %}{% block main %}
<h1>How can we help?</h1>
{% for c in collections %}<h2>{{ c.name }}</h2><ul class="list">{% for a in c.articles %}<li><a href="/help/{{ app_id }}/articles/{{ a.slug }}">{{ a.title }}</a></li>{% endfor %}</ul>
{% else %}<p class="muted">No articles are published yet.</p>{% endfor %}
{% endblock %}"#;

const SEARCH: &str = r#"{% extends "layout.html" %}{% block title %}{{ q }} · {{ workspace }} help center{% endblock %}{% block main %}
<h1>Results for “{{ q }}”</h1>
{% for r in results %}<div class="result"><h2><a href="/help/{{ app_id }}/articles/{{ r.slug }}">{{ r.title }}</a></h2>{% if r.heading %}<p class="muted">{{ r.heading }}</p>{% endif %}<p>{{ r.snippet }}</p></div>
{% else %}<p>Nothing matches. Try other words, or ask us in the chat.</p>{% endfor %}
{% endblock %}"#;

const ARTICLE: &str = r#"{% extends "layout.html" %}{% block title %}{{ title }} · {{ workspace }} help center{% endblock %}{% block main %}
<p class="muted">{{ collection }}</p>
<article lang="{{ language }}"><h1>{{ title }}</h1>
{{ body }}</article>
<p class="muted">Updated {{ updated }}</p>
{% endblock %}"#;

const MISSING: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Help center</title></head>
<body><p>{% if busy %}The help center is busy; try again in a moment.{% else %}There is no such page.{% endif %}</p></body></html>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_and_escapes_what_it_is_given() {
        for name in ["home.html", "search.html", "article.html", "missing.html"] {
            let html = TEMPLATES
                .get_template(name)
                .and_then(|t| t.render(context! { workspace => "<b>Acme</b>", app_id => "a1", q => "<i>", results => Vec::<String>::new(), collections => Vec::<String>::new(), title => "T", body => minijinja::Value::from_safe_string("<p>ok</p>".into()) }))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                !html.contains("<b>Acme</b>") && !html.contains("<i>"),
                "{name}: {html}"
            );
        }
    }

    #[test]
    fn article_links_stay_in_the_help_center_and_html_is_shown_as_text() {
        let html = markdown(
            "See [refunds](/help/articles/refund-a-payment), [x](javascript:alert(1)) and <script>alert(1)</script>",
            "app9",
        );
        assert!(
            html.contains(r#"href="/help/app9/articles/refund-a-payment""#),
            "{html}"
        );
        assert!(
            !html.contains("javascript:") && !html.contains("<script>"),
            "{html}"
        );
    }
}
