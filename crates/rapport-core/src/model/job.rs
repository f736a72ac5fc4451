//! Durable jobs. A job is enqueued in the same transaction as the write that
//! causes it, so a crash can never keep the write and lose the job.
//!
//! What a job does is a typed [`Job`]; this module is the one place that
//! turns it into the stored kind, key and payload and back.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::Timestamp;
use crate::model::ids::{
    BulkSendId, ConversationId, ErasureId, JobId, MessageId, RunId, WebhookDeliveryId, WorkspaceId,
};

/// The work a job stands for. Each variant's fields are its payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Job {
    /// Email a conversation's unread burst once it is due, or record why
    /// not (`email::decide`).
    EmailFallback { conversation_id: ConversationId },
    /// Send the next batch of a bulk send's pending recipients.
    BulkSend { bulk_send_id: BulkSendId },
    /// Take an automation run's next steps (its first, one that was
    /// waiting and is due, or one woken early by what it waited for).
    AutomationRun { run_id: RunId },
    /// Post an automation's webhook step; `delivery` (its run and step)
    /// keys it and is sent along, so the receiver can drop a repeat.
    AutomationWebhook {
        delivery: String,
        url: String,
        secret: Option<String>,
        body: Json,
    },
    /// The AI bot's turn on a contact's message (enqueued by the log's
    /// dispatcher, once per message).
    BotReply {
        conversation_id: ConversationId,
        message_id: MessageId,
        seq: i64,
    },
    /// 24 hours after a bot answer: resolved, if nothing more was asked.
    BotSettle {
        conversation_id: ConversationId,
        answered_at: Timestamp,
    },
    /// Copy every contact's value of a custom property that a filter named
    /// into the property index, then mark the property's index ready.
    IndexProperty {
        workspace_id: WorkspaceId,
        name: String,
    },
    /// Delete everything stored about a contact and complete the erasure's
    /// record.
    EraseContact { erasure_id: ErasureId },
    /// Delete the workspace's closed conversations older than its
    /// retention period, a batch at a time; then again a day later.
    ApplyRetention { workspace_id: WorkspaceId },
    /// Post one event to one webhook endpoint, recording how it went;
    /// retried with back-off for about a day.
    WebhookDelivery { delivery_id: WebhookDeliveryId },
    /// Email the team the conversations contacts started, if nobody is
    /// online when it comes due (one pending per workspace: a batch).
    TeamDigest { workspace_id: WorkspaceId },
    /// Delete the workspace's uploads never sent within a day of their
    /// upload (one pending per workspace, due when its oldest one expires).
    SweepUploads { workspace_id: WorkspaceId },
}

/// Why a stored job could not be read back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobParseError {
    /// No job of this kind exists in this version (a newer one may know it).
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    /// A known kind whose payload does not fit it: it never will.
    #[error("the payload of a {kind:?} job does not fit it: {reason}")]
    BadPayload { kind: String, reason: String },
}

impl Job {
    /// Every kind, as stored in the `kind` column.
    pub const KINDS: [&'static str; 12] = [
        "email_fallback",
        "bulk_send",
        "automation_run",
        "automation_webhook",
        "bot_reply",
        "bot_settle",
        "index_property",
        "erase_contact",
        "apply_retention",
        "webhook_delivery",
        "team_digest",
        "sweep_uploads",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            Job::EmailFallback { .. } => Self::KINDS[0],
            Job::BulkSend { .. } => Self::KINDS[1],
            Job::AutomationRun { .. } => Self::KINDS[2],
            Job::AutomationWebhook { .. } => Self::KINDS[3],
            Job::BotReply { .. } => Self::KINDS[4],
            Job::BotSettle { .. } => Self::KINDS[5],
            Job::IndexProperty { .. } => Self::KINDS[6],
            Job::EraseContact { .. } => Self::KINDS[7],
            Job::ApplyRetention { .. } => Self::KINDS[8],
            Job::WebhookDelivery { .. } => Self::KINDS[9],
            Job::TeamDigest { .. } => Self::KINDS[10],
            Job::SweepUploads { .. } => Self::KINDS[11],
        }
    }

    /// At most one pending job per kind and key: enqueuing a second is a
    /// no-op (one email job per conversation carries its burst; one job per
    /// bulk send).
    pub fn key(&self) -> String {
        match self {
            Job::EmailFallback { conversation_id } => conversation_id.to_string(),
            Job::BulkSend { bulk_send_id } => bulk_send_id.to_string(),
            Job::AutomationRun { run_id } => run_id.to_string(),
            Job::AutomationWebhook { delivery, .. } => delivery.clone(),
            Job::BotReply { message_id, .. } => message_id.to_string(),
            Job::BotSettle {
                conversation_id,
                answered_at,
            } => format!("{conversation_id}:{}", answered_at.as_millis()),
            // Keys are unique per kind across workspaces.
            Job::IndexProperty { workspace_id, name } => format!("{workspace_id}:{name}"),
            Job::EraseContact { erasure_id } => erasure_id.to_string(),
            Job::ApplyRetention { workspace_id } => workspace_id.to_string(),
            Job::WebhookDelivery { delivery_id } => delivery_id.to_string(),
            Job::TeamDigest { workspace_id } | Job::SweepUploads { workspace_id } => {
                workspace_id.to_string()
            }
        }
    }

    /// The stored payload: the variant's fields as a JSON object.
    pub fn payload(&self) -> Json {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.remove("kind");
        }
        value
    }

    /// Reads a stored job back.
    pub fn parse(kind: &str, payload: &Json) -> Result<Job, JobParseError> {
        if !Self::KINDS.contains(&kind) {
            return Err(JobParseError::UnknownKind(kind.to_owned()));
        }
        let bad = |reason: String| JobParseError::BadPayload {
            kind: kind.to_owned(),
            reason,
        };
        let Json::Object(fields) = payload else {
            return Err(bad("not a JSON object".into()));
        };
        if fields.contains_key("kind") {
            return Err(bad("unknown field `kind`".into()));
        }
        let mut tagged = fields.clone();
        tagged.insert("kind".into(), Json::String(kind.to_owned()));
        serde_json::from_value(Json::Object(tagged)).map_err(|e| bad(e.to_string()))
    }
}

