//! What starts a run: a trigger, matched against one activity-log entry.
//!
//! Triggers read the log, not the request that caused an entry, so every
//! trigger sees exactly what the timeline shows, in the log's order, and a
//! run is started once per entry however many servers read the log.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::Timestamp;
use crate::model::activity::{Activity, ActivityEntry, PAGE_VIEW};
use crate::model::conversation::{Author, ConversationStatus, PartKind};
use crate::model::ids::{AutomationId, ConversationId};

use super::Cause;

/// How deep automations may set each other off: an entry an automation
/// caused at depth `MAX_DEPTH` starts nothing.
pub const MAX_DEPTH: u8 = 3;
/// The longest delay a trigger may ask for (30 days), in minutes.
pub const MAX_DELAY_MINUTES: u32 = 30 * 24 * 60;
/// The longest time on page a trigger may ask for (one hour).
pub const MAX_SECONDS_ON_PAGE: u32 = 3_600;
/// The longest URL pattern.
pub const MAX_PATTERN: usize = 500;

/// The event a tracked session start is logged as.
pub const SESSION_START: &str = "$session_start";

/// What starts a run of an automation for a contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A page view whose URL matches, after the visitor stayed
    /// `seconds_on_page` on it (checked again then: a visitor who moved on
    /// is not greeted).
    PageVisited {
        url: UrlMatch,
        #[serde(default)]
        seconds_on_page: u32,
    },
    /// A new visit (after 30 minutes away) began.
    SessionStarted,
    /// The business tracked this event.
    EventTracked {
        name: String,
    },
    /// This property was set, changed or unset.
    PropertyChanged {
        name: String,
    },
    TagAdded {
        tag: String,
    },
    ContactCreated,
    /// The contact wrote the first message of a new conversation.
    ConversationStarted,
    /// The contact wrote in a conversation that was already going.
    ContactReplied,
    /// The contact has waited `minutes` for the team since their message
    /// (checked again then: a team reply in between cancels it).
    NoTeamReply {
        minutes: u32,
    },
    /// The team wrote and the contact has not answered for `minutes`.
    ContactUnresponsive {
        minutes: u32,
    },
    /// A conversation's status changed (to `to`, if given).
    StatusChanged {
        #[serde(default)]
        to: Option<ConversationStatus>,
    },
    /// A date-time property of the contact comes due: `offset_days` after
    /// it (negative: before it, such as three days before `trial_ends_at`).
    /// Found by a scan every minute, not by the log; one run per contact
    /// and date.
    DateReached {
        property: String,
        #[serde(default)]
        offset_days: i32,
    },
    /// Only started by hand or through the API, for one contact.
    Manual,
}

/// How a page's URL is matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UrlMatch {
    Equals(String),
    Contains(String),
    /// A regular expression (linear-time; size-bounded).
    Matches(String),
}

impl UrlMatch {
    fn pattern(&self) -> &str {
        match self {
            UrlMatch::Equals(p) | UrlMatch::Contains(p) | UrlMatch::Matches(p) => p,
        }
    }

    /// Compiles a `matches` pattern with a bound on its size.
    fn regex(pattern: &str) -> Result<regex::Regex, String> {
        regex::RegexBuilder::new(pattern)
            .size_limit(256 * 1024)
            .dfa_size_limit(256 * 1024)
            .build()
            .map_err(|e| format!("is not a regular expression this server accepts: {e}"))
    }

    pub fn check(&self) -> Result<(), String> {
        let pattern = self.pattern();
        if pattern.is_empty() || pattern.len() > MAX_PATTERN {
            return Err(format!("must be 1 to {MAX_PATTERN} bytes"));
        }
        if let UrlMatch::Matches(p) = self {
            Self::regex(p)?;
        }
        Ok(())
    }

    pub fn is_match(&self, url: &str) -> bool {
        match self {
            UrlMatch::Equals(p) => url == p,
            UrlMatch::Contains(p) => url.contains(p.as_str()),
            UrlMatch::Matches(p) => compiled(p).is_some_and(|re| re.is_match(url)),
        }
    }
}

