//! The Reports section's figures.

use async_trait::async_trait;

use super::StoreError;
use crate::model::ids::WorkspaceId;
use crate::model::report::{Report, ReportQuery};

#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
    /// The workspace's figures for the period, grouped as asked: new
    /// conversations by when they started, first responses by when they
    /// were given (conversations the visitor started), closes by the
    /// latest close, ratings by when they were given.
    async fn report(
        &self,
        workspace: WorkspaceId,
        query: &ReportQuery,
    ) -> Result<Report, StoreError>;
}
