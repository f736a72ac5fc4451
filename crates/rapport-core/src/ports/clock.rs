//! Time as a port: everything that waits asks a [`Clock`], so tests can move
//! time instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

use crate::Timestamp;

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_offset_datetime(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to: for tests of anything that waits.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.as_millis()))
    }

    pub fn advance_millis(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_at_millisecond_precision() {
        let at = Timestamp::parse_rfc3339("2026-11-25T19:41:26.123Z").unwrap();
        assert_eq!(at.to_string(), "2026-11-25T19:41:26.123Z");
        assert_eq!(
            Timestamp::from_millis(1_764_099_686_000).to_fixed_string(),
            "2025-11-25T19:41:26.000Z"
        );
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_millis(1_000));
        assert_eq!(clock.now().as_millis(), 1_000);
        clock.advance_millis(600_000);
        assert_eq!(clock.now().as_millis(), 601_000);
    }
}
