//! What `rapport-bench greeting` measures with: the server's memory and
//! CPU read from /proc, quantiles and rates of timings, and RFC 3339 times
//! read without a date library.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::greeting::SAMPLE_EVERY;
use crate::widget;

/// The highest VmRSS seen since the last `take`, in KiB, sampled from
/// /proc every `SAMPLE_EVERY`.
pub(crate) struct RssPeak {
    pid: u32,
    max: AtomicU64,
}

impl RssPeak {
    pub(crate) fn start(pid: u32) -> Arc<Self> {
        let peak = Arc::new(Self {
            pid,
            max: AtomicU64::new(0),
        });
        let sampler = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(memory) = widget::memory(sampler.pid) {
                    sampler.max.fetch_max(memory.rss_kib, Ordering::Relaxed);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        });
        peak
    }

    /// The peak since the last call (or the start), and a fresh start.
    pub(crate) fn take(&self) -> u64 {
        let now = widget::memory(self.pid).map_or(0, |m| m.rss_kib);
        self.max.swap(now, Ordering::Relaxed).max(now)
    }
}

/// VmHWM of process `pid` (its peak RSS over its life), in KiB.
pub(crate) fn high_water_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// CPU time (user + system) process `pid` has used, in seconds (at the
/// usual 100 clock ticks per second).
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's closing parenthesis: state is the first field,
    // utime the 12th and stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// CPU time the whole machine has spent busy (neither idle nor waiting
/// for I/O), in seconds of one core, from /proc/stat.
pub(crate) fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle) as f64 / 100.0)
}

/// Nearest-rank quantile of sorted values.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50, p99 and max of `values` (sorted here), in ms.
pub(crate) fn spread(mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    json!({
        "n": values.len(),
        "p50_ms": round1(quantile(&values, 0.50)),
        "p99_ms": round1(quantile(&values, 0.99)),
        "max_ms": round1(values.last().copied().unwrap_or(f64::NAN)),
    })
}

pub(crate) fn round1(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 10.0).round() / 10.0)
    } else {
        Value::Null
    }
}

/// Events per second over the span of `times` (ms), and the busiest and
/// median whole second.
pub(crate) fn rate(times: &[f64]) -> Value {
    if times.len() < 2 {
        return json!({ "n": times.len() });
    }
    let first = times.iter().copied().fold(f64::INFINITY, f64::min);
    let last = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut buckets: BTreeMap<i64, u64> = BTreeMap::new();
    for t in times {
        *buckets
            .entry(((t - first) / 1000.0).floor() as i64)
            .or_default() += 1;
    }
    // Whole seconds only: the first and last are partial.
    let span = buckets.keys().next_back().copied().unwrap_or(0);
    let mut full: Vec<f64> = buckets
        .iter()
        .filter(|(second, _)| **second > 0 && **second < span)
        .map(|(_, n)| *n as f64)
        .collect();
    full.sort_by(f64::total_cmp);
    let seconds = (last - first) / 1000.0;
    json!({
        "n": times.len(),
        "first_unix_ms": first.round(),
        "span_s": round1(seconds),
        "per_s": ((times.len() - 1) as f64 / seconds).round(),
        "busiest_second": full.last().copied().unwrap_or(f64::NAN),
        "median_second": quantile(&full, 0.5),
    })
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time (the API's
/// timestamps: `2026-11-30T10:00:00.25Z`, or with an offset).
pub(crate) fn rfc3339_ms(text: &str) -> Option<f64> {
    let number = |s: &str| s.parse::<i64>().ok();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut ymd = date.split('-');
    let (year, month, day) = (
        number(ymd.next()?)?,
        number(ymd.next()?)?,
        number(ymd.next()?)?,
    );
    // The offset starts at the first Z, + or - after the time of day.
    let zone_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = rest.split_at(zone_at);
    let offset_minutes = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            sign * (number(h)? * 60 + number(m)?)
        }
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':');
    let (h, m, s) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    let fraction_ms = if fraction.is_empty() {
        0.0
    } else {
        format!("0.{fraction}").parse::<f64>().ok()? * 1000.0
    };
    let days = days_since_epoch(year, month, day);
    let seconds = days * 86_400 + h * 3_600 + m * 60 + s - offset_minutes * 60;
    Some(seconds as f64 * 1000.0 + fraction_ms)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
pub(crate) fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    // Count years from March, so that February's leap day ends a year.
    let (year, month_from_march) = if month < 3 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let cycle = year.div_euclid(400); // 400-year cycles of 146,097 days
    let year_of_cycle = year - cycle * 400;
    // March to the month's start: 31, 30, 31, 30, 31 days repeating.
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_cycle = year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
    // 719,468 days from 0000-03-01 to 1970-01-01.
    cycle * 146_097 + day_of_cycle - 719_468
}