/// The patterns compiled so far (each page view of a workspace with a
/// `matches` trigger is tested against it): at most `CACHED` kept.
fn compiled(pattern: &str) -> Option<regex::Regex> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    const CACHED: usize = 512;
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = cache.get(pattern) {
        return found.clone();
    }
    if cache.len() >= CACHED {
        cache.clear();
    }
    let re = UrlMatch::regex(pattern).ok();
    cache.insert(pattern.to_owned(), re.clone());
    re
}

/// What must still hold when a delayed trigger comes due, or the run ends
/// without doing anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Recheck {
    /// The contact's latest page view is still the one at `seq`.
    StillOnPage { seq: i64 },
    /// No team comment in the conversation since `since`.
    NoTeamReplySince { since: Timestamp },
    /// No message from the contact in the conversation since `since`.
    NoContactReplySince { since: Timestamp },
}

/// A trigger that matched an entry: what the run starts with.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerMatch {
    /// The conversation the run works in, when the entry has one.
    pub conversation_id: Option<ConversationId>,
    /// When the run's first step is due: the entry's time plus the
    /// trigger's delay (a delay counts from the event, not from when it
    /// was read).
    pub due_at: Timestamp,
    pub recheck: Option<Recheck>,
    /// The tracked event, for `{{ event.* }}`.
    pub event: Option<(String, Json)>,
    /// How many automations led to this entry.
    pub depth: u8,
}

/// What the dispatcher knows beyond the entry itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct EntryFacts {
    /// The entry is a contact's message that started its conversation.
    pub starts_conversation: bool,
}

impl Trigger {
    /// Checks the trigger's own fields (sizes, patterns).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let name_ok = |name: &str| -> Result<(), String> {
            if name.is_empty() || name.len() > 255 {
                Err("must be 1 to 255 bytes".into())
            } else {
                Ok(())
            }
        };
        match self {
            Trigger::PageVisited {
                url,
                seconds_on_page,
            } => {
                url.check().map_err(|e| ("url", e))?;
                if *seconds_on_page > MAX_SECONDS_ON_PAGE {
                    return Err((
                        "seconds_on_page",
                        format!("is at most {MAX_SECONDS_ON_PAGE}"),
                    ));
                }
            }
            Trigger::EventTracked { name } | Trigger::PropertyChanged { name } => {
                name_ok(name).map_err(|e| ("name", e))?;
            }
            Trigger::TagAdded { tag } => name_ok(tag).map_err(|e| ("tag", e))?,
            Trigger::DateReached {
                property,
                offset_days,
            } => {
                name_ok(property).map_err(|e| ("property", e))?;
                if offset_days.unsigned_abs() > 3_650 {
                    return Err(("offset_days", "must be -3650 to 3650".into()));
                }
            }
            Trigger::NoTeamReply { minutes } | Trigger::ContactUnresponsive { minutes } => {
                if *minutes == 0 || *minutes > MAX_DELAY_MINUTES {
                    return Err(("minutes", format!("must be 1 to {MAX_DELAY_MINUTES}")));
                }
            }
            Trigger::SessionStarted
            | Trigger::ContactCreated
            | Trigger::ConversationStarted
            | Trigger::ContactReplied
            | Trigger::StatusChanged { .. }
            | Trigger::Manual => {}
        }
        Ok(())
    }

    /// Whether this entry starts a run of automation `own` for its contact,
    /// and how. An entry an automation caused never starts that same
    /// automation, and one caused `MAX_DEPTH` deep starts none.
    pub fn matches(
        &self,
        own: AutomationId,
        entry: &ActivityEntry,
        facts: EntryFacts,
    ) -> Option<TriggerMatch> {
        let cause = cause_of(&entry.activity);
        if let Some(cause) = cause
            && (cause.automation_id == own || cause.depth >= MAX_DEPTH)
        {
            return None;
        }
        let depth = cause.map_or(0, |c| c.depth + 1);
        let at = entry.created_at;
        let later = |millis: i64| Timestamp::from_millis(at.as_millis().saturating_add(millis));
        let plain = |conversation_id| TriggerMatch {
            conversation_id,
            due_at: at,
            recheck: None,
            event: None,
            depth,
        };
        let conversation = entry.conversation_id;
        match (self, &entry.activity) {
            (
                Trigger::PageVisited {
                    url,
                    seconds_on_page,
                },
                Activity::Event { name, params },
            ) if name == PAGE_VIEW => {
                let page = params.get("url").and_then(Json::as_str)?;
                if !url.is_match(page) {
                    return None;
                }
                let wait = i64::from(*seconds_on_page) * 1_000;
                Some(TriggerMatch {
                    due_at: later(wait),
                    recheck: (wait > 0).then_some(Recheck::StillOnPage { seq: entry.seq }),
                    event: Some((name.clone(), params.clone())),
                    ..plain(None)
                })
            }
            (Trigger::SessionStarted, Activity::Event { name, params })
                if name == SESSION_START =>
            {
                Some(TriggerMatch {
                    event: Some((name.clone(), params.clone())),
                    ..plain(None)
                })
            }
            (Trigger::EventTracked { name: wanted }, Activity::Event { name, params })
                if name == wanted =>
            {
                Some(TriggerMatch {
                    event: Some((name.clone(), params.clone())),
                    ..plain(None)
                })
            }
            (Trigger::PropertyChanged { name }, Activity::ContactUpdated { properties, .. })
                if properties.iter().any(|p| p == name) =>
            {
                Some(plain(None))
            }
            (Trigger::TagAdded { tag }, Activity::ContactUpdated { tags_added, .. })
                if tags_added.iter().any(|t| t == tag) =>
            {
                Some(plain(None))
            }
            (Trigger::ContactCreated, Activity::ContactCreated) => Some(plain(None)),
            (Trigger::ConversationStarted, Activity::Message(m))
                if from_contact(m) && facts.starts_conversation =>
            {
                Some(plain(conversation))
            }
            (Trigger::ContactReplied, Activity::Message(m))
                if from_contact(m) && !facts.starts_conversation =>
            {
                Some(plain(conversation))
            }
            (Trigger::NoTeamReply { minutes }, Activity::Message(m)) if from_contact(m) => {
                Some(TriggerMatch {
                    due_at: later(i64::from(*minutes) * 60_000),
                    recheck: Some(Recheck::NoTeamReplySince { since: at }),
                    ..plain(conversation)
                })
            }
            (Trigger::ContactUnresponsive { minutes }, Activity::Message(m))
                if m.author.is_team() && m.kind == PartKind::Comment =>
            {
                Some(TriggerMatch {
                    due_at: later(i64::from(*minutes) * 60_000),
                    recheck: Some(Recheck::NoContactReplySince { since: at }),
                    ..plain(conversation)
                })
            }
            (Trigger::StatusChanged { to }, Activity::StatusChanged { status, .. })
                if to.is_none_or(|to| to == *status) =>
            {
                Some(plain(conversation))
            }
            _ => None,
        }
    }
}

