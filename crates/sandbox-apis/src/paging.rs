//! Helpers shared by the stand-ins: page arithmetic, timestamps, JSON array assembly from pre-serialized records.

use chrono::{DateTime, SecondsFormat, Utc};

/// The data clock's start: initial records are dated before it; each change step moves the clock forward.
pub const EPOCH_2026: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// The data clock: where generated timestamps end and how change steps stamp records.
///
/// `fixed()` (the default) ends initial data at 2026-01-01T00:00:00Z and moves 1–3 seconds per change step: fully
/// reproducible. `wall()` ends initial data at the moment the stand-in starts and never lets a change step fall behind
/// the real clock (like a real server), at the cost of byte-for-byte reproducibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataClock {
    /// Initial data lies before this instant (Unix seconds).
    pub epoch: i64,
    follow_wall: bool,
    now: i64,
}

impl DataClock {
    /// Reproducible synthetic time from 2026-01-01T00:00:00Z.
    pub fn fixed() -> Self {
        DataClock {
            epoch: EPOCH_2026,
            follow_wall: false,
            now: EPOCH_2026,
        }
    }

    /// Time that follows the real clock.
    pub fn wall() -> Self {
        let now = wall_now();
        DataClock {
            epoch: now,
            follow_wall: true,
            now,
        }
    }

    /// Moves the clock 1–3 seconds forward (and up to the real time with `wall()`); returns the new time.
    pub fn advance(&mut self, rng: &mut crate::prng::Rng) -> i64 {
        self.now += rng.range(1, 3);
        if self.follow_wall {
            self.now = self.now.max(wall_now());
        }
        self.now
    }
}

/// The real time in Unix seconds.
pub fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Seconds since the Unix epoch as `2026-03-01T09:30:00Z`.
pub fn rfc3339(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Seconds since the Unix epoch as `2026-03-01T09:30:00` (no zone), shifted by `offset_secs`.
pub fn naive(secs: i64, offset_secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs + offset_secs, 0)
        .unwrap_or_default()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Parses an RFC 3339 timestamp into (seconds, nanoseconds).
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let t = DateTime::parse_from_rfc3339(s).ok()?;
    Some((t.timestamp(), t.timestamp_subsec_nanos()))
}

/// Whether a whole-second time is at or after an instant given as (seconds, nanoseconds).
pub fn at_or_after(t: i64, since: (i64, u32)) -> bool {
    if since.1 > 0 {
        t > since.0
    } else {
        t >= since.0
    }
}

/// The index range of 1-based page `page` of `size` items out of `total`.
pub fn page_range(total: usize, page: usize, size: usize) -> std::ops::Range<usize> {
    let start = page.saturating_sub(1).saturating_mul(size).min(total);
    start..(start + size).min(total)
}

/// Number of pages for `total` items (0 when there are none).
pub fn total_pages(total: usize, size: usize) -> usize {
    total.div_ceil(size.max(1))
}

/// Joins pre-serialized JSON values into a JSON array.
pub fn json_array<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

/// Parses a positive integer parameter with a default; `Err(())` when present but invalid.
pub fn int_param(value: Option<&str>, default: usize) -> Result<usize, ()> {
    match value {
        None => Ok(default),
        Some(v) => v.trim().parse::<usize>().map_err(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        assert_eq!(page_range(250, 1, 100), 0..100);
        assert_eq!(page_range(250, 3, 100), 200..250);
        assert_eq!(page_range(250, 4, 100), 250..250);
        assert_eq!(total_pages(250, 100), 3);
        assert_eq!(total_pages(0, 100), 0);
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339(EPOCH_2026), "2026-01-01T00:00:00Z");
        assert_eq!(naive(EPOCH_2026, 3600), "2026-01-01T01:00:00");
        let since = parse_rfc3339("2026-01-01T00:00:00.5Z").unwrap();
        assert!(!at_or_after(EPOCH_2026, since));
        assert!(at_or_after(EPOCH_2026 + 1, since));
        assert!(at_or_after(
            EPOCH_2026,
            parse_rfc3339("2026-01-01T01:00:00+01:00").unwrap()
        ));
    }

    #[test]
    fn arrays() {
        assert_eq!(json_array(["1", "{}"].into_iter()), "[1,{}]");
        assert_eq!(json_array(std::iter::empty()), "[]");
    }
}
