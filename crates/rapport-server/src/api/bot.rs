//! The AI bot: its settings (owners and admins change them), its report,
//! and the Inbox's "Suggest a reply", which drafts an answer to the
//! conversation's last message from the knowledge base for the agent to
//! edit.

use axum::Json;
use axum::extract::State;
use rapport_core::Timestamp;
use rapport_core::model::automation::flow::Assignee;
use rapport_core::model::bot::{AnswersWhen, BotSettings, Source};
use rapport_core::model::conversation::Author;
use rapport_core::model::ids::{ArticleId, ConversationId};
use rapport_core::ports::knowledge::RetrievalMode;
use rapport_core::ports::store::ReportQuery;
use rapport_core::services::bot::compose;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::automations::check_admin;
use crate::AppState;
use crate::error::{ApiError, Problem, or_not_found};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};

#[derive(Debug, Serialize, ToSchema)]
pub struct BotSettingsView {
    #[schema(value_type = Object)]
    pub settings: BotSettings,
    /// How the knowledge base is searched: `keywords` (BM25 alone, no
    /// embedding model installed) or `hybrid`.
    pub retrieval: RetrievalMode,
    /// The embedding model in use, if any.
    pub model: Option<String>,
    /// The chat model answers are written with, if one is configured.
    pub llm: Option<String>,
}

fn view(state: &AppState, settings: BotSettings) -> BotSettingsView {
    BotSettingsView {
        settings,
        retrieval: state.knowledge.mode(),
        model: (state.knowledge.mode() == RetrievalMode::Hybrid)
            .then(|| rapport_kb::MODEL_NAME.to_owned()),
        llm: state.writer.as_ref().map(|w| w.model().to_owned()),
    }
}

#[utoipa::path(get, path = "/bot/settings", tag = "bot", security(("bearer" = [])),
    responses((status = 200, body = BotSettingsView)))]
pub async fn get_bot_settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<BotSettingsView>, ApiError> {
    let settings = state.store.bot_settings(principal.workspace_id).await?;
    Ok(Json(view(&state, settings)))
}

/// The AI bot's settings, as an admin sets them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotSettingsRequest {
    pub enabled: bool,
    /// When it takes a new conversation; default always.
    pub answers_when: Option<AnswersWhen>,
    /// Shown above its messages; one line.
    #[schema(schema_with = crate::openapi::text::line_up_to_60)]
    pub name: String,
    #[schema(schema_with = crate::openapi::fields::avatar_url)]
    pub avatar_url: Option<String>,
    /// The least confidence at which it answers.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub threshold: f64,
    /// The article languages it answers from; none or empty: all.
    #[schema(schema_with = crate::openapi::fields::bot_languages)]
    pub languages: Option<Vec<String>>,
    /// `round_robin` (default), `nobody`, `{"agent": id}` or `{"team": id}`.
    #[schema(schema_with = crate::openapi::fields::handover_to)]
    pub handover_to: Option<Assignee>,
}

