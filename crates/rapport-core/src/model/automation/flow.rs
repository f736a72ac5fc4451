//! A flow: nodes, each one step with named exits that lead to other nodes.
//! A node with no target for an exit ends the run there.
//!
//! The flow is checked before it is saved (sizes, types, ids) and, more
//! strictly, before it is published (every target exists, every node can
//! be reached, no exit dangles that the node can take).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::model::ids::AgentId;
use crate::model::validation::Validator;

/// The most nodes in one flow.
pub const MAX_NODES: usize = 200;
/// The longest message, note or question body.
pub const MAX_BODY: usize = 10_000;
/// The most reply buttons on one bot message, and the longest label.
pub const MAX_BUTTONS: usize = 10;
pub const MAX_LABEL: usize = 80;
/// The longest wait (90 days), in seconds.
pub const MAX_WAIT_SECONDS: u64 = 90 * 24 * 3_600;
/// How long a question waits for an answer when it does not say.
pub const DEFAULT_ANSWER_SECONDS: u64 = 7 * 24 * 3_600;
/// How many times a question is asked again after an answer that does not
/// fit its type, before it takes its `timed_out` exit.
pub const MAX_REASKS: u32 = 2;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// The first node.
    pub start: String,
    pub nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    #[serde(flatten)]
    pub step: Step,
    /// Exit name → the node it leads to.
    #[serde(default)]
    pub exits: BTreeMap<String, String>,
    /// Where the editor draws it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// Who a message is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Bot,
    Agent(AgentId),
}

/// What a question accepts; an answer that does not fit is asked again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerType {
    Text,
    Email,
    Phone,
    Number,
    Choice,
}

/// What a `wait_for` node waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Awaited {
    /// A message from the contact.
    Reply,
    /// A message from the team.
    TeamReply,
    Event {
        name: String,
    },
    PropertyChanged {
        name: String,
    },
}

/// Who an `assign` node hands the conversation to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    Agent(AgentId),
    /// Round robin among the team's available members.
    Team(crate::model::ids::TeamId),
    /// The available member with the fewest open conversations (ties: the
    /// one assigned longest ago).
    RoundRobin,
    Nobody,
}

fn yes() -> bool {
    true
}

/// One step. Serialised flat in its node, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// A chat message through the one message path. Exit: `next`.
    SendMessage {
        from: Sender,
        body: String,
        #[serde(default = "yes")]
        email_fallback: bool,
    },
    /// A note only the team sees, in the run's conversation. Exit: `next`.
    Note {
        body: String,
    },
    SetProperty {
        name: String,
        value: Json,
    },
    UnsetProperty {
        name: String,
    },
    IncrementProperty {
        name: String,
        by: f64,
    },
    AddTag {
        tag: String,
    },
    RemoveTag {
        tag: String,
    },
    Assign {
        to: Assignee,
    },
    Close,
    Snooze {
        minutes: u32,
    },
    Reopen,
    /// Yes/no on a People filter over the contact.
    Condition {
        filter: Json,
    },
    /// Yes/no: inside the workspace's business hours now.
    BusinessHours,
    /// Yes/no: some member (of `team`, if given) online, not away, under
    /// their open limit.
    TeamAvailable {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<crate::model::ids::TeamId>,
    },
    /// `a` for `percent` of contacts, `b` for the rest.
    Split {
        percent: u8,
    },
    /// Yes/no: the contact wrote in the conversation since the run began.
    ContactReplied,
    /// Yes/no: the team wrote in the conversation since the run began.
    TeamReplied,
    /// Waits, then `next`.
    Wait {
        seconds: u64,
    },
    /// Waits until the next `time` of day (`HH:MM`) in the office's time
    /// zone, or (`business_hours`) until business hours are open (at
    /// once if they are). Then `next`.
    WaitUntil {
        #[serde(default)]
        time: Option<super::hours::ClockTime>,
        #[serde(default)]
        business_hours: bool,
    },
    /// Waits for something, at most `timeout_seconds`: `happened` or
    /// `timed_out`.
    WaitFor {
        #[serde(rename = "for")]
        awaited: Awaited,
        timeout_seconds: u64,
    },
    /// A bot message with reply buttons; each button `button_N` (from 0)
    /// is an exit, and `timed_out` when no button is chosen in time.
    BotMessage {
        body: String,
        buttons: Vec<String>,
        #[serde(default)]
        timeout_seconds: Option<u64>,
    },
    /// Asks, checks the answer's type (asking again up to `MAX_REASKS`
    /// times), saves it to `property`. Exits `next`, `timed_out`.
    Ask {
        body: String,
        property: String,
        answer: AnswerType,
        #[serde(default)]
        choices: Vec<String>,
        #[serde(default)]
        timeout_seconds: Option<u64>,
        /// Sent when an answer does not fit (a default says what is
        /// expected).
        #[serde(default)]
        reask: Option<String>,
    },
    /// Posts the run's contact (and its trigger's event) as JSON to `url`,
    /// signed with `secret` when one is given; delivered by a job that
    /// retries, in the same write as the step. Exit: `next` at once.
    Webhook {
        url: String,
        #[serde(default)]
        secret: Option<String>,
    },
    /// Hands the conversation to a person: assigns it, tells the contact
    /// when to expect a reply, ends the run.
    Handover {
        to: Assignee,
        #[serde(default)]
        message: Option<String>,
    },
    /// The AI bot answers the contact's last message from the knowledge
    /// base. Exits: `answered` (it sent the passage and its link),
    /// `handed_over` (the contact asked for a person: the conversation is
    /// assigned per the bot's settings, with the reply time) and
    /// `no_answer` (nothing answers it confidently; nothing is sent).
    AiAnswer,
    /// Ends the run.
    End,
}

