//! The Reports section: a period's figures as JSON, or as CSV to download.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::report::{
    Channel, Durations, Figures, GroupKey, RatingCounts, ReportGroup, ReportQuery,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiQuery, Auth};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The first day, YYYY-MM-DD.
    #[param(format = Date)]
    pub from: String,
    /// The last day (included), at most 366 days after `from`.
    #[param(format = Date)]
    pub to: String,
    /// `day` (the default), `member` or `channel`.
    #[param(value_type = Option<ReportGroup>)]
    pub by: Option<ReportGroup>,
    /// Minutes east of UTC the days are counted at, -840 to 840 (default 0).
    #[param(minimum = -840, maximum = 840)]
    pub offset_minutes: Option<i32>,
}

/// One group's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportFigures {
    /// Conversations started in the period.
    pub new_conversations: u64,
    /// From the start of a conversation the visitor started to the first
    /// team member's reply, for replies given in the period.
    pub first_response: Durations,
    /// From the start to the latest close, for closes in the period.
    pub time_to_close: Durations,
    /// Ratings given in the period.
    pub ratings: RatingCounts,
}

impl From<Figures> for ReportFigures {
    fn from(f: Figures) -> Self {
        ReportFigures {
            new_conversations: f.new_conversations,
            first_response: f.first_response,
            time_to_close: f.time_to_close,
            ratings: f.ratings,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportRow {
    /// The day (YYYY-MM-DD), the member's id (`unassigned` for none) or
    /// the channel.
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub figures: ReportFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub from: String,
    pub to: String,
    pub by: ReportGroup,
    pub offset_minutes: i32,
    pub totals: ReportFigures,
    /// By day: every day of the period, in order. By member: those with
    /// anything in the period. By channel: every channel.
    pub rows: Vec<ReportRow>,
}

fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Widget => "Widget",
        Channel::Team => "Team",
        Channel::Bulk => "Bulk send",
        Channel::Automation => "Automation",
        Channel::Bot => "AI bot",
    }
}

async fn build(
    state: &AppState,
    ws: WorkspaceId,
    params: ReportParams,
) -> Result<ReportView, ApiError> {
    let group = params.by.unwrap_or(ReportGroup::Day);
    let query = ReportQuery::parse(
        &params.from,
        &params.to,
        params.offset_minutes.unwrap_or(0),
        group,
    )?;
    let report = state.store.report(ws, &query).await?;
    let mut found: HashMap<GroupKey, Figures> = report.rows.into_iter().collect();
    let mut take = |key: &GroupKey| found.remove(key).unwrap_or_default();
    let rows = match group {
        ReportGroup::Day => {
            let (first, last) = (
                (query.from - ReportQuery::day(0)).whole_days(),
                (query.to - ReportQuery::day(0)).whole_days(),
            );
            (first..=last)
                .map(|n| {
                    let day = ReportQuery::day(n).to_string();
                    ReportRow {
                        key: day.clone(),
                        label: day,
                        figures: take(&GroupKey::Day(n)).into(),
                    }
                })
                .collect()
        }
        ReportGroup::Channel => Channel::ALL
            .into_iter()
            .map(|c| ReportRow {
                key: c.as_str().to_owned(),
                label: channel_label(c).to_owned(),
                figures: take(&GroupKey::Channel(c)).into(),
            })
            .collect(),
        ReportGroup::Member => {
            let names: HashMap<_, _> = state
                .store
                .list_agents(ws)
                .await?
                .into_iter()
                .map(|a| (a.id, a.name))
                .collect();
            let mut rows: Vec<ReportRow> = found
                .drain()
                .filter_map(|(key, figures)| match key {
                    GroupKey::Member(member) => Some(ReportRow {
                        key: member.map_or_else(|| "unassigned".to_owned(), |m| m.to_string()),
                        label: match member {
                            None => "Unassigned".to_owned(),
                            Some(id) => names
                                .get(&id)
                                .cloned()
                                .unwrap_or_else(|| "A former teammate".to_owned()),
                        },
                        figures: figures.into(),
                    }),
                    _ => None,
                })
                .collect();
            rows.sort_by(|a, b| {
                (a.key == "unassigned", &a.label, &a.key).cmp(&(
                    b.key == "unassigned",
                    &b.label,
                    &b.key,
                ))
            });
            rows
        }
    };
    Ok(ReportView {
        from: query.from.to_string(),
        to: query.to.to_string(),
        by: group,
        offset_minutes: query.offset_minutes,
        totals: report.totals.into(),
        rows,
    })
}

#[utoipa::path(get, path = "/reports", tag = "reports", security(("bearer" = [])),
    params(ReportParams),
    responses((status = 200, body = ReportView), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn report(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Json<ReportView>, ApiError> {
    Ok(Json(build(&state, principal.workspace_id, params).await?))
}

/// A cell as spreadsheets read it safely: text that would start a formula
/// gets a leading apostrophe.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn seconds(value: Option<f64>) -> String {
    value.map(|s| format!("{s:.0}")).unwrap_or_default()
}

fn record(label: &str, f: &ReportFigures) -> Vec<String> {
    vec![
        cell(label),
        f.new_conversations.to_string(),
        f.first_response.count.to_string(),
        seconds(f.first_response.median_seconds),
        seconds(f.first_response.p90_seconds),
        f.time_to_close.count.to_string(),
        seconds(f.time_to_close.median_seconds),
        seconds(f.time_to_close.p90_seconds),
        f.ratings.count.to_string(),
        f.ratings.bad.to_string(),
        f.ratings.ok.to_string(),
        f.ratings.great.to_string(),
    ]
}

const CSV_HEADER: [&str; 12] = [
    "group",
    "new_conversations",
    "first_responses",
    "first_response_median_seconds",
    "first_response_p90_seconds",
    "closed",
    "time_to_close_median_seconds",
    "time_to_close_p90_seconds",
    "ratings",
    "bad",
    "ok",
    "great",
];

#[utoipa::path(get, path = "/reports/csv", tag = "reports", security(("bearer" = [])),
    params(ReportParams),
    responses((status = 200, description = "The report's rows and a final Total row", content_type = "text/csv", body = String),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn report_csv(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let view = build(&state, principal.workspace_id, params).await?;
    let mut writer = csv_async::AsyncWriter::from_writer(Vec::new());
    let fail = |e: csv_async::Error| ApiError::Internal(e.into());
    writer.write_record(CSV_HEADER).await.map_err(fail)?;
    for row in &view.rows {
        writer
            .write_record(record(&row.label, &row.figures))
            .await
            .map_err(fail)?;
    }
    writer
        .write_record(record("Total", &view.totals))
        .await
        .map_err(fail)?;
    let body = writer
        .into_inner()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e.to_string())))?;
    let by = match view.by {
        ReportGroup::Day => "day",
        ReportGroup::Member => "member",
        ReportGroup::Channel => "channel",
    };
    let name = format!(
        "attachment; filename=\"rapport-report-{}-{}-by-{by}.csv\"",
        view.from, view.to
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    )
        .into_response())
}
