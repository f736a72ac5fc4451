//! Webhook endpoints, and the deliveries of events to them.

use async_trait::async_trait;

use super::StoreError;
use crate::Timestamp;
use crate::model::ids::{WebhookDeliveryId, WebhookId, WorkspaceId};
use crate::model::webhook::{Delivery, Endpoint, EndpointSettings, NewEvent};

/// A workspace whose log has entries its webhooks have not seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookWork {
    pub workspace_id: WorkspaceId,
    /// The last log position fanned out.
    pub cursor: i64,
}

/// How one try of a delivery went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub at: Timestamp,
    pub response_status: Option<u16>,
    pub response_body: Option<String>,
    pub latency_ms: Option<u32>,
    /// `None`: delivered (a 2xx).
    pub error: Option<String>,
    /// After a failure: when the next try is (`None`: no more tries).
    pub next_attempt_at: Option<Timestamp>,
}

/// What recording a try did to its endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The endpoint was disabled by this failure (a day of them): its
    /// admins are told.
    pub disabled_now: bool,
}

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores a new endpoint, delivering entries logged from now on;
    /// `Conflict` past [`MAX_ENDPOINTS`](crate::model::webhook::MAX_ENDPOINTS).
    async fn create_webhook(
        &self,
        workspace: WorkspaceId,
        id: WebhookId,
        settings: EndpointSettings,
        secret: String,
        at: Timestamp,
    ) -> Result<Endpoint, StoreError>;
    /// The workspace's endpoints, oldest first.
    async fn webhooks(&self, workspace: WorkspaceId) -> Result<Vec<Endpoint>, StoreError>;
    async fn webhook(&self, workspace: WorkspaceId, id: WebhookId) -> Result<Endpoint, StoreError>;
    /// Replaces an endpoint's settings (a new `secret` if given). Enabling
    /// a disabled one clears why it was disabled and delivers from now on.
    async fn update_webhook(
        &self,
        workspace: WorkspaceId,
        id: WebhookId,
        settings: EndpointSettings,
        secret: Option<String>,
        at: Timestamp,
    ) -> Result<Endpoint, StoreError>;
    /// Deletes an endpoint and its deliveries.
    async fn delete_webhook(&self, workspace: WorkspaceId, id: WebhookId)
    -> Result<(), StoreError>;
    /// The endpoint's deliveries, newest first, before `before` if given.
    async fn webhook_deliveries(
        &self,
        workspace: WorkspaceId,
        id: WebhookId,
        before: Option<WebhookDeliveryId>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    async fn webhook_delivery(
        &self,
        workspace: WorkspaceId,
        id: WebhookDeliveryId,
    ) -> Result<Delivery, StoreError>;
    /// Queues one event to one endpoint, whatever it subscribes to (a
    /// test event), with its job.
    async fn queue_webhook_test(
        &self,
        workspace: WorkspaceId,
        id: WebhookId,
        event: NewEvent,
    ) -> Result<Delivery, StoreError>;
    /// Queues an event that is not a log entry to every enabled endpoint
    /// subscribed to its type; how many deliveries were queued.
    async fn queue_webhook_event(
        &self,
        workspace: WorkspaceId,
        event: NewEvent,
    ) -> Result<usize, StoreError>;
    /// Workspaces with an enabled endpoint whose log has grown past their
    /// webhook cursor.
    async fn webhook_work(&self) -> Result<Vec<WebhookWork>, StoreError>;
    /// In one transaction: queues each event to the enabled endpoints
    /// subscribed to it (and created before the entry was logged) with a
    /// job each, and moves the workspace's cursor from `from` to `to`;
    /// `Conflict` (nothing written) if another server moved it first.
    async fn fan_out_webhooks(
        &self,
        workspace: WorkspaceId,
        from: i64,
        to: i64,
        events: Vec<(i64, NewEvent)>,
        at: Timestamp,
    ) -> Result<usize, StoreError>;
    /// Records a try; on a failure, disables the endpoint if it has
    /// failed every delivery for a day.
    async fn record_webhook_attempt(
        &self,
        workspace: WorkspaceId,
        id: WebhookDeliveryId,
        attempt: DeliveryAttempt,
    ) -> Result<Recorded, StoreError>;
    /// Deletes finished deliveries created before `before` (at most
    /// `limit`); how many.
    async fn prune_webhook_deliveries(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError>;
}