impl Step {
    /// The exits this step can take.
    pub fn exits(&self) -> Vec<String> {
        let names: &[&str] = match self {
            Step::Condition { .. }
            | Step::BusinessHours
            | Step::TeamAvailable { .. }
            | Step::ContactReplied
            | Step::TeamReplied => &["yes", "no"],
            Step::Split { .. } => &["a", "b"],
            Step::WaitFor { .. } => &["happened", "timed_out"],
            Step::Ask { .. } => &["next", "timed_out"],
            Step::BotMessage { buttons, .. } => {
                let mut names: Vec<String> =
                    (0..buttons.len()).map(|i| format!("button_{i}")).collect();
                names.push("timed_out".into());
                return names;
            }
            Step::AiAnswer => &["answered", "handed_over", "no_answer"],
            Step::Handover { .. } | Step::End => &[],
            _ => &["next"],
        };
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The `type` as serialised.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::SendMessage { .. } => "send_message",
            Step::Note { .. } => "note",
            Step::SetProperty { .. } => "set_property",
            Step::UnsetProperty { .. } => "unset_property",
            Step::IncrementProperty { .. } => "increment_property",
            Step::AddTag { .. } => "add_tag",
            Step::RemoveTag { .. } => "remove_tag",
            Step::Assign { .. } => "assign",
            Step::Close => "close",
            Step::Snooze { .. } => "snooze",
            Step::Reopen => "reopen",
            Step::Condition { .. } => "condition",
            Step::BusinessHours => "business_hours",
            Step::TeamAvailable { .. } => "team_available",
            Step::Split { .. } => "split",
            Step::ContactReplied => "contact_replied",
            Step::TeamReplied => "team_replied",
            Step::Wait { .. } => "wait",
            Step::WaitUntil { .. } => "wait_until",
            Step::WaitFor { .. } => "wait_for",
            Step::BotMessage { .. } => "bot_message",
            Step::Ask { .. } => "ask",
            Step::Webhook { .. } => "webhook",
            Step::Handover { .. } => "handover",
            Step::AiAnswer => "ai_answer",
            Step::End => "end",
        }
    }

    /// Whether the step waits for the contact or for time.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            Step::Wait { .. }
                | Step::WaitUntil { .. }
                | Step::WaitFor { .. }
                | Step::BotMessage { .. }
                | Step::Ask { .. }
        )
    }

    /// Checks the step's own fields; errors name the field under `at`.
    fn check(&self, at: &str, v: &mut Validator) {
        let text = |v: &mut Validator, field: &str, body: &str| {
            if body.trim().is_empty() || body.len() > MAX_BODY {
                v.push(
                    format!("{at}.{field}"),
                    format!("must be 1 to {MAX_BODY} bytes"),
                );
            } else if let Err(err) = crate::model::template::SnippetTemplate::parse(body) {
                v.push(format!("{at}.{field}"), err.to_string());
            }
        };
        let name = |v: &mut Validator, field: &str, name: &str| {
            if name.is_empty() || name.len() > 255 {
                v.push(format!("{at}.{field}"), "must be 1 to 255 bytes");
            }
        };
        let wait = |v: &mut Validator, field: &str, seconds: u64| {
            if seconds == 0 || seconds > MAX_WAIT_SECONDS {
                v.push(
                    format!("{at}.{field}"),
                    format!("must be 1 to {MAX_WAIT_SECONDS} seconds"),
                );
            }
        };
        match self {
            Step::SendMessage { body, .. } | Step::Note { body } => text(v, "body", body),
            Step::SetProperty { name: n, value } => {
                name(v, "name", n);
                if crate::model::contact::PropValue::from_json(value).is_err() {
                    v.push(
                        format!("{at}.value"),
                        "must be a string, number, boolean or list of strings",
                    );
                }
            }
            Step::UnsetProperty { name: n } => name(v, "name", n),
            Step::IncrementProperty { name: n, by } => {
                name(v, "name", n);
                if !by.is_finite() {
                    v.push(format!("{at}.by"), "must be a finite number");
                }
            }
            Step::AddTag { tag } | Step::RemoveTag { tag } => name(v, "tag", tag),
            Step::Snooze { minutes } => {
                if *minutes == 0 || u64::from(*minutes) * 60 > MAX_WAIT_SECONDS {
                    v.push(format!("{at}.minutes"), "must be 1 to 129600");
                }
            }
            Step::Split { percent } => {
                if *percent > 100 {
                    v.push(format!("{at}.percent"), "must be 0 to 100");
                }
            }
            Step::Wait { seconds } => wait(v, "seconds", *seconds),
            Step::WaitUntil {
                time,
                business_hours,
            } => {
                if time.is_some() == *business_hours {
                    v.push(
                        format!("{at}.time"),
                        "give a time of day, or business_hours: true (one of them)",
                    );
                }
                if time.is_some_and(|t| t.0 >= 24 * 60) {
                    v.push(format!("{at}.time"), "must be 00:00 to 23:59");
                }
            }
            Step::WaitFor {
                awaited,
                timeout_seconds,
            } => {
                wait(v, "timeout_seconds", *timeout_seconds);
                match awaited {
                    Awaited::Event { name: n } | Awaited::PropertyChanged { name: n } => {
                        name(v, "for.name", n);
                    }
                    Awaited::Reply | Awaited::TeamReply => {}
                }
            }
            Step::BotMessage {
                body,
                buttons,
                timeout_seconds,
            } => {
                text(v, "body", body);
                if buttons.is_empty() || buttons.len() > MAX_BUTTONS {
                    v.push(
                        format!("{at}.buttons"),
                        format!("must hold 1 to {MAX_BUTTONS} labels"),
                    );
                }
                let mut seen = BTreeSet::new();
                for (i, label) in buttons.iter().enumerate() {
                    let label = label.trim();
                    if label.is_empty() || label.len() > MAX_LABEL {
                        v.push(
                            format!("{at}.buttons[{i}]"),
                            format!("must be 1 to {MAX_LABEL} bytes"),
                        );
                    } else if !seen.insert(label.to_lowercase()) {
                        v.push(format!("{at}.buttons[{i}]"), "repeats another button");
                    }
                }
                if let Some(seconds) = timeout_seconds {
                    wait(v, "timeout_seconds", *seconds);
                }
            }
            Step::Ask {
                body,
                property,
                answer,
                choices,
                timeout_seconds,
                reask,
            } => {
                text(v, "body", body);
                name(v, "property", property);
                if let Err(err) = crate::model::contact::parse_prop_name(property) {
                    v.push(format!("{at}.property"), err);
                }
                if *answer == AnswerType::Choice
                    && (choices.is_empty() || choices.len() > MAX_BUTTONS)
                {
                    v.push(
                        format!("{at}.choices"),
                        format!("a choice question offers 1 to {MAX_BUTTONS} choices"),
                    );
                }
                if choices
                    .iter()
                    .any(|c| c.trim().is_empty() || c.len() > MAX_LABEL)
                {
                    v.push(
                        format!("{at}.choices"),
                        format!("each choice is 1 to {MAX_LABEL} bytes"),
                    );
                }
                if let Some(seconds) = timeout_seconds {
                    wait(v, "timeout_seconds", *seconds);
                }
                if let Some(reask) = reask {
                    text(v, "reask", reask);
                }
            }
            Step::Webhook { url, secret } => {
                if let Err(why) = check_webhook_url(url) {
                    v.push(format!("{at}.url"), why);
                }
                if secret
                    .as_ref()
                    .is_some_and(|s| s.is_empty() || s.len() > 200)
                {
                    v.push(format!("{at}.secret"), "must be 1 to 200 bytes");
                }
            }
            Step::Handover {
                message: Some(body),
                ..
            } => text(v, "message", body),
            Step::Condition { .. }
            | Step::Assign { .. }
            | Step::Close
            | Step::Reopen
            | Step::BusinessHours
            | Step::TeamAvailable { .. }
            | Step::ContactReplied
            | Step::TeamReplied
            | Step::Handover { message: None, .. }
            | Step::AiAnswer
            | Step::End => {}
        }
    }
}

