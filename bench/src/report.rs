//! What the load generators' reports share: latency percentiles and the
//! summary line or JSON object they end with.

use std::fmt::Display;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// How many failures to print in full: the first few tell why; the count
/// in the summary tells how many.
const SHOW_ERRORS: usize = 5;
static ERRORS_SHOWN: AtomicUsize = AtomicUsize::new(0);

/// The value at quantile `q` (nearest rank) of sorted microseconds, in ms.
pub fn percentile_ms<T: Copy + Into<u64>>(sorted_us: &[T], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1].into() as f64 / 1000.0
}

/// Prints `summary` on stdout or, with `--json`, `report` on stdout and
/// `summary` on stderr after `tag` (a load generator's name, where a script
/// runs several at once; or nothing).
pub fn print(json: bool, tag: &str, summary: &str, report: &Value) {
    if json {
        eprintln!("{tag}{summary}");
        println!("{report}");
    } else {
        println!("{summary}");
    }
}

/// Prints `why` on stderr after `tag` (as in [`print`]), unless
/// `SHOW_ERRORS` failures have been printed already.
pub fn show_error(tag: &str, why: impl Display) {
    if ERRORS_SHOWN.fetch_add(1, Ordering::Relaxed) < SHOW_ERRORS {
        eprintln!("{tag}error: {why}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&sorted, 0.50), 50.0);
        assert_eq!(percentile_ms(&sorted, 0.99), 99.0);
        assert_eq!(percentile_ms(&sorted, 1.0), 100.0);
        assert_eq!(percentile_ms(&[7000u32], 0.99), 7.0);
        assert_eq!(percentile_ms::<u32>(&[], 0.5), 0.0);
    }
}
