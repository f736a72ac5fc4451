//! What an automation's runs did, for its report: runs by status, and per
//! version and node the runs that did it, the messages it sent, how many
//! of those were read and answered, and the exits taken.

use std::collections::BTreeMap;

use super::*;
use rapport_core::model::automation::run::{AutomationStats, NodeStats, RunStatus};
use rapport_core::model::ids::AutomationId;

/// What an automation's runs did: by status, and per version and node.
pub(super) async fn automation_stats<'e, E>(
    executor: E,
    workspace: WorkspaceId,
    id: AutomationId,
) -> Result<AutomationStats, StoreError>
where
    E: sqlx::Executor<'e, Database = Db> + Copy,
{
    let count = |n: i64| u64::try_from(n).map_err(data_err);
    let mut stats = AutomationStats::default();
    let by_status: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*), COALESCE(SUM(CASE WHEN goal_reached THEN 1 ELSE 0 END), 0)
         FROM automation_runs WHERE workspace_id = $1 AND automation_id = $2 GROUP BY status",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_all(executor)
    .await
    .map_err(db_err)?;
    for (status, runs, goal) in by_status {
        let runs = count(runs)?;
        stats.runs += runs;
        stats.goal_reached += count(goal)?;
        match status
            .parse::<RunStatus>()
            .map_err(|e| StoreError::Other(e.into()))?
        {
            RunStatus::Active | RunStatus::Waiting => stats.going += runs,
            RunStatus::Done => stats.done += runs,
            RunStatus::Stopped => stats.stopped += runs,
            RunStatus::Failed => stats.failed += runs,
        }
    }

    // A message is read when its conversation was read up to it, replied
    // to when the contact wrote in its conversation after it.
    let by_node: Vec<(i64, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT l.version, l.node, COUNT(DISTINCT l.run_id), COUNT(l.message_id),
           COALESCE(SUM(CASE WHEN c.contact_read_at >= m.created_at THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM messages r
             WHERE r.conversation_id = m.conversation_id AND r.author_type = 'contact'
               AND r.created_at > m.created_at) THEN 1 ELSE 0 END), 0)
         FROM automation_run_log l
         LEFT JOIN messages m ON m.id = l.message_id
         LEFT JOIN conversations c ON c.id = m.conversation_id
         WHERE l.workspace_id = $1 AND l.automation_id = $2
         GROUP BY l.version, l.node",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_all(executor)
    .await
    .map_err(db_err)?;
    let mut nodes: BTreeMap<(i64, String), NodeStats> = BTreeMap::new();
    for (version, node, entered, sent, read, replied) in by_node {
        stats.sent += count(sent)?;
        nodes.insert(
            (version, node.clone()),
            NodeStats {
                version: u32::try_from(version).map_err(data_err)?,
                node,
                entered: count(entered)?,
                sent: count(sent)?,
                read: count(read)?,
                replied: count(replied)?,
                exits: BTreeMap::new(),
            },
        );
    }
    let exits: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT version, node, exit, COUNT(*) FROM automation_run_log
         WHERE workspace_id = $1 AND automation_id = $2 AND exit IS NOT NULL
         GROUP BY version, node, exit",
    )
    .bind(workspace.as_uuid())
    .bind(id.as_uuid())
    .fetch_all(executor)
    .await
    .map_err(db_err)?;
    for (version, node, exit, taken) in exits {
        if let Some(stats) = nodes.get_mut(&(version, node)) {
            stats.exits.insert(exit, count(taken)?);
        }
    }
    stats.nodes = nodes.into_values().collect();
    Ok(stats)
}