/// The longest webhook URL.
pub const MAX_URL: usize = 2_000;

/// A webhook's URL: http(s), with a host, no credentials. Whether its host
/// may be reached (not a private address) is decided when it is called.
pub fn check_webhook_url(text: &str) -> Result<url::Url, String> {
    if text.len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} bytes"));
    }
    let url = url::Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("must be an https:// URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("needs a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("may not carry a user name or password (sign with `secret`)".into());
    }
    Ok(url)
}

impl Flow {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Checks what a draft must be to be saved: sizes, ids, each step's
    /// fields, exits the step has. Errors go to `v` under `flow`.
    pub fn check_draft(&self, v: &mut Validator) {
        if self.nodes.len() > MAX_NODES {
            v.push(
                "flow.nodes",
                format!("a flow has at most {MAX_NODES} nodes"),
            );
            return;
        }
        let mut ids = BTreeSet::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let at = format!("flow.nodes[{i}]");
            let id_ok = !node.id.is_empty()
                && node.id.len() <= 64
                && node
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !id_ok {
                v.push(
                    format!("{at}.id"),
                    "must be 1 to 64 letters, digits, `_` or `-`",
                );
            } else if !ids.insert(node.id.as_str()) {
                v.push(format!("{at}.id"), "repeats another node's id");
            }
            node.step.check(&at, v);
            let exits = node.step.exits();
            for name in node.exits.keys() {
                if !exits.contains(name) {
                    v.push(
                        format!("{at}.exits.{name}"),
                        format!(
                            "a {} node has no exit {name:?} (it has: {})",
                            node.step.kind(),
                            if exits.is_empty() {
                                "none".to_owned()
                            } else {
                                exits.join(", ")
                            }
                        ),
                    );
                }
            }
        }
    }

    /// What publishing adds to the draft's checks: the start exists, every
    /// exit leads to a node, every node can be reached from the start.
    /// An exit left out ends the run there (a choice, not a fault).
    pub fn check_publishable(&self, v: &mut Validator) {
        if self.nodes.is_empty() {
            v.push("flow.nodes", "a flow needs at least one node");
            return;
        }
        if self.node(&self.start).is_none() {
            v.push("flow.start", format!("no node has the id {:?}", self.start));
            return;
        }
        for (i, node) in self.nodes.iter().enumerate() {
            for (exit, target) in &node.exits {
                if self.node(target).is_none() {
                    v.push(
                        format!("flow.nodes[{i}].exits.{exit}"),
                        format!("leads to {target:?}, which is not a node of this flow"),
                    );
                }
            }
        }
        let reached = self.reachable();
        for (i, node) in self.nodes.iter().enumerate() {
            if !reached.contains(node.id.as_str()) {
                v.push(
                    format!("flow.nodes[{i}]"),
                    format!("node {:?} cannot be reached from the start", node.id),
                );
            }
        }
    }

    /// The nodes the start leads to, itself included.
    pub fn reachable(&self) -> BTreeSet<&str> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([self.start.as_str()]);
        while let Some(id) = queue.pop_front() {
            let Some(node) = self.node(id) else { continue };
            if seen.insert(node.id.as_str()) {
                queue.extend(node.exits.values().map(String::as_str));
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow(value: Json) -> Flow {
        serde_json::from_value(value).unwrap()
    }

    fn errors(f: &Flow, publish: bool) -> Vec<String> {
        let mut v = Validator::default();
        f.check_draft(&mut v);
        if publish {
            f.check_publishable(&mut v);
        }
        match v.finish() {
            Ok(()) => vec![],
            Err(e) => e.0.into_iter().map(|f| f.field).collect(),
        }
    }

    #[test]
    fn a_flow_reads_and_writes_the_documented_json() {
        let f = flow(json!({
            "start": "hello",
            "nodes": [
                {"id": "hello", "type": "send_message", "from": "bot", "body": "Hi {{ user.name | default(\"there\") }}", "exits": {"next": "ask"}},
                {"id": "ask", "type": "bot_message", "body": "What brings you?", "buttons": ["Pricing", "Support"], "exits": {"button_0": "tag", "button_1": "end"}},
                {"id": "tag", "type": "add_tag", "tag": "pricing", "exits": {"next": "end"}, "position": {"x": 10.0, "y": 20.0}},
                {"id": "end", "type": "end"}
            ]
        }));
        assert_eq!(errors(&f, true), Vec::<String>::new());
        let back = serde_json::to_value(&f).unwrap();
        assert_eq!(back["nodes"][0]["from"], "bot");
        assert_eq!(back["nodes"][1]["type"], "bot_message");
        assert_eq!(flow(back), f);
        let agent = AgentId::generate();
        let f2 = flow(
            json!({"start": "a", "nodes": [{"id": "a", "type": "send_message", "from": {"agent": agent}, "body": "x"}]}),
        );
        assert!(matches!(
            f2.nodes[0].step,
            Step::SendMessage { from: Sender::Agent(a), email_fallback: true, .. } if a == agent
        ));
    }

    #[test]
    fn publishing_refuses_dangling_exits_and_unreachable_nodes() {
        let f = flow(json!({
            "start": "a",
            "nodes": [
                {"id": "a", "type": "condition", "filter": {}, "exits": {"yes": "b", "no": "nowhere"}},
                {"id": "b", "type": "end"},
                {"id": "lost", "type": "close"}
            ]
        }));
        // A draft may be unfinished.
        assert_eq!(errors(&f, false), Vec::<String>::new());
        assert_eq!(
            errors(&f, true),
            vec!["flow.nodes[0].exits.no", "flow.nodes[2]"]
        );
    }

    #[test]
    fn drafts_refuse_exits_a_step_does_not_have_and_bad_fields() {
        let f = flow(json!({
            "start": "a",
            "nodes": [
                {"id": "a", "type": "wait", "seconds": 0, "exits": {"yes": "b"}},
                {"id": "a", "type": "bot_message", "body": "{{ broken", "buttons": ["x", "X"]},
                {"id": "bad id!", "type": "end"}
            ]
        }));
        assert_eq!(
            errors(&f, false),
            vec![
                "flow.nodes[0].seconds",
                "flow.nodes[0].exits.yes",
                "flow.nodes[1].id",
                "flow.nodes[1].body",
                "flow.nodes[1].buttons[1]",
                "flow.nodes[2].id"
            ]
        );
    }

    #[test]
    fn reachability_follows_cycles_without_looping() {
        let f = flow(json!({
            "start": "a",
            "nodes": [
                {"id": "a", "type": "wait", "seconds": 60, "exits": {"next": "b"}},
                {"id": "b", "type": "contact_replied", "exits": {"no": "a", "yes": "c"}},
                {"id": "c", "type": "end"}
            ]
        }));
        assert_eq!(f.reachable().len(), 3);
        assert_eq!(errors(&f, true), Vec::<String>::new());
    }
}
