//! Automations: a trigger, an audience, a flow of steps, a frequency rule
//! and a status, with immutable published versions. A run is one contact's
//! way through one version, kept in the database between steps; see
//! `services::automations` for how runs start and advance.

pub mod answer;
pub mod flow;
pub mod hours;
pub mod run;
pub mod templates;
pub mod trigger;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::Timestamp;
use crate::model::contact::PropTypes;
use crate::model::filter::Filter;
use crate::model::ids::{AgentId, AutomationId, RunId, WorkspaceId};
use crate::model::validation::{ValidationError, Validator, single_line_text};

pub use flow::{Flow, Node, Step};
pub use trigger::Trigger;

/// The most automations one workspace may have.
pub const MAX_AUTOMATIONS: u32 = 500;
/// The largest definition, as JSON.
pub const MAX_DEFINITION_BYTES: usize = 512 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutomationStatus {
    /// Never published: nothing runs.
    Draft,
    /// Its live version starts runs.
    Live,
    /// Starts no runs; runs already going carry on.
    Paused,
}

impl AutomationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AutomationStatus::Draft => "draft",
            AutomationStatus::Live => "live",
            AutomationStatus::Paused => "paused",
        }
    }
}

impl std::str::FromStr for AutomationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "draft" => Ok(Self::Draft),
            "live" => Ok(Self::Live),
            "paused" => Ok(Self::Paused),
            other => Err(format!("unknown automation status {other:?}")),
        }
    }
}

/// How often a contact may go through an automation. Whatever the rule, a
/// contact is never in two runs of the same automation at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Frequency {
    /// Once per contact, ever.
    Once,
    /// At most once in any `days` days.
    EveryDays { days: u32 },
    /// Every time the trigger fires (when no run is going).
    EveryTime,
}

impl Frequency {
    /// The window in which an earlier run keeps a new one from starting:
    /// `None` for ever, `Some(0)` for no window.
    pub fn window_millis(self) -> Option<i64> {
        match self {
            Frequency::Once => None,
            Frequency::EveryDays { days } => Some(i64::from(days) * 86_400_000),
            Frequency::EveryTime => Some(0),
        }
    }
}

/// What a version freezes and the draft edits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub trigger: Trigger,
    /// Who may enter: a People filter (JSON, as the People section writes
    /// it); `null` for everyone.
    #[serde(default)]
    pub audience: Option<Json>,
    /// Reaching it ends a run and counts a conversion (a People filter).
    #[serde(default)]
    pub goal: Option<Json>,
    pub frequency: Frequency,
    pub flow: Flow,
}

impl Definition {
    /// Checks a definition that is saved as a draft: every field's own
    /// rules, the filters against the workspace's properties.
    pub fn check_draft(&self, types: &PropTypes, now: Timestamp) -> Result<(), ValidationError> {
        let mut v = Validator::default();
        self.check_into(&mut v, types, now);
        v.finish()
    }

    /// Checks a definition before it is published: the draft's checks and
    /// the flow's graph (`Flow::check_publishable`).
    pub fn check_publishable(
        &self,
        types: &PropTypes,
        now: Timestamp,
    ) -> Result<(), ValidationError> {
        let mut v = Validator::default();
        self.check_into(&mut v, types, now);
        self.flow.check_publishable(&mut v);
        v.finish()
    }

    /// The workspace's property types plus those the flow itself sets (a
    /// property set, incremented or asked for): a condition may test an
    /// answer before any contact has given one. Stored types win.
    pub fn declared_types(&self, types: &PropTypes) -> PropTypes {
        use crate::model::contact::{PropType, PropValue, system_property};
        let mut all = types.clone();
        for node in &self.flow.nodes {
            let declared = match &node.step {
                Step::SetProperty { name, value } => PropValue::from_json(value)
                    .ok()
                    .map(|v| (name, v.prop_type())),
                Step::IncrementProperty { name, .. } => Some((name, PropType::Number)),
                Step::Ask {
                    property, answer, ..
                } => Some((
                    property,
                    if *answer == flow::AnswerType::Number {
                        PropType::Number
                    } else {
                        PropType::String
                    },
                )),
                _ => None,
            };
            if let Some((name, ty)) = declared
                && system_property(name).is_none()
            {
                all.entry(name.clone()).or_insert(ty);
            }
        }
        all
    }

