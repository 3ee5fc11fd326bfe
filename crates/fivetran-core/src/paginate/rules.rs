//! The stop rules: where the next page is, when a stream is done, and the cycle guard.

use std::collections::HashSet;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::{Pagination, SEEN_WINDOW, Style, Total};
use crate::error::{Error, Result};

/// Where a page is, as kept in the state (`"start"`, `{"page": 3}`, `{"url": "…"}`, …).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// The first page.
    Start,
    /// A page number.
    Page(u64),
    /// An offset.
    Offset(u64),
    /// A cursor token.
    Token(String),
    /// A next-page URL (credential parameters removed).
    Url(String),
    /// The last key read (keyset).
    After(String),
}

/// What [`Pagination::next`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The stream has no more pages in this window.
    Done,
    /// Fetch this page next.
    Page(Position),
}

/// What the engine knows about the page just read.
#[derive(Debug)]
pub struct PageFacts<'a> {
    /// Where the page was.
    pub position: &'a Position,
    /// The body.
    pub body: &'a Value,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// Number of records on the page.
    pub count: usize,
    /// The last record's keyset field, as text.
    pub last_key: Option<String>,
}

impl Pagination {
    /// The page number of a position (page-number style).
    pub fn page_number_of(&self, position: &Position) -> u64 {
        let first = match &self.style {
            Style::PageNumber { first, .. } => *first,
            _ => 1,
        };
        match position {
            Position::Page(n) => *n,
            _ => first,
        }
    }

    /// Decides where to go after a page. `seen` holds token hashes seen in this window (cycle guard); the caller
    /// records the next token with [`Seen::insert`] once the page's rows are all in the response.
    pub fn next(&self, stream: &str, page: &PageFacts<'_>, seen: &Seen) -> Result<Next> {
        let flag = self
            .has_more
            .as_ref()
            .and_then(|p| page.body.pointer(p))
            .and_then(as_flag);
        if flag == Some(false) {
            return Ok(Next::Done);
        }
        let short = self.page_size().is_some_and(|s| (page.count as u64) < s);
        let counted = matches!(
            self.style,
            Style::PageNumber { .. } | Style::Offset { .. } | Style::Keyset { .. }
        );
        if counted && (page.count == 0 || (short && flag != Some(true))) {
            return Ok(Next::Done);
        }
        match &self.style {
            Style::Single => Ok(Next::Done),
            Style::PageNumber { .. } => {
                let current = self.page_number_of(page.position);
                // A block's total_pages counts pages of the block's size; its total_items decides.
                if !self.blocks()
                    && let Some(total) = self.total(self.total_pages.as_ref(), page)
                    && current >= total
                {
                    return Ok(Next::Done);
                }
                if let Some(items) = self.total(self.total_items.as_ref(), page) {
                    let size = self.page_size().unwrap_or(page.count as u64).max(1);
                    if current.saturating_mul(size) >= items {
                        return Ok(Next::Done);
                    }
                }
                let next = current
                    .checked_add(1)
                    .ok_or_else(|| cannot_advance(stream, "page number", current))?;
                Ok(Next::Page(Position::Page(next)))
            }
            Style::Offset { .. } => {
                let offset = match page.position {
                    Position::Offset(o) => *o,
                    _ => 0,
                };
                let next = offset
                    .checked_add(page.count as u64)
                    .ok_or_else(|| cannot_advance(stream, "offset", offset))?;
                if let Some(items) = self.total(self.total_items.as_ref(), page)
                    && next >= items
                {
                    return Ok(Next::Done);
                }
                Ok(Next::Page(Position::Offset(next)))
            }
            Style::Keyset { field, .. } => match &page.last_key {
                Some(key) => Ok(Next::Page(Position::After(key.clone()))),
                None => Err(Error::Pagination {
                    stream: stream.into(),
                    reason: format!("the last record has no keyset field `{field}`"),
                }),
            },
            Style::Token { pointer, .. } => {
                let token = page.body.pointer(pointer).and_then(text_of);
                self.follow(stream, token.map(Position::Token), seen)
            }
            Style::NextUrl { pointer } => {
                let url = page.body.pointer(pointer).and_then(text_of);
                self.follow(stream, url.map(Position::Url), seen)
            }
            Style::LinkHeader => {
                let next = page
                    .headers
                    .get_all("link")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(link_next)
                    .filter(|url| !url.is_empty());
                self.follow(stream, next.map(Position::Url), seen)
            }
        }
    }

