//! The Reports section's figures: grouped queries over the conversations'
//! summaries (`conversation_stats`) and ratings in the period. Medians and
//! 90th percentiles are nearest-rank, picked in SQL with window functions
//! (both databases), so only one row per group leaves the database.

use std::collections::BTreeMap;

use super::*;
use rapport_core::model::report::{
    Channel, Figures, GroupKey, RatingCounts, Report, ReportGroup, ReportQuery, durations,
};

/// A measured span: which time puts a conversation in the period, and the
/// length measured from the start.
#[derive(Clone, Copy)]
enum Span {
    FirstResponse,
    Close,
}

impl Span {
    fn column(self) -> &'static str {
        match self {
            Span::FirstResponse => "s.first_response_at",
            Span::Close => "s.closed_at",
        }
    }
}

/// What a row of a query is grouped by: the report's grouping, or `None`
/// for the whole period.
struct Grouping<'a> {
    query: &'a ReportQuery,
    group: Option<ReportGroup>,
}

impl Grouping<'_> {
    /// Pushes the `g` expression: a day number at the query's offset, the
    /// member (`member` column), the channel, or a constant.
    fn push(&self, sql: &mut QueryBuilder<Db>, time: &str, member: &str) {
        match self.group {
            None => {
                sql.push("0");
            }
            Some(ReportGroup::Day) => {
                sql.push(format!("(({time} + "))
                    .push_bind(self.query.offset_millis())
                    .push(") / 86400000)");
            }
            Some(ReportGroup::Member) => {
                sql.push(member.to_owned());
            }
            Some(ReportGroup::Channel) => {
                sql.push("s.channel");
            }
        }
    }

    /// The join that brings the assignee in, when rows are by member.
    fn join(&self, on: &str) -> String {
        if self.group == Some(ReportGroup::Member) {
            format!(" JOIN conversations c ON c.id = {on}")
        } else {
            String::new()
        }
    }

    fn key(&self, row: &DbRow) -> Result<GroupKey, StoreError> {
        Ok(match self.group {
            None => GroupKey::All,
            Some(ReportGroup::Day) => GroupKey::Day(row.try_get::<i64, _>("g").map_err(db_err)?),
            Some(ReportGroup::Member) => {
                GroupKey::Member(opt_uuid(row, "g")?.map(AgentId::from_uuid))
            }
            Some(ReportGroup::Channel) => {
                let name = text(row, "g")?;
                GroupKey::Channel(
                    Channel::parse(&name).ok_or_else(|| {
                        StoreError::Other(format!("unknown channel {name}").into())
                    })?,
                )
            }
        })
    }

    fn period(
        &self,
        sql: &mut QueryBuilder<Db>,
        workspace: WorkspaceId,
        ws_column: &str,
        time: &str,
    ) {
        let (from, to) = self.query.span();
        sql.push(format!(" WHERE {ws_column} = "))
            .push_bind(workspace.as_uuid())
            .push(format!(" AND {time} >= "))
            .push_bind(ms(from))
            .push(format!(" AND {time} < "))
            .push_bind(ms(to));
    }
}

fn count(row: &DbRow, column: &str) -> Result<u64, StoreError> {
    u64::try_from(row.try_get::<i64, _>(column).map_err(db_err)?).map_err(data_err)
}

async fn new_conversations(
    backend: &Backend,
    workspace: WorkspaceId,
    by: &Grouping<'_>,
    into: &mut BTreeMap<GroupKey, Figures>,
) -> Result<(), StoreError> {
    let mut sql = QueryBuilder::<Db>::new("SELECT ");
    by.push(&mut sql, "s.started_at", "c.assignee_id");
    sql.push(" AS g, COUNT(*) AS total FROM conversation_stats s");
    sql.push(by.join("s.conversation_id"));
    by.period(&mut sql, workspace, "s.workspace_id", "s.started_at");
    sql.push(" GROUP BY 1");
    for row in sql
        .build()
        .fetch_all(backend.reader())
        .await
        .map_err(db_err)?
    {
        into.entry(by.key(&row)?).or_default().new_conversations = count(&row, "total")?;
    }
    Ok(())
}