    fn check_into(&self, v: &mut Validator, types: &PropTypes, now: Timestamp) {
        let types = &self.declared_types(types);
        if let Err((field, message)) = self.trigger.check() {
            v.push(format!("trigger.{field}"), message);
        }
        if let Trigger::DateReached { property, .. } = &self.trigger
            && types.get(property) != Some(&crate::model::contact::PropType::Datetime)
        {
            v.push(
                "trigger.property",
                format!("{property:?} is not a date-time property of this workspace"),
            );
        }
        if let Frequency::EveryDays { days } = self.frequency
            && !(1..=3650).contains(&days)
        {
            v.push("frequency.days", "must be 1 to 3650");
        }
        for (field, filter) in [("audience", &self.audience), ("goal", &self.goal)] {
            if let Some(json) = filter
                && let Err(err) = Filter::parse(json, types, now)
            {
                for fault in err.0 {
                    let at = fault.field.replacen("filter", field, 1);
                    v.push(at, fault.message);
                }
            }
        }
        self.flow.check_draft(v);
        let mut filters = Vec::new();
        for (i, node) in self.flow.nodes.iter().enumerate() {
            if let Step::Condition { filter } = &node.step {
                filters.push((i, filter));
            }
        }
        for (i, filter) in filters {
            if let Err(err) = Filter::parse(filter, types, now) {
                for fault in err.0 {
                    let at = fault
                        .field
                        .replacen("filter", &format!("flow.nodes[{i}].filter"), 1);
                    v.push(at, fault.message);
                }
            }
        }
    }
}

/// An automation as the team sees it: its draft, its status and its latest
/// published version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Automation {
    pub id: AutomationId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub status: AutomationStatus,
    pub draft: Definition,
    /// The version runs start on while live; `None` before the first
    /// publish.
    pub live_version: Option<u32>,
    /// Whether the draft differs from the live version.
    pub draft_changed: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Automation {
    pub fn check_name(name: &str) -> Result<String, ValidationError> {
        single_line_text(name, 120).map_err(|e| ValidationError::field("name", e))
    }
}

/// A published, immutable version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Version {
    pub automation_id: AutomationId,
    pub version: u32,
    pub definition: Definition,
    pub published_at: Timestamp,
    pub published_by: Option<AgentId>,
}

/// What happens at publish to runs on older versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunsOnPublish {
    /// They finish on the version they started on.
    #[default]
    Finish,
    /// They move to the new version, each at the node of the same id
    /// (refused if a node a run waits at is gone).
    Migrate,
    /// They are stopped.
    Stop,
}

/// Why an entry in the log happened, when an automation made it: carried by
/// the messages, contact changes and conversation changes a run makes, so
/// that no automation re-triggers itself and chains stay shallow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cause {
    pub automation_id: AutomationId,
    pub run_id: RunId,
    pub node: String,
    /// 0 for a run started by a person's action, +1 per automation between.
    pub depth: u8,
}

/// What a message sent by an automation carries: its cause, and for a bot
/// question what the widget offers (buttons, or a typed input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageOrigin {
    /// The automation run that sent it; none for the AI bot's messages.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub input: Option<flow::AnswerType>,
    /// The articles an AI bot's answer was taken from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<crate::model::bot::Source>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_origin_reads_with_or_without_an_automation() {
        let run = json!({"automation_id": AutomationId::generate(), "run_id": RunId::generate(),
            "node": "ask", "depth": 0, "buttons": ["Yes"]});
        let origin: MessageOrigin = serde_json::from_value(run.clone()).unwrap();
        assert_eq!(origin.cause.as_ref().unwrap().node, "ask");
        assert_eq!(serde_json::to_value(&origin).unwrap(), run);
        let bot = json!({"buttons": ["Yes, thanks", "No"]});
        let origin: MessageOrigin = serde_json::from_value(bot.clone()).unwrap();
        assert!(origin.cause.is_none());
        assert_eq!(serde_json::to_value(&origin).unwrap(), bot);
    }

    #[test]
    fn a_definition_names_every_fault_by_its_path() {
        let def: Definition = serde_json::from_value(json!({
            "trigger": {"type": "no_team_reply", "minutes": 0},
            "audience": {"and": [{"prop": "plan", "op": "nope", "value": 1}]},
            "frequency": {"type": "every_days", "days": 0},
            "flow": {"start": "a", "nodes": [{"id": "a", "type": "wait", "seconds": 5}]}
        }))
        .unwrap();
        let err = def
            .check_draft(&PropTypes::default(), Timestamp::from_millis(0))
            .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields[0], "trigger.minutes");
        assert_eq!(fields[1], "frequency.days");
        assert!(fields[2].starts_with("audience"), "{fields:?}");
    }

    #[test]
    fn frequencies_read_as_documented() {
        let f: Frequency =
            serde_json::from_value(json!({"type": "every_days", "days": 7})).unwrap();
        assert_eq!(f.window_millis(), Some(7 * 86_400_000));
        assert_eq!(Frequency::Once.window_millis(), None);
        assert_eq!(Frequency::EveryTime.window_millis(), Some(0));
    }
}