    /// Follows a token or URL unless it is missing or was seen before.
    fn follow(&self, stream: &str, next: Option<Position>, seen: &Seen) -> Result<Next> {
        let Some(next) = next else {
            return Ok(Next::Done);
        };
        let text = match &next {
            Position::Token(t) | Position::Url(t) => t.as_str(),
            _ => "",
        };
        if seen.contains(text) {
            tracing::warn!(
                stream,
                "pagination returned a token seen before; stopping this stream (cycle guard)"
            );
            return Ok(Next::Done);
        }
        Ok(Next::Page(next))
    }

    /// A total read from the body or headers (`None` when missing, `null` or not a number).
    pub fn total(&self, total: Option<&Total>, page: &PageFacts<'_>) -> Option<u64> {
        match total? {
            Total::Body(pointer) => page.body.pointer(pointer).and_then(as_count),
            Total::Header(name) => page
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
        }
    }

    /// The checked page counter for the safety valve.
    pub fn check_pages(&self, stream: &str, pages: u64) -> Result<()> {
        if pages > self.max_pages {
            return Err(Error::Pagination {
                stream: stream.into(),
                reason: format!(
                    "more than {} pages in one sync (the max_pages safety valve); the API may be looping",
                    self.max_pages
                ),
            });
        }
        Ok(())
    }
}

/// A page number or offset at the top of `u64` (only a tampered state holds one) is an error, not an overflow.
fn cannot_advance(stream: &str, what: &str, at: u64) -> Error {
    Error::Pagination {
        stream: stream.into(),
        reason: format!("the {what} {at} cannot advance; the state is corrupt"),
    }
}

/// Tokens seen in one sync window: every token of this invocation, plus hashes carried over in the state.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    all: HashSet<u64>,
    recent: Vec<u64>,
}

impl Seen {
    /// Restores the window kept in the state.
    pub fn from_state(recent: &[u64]) -> Self {
        Seen {
            all: recent.iter().copied().collect(),
            recent: recent.to_vec(),
        }
    }

    /// Whether a token was seen before.
    pub fn contains(&self, token: &str) -> bool {
        self.all.contains(&fnv1a(token))
    }

    /// Records a token; `false` when it was seen before.
    pub fn insert(&mut self, token: &str) -> bool {
        let hash = fnv1a(token);
        if !self.all.insert(hash) {
            return false;
        }
        self.recent.push(hash);
        if self.recent.len() > SEEN_WINDOW {
            self.recent.remove(0);
        }
        true
    }

    /// The bounded window to keep in the state.
    pub fn recent(&self) -> &[u64] {
        &self.recent
    }
}

