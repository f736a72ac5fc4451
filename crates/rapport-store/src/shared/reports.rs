//! The Reports section's figures: grouped queries over the conversations'
//! summaries (`conversation_stats`) and ratings in the period, one per
//! figure. Medians and 90th percentiles are nearest-rank, over whole
//! seconds: each span is read once as a histogram (a count per group and
//! second), from which both the groups' and the period's percentiles
//! come.

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

/// What a row of a query is grouped by: the report's grouping.
struct Grouping<'a> {
    query: &'a ReportQuery,
    group: ReportGroup,
}

impl Grouping<'_> {
    /// Pushes the `g` expression: a day number at the query's offset, the
    /// member (`member` column) or the channel.
    fn push(&self, sql: &mut QueryBuilder<Db>, time: &str, member: &str) {
        match self.group {
            ReportGroup::Day => {
                sql.push(format!("(({time} + "))
                    .push_bind(self.query.offset_millis())
                    .push(") / 86400000)");
            }
            ReportGroup::Member => {
                sql.push(member.to_owned());
            }
            ReportGroup::Channel => {
                sql.push("s.channel");
            }
        }
    }

    fn key(&self, row: &DbRow) -> Result<GroupKey, StoreError> {
        Ok(match self.group {
            ReportGroup::Day => GroupKey::Day(row.try_get::<i64, _>("g").map_err(db_err)?),
            ReportGroup::Member => GroupKey::Member(opt_uuid(row, "g")?.map(AgentId::from_uuid)),
            ReportGroup::Channel => {
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
    by.push(&mut sql, "s.started_at", "s.assignee_id");
    sql.push(" AS g, COUNT(*) AS total FROM conversation_stats s");
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

/// The nearest-rank `p`-th percentile (0 < p <= 100) of a histogram of
/// whole seconds, sorted by value, holding `total` values.
fn percentile(histogram: &[(i64, u64)], total: u64, p: u64) -> Option<i64> {
    let rank = (total * p).div_ceil(100).max(1);
    let mut seen = 0;
    histogram.iter().find_map(|(value, n)| {
        seen += n;
        (seen >= rank).then_some(*value)
    })
}

/// Counts, medians and 90th percentiles, from one grouped read of whole
/// seconds per group: each group's histogram, and the period's (their
/// sum), so the percentiles of both come from one pass over the period.
async fn spans(
    backend: &Backend,
    workspace: WorkspaceId,
    by: &Grouping<'_>,
    span: Span,
    into: &mut BTreeMap<GroupKey, Figures>,
    totals: &mut Figures,
) -> Result<(), StoreError> {
    let time = span.column();
    let member = match span {
        Span::FirstResponse => "s.first_responder_id",
        Span::Close => "s.assignee_id",
    };
    let mut sql = QueryBuilder::<Db>::new("SELECT ");
    by.push(&mut sql, time, member);
    sql.push(format!(
        " AS g, ({time} - s.started_at) / 1000 AS v, COUNT(*) AS n FROM conversation_stats s"
    ));
    by.period(&mut sql, workspace, "s.workspace_id", time);
    sql.push(" GROUP BY 1, 2");
    let mut groups: BTreeMap<GroupKey, Vec<(i64, u64)>> = BTreeMap::new();
    let mut all: BTreeMap<i64, u64> = BTreeMap::new();
    for row in sql
        .build()
        .fetch_all(backend.reader())
        .await
        .map_err(db_err)?
    {
        let value = row.try_get::<i64, _>("v").map_err(db_err)?;
        let n = count(&row, "n")?;
        groups.entry(by.key(&row)?).or_default().push((value, n));
        *all.entry(value).or_default() += n;
    }
    let figures = |mut histogram: Vec<(i64, u64)>| {
        histogram.sort_unstable();
        let total: u64 = histogram.iter().map(|(_, n)| n).sum();
        let at = |p| percentile(&histogram, total, p).map(|s| s * 1000);
        durations(total, at(50), at(90))
    };
    let whole = figures(all.into_iter().collect());
    match span {
        Span::FirstResponse => totals.first_response = whole,
        Span::Close => totals.time_to_close = whole,
    }
    for (key, histogram) in groups {
        let entry = into.entry(key).or_default();
        match span {
            Span::FirstResponse => entry.first_response = figures(histogram),
            Span::Close => entry.time_to_close = figures(histogram),
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
    by.push(&mut sql, "r.created_at", "s.assignee_id");
    sql.push(
        " AS g, COUNT(*) AS total,
           SUM(CASE WHEN r.score = 1 THEN 1 ELSE 0 END) AS bad,
           SUM(CASE WHEN r.score = 2 THEN 1 ELSE 0 END) AS ok,
           SUM(CASE WHEN r.score = 3 THEN 1 ELSE 0 END) AS great
         FROM conversation_ratings r JOIN conversation_stats s ON s.conversation_id = r.conversation_id",
    );
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

#[async_trait]
impl ReportStore for Backend {
    async fn report(
        &self,
        workspace: WorkspaceId,
        query: &ReportQuery,
    ) -> Result<Report, StoreError> {
        let by = Grouping {
            query,
            group: query.group,
        };
        // Four queries, each over its own index, at once (each on a reader
        // connection of its own): a report waits for the slowest, not the sum.
        let (mut counts, mut responses, mut closes, mut rated) = (
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
            BTreeMap::new(),
        );
        let (mut totals, mut close_totals) = (Figures::default(), Figures::default());
        futures::try_join!(
            new_conversations(self, workspace, &by, &mut counts),
            spans(
                self,
                workspace,
                &by,
                Span::FirstResponse,
                &mut responses,
                &mut totals,
            ),
            spans(
                self,
                workspace,
                &by,
                Span::Close,
                &mut closes,
                &mut close_totals
            ),
            ratings(self, workspace, &by, &mut rated),
        )?;
        totals.time_to_close = close_totals.time_to_close;
        // Each query filled its own figure of each group's.
        let mut rows: BTreeMap<GroupKey, Figures> = BTreeMap::new();
        for (key, figures) in counts {
            rows.entry(key).or_default().new_conversations = figures.new_conversations;
        }
        for (key, figures) in responses {
            rows.entry(key).or_default().first_response = figures.first_response;
        }
        for (key, figures) in closes {
            rows.entry(key).or_default().time_to_close = figures.time_to_close;
        }
        for (key, figures) in rated {
            rows.entry(key).or_default().ratings = figures.ratings;
        }
        // Counts add up across groups; percentiles came from the histograms.
        for figures in rows.values() {
            totals.new_conversations += figures.new_conversations;
            totals.ratings.count += figures.ratings.count;
            totals.ratings.bad += figures.ratings.bad;
            totals.ratings.ok += figures.ratings.ok;
            totals.ratings.great += figures.ratings.great;
        }
        Ok(Report {
            rows: rows.into_iter().collect(),
            totals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles_from_a_histogram() {
        // 90, 600: the median is the first, the 90th the second.
        let two = [(90, 1), (600, 1)];
        assert_eq!(percentile(&two, 2, 50), Some(90));
        assert_eq!(percentile(&two, 2, 90), Some(600));
        // Ten values 1..=10, 7 seen three times.
        let spread = [(1, 1), (2, 1), (7, 3), (9, 1), (10, 1)];
        assert_eq!(percentile(&spread, 7, 50), Some(7));
        assert_eq!(percentile(&spread, 7, 90), Some(10));
        assert_eq!(percentile(&[], 0, 50), None);
    }
}