#[utoipa::path(put, path = "/bot/settings", tag = "bot", security(("bearer" = [])),
    request_body = BotSettingsRequest,
    responses((status = 200, body = BotSettingsView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_bot_settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<BotSettingsRequest>,
) -> Result<Json<BotSettingsView>, ApiError> {
    check_admin(&principal)?;
    let settings = BotSettings {
        enabled: body.enabled,
        answers_when: body.answers_when.unwrap_or_default(),
        name: body.name,
        avatar_url: body.avatar_url,
        threshold: body.threshold,
        languages: body.languages.unwrap_or_default(),
        handover_to: body.handover_to.unwrap_or(Assignee::RoundRobin),
    }
    .check()?;
    if let Assignee::Agent(agent) = settings.handover_to {
        state
            .store
            .agent(principal.workspace_id, agent)
            .await
            .map_err(|_| ApiError::field("handover_to", "must be a member of this workspace"))?;
    }
    if let Assignee::Team(team) = settings.handover_to
        && !state
            .store
            .teams(principal.workspace_id)
            .await?
            .iter()
            .any(|t| t.id == team)
    {
        return Err(ApiError::field(
            "handover_to",
            "must be a team of this workspace",
        ));
    }
    let saved = state
        .store
        .save_bot_settings(principal.workspace_id, settings, state.clock.now())
        .await?;
    Ok(Json(view(&state, saved)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The last 1 to 366 days; default 30.
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Day {
    pub day: String,
    pub conversations: u32,
    pub resolved_confirmed: u32,
    pub resolved_assumed: u32,
    pub handed_over: u32,
    pub unanswered: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unanswered {
    pub question: String,
    pub count: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleAnswers {
    #[schema(value_type = String, format = Uuid)]
    pub article_id: ArticleId,
    pub title: String,
    pub answers: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BotReportView {
    /// The conversations the bot took, by the day they began (UTC).
    pub days: Vec<Day>,
    /// Resolved (confirmed or assumed) over the conversations the bot
    /// took; none when it took none.
    pub resolution_rate: Option<f64>,
    /// Questions it could not answer, most asked first.
    pub unanswered: Vec<Unanswered>,
    /// Articles by answers given, most first.
    pub articles: Vec<ArticleAnswers>,
}

#[utoipa::path(get, path = "/bot/report", tag = "bot", security(("bearer" = [])),
    params(ReportParams),
    responses((status = 200, body = BotReportView),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn bot_report(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Json<BotReportView>, ApiError> {
    let days = params.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::field("days", "must be 1 to 366"));
    }
    let now = state.clock.now().as_millis();
    let start_of_today = now - now.rem_euclid(86_400_000);
    let from = start_of_today - (i64::from(days) - 1) * 86_400_000;
    let report = state
        .store
        .bot_report(
            principal.workspace_id,
            ReportQuery {
                from: Timestamp::from_millis(from),
                to: Timestamp::from_millis(now + 1),
                utc_offset_minutes: 0,
            },
        )
        .await?;
    let (taken, resolved) = report.days.iter().fold((0u32, 0u32), |(t, r), d| {
        (
            t + d.conversations,
            r + d.resolved_confirmed + d.resolved_assumed,
        )
    });
    Ok(Json(BotReportView {
        resolution_rate: (taken > 0).then(|| f64::from(resolved) / f64::from(taken)),
        days: report
            .days
            .into_iter()
            .map(|d| Day {
                day: d.day,
                conversations: d.conversations,
                resolved_confirmed: d.resolved_confirmed,
                resolved_assumed: d.resolved_assumed,
                handed_over: d.handed_over,
                unanswered: d.unanswered,
            })
            .collect(),
        unanswered: report
            .unanswered
            .into_iter()
            .map(|(question, count)| Unanswered { question, count })
            .collect(),
        articles: report
            .articles
            .into_iter()
            .map(|(article_id, title, answers)| ArticleAnswers {
                article_id,
                title,
                answers,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestedReply {
    /// A draft for the agent to edit: the best passage and a link to its
    /// article; none when nothing answers confidently.
    pub body: Option<String>,
    /// The best passage's confidence (0 to 1).
    pub confidence: f64,
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<Source>,
}

#[utoipa::path(post, path = "/conversations/{id}/suggested-reply", tag = "bot", security(("bearer" = [])),
    params(("id" = ConversationId, Path)),
    responses((status = 200, body = SuggestedReply),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn suggest_reply(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<SuggestedReply>, ApiError> {
    let ws = principal.workspace_id;
    let parts = state
        .store
        .conversation_parts(ws, id)
        .await
        .map_err(or_not_found("conversation"))?;
    let Some(question) = parts
        .iter()
        .rev()
        .find(|m| matches!(m.author, Author::Contact(_)))
        .map(|m| m.body.clone())
    else {
        return Ok(Json(SuggestedReply {
            body: None,
            confidence: 0.0,
            sources: Vec::new(),
        }));
    };
    let settings = state.store.bot_settings(ws).await?;
    let hits = state
        .knowledge
        .search(ws, &question, &settings.languages, 3)
        .await?;
    let confidence = hits.first().map_or(0.0, |h| h.confidence);
    let confident: Vec<_> = hits
        .into_iter()
        .filter(|h| h.confidence >= settings.threshold)
        .collect();
    // As the bot would answer: written by the model when one is set up
    // (and checked), else the passage with its link.
    let composed = crate::jobs::with_automation_env(&state, async |env| {
        compose(env, ws, &question, &confident).await
    })
    .await?;
    Ok(Json(match composed {
        Some((body, sources)) => SuggestedReply {
            body: Some(body),
            confidence,
            sources,
        },
        None => SuggestedReply {
            body: None,
            confidence,
            sources: Vec::new(),
        },
    }))
}