/// How a job that keeps failing is tried again: after its `n`th failure in
/// a row it waits `first_millis * 2^(n-1)`, at most `max_millis`, and its
/// `tries`th failure is its last (it is failed for good, with the reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_millis: i64,
    pub max_millis: i64,
    pub tries: u32,
}

impl RetryPolicy {
    /// Email: 30 s doubling to an hour, for about a day (31 tries).
    pub const EMAIL: RetryPolicy = RetryPolicy {
        first_millis: 30_000,
        max_millis: 3_600_000,
        tries: 31,
    };
    /// Bulk sends: 10 s doubling to 10 minutes, for about 20 minutes.
    pub const BULK: RetryPolicy = RetryPolicy {
        first_millis: 10_000,
        max_millis: 600_000,
        tries: 8,
    };
    /// Automation runs: 5 s doubling to 10 minutes, for about an hour;
    /// then the run fails with the reason.
    pub const AUTOMATION: RetryPolicy = RetryPolicy {
        first_millis: 5_000,
        max_millis: 600_000,
        tries: 12,
    };
    /// Webhooks: 10 s doubling to an hour, for about a day (31 tries).
    pub const WEBHOOK: RetryPolicy = RetryPolicy {
        first_millis: 10_000,
        max_millis: 3_600_000,
        tries: 31,
    };
    /// A kind this version does not know: kept for about six hours, long
    /// enough for a rolling upgrade to bring a process that knows it.
    pub const UNKNOWN_KIND: RetryPolicy = RetryPolicy {
        first_millis: 60_000,
        max_millis: 3_600_000,
        tries: 12,
    };

    /// How long to wait after the `failures`th failure in a row (from 1).
    pub fn delay_millis(self, failures: u32) -> i64 {
        let doubling = 1_i64 << failures.saturating_sub(1).min(30);
        self.first_millis
            .saturating_mul(doubling)
            .min(self.max_millis)
    }

    /// Whether the `failures`th failure in a row is the last.
    pub fn gives_up(self, failures: u32) -> bool {
        failures >= self.tries
    }
}

impl Job {
    pub fn retry_policy(&self) -> RetryPolicy {
        match self {
            Job::EmailFallback { .. } => RetryPolicy::EMAIL,
            Job::BulkSend { .. } => RetryPolicy::BULK,
            Job::AutomationRun { .. } => RetryPolicy::AUTOMATION,
            Job::AutomationWebhook { .. } | Job::WebhookDelivery { .. } => RetryPolicy::WEBHOOK,
            Job::BotReply { .. }
            | Job::BotSettle { .. }
            | Job::IndexProperty { .. }
            | Job::EraseContact { .. }
            | Job::ApplyRetention { .. }
            | Job::SweepUploads { .. } => RetryPolicy::AUTOMATION,
            Job::TeamDigest { .. } => RetryPolicy::EMAIL,
        }
    }
}

/// A job to insert. The runner claims due jobs atomically and runs them
/// idempotently.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    pub workspace_id: WorkspaceId,
    pub job: Job,
    pub due_at: Timestamp,
    /// The request (or job) that caused it, for the logs
    /// (`crate::request_id`).
    pub request_id: Option<String>,
}

impl NewJob {
    /// A job due at `due_at`, with a fresh id, caused by the current
    /// request (or job), if any.
    pub fn new(workspace_id: WorkspaceId, job: Job, due_at: Timestamp) -> Self {
        Self {
            id: JobId::generate(),
            workspace_id,
            job,
            due_at,
            request_id: crate::request_id::current(),
        }
    }
}