fn from_contact(message: &crate::model::conversation::Message) -> bool {
    matches!(message.author, Author::Contact(_))
}

/// The automation behind an entry, if one caused it.
pub fn cause_of(activity: &Activity) -> Option<&Cause> {
    match activity {
        Activity::Message(m) => m.origin.as_ref().and_then(|o| o.cause.as_ref()),
        Activity::ContactUpdated { cause, .. }
        | Activity::StatusChanged { cause, .. }
        | Activity::Assigned { cause, .. } => cause.as_ref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::automation::{Cause, MessageOrigin};
    use crate::model::conversation::Message;
    use crate::model::ids::{ContactId, MessageId, RunId, WorkspaceId};

    fn entry(activity: Activity) -> ActivityEntry {
        ActivityEntry {
            seq: 7,
            workspace_id: WorkspaceId::generate(),
            contact_id: ContactId::generate(),
            conversation_id: Some(ConversationId::generate()),
            activity,
            created_at: Timestamp::from_millis(1_000_000),
        }
    }

    fn page(url: &str) -> ActivityEntry {
        entry(Activity::Event {
            name: PAGE_VIEW.into(),
            params: json!({ "url": url }),
        })
    }

    fn message(author: Author, origin: Option<MessageOrigin>) -> ActivityEntry {
        entry(Activity::Message(Message {
            id: MessageId::generate(),
            workspace_id: WorkspaceId::generate(),
            conversation_id: ConversationId::generate(),
            author,
            kind: PartKind::Comment,
            body: "hi".into(),
            created_at: Timestamp::from_millis(1_000_000),
            origin,
            attachments: Vec::new(),
        }))
    }

    #[test]
    fn a_page_visit_waits_its_time_on_page_from_the_view_and_checks_again() {
        let own = AutomationId::generate();
        let trigger = Trigger::PageVisited {
            url: UrlMatch::Matches(r"^https://shop\.test/pricing(\?.*)?$".into()),
            seconds_on_page: 30,
        };
        trigger.check().unwrap();
        let found = trigger
            .matches(
                own,
                &page("https://shop.test/pricing?plan=pro"),
                EntryFacts::default(),
            )
            .unwrap();
        assert_eq!(found.due_at.as_millis(), 1_030_000);
        assert_eq!(found.recheck, Some(Recheck::StillOnPage { seq: 7 }));
        assert_eq!(found.depth, 0);
        assert!(
            trigger
                .matches(own, &page("https://shop.test/docs"), EntryFacts::default())
                .is_none()
        );
        let contains = Trigger::PageVisited {
            url: UrlMatch::Contains("/pricing".into()),
            seconds_on_page: 0,
        };
        let now = contains
            .matches(own, &page("https://x.test/pricing"), EntryFacts::default())
            .unwrap();
        assert_eq!((now.due_at.as_millis(), now.recheck), (1_000_000, None));
        assert!(UrlMatch::Matches("(unclosed".into()).check().is_err());
    }

    #[test]
    fn conversation_triggers_tell_who_wrote_and_whether_it_started_the_conversation() {
        let own = AutomationId::generate();
        let from_contact = message(Author::Contact(ContactId::generate()), None);
        let from_team = message(Author::Bot, None);
        let started = EntryFacts {
            starts_conversation: true,
        };
        assert!(
            Trigger::ConversationStarted
                .matches(own, &from_contact, started)
                .is_some()
        );
        assert!(
            Trigger::ConversationStarted
                .matches(own, &from_contact, EntryFacts::default())
                .is_none()
        );
        assert!(
            Trigger::ContactReplied
                .matches(own, &from_contact, EntryFacts::default())
                .is_some()
        );
        assert!(
            Trigger::ContactReplied
                .matches(own, &from_contact, started)
                .is_none()
        );
        let waiting = Trigger::NoTeamReply { minutes: 5 }
            .matches(own, &from_contact, started)
            .unwrap();
        assert_eq!(waiting.due_at.as_millis(), 1_300_000);
        assert!(
            Trigger::NoTeamReply { minutes: 5 }
                .matches(own, &from_team, started)
                .is_none()
        );
        assert!(
            Trigger::ContactUnresponsive { minutes: 5 }
                .matches(own, &from_team, started)
                .is_some()
        );
    }

    #[test]
    fn an_automation_is_never_set_off_by_itself_and_chains_stop_at_the_depth_limit() {
        let own = AutomationId::generate();
        let other = AutomationId::generate();
        let caused = |automation_id, depth| {
            entry(Activity::ContactUpdated {
                properties: vec!["plan".into()],
                tags_added: vec![],
                tags_removed: vec![],
                cause: Some(Cause {
                    automation_id,
                    run_id: RunId::generate(),
                    node: "n".into(),
                    depth,
                }),
            })
        };
        let trigger = Trigger::PropertyChanged {
            name: "plan".into(),
        };
        assert!(
            trigger
                .matches(own, &caused(own, 0), EntryFacts::default())
                .is_none()
        );
        let chained = trigger
            .matches(own, &caused(other, 1), EntryFacts::default())
            .unwrap();
        assert_eq!(chained.depth, 2);
        assert!(
            trigger
                .matches(own, &caused(other, MAX_DEPTH), EntryFacts::default())
                .is_none()
        );
        let bot_message = message(
            Author::Bot,
            Some(MessageOrigin {
                cause: Some(Cause {
                    automation_id: own,
                    run_id: RunId::generate(),
                    node: "hi".into(),
                    depth: 0,
                }),
                buttons: vec![],
                input: None,
                sources: vec![],
            }),
        );
        assert!(
            Trigger::ContactUnresponsive { minutes: 1 }
                .matches(own, &bot_message, EntryFacts::default())
                .is_none()
        );
    }
}
