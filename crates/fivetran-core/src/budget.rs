//! Byte and time budgets of one invocation.
//!
//! - The **byte budget** bounds the serialized response, state included (default 5 MiB, never above
//!   [`MAX_BYTE_BUDGET`] = 6 MiB = 6,291,456 bytes, a hundred bytes under Lambda's
//!   [`MAX_RESPONSE_BYTES`]). The sink measures every row as it serializes it;
//!   the engine adds a record only while the rows written so far, plus a reserve for the state, the schema and the
//!   JSON framing, stay under the budget. The function's `FIVETRAN_BYTE_BUDGET` variable replaces the declared value.
//! - The **time budget** is the Lambda deadline minus a margin: once less than the margin is left, no new request
//!   starts and the invocation returns what it gathered with `hasMore: true`.

use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};
use crate::protocol::MAX_RESPONSE_BYTES;

/// The largest byte budget a connector may set: 6 MiB, just under Lambda's limit of 6,291,556 bytes.
pub const MAX_BYTE_BUDGET: usize = 6 * 1024 * 1024;

/// The default byte budget of a response: 5 MiB.
pub const DEFAULT_BYTE_BUDGET: usize = 5 * 1024 * 1024;

/// The default time margin kept before the Lambda deadline.
pub const DEFAULT_TIME_MARGIN: Duration = Duration::from_secs(15);

/// The function's environment variable that replaces the declared byte budget (bytes, 4096..=6,291,556): lets an
/// operator shrink responses without a rebuild, and lets tests make a sync take several calls.
pub const BYTE_BUDGET_ENV: &str = "FIVETRAN_BYTE_BUDGET";

/// Budget settings a connector may change (tests use small values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSettings {
    /// Upper bound of the serialized response in bytes, state included.
    pub bytes: usize,
    /// No request starts once less than this is left before the deadline.
    pub time_margin: Duration,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        BudgetSettings {
            bytes: DEFAULT_BYTE_BUDGET,
            time_margin: DEFAULT_TIME_MARGIN,
        }
    }
}

impl BudgetSettings {
    /// Checks the settings: the byte budget can never exceed Lambda's response limit.
    pub fn validate(&self) -> Result<()> {
        if self.bytes > MAX_BYTE_BUDGET {
            return Err(Error::Declaration(format!(
                "byte budget {} is above the {MAX_BYTE_BUDGET}-byte cap (Lambda refuses responses over \
                 {MAX_RESPONSE_BYTES} bytes, state included)",
                self.bytes
            )));
        }
        if self.bytes < 4096 {
            return Err(Error::Declaration(format!(
                "byte budget {} is too small to hold a response (at least 4096 bytes)",
                self.bytes
            )));
        }
        Ok(())
    }

    /// These settings with the byte budget taken from `value` (the [`BYTE_BUDGET_ENV`] variable) when it is set.
    pub fn with_override(mut self, value: Option<&str>) -> Result<Self> {
        if let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) {
            self.bytes = text.parse().map_err(|_| {
                Error::Declaration(format!(
                    "{BYTE_BUDGET_ENV} must be a number of bytes, found {text:?}"
                ))
            })?;
        }
        Ok(self)
    }
}

/// The time budget of one invocation: a monotonic deadline minus a margin.
#[derive(Debug, Clone, Copy)]
pub struct TimeBudget {
    /// When Lambda stops the invocation (monotonic), if known.
    deadline: Option<Instant>,
    margin: Duration,
}

impl TimeBudget {
    /// A budget for a wall-clock deadline (from the Lambda context) and a margin.
    pub fn new(deadline: Option<SystemTime>, margin: Duration) -> Self {
        let now = Instant::now();
        let deadline = deadline.map(|d| {
            now + d
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
        TimeBudget { deadline, margin }
    }

    /// A budget without deadline (every request may start).
    pub fn unlimited() -> Self {
        TimeBudget {
            deadline: None,
            margin: Duration::ZERO,
        }
    }

    /// Time left before the margin begins (`None`: unlimited).
    pub fn usable(&self) -> Option<Duration> {
        self.deadline.map(|d| {
            d.saturating_duration_since(Instant::now())
                .saturating_sub(self.margin)
        })
    }

    /// Whether a new request may start now.
    pub fn may_start(&self) -> bool {
        self.usable().is_none_or(|left| !left.is_zero())
    }

    /// Whether waiting `wait` from now still leaves room to start a request.
    pub fn fits(&self, wait: Duration) -> bool {
        self.usable().is_none_or(|left| wait < left)
    }

    /// Time left before the real deadline (not the margin), to bound one request's own timeout.
    pub fn until_deadline(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_budget_cannot_exceed_the_lambda_limit() {
        assert!(BudgetSettings::default().validate().is_ok());
        let too_big = BudgetSettings {
            bytes: MAX_BYTE_BUDGET + 1,
            ..BudgetSettings::default()
        };
        let error = too_big.validate().unwrap_err().to_string();
        assert!(
            error.contains("6291456-byte cap") && error.contains("6291556"),
            "{error}"
        );
        let at_cap = BudgetSettings {
            bytes: MAX_BYTE_BUDGET,
            ..BudgetSettings::default()
        };
        assert!(at_cap.validate().is_ok());
    }

    #[test]
    fn the_environment_can_replace_the_byte_budget() {
        let default = BudgetSettings::default();
        assert_eq!(default.with_override(None).unwrap(), default);
        assert_eq!(default.with_override(Some(" ")).unwrap(), default);
        let small = default.with_override(Some("8192")).unwrap();
        assert_eq!(small.bytes, 8192);
        assert!(small.validate().is_ok());
        let tiny = default.with_override(Some("100")).unwrap();
        assert!(tiny.validate().is_err());
        let error = default.with_override(Some("5MB")).unwrap_err().to_string();
        assert!(error.contains(BYTE_BUDGET_ENV), "{error}");
    }

    #[test]
    fn no_request_starts_inside_the_margin() {
        let soon = SystemTime::now() + Duration::from_secs(5);
        assert!(!TimeBudget::new(Some(soon), Duration::from_secs(10)).may_start());
        let later = TimeBudget::new(Some(soon), Duration::from_secs(1));
        assert!(later.may_start());
        assert!(later.fits(Duration::from_secs(2)));
        assert!(!later.fits(Duration::from_secs(4)));
        assert!(TimeBudget::unlimited().fits(Duration::from_secs(1_000_000)));
    }
}
