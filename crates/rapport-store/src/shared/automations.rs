//! Automations, their runs, and what their conditions read. (Being written.)

use super::*;
use rapport_core::model::automation::hours::Office;
use rapport_core::model::automation::run::{AutomationStats, NewRun, Run, RunLogEntry};
use rapport_core::model::automation::{
    Automation, AutomationStatus, Definition, RunsOnPublish, Version,
};
use rapport_core::model::filter::Filter;
use rapport_core::model::ids::{AutomationId, RunId};

fn unbuilt<T>() -> Result<T, StoreError> {
    Err(StoreError::Other("not built yet".into()))
}

#[async_trait]
impl AutomationStore for Backend {
    async fn create_automation(&self, _new: NewAutomation) -> Result<Automation, StoreError> {
        unbuilt()
    }
    async fn automation(
        &self,
        _workspace: WorkspaceId,
        _id: AutomationId,
    ) -> Result<Automation, StoreError> {
        unbuilt()
    }
    async fn automations(&self, _workspace: WorkspaceId) -> Result<Vec<Automation>, StoreError> {
        unbuilt()
    }
    async fn save_draft(
        &self,
        _workspace: WorkspaceId,
        _id: AutomationId,
        _name: String,
        _draft: Definition,
        _at: Timestamp,
    ) -> Result<Automation, StoreError> {
        unbuilt()
    }
    async fn delete_automation(
        &self,
        _workspace: WorkspaceId,
        _id: AutomationId,
        _at: Timestamp,
    ) -> Result<(), StoreError> {
        unbuilt()
    }
    async fn publish_automation(
        &self,
        _workspace: WorkspaceId,
        _id: AutomationId,
        _by: Option<AgentId>,
        _runs: RunsOnPublish,
        _at: Timestamp,
    ) -> Result<Published, StoreError> {
        unbuilt()
    }
    async fn set_automation_status(
        &self,
        _workspace: WorkspaceId,
        _id: AutomationId,
        _status: AutomationStatus,
        _at: Timestamp,
    ) -> Result<Automation, StoreError> {
        unbuilt()
    }
    async fn versions(
        &self,
        _workspace: WorkspaceId,
        _id: AutomationId,
    ) -> Result<Vec<Version>, StoreError> {
        unbuilt()
    }
    async fn version(
        &self,
        _workspace: WorkspaceId,
        _id: AutomationId,
        _version: u32,
    ) -> Result<Version, StoreError> {
        unbuilt()
    }
    async fn automation_stats(
        &self,
        _workspace: WorkspaceId,
        _id: AutomationId,
    ) -> Result<AutomationStats, StoreError> {
        unbuilt()
    }
}

#[async_trait]
impl RunStore for Backend {
    async fn wake_runs(
        &self,
        _workspace: WorkspaceId,
        _runs: &[RunId],
        _at: Timestamp,
    ) -> Result<(), StoreError> {
        unbuilt()
    }
    async fn dispatch_work(&self) -> Result<Vec<DispatchWork>, StoreError> {
        unbuilt()
    }
    async fn live_versions(&self, _workspace: WorkspaceId) -> Result<Vec<Version>, StoreError> {
        unbuilt()
    }
    async fn dispatch(&self, _dispatch: Dispatch) -> Result<Vec<RunId>, StoreError> {
        unbuilt()
    }
    async fn start_run(&self, _new: NewRun) -> Result<Run, StoreError> {
        unbuilt()
    }
    async fn run(&self, _workspace: WorkspaceId, _id: RunId) -> Result<Run, StoreError> {
        unbuilt()
    }
    async fn runs(
        &self,
        _workspace: WorkspaceId,
        _query: RunQuery,
    ) -> Result<Vec<Run>, StoreError> {
        unbuilt()
    }
    async fn run_log(
        &self,
        _workspace: WorkspaceId,
        _id: RunId,
    ) -> Result<Vec<RunLogEntry>, StoreError> {
        unbuilt()
    }
    async fn waiting_runs(
        &self,
        _workspace: WorkspaceId,
        _contacts: &[ContactId],
    ) -> Result<Vec<Run>, StoreError> {
        unbuilt()
    }
    async fn advance_run(&self, _advance: RunAdvance) -> Result<Advanced, StoreError> {
        unbuilt()
    }
    async fn stop_run(
        &self,
        _workspace: WorkspaceId,
        _id: RunId,
        _reason: &str,
        _at: Timestamp,
    ) -> Result<Run, StoreError> {
        unbuilt()
    }
}

#[async_trait]
impl ConditionStore for Backend {
    async fn matching_contacts(
        &self,
        _workspace: WorkspaceId,
        _filter: &Filter,
        _online: &[ContactId],
        _among: &[ContactId],
    ) -> Result<Vec<ContactId>, StoreError> {
        unbuilt()
    }
    async fn automated_messages_since(
        &self,
        _workspace: WorkspaceId,
        _contact: ContactId,
        _since: Timestamp,
    ) -> Result<u32, StoreError> {
        unbuilt()
    }
    async fn replies_since(
        &self,
        _workspace: WorkspaceId,
        _conversation: ConversationId,
        _since: Timestamp,
    ) -> Result<(bool, bool), StoreError> {
        unbuilt()
    }
    async fn latest_page_view(
        &self,
        _workspace: WorkspaceId,
        _contact: ContactId,
    ) -> Result<Option<i64>, StoreError> {
        unbuilt()
    }
    async fn contact_activity_after(
        &self,
        _workspace: WorkspaceId,
        _contact: ContactId,
        _seq: i64,
        _limit: u32,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        unbuilt()
    }
    async fn office(&self, _workspace: WorkspaceId) -> Result<Office, StoreError> {
        unbuilt()
    }
    async fn save_office(
        &self,
        _workspace: WorkspaceId,
        _office: Office,
    ) -> Result<(), StoreError> {
        unbuilt()
    }
    async fn availability(&self, _workspace: WorkspaceId) -> Result<Vec<Availability>, StoreError> {
        unbuilt()
    }
    async fn set_availability(
        &self,
        _workspace: WorkspaceId,
        _agent: AgentId,
        _away: bool,
        _max_open: Option<u32>,
    ) -> Result<(), StoreError> {
        unbuilt()
    }
}
