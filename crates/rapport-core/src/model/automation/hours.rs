//! The workspace's office: business hours in its time zone (a weekly
//! schedule and holidays), the reply times the widget shows in and out of
//! hours, and how many automated messages a contact may get per day.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::model::validation::{ValidationError, Validator};

/// Opening hours on one day, as minutes from midnight: `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// "09:00"
    pub from: ClockTime,
    /// "17:30"; "24:00" for midnight at the end of the day.
    pub to: ClockTime,
}

/// A time of day written `HH:MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(pub u16);

impl Serialize for ClockTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", self.0 / 60, self.0 % 60))
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bad = || serde::de::Error::custom(format!("{text:?} is not a time such as 09:30"));
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 24 || m > 59 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(ClockTime(h * 60 + m))
    }
}

/// Business hours and what depends on them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    /// An IANA time zone, such as `Europe/Warsaw`.
    pub time_zone: String,
    /// Monday first: each day's opening spans (empty: closed all day).
    pub weekly: [Vec<Span>; 7],
    /// Closed all day on these dates (`YYYY-MM-DD`, in the time zone).
    #[serde(default)]
    pub holidays: Vec<String>,
    /// What the widget and a handover say about when the team replies.
    pub reply_time_in_hours: String,
    pub reply_time_out_of_hours: String,
    /// The most messages automations send one contact in 24 hours.
    pub automated_messages_per_day: u32,
}

impl Default for Office {
    /// Monday to Friday, 9:00 to 17:00 UTC.
    fn default() -> Self {
        let day = || {
            vec![Span {
                from: ClockTime(9 * 60),
                to: ClockTime(17 * 60),
            }]
        };
        Self {
            time_zone: "UTC".into(),
            weekly: [day(), day(), day(), day(), day(), Vec::new(), Vec::new()],
            holidays: Vec::new(),
            reply_time_in_hours: "The team typically replies in a few minutes.".into(),
            reply_time_out_of_hours: "The team is away now and will reply when back.".into(),
            automated_messages_per_day: 10,
        }
    }
}

