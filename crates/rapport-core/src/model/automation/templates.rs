//! The automations a team starts from, one click each: a greeting, an
//! autoresponder and a lead qualification bot. Each is an ordinary draft,
//! edited and published like any other.

use serde_json::json;

use super::Definition;
use crate::model::ids::AgentId;

/// The templates by name, with the name a new automation gets.
pub const TEMPLATES: [(&str, &str); 3] = [
    ("greeting", "Greeting on the pricing page"),
    ("autoresponder", "Autoresponder when nobody can answer"),
    ("lead_bot", "Lead qualification bot"),
];

/// The template's draft, its messages sent by `from` where a person
/// speaks. `None` for an unknown name.
pub fn template(name: &str, from: AgentId) -> Option<Definition> {
    let value = match name {
        "greeting" => json!({
            "trigger": {"type": "page_visited", "url": {"contains": "/pricing"}, "seconds_on_page": 30},
            "frequency": {"type": "every_days", "days": 7},
            "flow": {"start": "greet", "nodes": [
                {"id": "greet", "type": "send_message", "from": {"agent": from},
                 "body": "Hi {{ user.name | default(\"there\") }}, any questions about our plans? I'm happy to help.",
                 "position": {"x": 40.0, "y": 40.0}}
            ]}
        }),
        "autoresponder" => json!({
            "trigger": {"type": "conversation_started"},
            "frequency": {"type": "every_time"},
            "flow": {"start": "hours", "nodes": [
                {"id": "hours", "type": "business_hours", "exits": {"yes": "team", "no": "reply"},
                 "position": {"x": 40.0, "y": 40.0}},
                {"id": "team", "type": "team_available", "exits": {"no": "reply"},
                 "position": {"x": 40.0, "y": 160.0}},
                {"id": "reply", "type": "send_message", "from": {"agent": from},
                 "body": "Thanks for your message! Nobody from the team can answer right now; we'll reply as soon as we're back.",
                 "exits": {"next": "known"}, "position": {"x": 300.0, "y": 100.0}},
                {"id": "known", "type": "condition", "filter": {"and": [{"prop": "email", "op": "is_set"}]},
                 "exits": {"yes": "assign", "no": "email"}, "position": {"x": 300.0, "y": 220.0}},
                {"id": "email", "type": "ask", "body": "What email address can we reach you at?",
                 "property": "email", "answer": "email", "exits": {"next": "assign", "timed_out": "assign"},
                 "position": {"x": 560.0, "y": 220.0}},
                {"id": "assign", "type": "assign", "to": "round_robin",
                 "position": {"x": 300.0, "y": 340.0}}
            ]}
        }),
        "lead_bot" => json!({
            "trigger": {"type": "page_visited", "url": {"contains": "/"}, "seconds_on_page": 10},
            "frequency": {"type": "once"},
            "flow": {"start": "hello", "nodes": [
                {"id": "hello", "type": "bot_message", "body": "Hi! What brings you here today?",
                 "buttons": ["I want a demo", "Just looking"],
                 "exits": {"button_0": "size"}, "position": {"x": 40.0, "y": 40.0}},
                {"id": "size", "type": "ask", "body": "How many people are on your team?",
                 "property": "team_size", "answer": "choice", "choices": ["1-10", "11-50", "51+"],
                 "exits": {"next": "email"}, "position": {"x": 40.0, "y": 160.0}},
                {"id": "email", "type": "ask", "body": "What's your work email?",
                 "property": "email", "answer": "email",
                 "exits": {"next": "tag"}, "position": {"x": 40.0, "y": 280.0}},
                {"id": "tag", "type": "add_tag", "tag": "lead",
                 "exits": {"next": "handover"}, "position": {"x": 40.0, "y": 400.0}},
                {"id": "handover", "type": "handover", "to": {"agent": from},
                 "message": "Thanks! Someone from sales will be with you.",
                 "position": {"x": 40.0, "y": 520.0}}
            ]}
        }),
        _ => return None,
    };
    serde_json::from_value(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::model::contact::PropTypes;

    #[test]
    fn every_template_is_ready_to_publish() {
        for (name, _) in TEMPLATES {
            let def = template(name, AgentId::generate()).expect(name);
            def.check_publishable(&PropTypes::default(), Timestamp::from_millis(0))
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
        assert!(template("nope", AgentId::generate()).is_none());
    }
}