/// A job a worker holds until `claimed_until`. `attempts` counts claims and
/// fences the holder: settling with an older count is refused. `failures`
/// counts failures in a row (`retry_job`), for the back-off and its cap.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub workspace_id: WorkspaceId,
    /// The kind as stored, and the job read from it and its payload.
    pub kind: String,
    pub job: Result<Job, JobParseError>,
    pub due_at: Timestamp,
    pub attempts: u32,
    pub failures: u32,
    pub created_at: Timestamp,
    /// The request (or job) that caused it, if known.
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn every_kind() -> Vec<Job> {
        vec![
            Job::EmailFallback {
                conversation_id: ConversationId::generate(),
            },
            Job::BulkSend {
                bulk_send_id: BulkSendId::generate(),
            },
            Job::AutomationRun {
                run_id: RunId::generate(),
            },
            Job::AutomationWebhook {
                delivery: "run:3".into(),
                url: "https://hooks.example/x".into(),
                secret: None,
                body: serde_json::json!({"a": 1}),
            },
            Job::BotReply {
                conversation_id: ConversationId::generate(),
                message_id: MessageId::generate(),
                seq: 7,
            },
            Job::BotSettle {
                conversation_id: ConversationId::generate(),
                answered_at: Timestamp::from_millis(5),
            },
            Job::IndexProperty {
                workspace_id: WorkspaceId::generate(),
                name: "plan".into(),
            },
            Job::EraseContact {
                erasure_id: ErasureId::generate(),
            },
            Job::ApplyRetention {
                workspace_id: WorkspaceId::generate(),
            },
            Job::WebhookDelivery {
                delivery_id: WebhookDeliveryId::generate(),
            },
            Job::TeamDigest {
                workspace_id: WorkspaceId::generate(),
            },
            Job::SweepUploads {
                workspace_id: WorkspaceId::generate(),
            },
        ]
    }

    #[test]
    fn every_job_reads_back_as_it_was_stored() {
        let jobs = every_kind();
        assert_eq!(jobs.len(), Job::KINDS.len());
        for job in jobs {
            assert!(Job::KINDS.contains(&job.kind()));
            assert!(job.payload().get("kind").is_none(), "{}", job.payload());
            assert_eq!(Job::parse(job.kind(), &job.payload()), Ok(job));
        }
    }

    #[test]
    fn payloads_keep_the_shape_stored_before_jobs_were_typed() {
        let id = ConversationId::generate();
        let job = Job::parse("email_fallback", &json!({ "conversation_id": id })).unwrap();
        assert_eq!(
            job,
            Job::EmailFallback {
                conversation_id: id
            }
        );
        assert_eq!(job.key(), id.to_string());
        let send = BulkSendId::generate();
        assert_eq!(
            Job::BulkSend { bulk_send_id: send }.payload(),
            json!({ "bulk_send_id": send })
        );
    }

    #[test]
    fn retries_back_off_to_a_cap_then_give_up() {
        let email = RetryPolicy::EMAIL;
        assert_eq!(email.delay_millis(1), 30_000);
        assert_eq!(email.delay_millis(2), 60_000);
        assert_eq!(email.delay_millis(30), 3_600_000);
        assert_eq!(email.delay_millis(u32::MAX), 3_600_000);
        // Email keeps trying for about a day before it gives up.
        let waited: i64 = (1..email.tries).map(|n| email.delay_millis(n)).sum();
        assert!(
            (24 * 3_600_000..25 * 3_600_000).contains(&waited),
            "{waited}"
        );
        assert!(!email.gives_up(email.tries - 1));
        assert!(email.gives_up(email.tries));
        for policy in [
            RetryPolicy::BULK,
            RetryPolicy::AUTOMATION,
            RetryPolicy::UNKNOWN_KIND,
        ] {
            assert!(policy.delay_millis(1) < policy.delay_millis(2));
            assert_eq!(policy.delay_millis(policy.tries), policy.max_millis);
        }
    }

    #[test]
    fn unknown_kinds_and_garbled_payloads_are_errors_not_panics() {
        assert_eq!(
            Job::parse("resume_flow", &json!({})),
            Err(JobParseError::UnknownKind("resume_flow".into()))
        );
        for garbled in [
            json!(null),
            json!([1, 2]),
            json!({}),
            json!({ "bulk_send_id": "not an id" }),
            json!({ "bulk_send_id": BulkSendId::generate(), "extra": 1 }),
            json!({ "bulk_send_id": BulkSendId::generate(), "kind": "email_fallback" }),
        ] {
            assert!(
                matches!(
                    Job::parse("bulk_send", &garbled),
                    Err(JobParseError::BadPayload { .. })
                ),
                "{garbled}"
            );
        }
    }
}