impl Office {
    pub fn check(&self) -> Result<(), ValidationError> {
        let mut v = Validator::default();
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            v.push(
                "time_zone",
                "is not a time zone this server knows (use an IANA name such as Europe/Warsaw)",
            );
        }
        for (d, spans) in self.weekly.iter().enumerate() {
            if spans.len() > 8 {
                v.push(format!("weekly[{d}]"), "at most 8 spans a day");
            }
            for (i, span) in spans.iter().enumerate() {
                if span.from >= span.to {
                    v.push(format!("weekly[{d}][{i}]"), "`from` must be before `to`");
                }
            }
        }
        if self.holidays.len() > 366 {
            v.push("holidays", "at most 366 dates");
        }
        for (i, day) in self.holidays.iter().enumerate() {
            if day.parse::<jiff::civil::Date>().is_err() {
                v.push(
                    format!("holidays[{i}]"),
                    "must be a date such as 2026-12-25",
                );
            }
        }
        for (field, text) in [
            ("reply_time_in_hours", &self.reply_time_in_hours),
            ("reply_time_out_of_hours", &self.reply_time_out_of_hours),
        ] {
            if text.trim().is_empty() || text.len() > 300 {
                v.push(field, "must be 1 to 300 bytes");
            }
        }
        if self.automated_messages_per_day == 0 || self.automated_messages_per_day > 1_000 {
            v.push("automated_messages_per_day", "must be 1 to 1000");
        }
        v.finish()
    }

    /// Whether `at` is inside business hours.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let Ok(tz) = jiff::tz::TimeZone::get(&self.time_zone) else {
            return false;
        };
        let Ok(instant) = jiff::Timestamp::from_millisecond(at.as_millis()) else {
            return false;
        };
        let local = instant.to_zoned_datetime(tz);
        let date = local.date().to_string();
        if self.holidays.contains(&date) {
            return false;
        }
        let day = local.weekday().to_monday_zero_offset().unsigned_abs() as usize;
        let minute = ClockTime(
            local.hour().unsigned_abs() as u16 * 60 + local.minute().unsigned_abs() as u16,
        );
        self.weekly[day]
            .iter()
            .any(|span| span.from <= minute && minute < span.to)
    }

    /// The next moment after `at` when the office's clock shows `time`
    /// (`None`: an unknown time zone). A time a change of clocks skips is
    /// taken as the first moment after it.
    pub fn next_time_of_day(&self, at: Timestamp, time: ClockTime) -> Option<Timestamp> {
        let tz = jiff::tz::TimeZone::get(&self.time_zone).ok()?;
        let now = jiff::Timestamp::from_millisecond(at.as_millis()).ok()?;
        let local = now.to_zoned_datetime(tz.clone());
        let (hour, minute) = (
            i8::try_from(time.0 / 60).ok()?,
            i8::try_from(time.0 % 60).ok()?,
        );
        let mut day = local.date();
        // Today's, else tomorrow's (a day with the time skipped resolves
        // forward, so two tries are enough).
        for _ in 0..2 {
            let candidate = day
                .at(hour, minute, 0, 0)
                .to_zoned_datetime(tz.clone())
                .ok()?
                .timestamp();
            if candidate > now {
                return Some(Timestamp::from_millis(candidate.as_millisecond()));
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// When business hours next open at or after `at` (`at` itself when
    /// they are open), looking up to 400 days ahead.
    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        if self.is_open(at) {
            return Some(at);
        }
        // Openings fall on span starts: try each day's, in order.
        let mut starts: Vec<ClockTime> = self
            .weekly
            .iter()
            .flat_map(|spans| spans.iter().map(|s| s.from))
            .collect();
        starts.sort();
        starts.dedup();
        let mut from = at;
        for _ in 0..400 {
            let next = starts
                .iter()
                .filter_map(|t| self.next_time_of_day(from, *t))
                .min()?;
            if self.is_open(next) {
                return Some(next);
            }
            from = next;
        }
        None
    }

    /// The reply time to tell a contact at `at`.
    pub fn reply_time(&self, at: Timestamp) -> &str {
        if self.is_open(at) {
            &self.reply_time_in_hours
        } else {
            &self.reply_time_out_of_hours
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        let t: jiff::Timestamp = text.parse().unwrap();
        Timestamp::from_millis(t.as_millisecond())
    }

    #[test]
    fn hours_follow_the_time_zone_the_week_and_holidays() {
        let office: Office = serde_json::from_value(json!({
            "time_zone": "Europe/Warsaw",
            "weekly": [[{"from": "09:00", "to": "17:00"}], [], [], [], [], [], [{"from": "00:00", "to": "24:00"}]],
            "holidays": ["2026-12-07"],
            "reply_time_in_hours": "minutes",
            "reply_time_out_of_hours": "tomorrow",
            "automated_messages_per_day": 3
        }))
        .unwrap();
        office.check().unwrap();
        // Monday 2026-11-30, 08:30 UTC is 09:30 in Warsaw.
        assert!(office.is_open(at("2026-11-30T08:30:00Z")));
        assert!(!office.is_open(at("2026-11-30T07:30:00Z")));
        assert!(!office.is_open(at("2026-11-30T16:00:00Z")));
        // Tuesday: closed. Sunday: open all day. Monday the 7th: a holiday.
        assert!(!office.is_open(at("2026-12-01T10:00:00Z")));
        assert!(office.is_open(at("2026-12-06T22:30:00Z")));
        assert!(!office.is_open(at("2026-12-07T10:00:00Z")));
        assert_eq!(office.reply_time(at("2026-12-01T10:00:00Z")), "tomorrow");
    }

    #[test]
    fn the_next_time_of_day_and_the_next_opening_follow_the_zone() {
        let office: Office = serde_json::from_value(json!({
            "time_zone": "Europe/Warsaw",
            "weekly": [[{"from": "09:00", "to": "17:00"}], [], [], [], [], [], []],
            "holidays": ["2026-12-07"],
            "reply_time_in_hours": "minutes",
            "reply_time_out_of_hours": "tomorrow",
            "automated_messages_per_day": 3
        }))
        .unwrap();
        // Monday 2026-11-30 10:00 UTC is 11:00 in Warsaw.
        let monday = at("2026-11-30T10:00:00Z");
        assert_eq!(
            office.next_time_of_day(monday, ClockTime(12 * 60)),
            Some(at("2026-11-30T11:00:00Z"))
        );
        assert_eq!(
            office.next_time_of_day(monday, ClockTime(9 * 60)),
            Some(at("2026-12-01T08:00:00Z"))
        );
        assert_eq!(office.next_open(monday), Some(monday));
        // From Monday evening the next opening skips the holiday Monday
        // (7 December) to the 14th, 09:00 in Warsaw.
        assert_eq!(
            office.next_open(at("2026-11-30T18:00:00Z")),
            Some(at("2026-12-14T08:00:00Z"))
        );
    }

    #[test]
    fn bad_offices_are_refused_field_by_field() {
        let mut office = Office {
            time_zone: "Mars/Olympus".into(),
            ..Office::default()
        };
        office.weekly[0] = vec![Span {
            from: ClockTime(600),
            to: ClockTime(600),
        }];
        office.holidays = vec!["soon".into()];
        let err = office.check().unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["time_zone", "weekly[0][0]", "holidays[0]"]);
        assert!(serde_json::from_value::<ClockTime>(json!("25:00")).is_err());
        assert!(serde_json::from_value::<ClockTime>(json!("24:00")).is_ok());
    }
}
