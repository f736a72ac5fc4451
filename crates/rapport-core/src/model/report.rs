//! The Reports section: new conversations, first response time, time to
//! close and ratings over a period, by day, by team member or by channel.
//!
//! Each conversation's summary (`conversation_stats`: its channel, when
//! it started, was first answered and last closed) is written in the same
//! transaction as the log entries it sums up; a report is a few grouped
//! queries over the summaries in the period.

use serde::Serialize;
use time::{Date, Duration, Month};

use crate::Timestamp;
use crate::model::automation::MessageOrigin;
use crate::model::conversation::Author;
use crate::model::ids::AgentId;
use crate::model::validation::{ValidationError, Validator};

/// The longest period a report covers, in days.
pub const MAX_DAYS: i64 = 366;
/// The widest offset from UTC a day can be counted in (UTC-14 to UTC+14).
pub const MAX_OFFSET_MINUTES: i32 = 14 * 60;
const DAY_MILLIS: i64 = 86_400_000;

/// How a conversation started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The visitor wrote first, in the widget.
    Widget,
    /// A team member wrote first (Inbox, profile or API).
    Team,
    /// A bulk send's message.
    Bulk,
    /// An automation's message.
    Automation,
    /// The AI bot's message.
    Bot,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Widget,
        Channel::Team,
        Channel::Bulk,
        Channel::Automation,
        Channel::Bot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Widget => "widget",
            Channel::Team => "team",
            Channel::Bulk => "bulk",
            Channel::Automation => "automation",
            Channel::Bot => "bot",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The channel of a conversation its first message starts.
    pub fn of_first(author: Author, origin: Option<&MessageOrigin>, bulk: bool) -> Channel {
        if origin.is_some_and(|o| o.cause.is_some()) {
            Channel::Automation
        } else {
            match author {
                Author::Contact(_) => Channel::Widget,
                Author::Bot => Channel::Bot,
                Author::Agent(_) if bulk => Channel::Bulk,
                Author::Agent(_) => Channel::Team,
            }
        }
    }
}

/// What a report's rows are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportGroup {
    Day,
    Member,
    Channel,
}

/// A checked report request: the days `from` to `to` (both included), as
/// counted at `offset_minutes` from UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportQuery {
    pub from: Date,
    pub to: Date,
    pub offset_minutes: i32,
    pub group: ReportGroup,
}

fn parse_date(text: &str) -> Result<Date, String> {
    let bad = || "a date, YYYY-MM-DD".to_owned();
    let mut parts = text.splitn(3, '-');
    let mut next = || -> Result<i64, String> {
        let part = parts.next().ok_or_else(bad)?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 4 {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (year, month, day) = (next()?, next()?, next()?);
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let year = i32::try_from(year).map_err(|_| bad())?;
    let day = u8::try_from(day).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

impl ReportQuery {
    /// `from` and `to` as `YYYY-MM-DD`, at most `MAX_DAYS` apart, `to` not
    /// before `from`; the offset within UTC±14:00.
    pub fn parse(
        from: &str,
        to: &str,
        offset_minutes: i32,
        group: ReportGroup,
    ) -> Result<Self, ValidationError> {
        let mut v = Validator::default();
        let from = v.check("from", parse_date(from));
        let to = v.check("to", parse_date(to));
        if offset_minutes.abs() > MAX_OFFSET_MINUTES {
            v.push(
                "offset_minutes",
                "from -840 to 840 (UTC-14:00 to UTC+14:00)",
            );
        }
        // The day after the last must exist (the span ends there).
        let to = to.filter(|to| {
            let fits = to.next_day().is_some();
            if !fits {
                v.push("to", "a date before 9999-12-31");
            }
            fits
        });
        if let (Some(from), Some(to)) = (from, to) {
            let days = (to - from).whole_days() + 1;
            if days < 1 {
                v.push("to", "on or after `from`");
            } else if days > MAX_DAYS {
                v.push("to", format!("at most {MAX_DAYS} days after `from`"));
            }
        }
        v.finish()?;
        Ok(ReportQuery {
            from: from.unwrap_or(Date::MIN),
            to: to.unwrap_or(Date::MIN),
            offset_minutes,
            group,
        })
    }

    pub fn offset_millis(&self) -> i64 {
        i64::from(self.offset_minutes) * 60_000
    }

    /// The first instant of the period and the first after it.
    pub fn span(&self) -> (Timestamp, Timestamp) {
        let start = |d: Date| {
            (d - Date::from_calendar_date(1970, Month::January, 1).unwrap_or(Date::MIN))
                .whole_days()
                * DAY_MILLIS
                - self.offset_millis()
        };
        (
            Timestamp::from_millis(start(self.from)),
            Timestamp::from_millis(start(self.to + Duration::days(1))),
        )
    }

    /// The date of the day number the store groups by (days since 1970-01-01
    /// at the query's offset).
    pub fn day(number: i64) -> Date {
        Date::from_calendar_date(1970, Month::January, 1).unwrap_or(Date::MIN)
            + Duration::days(number)
    }
}

/// Which group a row of a report is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    /// Days since 1970-01-01, at the query's offset.
    Day(i64),
    /// The team member (the assignee; for first responses, who answered);
    /// `None`: nobody.
    Member(Option<AgentId>),
    Channel(Channel),
}

/// How many, and the median and 90th percentile (nearest rank) in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    pub count: u64,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

/// Ratings given, by face.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingCounts {
    pub count: u64,
    pub bad: u64,
    pub ok: u64,
    pub great: u64,
}

/// One group's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub new_conversations: u64,
    pub first_response: Durations,
    pub time_to_close: Durations,
    pub ratings: RatingCounts,
}