/// FNV-1a, 64 bits: stable across builds and processes (unlike `DefaultHasher`'s seed-free promise).
pub fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The `rel="next"` target of one `Link` header value (RFC 8288), if any.
pub fn link_next(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let after = &rest[end + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let params = &after[..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            let Some(value) = p.strip_prefix("rel=").or_else(|| p.strip_prefix("rel =")) else {
                return false;
            };
            value
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = &after[params_end..];
    }
    None
}

/// A JSON value as a flag: booleans, and the strings `"true"`/`"false"`.
fn as_flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A JSON value as a count: non-negative numbers and numeric strings.
fn as_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON value as a non-empty token text.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts<'a>(
        position: &'a Position,
        body: &'a Value,
        headers: &'a HeaderMap,
        count: usize,
    ) -> PageFacts<'a> {
        PageFacts {
            position,
            body,
            headers,
            count,
            last_key: None,
        }
    }

    #[test]
    fn link_header_finds_next_among_several_relations() {
        let header = r#"<https://api.example/x?page=1>; rel="prev", <https://api.example/x?page=3>; rel="next""#;
        assert_eq!(
            link_next(header).as_deref(),
            Some("https://api.example/x?page=3")
        );
        assert_eq!(link_next(r#"<https://a/x?page=1>; rel="prev""#), None);
        assert_eq!(
            link_next(r#"<https://a/y>; rel="last next""#).as_deref(),
            Some("https://a/y")
        );
        assert_eq!(link_next(""), None);
    }

    #[test]
    fn page_numbers_stop_on_totals_flags_and_short_pages() {
        let p = Pagination::page_number("page")
            .size("page_size", 2)
            .total_pages(Total::Body("/total".into()));
        let h = HeaderMap::new();
        let seen = Seen::default();
        let pos = Position::Page(2);
        let body = json!({"total": 3});
        assert_eq!(
            p.next("s", &facts(&pos, &body, &h, 2), &seen).unwrap(),
            Next::Page(Position::Page(3))
        );
        let body = json!({"total": 2});
        assert_eq!(
            p.next("s", &facts(&pos, &body, &h, 2), &seen).unwrap(),
            Next::Done
        );
        // A null total is unknown, not zero.
        let body = json!({"total": null});
        assert_eq!(
            p.next("s", &facts(&pos, &body, &h, 2), &seen).unwrap(),
            Next::Page(Position::Page(3))
        );
        assert_eq!(
            p.next("s", &facts(&pos, &body, &h, 1), &seen).unwrap(),
            Next::Done
        );
        assert_eq!(
            p.next("s", &facts(&pos, &body, &h, 0), &seen).unwrap(),
            Next::Done
        );
        let flagged = Pagination::offset("offset")
            .size("limit", 2)
            .has_more("/hasMore");
        let body = json!({"hasMore": false});
        assert_eq!(
            flagged
                .next("s", &facts(&Position::Start, &body, &h, 2), &seen)
                .unwrap(),
            Next::Done
        );
        let body = json!({"hasMore": true});
        assert_eq!(
            flagged
                .next("s", &facts(&Position::Start, &body, &h, 1), &seen)
                .unwrap(),
            Next::Page(Position::Offset(1))
        );
    }

    #[test]
    fn tokens_stop_when_missing_or_seen_before() {
        let p = Pagination::token("cursor", "/next");
        let h = HeaderMap::new();
        let mut seen = Seen::default();
        let body = json!({"next": "abc"});
        assert_eq!(
            p.next("s", &facts(&Position::Start, &body, &h, 1), &seen)
                .unwrap(),
            Next::Page(Position::Token("abc".into()))
        );
        assert!(seen.insert("abc"));
        assert_eq!(
            p.next("s", &facts(&Position::Start, &body, &h, 1), &seen)
                .unwrap(),
            Next::Done
        );
        let body = json!({"next": null});
        assert_eq!(
            p.next("s", &facts(&Position::Start, &body, &h, 1), &seen)
                .unwrap(),
            Next::Done
        );
        let restored = Seen::from_state(seen.recent());
        assert!(!restored.clone().insert("abc"));
    }

    #[test]
    fn the_seen_window_is_bounded() {
        let mut seen = Seen::default();
        for i in 0..200 {
            assert!(seen.insert(&format!("t{i}")));
        }
        assert_eq!(seen.recent().len(), SEEN_WINDOW);
        assert!(!seen.insert("t0"), "the invocation keeps every token");
    }

    #[test]
    fn the_safety_valve_is_a_clear_error() {
        let p = Pagination::link_header().max_pages(3);
        assert!(p.check_pages("s", 3).is_ok());
        let error = p.check_pages("s", 4).unwrap_err().to_string();
        assert!(error.contains("more than 3 pages"), "{error}");
    }
}