async fn spans(
    backend: &Backend,
    workspace: WorkspaceId,
    by: &Grouping<'_>,
    span: Span,
    into: &mut BTreeMap<GroupKey, Figures>,
) -> Result<(), StoreError> {
    let time = span.column();
    let member = match span {
        Span::FirstResponse => "s.first_responder_id",
        Span::Close => "c.assignee_id",
    };
    let mut sql = QueryBuilder::<Db>::new("WITH d AS (SELECT ");
    by.push(&mut sql, time, member);
    sql.push(format!(
        " AS g, {time} - s.started_at AS v FROM conversation_stats s"
    ));
    if matches!(span, Span::Close) {
        sql.push(by.join("s.conversation_id"));
    }
    by.period(&mut sql, workspace, "s.workspace_id", time);
    sql.push(
        "), r AS (SELECT g, v, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v) AS n,
                COUNT(*) OVER (PARTITION BY g) AS total FROM d)
         SELECT g, MAX(total) AS total,
                MIN(CASE WHEN n * 2 >= total THEN v END) AS median,
                MIN(CASE WHEN n * 10 >= total * 9 THEN v END) AS p90
         FROM r GROUP BY g",
    );
    for row in sql
        .build()
        .fetch_all(backend.reader())
        .await
        .map_err(db_err)?
    {
        let figures = durations(
            count(&row, "total")?,
            row.try_get::<Option<i64>, _>("median").map_err(db_err)?,
            row.try_get::<Option<i64>, _>("p90").map_err(db_err)?,
        );
        let entry = into.entry(by.key(&row)?).or_default();
        match span {
            Span::FirstResponse => entry.first_response = figures,
            Span::Close => entry.time_to_close = figures,
        }
    }
    Ok(())
}

async fn ratings(
    backend: &Backend,
    workspace: WorkspaceId,
    by: &Grouping<'_>,
    into: &mut BTreeMap<GroupKey, Figures>,
) -> Result<(), StoreError> {
    let mut sql = QueryBuilder::<Db>::new("SELECT ");
    by.push(&mut sql, "r.created_at", "c.assignee_id");
    sql.push(
        " AS g, COUNT(*) AS total,
           SUM(CASE WHEN r.score = 1 THEN 1 ELSE 0 END) AS bad,
           SUM(CASE WHEN r.score = 2 THEN 1 ELSE 0 END) AS ok,
           SUM(CASE WHEN r.score = 3 THEN 1 ELSE 0 END) AS great
         FROM conversation_ratings r JOIN conversation_stats s ON s.conversation_id = r.conversation_id",
    );
    sql.push(by.join("r.conversation_id"));
    by.period(&mut sql, workspace, "r.workspace_id", "r.created_at");
    sql.push(" GROUP BY 1");
    for row in sql
        .build()
        .fetch_all(backend.reader())
        .await
        .map_err(db_err)?
    {
        into.entry(by.key(&row)?).or_default().ratings = RatingCounts {
            count: count(&row, "total")?,
            bad: count(&row, "bad")?,
            ok: count(&row, "ok")?,
            great: count(&row, "great")?,
        };
    }
    Ok(())
}

async fn figures(
    backend: &Backend,
    workspace: WorkspaceId,
    by: &Grouping<'_>,
) -> Result<BTreeMap<GroupKey, Figures>, StoreError> {
    let mut rows = BTreeMap::new();
    new_conversations(backend, workspace, by, &mut rows).await?;
    spans(backend, workspace, by, Span::FirstResponse, &mut rows).await?;
    spans(backend, workspace, by, Span::Close, &mut rows).await?;
    ratings(backend, workspace, by, &mut rows).await?;
    Ok(rows)
}

#[async_trait]
impl ReportStore for Backend {
    async fn report(
        &self,
        workspace: WorkspaceId,
        query: &ReportQuery,
    ) -> Result<Report, StoreError> {
        let rows = figures(
            self,
            workspace,
            &Grouping {
                query,
                group: Some(query.group),
            },
        )
        .await?;
        let totals = figures(self, workspace, &Grouping { query, group: None })
            .await?
            .remove(&GroupKey::All)
            .unwrap_or_default();
        Ok(Report {
            rows: rows.into_iter().collect(),
            totals,
        })
    }
}