/// Per group, its figures (groups with nothing in the period are left
/// out), and the whole period's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub rows: Vec<(GroupKey, Figures)>,
    pub totals: Figures,
}

/// The nearest-rank median and 90th percentile of `count` values, from the
/// values at those ranks (as the store reads them), in milliseconds.
pub fn durations(count: u64, median_millis: Option<i64>, p90_millis: Option<i64>) -> Durations {
    let seconds = |ms: Option<i64>| ms.map(|ms| ms.max(0) as f64 / 1000.0);
    Durations {
        count,
        median_seconds: seconds(median_millis),
        p90_seconds: seconds(p90_millis),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::ContactId;

    #[test]
    fn a_period_is_whole_days_at_the_offset() {
        let q = ReportQuery::parse("2026-11-01", "2026-11-30", 60, ReportGroup::Day).unwrap();
        let (from, to) = q.span();
        assert_eq!(from.to_string(), "2026-10-31T23:00:00Z");
        assert_eq!(to.to_string(), "2026-11-30T23:00:00Z");
        assert_eq!(ReportQuery::day(20_392).to_string(), "2025-10-31");
    }

    #[test]
    fn bad_periods_name_their_field() {
        let fields = |from: &str, to: &str, offset: i32| {
            ReportQuery::parse(from, to, offset, ReportGroup::Day)
                .unwrap_err()
                .0
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields("2026-13-01", "2026-11-01", 0), ["from"]);
        assert_eq!(fields("2026-11-02", "2026-11-01", 0), ["to"]);
        assert_eq!(fields("2025-01-01", "2026-11-01", 0), ["to"]);
        assert_eq!(fields("2026-11-01", "x", 900), ["to", "offset_minutes"]);
        assert_eq!(fields("+2026-1-1", "2026-11-01", 0), ["from"]);
        assert_eq!(fields("9999-12-31", "9999-12-31", 0), ["to"]);
        assert!(ReportQuery::parse("2025-01-01", "2026-01-01", -840, ReportGroup::Member).is_ok());
    }

    #[test]
    fn the_first_message_names_the_channel() {
        let contact = Author::Contact(ContactId::generate());
        let agent = Author::Agent(AgentId::generate());
        assert_eq!(Channel::of_first(contact, None, false), Channel::Widget);
        assert_eq!(Channel::of_first(agent, None, false), Channel::Team);
        assert_eq!(Channel::of_first(agent, None, true), Channel::Bulk);
        assert_eq!(Channel::of_first(Author::Bot, None, false), Channel::Bot);
        let bot_answer: MessageOrigin = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(
            Channel::of_first(Author::Bot, Some(&bot_answer), false),
            Channel::Bot
        );
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
    }
}
