//! What response headers and bodies say: `Retry-After`, rate-limit headers, short error details.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use serde_json::Value;

/// The wait a rate-limited response asks for, if it is one: `x-ratelimit-remaining: 0` with
/// `x-ratelimit-reset`, or `Retry-After` (seconds or HTTP date) on 403, 429 and 503.
pub fn rate_limit_wait(status: u16, headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if matches!(status, 403 | 429 | 503)
        && let Some(after) = text("retry-after")
    {
        return Some(parse_retry_after(after, SystemTime::now()).unwrap_or(Duration::ZERO));
    }
    if matches!(status, 403 | 429) && text("x-ratelimit-remaining") == Some("0") {
        let reset = text("x-ratelimit-reset").and_then(|r| r.parse::<u64>().ok());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        // At least a second: a reset at or before our clock's now (skew, rounding) is not a reason to retry at once.
        return Some(Duration::from_secs(
            reset.map_or(60, |r| r.saturating_sub(now).max(1)),
        ));
    }
    None
}

/// The wait a rate-limited `403` or `429` asks for in its body alone: GitHub's secondary limits may come without
/// `retry-after` or `x-ratelimit-*`, with only a message ("You have exceeded a secondary rate limit …"); GitHub's
/// advice is then to wait at least a minute. Without this, such a `403` would read as rejected credentials.
pub fn rate_limit_in_body(status: u16, detail: Option<&str>) -> Option<Duration> {
    let detail = detail?.to_ascii_lowercase();
    (matches!(status, 403 | 429) && detail.contains("rate limit"))
        .then_some(Duration::from_secs(60))
}

/// Parses a `Retry-After` value: delta seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A short, secret-free description of a transport error.
pub(super) fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the body was cut off"
    } else {
        "transport error"
    };
    // reqwest's own text may include the URL with its query string; keep only the cause chain's last element.
    let mut source: Option<&dyn std::error::Error> = Some(error);
    let mut last = String::new();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    if last.contains("://") || last.contains('?') {
        kind.to_owned()
    } else {
        format!("{kind}: {last}")
    }
}

/// A short detail from an error body: the `error`, `message`, `title` or `code` text of a JSON body.
pub(super) fn error_detail(body: &[u8]) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let text = ["message", "error", "title", "code"]
        .iter()
        .find_map(|k| json.get(*k).and_then(Value::as_str))?;
    Some(text.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_rate_limit_message_alone_asks_for_a_minute() {
        let secondary = Some(
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        );
        assert_eq!(
            rate_limit_in_body(403, secondary),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            rate_limit_in_body(429, Some("API rate limit exceeded.")),
            Some(Duration::from_secs(60))
        );
        assert_eq!(rate_limit_in_body(403, Some("Bad credentials")), None);
        assert_eq!(rate_limit_in_body(403, None), None);
        assert_eq!(rate_limit_in_body(404, secondary), None);
    }

    #[test]
    fn a_reset_already_passed_still_waits_a_second() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1000"));
        assert_eq!(rate_limit_wait(403, &headers), Some(Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(1_784_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn forbidden_is_a_rate_limit_only_with_its_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(rate_limit_wait(403, &headers), None);
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 5;
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&reset.to_string()).unwrap(),
        );
        let wait = rate_limit_wait(403, &headers).unwrap();
        assert!(
            wait <= Duration::from_secs(5) && wait >= Duration::from_secs(3),
            "{wait:?}"
        );
        let mut retry = HeaderMap::new();
        retry.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(rate_limit_wait(403, &retry), Some(Duration::from_secs(2)));
        assert_eq!(rate_limit_wait(500, &retry), None);
    }
}
